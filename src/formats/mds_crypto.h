// The cryptography of MDS version 2 / MDX images (docs/formats/mds.md): a
// TrueCrypt-style key header (PBKDF2-HMAC-RIPEMD-160 over a password the
// salt itself yields), AES-256 in two legacy TrueCrypt modes — CBC with
// "whitening" for the key header and the descriptor, LRW for track data.
// The block cipher and the key derivation come from nettle; the two modes
// are built here on its block primitive (no library keeps them: both were
// dropped from TrueCrypt's successors and from the common crypto libraries).
// Encryption is here too, for the test writer (tests/fixtures/write_image.cc).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "util/status.h"

namespace udisc::formats::mds_crypto {

constexpr size_t kBlock = 16;
using Block = std::array<uint8_t, kBlock>;

// AES with a 128- or 256-bit key (128 only for the published LRW vectors).
class Aes {
 public:
  explicit Aes(std::span<const uint8_t> key);  // 16 or 32 bytes
  ~Aes();
  Aes(Aes&&) noexcept;
  Aes& operator=(Aes&&) noexcept;
  // `blocks` consecutive 16-byte blocks in place, each on its own (ECB): one
  // call for many lets nettle keep its AES-NI pipeline full.
  void encrypt(uint8_t* data, size_t blocks = 1) const;
  void decrypt(uint8_t* data, size_t blocks = 1) const;

 private:
  struct Keys;
  std::unique_ptr<Keys> keys_;
};

// PBKDF2 (RFC 8018) with HMAC-RIPEMD-160 as the PRF.
void pbkdf2_hmac_ripemd160(std::span<const uint8_t> password, std::span<const uint8_t> salt, unsigned iterations,
                           std::span<uint8_t> out);

// LRW (IEEE P1619 draft): block i is E(P xor T) xor T with T = K2 (x) i in
// GF(2^128), both as big-endian 128-bit numbers (x^128 + x^7 + x^2 + x + 1).
class Lrw {
 public:
  Lrw(std::span<const uint8_t> cipher_key, std::span<const uint8_t, kBlock> tweak_key);
  // The tweak for block index `index` (high 64 bits 0, as every index MDX uses).
  Block tweak(const Block& index) const;
  // In place over whole 16-byte blocks; the first has index `first`.
  void decrypt(std::span<uint8_t> data, uint64_t first) const;
  void encrypt(std::span<uint8_t> data, uint64_t first) const;

 private:
  void run(std::span<uint8_t> data, uint64_t first, bool decrypting) const;
  Aes aes_;
  std::array<Block, 128> powers_;  // K2 * x^k
  // K2 (x) (2^(k+1) - 1): what T changes by from block i to i+1, where k is
  // the number of trailing zero bits of i+1 (i xor (i+1) = 2^(k+1) - 1).
  std::array<Block, 128> steps_;
};

// TrueCrypt's legacy CBC as DAEMON Tools uses it: IV = seed bytes 0..15, and
// bytes 8..15 of the seed XORed onto both halves of every ciphertext block
// ("whitening"); the chain restarts at each 512-byte unit.
class WhitenedCbc {
 public:
  WhitenedCbc(std::span<const uint8_t, 32> cipher_key, std::span<const uint8_t, kBlock> iv_seed);
  void decrypt(std::span<uint8_t> data) const;  // whole 16-byte blocks
  void encrypt(std::span<uint8_t> data) const;

 private:
  void run(std::span<uint8_t> data, bool decrypting) const;
  Aes aes_;
  Block iv_;
};

// The password a header whose user gave none is keyed with: derived from its salt.
std::array<uint8_t, 64> salt_password(std::span<const uint8_t, 64> salt);

// The 512-byte key header: salt (64, plain), then encrypted: CRC-32 of the
// key data, magic "TRUE", 1, key data size 256, 0, key data (256),
// compressed and decompressed descriptor sizes, zeros.
constexpr size_t kHeaderSize = 512;
constexpr size_t kSaltSize = 64;
constexpr size_t kKeyDataAt = 80;
constexpr size_t kKeyDataSize = 256;
constexpr uint32_t kMagic = 0x54525545;  // 'TRUE', stored little-endian
enum class HeaderMode { cbc, lrw };  // descriptor's key header / track data's key header

struct KeyHeader {
  std::array<uint8_t, kKeyDataSize> key_data{};
  uint32_t compressed_size = 0;
  uint32_t decompressed_size = 0;
};

// Decrypts and checks a key header (magic, key data size, CRC); the error
// names `where` and says the file is damaged or keyed another way. The header
// key is derived from `user_password` (its bytes as given), or when that is
// empty from salt_password.
Result<KeyHeader> open_key_header(std::span<const uint8_t, kHeaderSize> header, HeaderMode mode,
                                  const std::string& where, std::span<const uint8_t> user_password = {});
// The inverse, for the test writer: a header under `salt` holding `h`.
std::array<uint8_t, kHeaderSize> seal_key_header(const KeyHeader& h, std::span<const uint8_t, kSaltSize> salt,
                                                 HeaderMode mode, std::span<const uint8_t> user_password = {});

// The ciphers a key header's key data keys: descriptor (CBC, tweak/IV seed =
// key data 0..15, AES key = key data 32..63) and track data (LRW, same split).
WhitenedCbc descriptor_cipher(const KeyHeader& h);
Lrw data_cipher(const KeyHeader& h);

}  // namespace udisc::formats::mds_crypto
