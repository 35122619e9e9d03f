// Known answers for the MDS v2 / MDX crypto seam: AES-256 (FIPS-197 C.3),
// PBKDF2-HMAC-RIPEMD-160 (TrueCrypt's self-test vector), LRW-AES (the IEEE
// P1619 draft vectors, as LibTomCrypt's lrw_test.c and Linux's testmgr.h
// carry them), and round trips of the key header and the whitened CBC.
#include "formats/mds_crypto.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace udisc::formats::mds_crypto {
namespace {

std::vector<uint8_t> hex(const std::string& s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

TEST(MdsCrypto, Aes256Fips197) {
  const auto key = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  auto block = hex("00112233445566778899aabbccddeeff");
  Aes aes(key);
  aes.encrypt(block.data());
  EXPECT_EQ(block, hex("8ea2b7ca516745bfeafc49904b496089"));
  aes.decrypt(block.data());
  EXPECT_EQ(block, hex("00112233445566778899aabbccddeeff"));
}

TEST(MdsCrypto, Pbkdf2HmacRipemd160) {
  const std::string password = "password";
  const auto salt = hex("12345678");
  std::vector<uint8_t> out(4);
  pbkdf2_hmac_ripemd160(std::span(reinterpret_cast<const uint8_t*>(password.data()), password.size()), salt, 5, out);
  EXPECT_EQ(out, hex("7a3d7c03"));
}

// IEEE P1619 draft LRW-AES-128 vectors, as LibTomCrypt's lrw_test.c carries
// them. The first (index 1, so T = K2) checks the whole mode: tweak, AES and
// ciphertext. LibTomCrypt writes field elements bit-reflected (GCM order:
// the first byte's top bit is x^0); reversing all 128 bits of tweak key,
// index and tweak maps them to the big-endian order LRW-AES uses (Linux
// lrw.c, TrueCrypt, mdsx, libMirage), so the other three check our
// GF(2^128) multiplication, reductions included, at indices 2, 2^126, 2^94.
Block reflect(const std::vector<uint8_t>& v) {
  Block out{};
  for (size_t bit = 0; bit < 128; ++bit) {
    if ((v[bit / 8] >> (7 - bit % 8)) & 1) out[15 - bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
  }
  return out;
}

TEST(MdsCrypto, LrwP1619Vectors) {
  const auto plain = hex("30313233343536373839414243444546");
  {
    const auto tk = hex("258e2a05e73e9d03ee5a830ccc094c87");
    Lrw lrw(hex("4562ac25f828176d4c268414b5680185"), std::span<const uint8_t, kBlock>(tk.data(), kBlock));
    auto data = plain;
    lrw.encrypt(data, 1);
    EXPECT_EQ(data, hex("f1b273cd65a3df5fe95d489254634eb8"));
    lrw.decrypt(data, 1);
    EXPECT_EQ(data, plain);
  }
  struct Vector {
    const char* tweak_key;
    const char* index;  // as LibTomCrypt writes it
    const char* tweak;
  };
  const Vector vectors[] = {
      {"3523c2dec5694fa872a9aca70b2beebc", "40000000000000000000000000000000", "1a91e16f62b4a7d43954d6538595f75e"},
      {"6753c90cb7d8cde506a047781aad8511", "00000000000000000000000000000002", "1a91e16f62b4a7d43954d6538595f75e"},
      {"4eb55d3105973a3f5e23dafb5a45d6c0", "00000000000000000000000200000000", "18c91f6d601a1a375d0b0ef73ad574c4"},
  };
  for (const Vector& v : vectors) {
    const Block tk = reflect(hex(v.tweak_key));
    Lrw lrw(hex("59704714f557478cd779e80f54887944"), tk);
    EXPECT_EQ(lrw.tweak(reflect(hex(v.index))), reflect(hex(v.tweak))) << v.tweak_key;
  }
}

TEST(MdsCrypto, KeyHeaderRoundTripAndTamper) {
  std::array<uint8_t, kSaltSize> salt{};
  for (size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<uint8_t>(i * 7 + 3);
  KeyHeader k;
  for (size_t i = 0; i < k.key_data.size(); ++i) k.key_data[i] = static_cast<uint8_t>(i ^ 0x5A);
  k.compressed_size = 1234;
  k.decompressed_size = 5678;
  for (HeaderMode mode : {HeaderMode::cbc, HeaderMode::lrw}) {
    auto sealed = seal_key_header(k, salt, mode);
    auto opened = open_key_header(sealed, mode, "test");
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    EXPECT_EQ(opened->key_data, k.key_data);
    EXPECT_EQ(opened->compressed_size, 1234u);
    EXPECT_EQ(opened->decompressed_size, 5678u);
    // The other mode, a changed salt or a flipped ciphertext bit: refused, naming the check.
    auto other = open_key_header(sealed, mode == HeaderMode::cbc ? HeaderMode::lrw : HeaderMode::cbc, "test");
    ASSERT_FALSE(other.ok());
    EXPECT_NE(other.status().message().find("TRUE"), std::string::npos) << other.status().message();
    auto flipped = sealed;
    flipped[kKeyDataAt + 100] ^= 1;
    auto bad = open_key_header(flipped, mode, "test");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("damaged"), std::string::npos) << bad.status().message();
  }
}

TEST(MdsCrypto, WhitenedCbcRestartsEvery512Bytes) {
  std::array<uint8_t, 32> key{};
  std::array<uint8_t, kBlock> iv{};
  for (size_t i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < kBlock; ++i) iv[i] = static_cast<uint8_t>(0xA0 + i);
  WhitenedCbc cbc(key, iv);
  std::vector<uint8_t> data(1024, 0x42);
  auto enc = data;
  cbc.encrypt(enc);
  // Same plaintext in both units, same IV: the two units encrypt alike.
  EXPECT_TRUE(std::equal(enc.begin(), enc.begin() + 512, enc.begin() + 512));
  EXPECT_NE(enc, data);
  cbc.decrypt(enc);
  EXPECT_EQ(enc, data);
}

TEST(MdsCrypto, SaltPasswordHasNoZeroBytes) {
  std::array<uint8_t, 64> salt{};
  const auto p = salt_password(salt);
  for (uint8_t b : p) EXPECT_NE(b, 0);
  std::array<uint8_t, 64> salt2{};
  salt2[0] = 1;
  EXPECT_NE(salt_password(salt2), p);
}

}  // namespace
}  // namespace udisc::formats::mds_crypto
