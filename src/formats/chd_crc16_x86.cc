// crc16_clmul on x86-64 (chd_crc16.h): PCLMULQDQ folding, used when the CPU
// has PCLMULQDQ and SSSE3 (checked at run time; every x86-64 CPU since 2010).
//
// Bytes are taken MSB first, so 16 bytes loaded and byte-reversed are a
// polynomial of degree < 128 with the first byte's top bit as x^127. For the
// message polynomial M, the CRC (initial value 0) is M * x^16 mod P, P = x^16
// + x^12 + x^5 + 1; an initial value is XORed into the first two bytes. Four
// 16-byte accumulators run side by side: each step replaces an accumulator A
// = A_hi * x^64 + A_lo by A * x^512 mod P, i.e. A_hi * (x^576 mod P) + A_lo *
// (x^512 mod P) (two carry-less multiplies of 64 by 16 bits), plus the next
// block. The four are folded into one, single blocks follow, and the 16 bytes
// left, which are congruent to the message modulo P, are run through the
// table CRC from 0 (M * x^16 mod P depends on M mod P only), then the tail.
#include "formats/chd_crc16.h"

#include <immintrin.h>

#include <cstring>

namespace udisc::formats::chd {
namespace {

// x^k mod P.
constexpr uint64_t x_pow_mod(unsigned k) {
  uint32_t r = 1;
  for (unsigned i = 0; i < k; ++i) {
    r <<= 1;
    if (r & 0x10000) r ^= 0x11021;
  }
  return r;
}
static_assert(x_pow_mod(16) == 0x1021);

constexpr size_t kBlock = 16;

__attribute__((target("pclmul,ssse3"))) inline __m128i load_be(const uint8_t* p) {
  const __m128i reverse = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), reverse);
}

// a * x^D mod P, reduced to < 80 bits, for k = (x^(D+64) mod P, x^D mod P).
__attribute__((target("pclmul,ssse3"))) inline __m128i fold(__m128i a, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(a, k, 0x11), _mm_clmulepi64_si128(a, k, 0x00));
}

__attribute__((target("pclmul,ssse3"))) uint16_t crc16_pclmul(const uint8_t* p, size_t n, uint16_t crc) {
  const __m128i k512 = _mm_set_epi64x(static_cast<int64_t>(x_pow_mod(576)), static_cast<int64_t>(x_pow_mod(512)));
  const __m128i k128 = _mm_set_epi64x(static_cast<int64_t>(x_pow_mod(192)), static_cast<int64_t>(x_pow_mod(128)));
  __m128i a0 = _mm_xor_si128(load_be(p), _mm_set_epi64x(static_cast<int64_t>(uint64_t{crc} << 48), 0));
  __m128i a1 = load_be(p + kBlock);
  __m128i a2 = load_be(p + 2 * kBlock);
  __m128i a3 = load_be(p + 3 * kBlock);
  p += 4 * kBlock;
  n -= 4 * kBlock;
  for (; n >= 4 * kBlock; p += 4 * kBlock, n -= 4 * kBlock) {
    a0 = _mm_xor_si128(fold(a0, k512), load_be(p));
    a1 = _mm_xor_si128(fold(a1, k512), load_be(p + kBlock));
    a2 = _mm_xor_si128(fold(a2, k512), load_be(p + 2 * kBlock));
    a3 = _mm_xor_si128(fold(a3, k512), load_be(p + 3 * kBlock));
  }
  a1 = _mm_xor_si128(a1, fold(a0, k128));
  a2 = _mm_xor_si128(a2, fold(a1, k128));
  a3 = _mm_xor_si128(a3, fold(a2, k128));
  for (; n >= kBlock; p += kBlock, n -= kBlock) a3 = _mm_xor_si128(fold(a3, k128), load_be(p));
  uint8_t rest[kBlock];  // back to message order: the most significant byte first
  const __m128i reverse = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(rest), _mm_shuffle_epi8(a3, reverse));
  const uint16_t folded = crc16_slicing(rest, 0);
  return crc16_slicing(std::span<const uint8_t>(p, n), folded);
}

}  // namespace

std::optional<uint16_t> crc16_clmul(std::span<const uint8_t> data, uint16_t crc) {
  static const bool available = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("ssse3");
  if (!available) return std::nullopt;
  if (data.size() < 4 * kBlock) return crc16_slicing(data, crc);
  return crc16_pclmul(data.data(), data.size(), crc);
}

}  // namespace udisc::formats::chd
