// crypto/digest.h with OpenSSL (libcrypto's EVP interface).
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "crypto/digest.h"

namespace udisc::crypto {
namespace {

const EVP_MD* evp_for(Algorithm a) {
  switch (a) {
    case Algorithm::md5: return EVP_md5();
    case Algorithm::sha1: return EVP_sha1();
    case Algorithm::sha256: return EVP_sha256();
    case Algorithm::sha3_256: return EVP_sha3_256();
  }
  return EVP_md5();
}

}  // namespace

struct Digest::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(ctx); }
};

Digest::Digest(Algorithm algorithm) : state_(std::make_unique<State>()) {
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, evp_for(algorithm), nullptr) != 1) {
    throw std::runtime_error("OpenSSL digest init failed");
  }
}
Digest::~Digest() = default;

void Digest::update(std::span<const uint8_t> data) { EVP_DigestUpdate(state_->ctx, data.data(), data.size()); }

std::vector<uint8_t> Digest::finish() {
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned n = 0;
  if (EVP_DigestFinal_ex(state_->ctx, out.data(), &n) != 1) throw std::runtime_error("OpenSSL digest final failed");
  out.resize(n);
  return out;
}

Status random_bytes(std::span<uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) return Status::IoError("no random bytes from OpenSSL");
  return Status::Ok();
}

bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace udisc::crypto
