#include "cli/hashes.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>

#include "crypto/digest.h"

namespace udisc::cli {
namespace {

std::string hex(const std::vector<uint8_t>& bytes) {
  std::string s;
  s.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) s += fmt::format("{:02x}", b);
  return s;
}

}  // namespace

struct Hashes::State {
  uLong crc = crc32(0L, Z_NULL, 0);
  crypto::Digest md5{crypto::Algorithm::md5};
  crypto::Digest sha1{crypto::Algorithm::sha1};
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
  state_->md5.update(data);
  state_->sha1.update(data);
}

Digests Hashes::finish() {
  return Digests{fmt::format("{:08x}", static_cast<uint32_t>(state_->crc)), hex(state_->md5.finish()),
                 hex(state_->sha1.finish())};
}

}  // namespace udisc::cli
