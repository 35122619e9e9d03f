#include "cli/hashes.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <stdexcept>

namespace udisc::cli {
namespace {

struct CtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_MD_CTX, CtxDeleter>;

Ctx make_ctx(const EVP_MD* md) {
  Ctx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) throw std::runtime_error("OpenSSL digest init failed");
  return ctx;
}

std::string hex(const unsigned char* p, unsigned n) {
  std::string s;
  s.reserve(n * 2);
  for (unsigned i = 0; i < n; ++i) s += fmt::format("{:02x}", p[i]);
  return s;
}

std::string finish_ctx(EVP_MD_CTX* ctx) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (EVP_DigestFinal_ex(ctx, md, &n) != 1) throw std::runtime_error("OpenSSL digest final failed");
  return hex(md, n);
}

}  // namespace

struct Hashes::State {
  uLong crc = crc32(0L, Z_NULL, 0);
  Ctx md5 = make_ctx(EVP_md5());
  Ctx sha1 = make_ctx(EVP_sha1());
};

Hashes::Hashes() : state_(std::make_unique<State>()) {}
Hashes::~Hashes() = default;

void Hashes::update(std::span<const uint8_t> data) {
  // zlib's crc32 takes a uInt length; feed large spans in pieces.
  size_t done = 0;
  while (done < data.size()) {
    const size_t n = std::min<size_t>(data.size() - done, 1u << 30);
    state_->crc = crc32(state_->crc, data.data() + done, static_cast<uInt>(n));
    done += n;
  }
  EVP_DigestUpdate(state_->md5.get(), data.data(), data.size());
  EVP_DigestUpdate(state_->sha1.get(), data.data(), data.size());
}

Digests Hashes::finish() {
  return Digests{fmt::format("{:08x}", static_cast<uint32_t>(state_->crc)), finish_ctx(state_->md5.get()),
                 finish_ctx(state_->sha1.get())};
}

}  // namespace udisc::cli
