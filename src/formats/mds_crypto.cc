// Facts and sources: docs/formats/mds.md ("MDS version 2 and MDX").
#include "formats/mds_crypto.h"

#include <nettle/aes.h>
#include <nettle/hmac.h>
#include <nettle/pbkdf2.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "disc/ecma130.h"

namespace udisc::formats::mds_crypto {
namespace {

uint32_t get_le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
void put_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void xor_block(uint8_t* a, const uint8_t* b) {
  for (size_t i = 0; i < kBlock; ++i) a[i] ^= b[i];
}

// Header fields (offsets in the 512-byte key header).
constexpr size_t kCrcAt = 64;
constexpr size_t kMagicAt = 68;
constexpr size_t kVersionAt = 72;
constexpr size_t kKeySizeAt = 74;
constexpr size_t kCompressedAt = 336;
constexpr size_t kDecompressedAt = 340;
constexpr unsigned kIterations = 2000;
// TrueCrypt 5 derives 152 bytes (its largest key, 120, + the 32-byte IV/tweak
// seed), of which AES-256 uses only bytes 0..63 (the seed at 0, the key at 32).
// PBKDF2's output blocks are independent and in order, so the first 64 bytes
// of a shorter derivation are the same bytes: 4 RIPEMD-160 blocks instead of 8,
// half of what opening an MDS v2 / MDX costs (2000 iterations per header).
constexpr size_t kDerivedSize = 64;

// `user_password` empty: the header is keyed with the salt-derived password.
std::array<uint8_t, kDerivedSize> derive(std::span<const uint8_t, kSaltSize> salt,
                                         std::span<const uint8_t> user_password) {
  const auto from_salt = salt_password(salt);
  std::array<uint8_t, kDerivedSize> dk{};
  pbkdf2_hmac_ripemd160(user_password.empty() ? std::span<const uint8_t>(from_salt) : user_password, salt,
                        kIterations, dk);
  return dk;
}

void run_header(std::span<uint8_t> area, std::span<const uint8_t, kDerivedSize> dk, HeaderMode mode, bool decrypting) {
  const auto key = dk.subspan<32, 32>();
  const auto seed = dk.subspan<0, kBlock>();
  if (mode == HeaderMode::cbc) {
    WhitenedCbc c(key, seed);
    decrypting ? c.decrypt(area) : c.encrypt(area);
  } else {
    Lrw l(key, seed);
    decrypting ? l.decrypt(area, 1) : l.encrypt(area, 1);
  }
}

}  // namespace

struct Aes::Keys {
  bool wide = false;
  aes128_ctx enc128{}, dec128{};
  aes256_ctx enc256{}, dec256{};
};

Aes::Aes(std::span<const uint8_t> key) : keys_(std::make_unique<Keys>()) {
  if (key.size() == AES256_KEY_SIZE) {
    keys_->wide = true;
    aes256_set_encrypt_key(&keys_->enc256, key.data());
    aes256_set_decrypt_key(&keys_->dec256, key.data());
  } else {
    // Callers pass 16 or 32 bytes (checked by the types that hold the keys).
    aes128_set_encrypt_key(&keys_->enc128, key.data());
    aes128_set_decrypt_key(&keys_->dec128, key.data());
  }
}
Aes::~Aes() = default;
Aes::Aes(Aes&&) noexcept = default;
Aes& Aes::operator=(Aes&&) noexcept = default;

void Aes::encrypt(uint8_t* data, size_t blocks) const {
  if (keys_->wide) {
    aes256_encrypt(&keys_->enc256, blocks * kBlock, data, data);
  } else {
    aes128_encrypt(&keys_->enc128, blocks * kBlock, data, data);
  }
}
void Aes::decrypt(uint8_t* data, size_t blocks) const {
  if (keys_->wide) {
    aes256_decrypt(&keys_->dec256, blocks * kBlock, data, data);
  } else {
    aes128_decrypt(&keys_->dec128, blocks * kBlock, data, data);
  }
}

void pbkdf2_hmac_ripemd160(std::span<const uint8_t> password, std::span<const uint8_t> salt, unsigned iterations,
                           std::span<uint8_t> out) {
  hmac_ripemd160_ctx ctx;
  hmac_ripemd160_set_key(&ctx, password.size(), password.data());
  PBKDF2(&ctx, hmac_ripemd160_update, hmac_ripemd160_digest, RIPEMD160_DIGEST_SIZE, iterations, salt.size(),
         salt.data(), out.size(), out.data());
}

Lrw::Lrw(std::span<const uint8_t> cipher_key, std::span<const uint8_t, kBlock> tweak_key) : aes_(cipher_key) {
  std::copy(tweak_key.begin(), tweak_key.end(), powers_[0].begin());
  for (size_t k = 1; k < powers_.size(); ++k) {
    // Multiply by x: shift the big-endian number left; reduce x^128 by x^7 + x^2 + x + 1.
    const Block& prev = powers_[k - 1];
    Block& next = powers_[k];
    const bool carry = (prev[0] & 0x80) != 0;
    for (size_t i = 0; i < kBlock; ++i) {
      next[i] = static_cast<uint8_t>(prev[i] << 1 | (i + 1 < kBlock ? prev[i + 1] >> 7 : 0));
    }
    if (carry) next[kBlock - 1] ^= 0x87;
  }
  steps_[0] = powers_[0];
  for (size_t k = 1; k < steps_.size(); ++k) {
    steps_[k] = steps_[k - 1];
    xor_block(steps_[k].data(), powers_[k].data());
  }
}

Block Lrw::tweak(const Block& index) const {
  Block t{};
  for (size_t bit = 0; bit < 128; ++bit) {
    if ((index[kBlock - 1 - bit / 8] >> (bit % 8)) & 1) xor_block(t.data(), powers_[bit].data());
  }
  return t;
}

void Lrw::run(std::span<uint8_t> data, uint64_t first, bool decrypting) const {
  // Up to 256 blocks at a time: their tweaks XORed in, one AES call for all
  // of them, the tweaks XORed out. T for the first block is the XOR of K2 * x^k
  // over the bits k set in its index; each next one is one XOR away (steps_).
  constexpr size_t kBatch = 256;
  std::array<Block, kBatch> tweaks;
  const size_t blocks = data.size() / kBlock;
  Block t{};
  for (uint64_t i = first; i != 0; i &= i - 1) xor_block(t.data(), powers_[static_cast<size_t>(std::countr_zero(i))].data());
  uint64_t index = first;
  for (size_t done = 0; done < blocks;) {
    const size_t n = std::min(kBatch, blocks - done);
    uint8_t* p = data.data() + done * kBlock;
    for (size_t b = 0; b < n; ++b) {
      tweaks[b] = t;
      xor_block(p + b * kBlock, t.data());
      ++index;
      xor_block(t.data(), steps_[static_cast<size_t>(std::countr_zero(index))].data());
    }
    decrypting ? aes_.decrypt(p, n) : aes_.encrypt(p, n);
    for (size_t b = 0; b < n; ++b) xor_block(p + b * kBlock, tweaks[b].data());
    done += n;
  }
}
void Lrw::decrypt(std::span<uint8_t> data, uint64_t first) const { run(data, first, true); }
void Lrw::encrypt(std::span<uint8_t> data, uint64_t first) const { run(data, first, false); }

WhitenedCbc::WhitenedCbc(std::span<const uint8_t, 32> cipher_key, std::span<const uint8_t, kBlock> iv_seed)
    : aes_(cipher_key) {
  std::copy(iv_seed.begin(), iv_seed.end(), iv_.begin());
}

void WhitenedCbc::run(std::span<uint8_t> data, bool decrypting) const {
  constexpr size_t kUnit = 512;
  for (size_t unit = 0; unit < data.size(); unit += kUnit) {
    Block chain = iv_;
    for (size_t at = unit; at < std::min(data.size(), unit + kUnit) && at + kBlock <= data.size(); at += kBlock) {
      uint8_t* p = data.data() + at;
      Block cipher;
      if (decrypting) {
        for (size_t i = 0; i < kBlock; ++i) p[i] ^= iv_[8 + i % 8];  // de-whiten
        std::memcpy(cipher.data(), p, kBlock);
        aes_.decrypt(p);
        xor_block(p, chain.data());
      } else {
        xor_block(p, chain.data());
        aes_.encrypt(p);
        std::memcpy(cipher.data(), p, kBlock);
        for (size_t i = 0; i < kBlock; ++i) p[i] ^= iv_[8 + i % 8];  // whiten
      }
      chain = cipher;
    }
  }
}
void WhitenedCbc::decrypt(std::span<uint8_t> data) const { run(data, true); }
void WhitenedCbc::encrypt(std::span<uint8_t> data) const { run(data, false); }

std::array<uint8_t, 64> salt_password(std::span<const uint8_t, 64> salt) {
  std::array<uint8_t, 64> out{};
  uint32_t v = disc::edc(salt) ^ 0x567372FFu;
  for (size_t i = 0; i < out.size(); i += 4) {
    v = v * 0x35E85A6Du + 0x1548DCE9u;
    put_le32(out.data() + i, get_le32(salt.data() + i) ^ v ^ 0xEC564717u);
    for (size_t j = i; j < i + 4; ++j) {
      if (out[j] == 0) out[j] = 0x5F;
    }
  }
  return out;
}

Result<KeyHeader> open_key_header(std::span<const uint8_t, kHeaderSize> header, HeaderMode mode,
                                  const std::string& where, std::span<const uint8_t> user_password) {
  std::array<uint8_t, kHeaderSize> h;
  std::copy(header.begin(), header.end(), h.begin());
  const auto dk = derive(header.subspan<0, kSaltSize>(), user_password);
  run_header(std::span(h).subspan(kSaltSize), dk, mode, true);
  const std::string damaged = " (the file is damaged, or its key is derived in a way this reader does not know)";
  if (get_le32(h.data() + kMagicAt) != kMagic) {
    return Status::Corruption(where + ": key header does not decrypt to the magic \"TRUE\" at offset " +
                              std::to_string(kMagicAt) + damaged);
  }
  const uint32_t key_size = uint32_t{h[kKeySizeAt]} | uint32_t{h[kKeySizeAt + 1]} << 8;
  if (key_size != kKeyDataSize) {
    return Status::Corruption(where + ": key header offset " + std::to_string(kKeySizeAt) + ": key data size " +
                              std::to_string(key_size) + ", expected 256" + damaged);
  }
  const uint32_t crc = static_cast<uint32_t>(crc32(0, h.data() + kKeyDataAt, kKeyDataSize));
  if (crc != get_le32(h.data() + kCrcAt)) {
    return Status::Corruption(where + ": key header offset " + std::to_string(kCrcAt) +
                              ": CRC-32 of the key data does not match" + damaged);
  }
  KeyHeader out;
  std::memcpy(out.key_data.data(), h.data() + kKeyDataAt, kKeyDataSize);
  out.compressed_size = get_le32(h.data() + kCompressedAt);
  out.decompressed_size = get_le32(h.data() + kDecompressedAt);
  return out;
}

std::array<uint8_t, kHeaderSize> seal_key_header(const KeyHeader& k, std::span<const uint8_t, kSaltSize> salt,
                                                 HeaderMode mode, std::span<const uint8_t> user_password) {
  std::array<uint8_t, kHeaderSize> h{};
  std::copy(salt.begin(), salt.end(), h.begin());
  std::memcpy(h.data() + kKeyDataAt, k.key_data.data(), kKeyDataSize);
  put_le32(h.data() + kCrcAt, static_cast<uint32_t>(crc32(0, k.key_data.data(), kKeyDataSize)));
  put_le32(h.data() + kMagicAt, kMagic);
  h[kVersionAt] = 1;
  h[kKeySizeAt] = kKeyDataSize & 0xFF;
  h[kKeySizeAt + 1] = kKeyDataSize >> 8;
  put_le32(h.data() + kCompressedAt, k.compressed_size);
  put_le32(h.data() + kDecompressedAt, k.decompressed_size);
  const auto dk = derive(salt, user_password);
  run_header(std::span(h).subspan(kSaltSize), dk, mode, false);
  return h;
}

WhitenedCbc descriptor_cipher(const KeyHeader& h) {
  return WhitenedCbc(std::span(h.key_data).subspan<32, 32>(), std::span(h.key_data).subspan<0, kBlock>());
}
Lrw data_cipher(const KeyHeader& h) {
  return Lrw(std::span(h.key_data).subspan<32, 32>(), std::span(h.key_data).subspan<0, kBlock>());
}

}  // namespace udisc::formats::mds_crypto
