// Track and image checksums as disc preservation databases list them:
// CRC-32 (zlib), MD5 and SHA-1 (crypto/digest.h), fed incrementally.
// Not thread-safe; one Hashes per stream of bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace udisc::cli {

struct Digests {
  std::string crc32;  // 8 lowercase hex digits
  std::string md5;    // 32 lowercase hex digits
  std::string sha1;   // 40 lowercase hex digits
};

class Hashes {
 public:
  Hashes();
  ~Hashes();
  Hashes(const Hashes&) = delete;
  Hashes& operator=(const Hashes&) = delete;

  void update(std::span<const uint8_t> data);
  // Ends the stream; further updates are not allowed.
  Digests finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace udisc::cli
