// crypto/digest.h with libgcrypt (Debian's libgcrypt-mingw-w64-dev, static):
// the Windows build's digests. CNG (bcrypt) would do MD5/SHA-1/SHA-256, but
// SHA3-256 (CHAP_A=8) only from Windows 11 24H2 and not in Wine 8, so one
// library serves all four on every Windows version.
#include <gcrypt.h>

#include <mutex>
#include <stdexcept>

#include "crypto/digest.h"

namespace udisc::crypto {
namespace {

int gcry_for(Algorithm a) {
  switch (a) {
    case Algorithm::md5: return GCRY_MD_MD5;
    case Algorithm::sha1: return GCRY_MD_SHA1;
    case Algorithm::sha256: return GCRY_MD_SHA256;
    case Algorithm::sha3_256: return GCRY_MD_SHA3_256;
  }
  return GCRY_MD_MD5;
}

// libgcrypt must be initialised once before any other call.
void initialise() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (gcry_check_version(GCRYPT_VERSION) == nullptr) throw std::runtime_error("libgcrypt version mismatch");
    gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
  });
}

}  // namespace

struct Digest::State {
  gcry_md_hd_t handle = nullptr;
  int algorithm = 0;
  ~State() { gcry_md_close(handle); }
};

Digest::Digest(Algorithm algorithm) : state_(std::make_unique<State>()) {
  initialise();
  state_->algorithm = gcry_for(algorithm);
  if (gcry_md_open(&state_->handle, state_->algorithm, 0) != 0) throw std::runtime_error("libgcrypt digest open failed");
}
Digest::~Digest() = default;

void Digest::update(std::span<const uint8_t> data) { gcry_md_write(state_->handle, data.data(), data.size()); }

std::vector<uint8_t> Digest::finish() {
  const unsigned char* p = gcry_md_read(state_->handle, state_->algorithm);
  if (p == nullptr) throw std::runtime_error("libgcrypt digest read failed");
  return std::vector<uint8_t>(p, p + gcry_md_get_algo_dlen(state_->algorithm));
}

Status random_bytes(std::span<uint8_t> out) {
  initialise();
  gcry_randomize(out.data(), out.size(), GCRY_STRONG_RANDOM);
  return Status::Ok();
}

bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace udisc::crypto
