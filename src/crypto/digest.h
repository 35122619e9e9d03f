// Message digests and random bytes for CHAP (iSCSI) and verify (MD5, SHA-1).
//
// One interface, one implementation file per library, chosen by the build:
// digest_openssl.cc (Linux: OpenSSL's EVP) and digest_gcrypt.cc (Windows:
// Debian's mingw-w64 libgcrypt, linked statically). Not thread-safe per
// object; independent objects may be used from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace udisc::crypto {

enum class Algorithm { md5, sha1, sha256, sha3_256 };

class Digest {
 public:
  explicit Digest(Algorithm algorithm);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(std::span<const uint8_t> data);
  void update(std::string_view text) {
    update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  // The digest; the object must not be updated afterwards.
  std::vector<uint8_t> finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Fills `out` from the system's cryptographic random source.
Status random_bytes(std::span<uint8_t> out);
// Compares in time independent of where the bytes differ.
bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace udisc::crypto
