// Facts and sources: docs/formats/mds.md ("MDS version 2 and MDX").
#include "formats/mds_v2.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "formats/byte_view.h"
#include "formats/zlib_block.h"

namespace udisc::formats::mds_v2 {
namespace {

using mds_crypto::kHeaderSize;

constexpr size_t kDataKeyHeaderAt = 0x58;  // descriptor: offset of the track data's key header

uint64_t round_up16(uint64_t n) { return (n + 15) / 16 * 16; }

class DecryptedFile : public RandomAccessFile {
 public:
  DecryptedFile(std::shared_ptr<RandomAccessFile> base, std::shared_ptr<const mds_crypto::Lrw> cipher,
                std::vector<EncryptedRun> runs)
      : base_(std::move(base)), cipher_(std::move(cipher)), runs_(std::move(runs)) {}

  uint64_t size() const override { return base_->size(); }
  const std::string& name() const override { return base_->name(); }

  Status read_at(uint64_t offset, std::span<uint8_t> out) const override {
    if (Status s = base_->read_at(offset, out); !s.ok()) return s;
    const uint64_t end = offset + out.size();
    for (const EncryptedRun& r : runs_) {
      const uint64_t run_end = r.offset + r.sectors * r.sector_size;
      if (end <= r.offset || offset >= run_end || r.sector_size < mds_crypto::kBlock) continue;
      // Whole sectors around the overlap: the cipher works on a sector's blocks from its start.
      const uint64_t first = (std::max(offset, r.offset) - r.offset) / r.sector_size;
      const uint64_t last = (std::min(end, run_end) - r.offset - 1) / r.sector_size;
      std::vector<uint8_t> sector;
      for (uint64_t k = first; k <= last; ++k) {
        const uint64_t at = r.offset + k * r.sector_size;
        if (at >= offset && at + r.sector_size <= end) {  // whole sector read already: in place
          decrypt_sector(out.subspan(static_cast<size_t>(at - offset), r.sector_size), k);
          continue;
        }
        sector.resize(r.sector_size);
        if (Status s = base_->read_at(at, sector); !s.ok()) return s;
        decrypt_sector(sector, k);
        const uint64_t from = std::max(at, offset), to = std::min(at + r.sector_size, end);
        std::memcpy(out.data() + (from - offset), sector.data() + (from - at), static_cast<size_t>(to - from));
      }
    }
    return Status::Ok();
  }

 private:
  void decrypt_sector(std::span<uint8_t> sector, uint64_t k) const {
    const size_t blocks = sector.size() / mds_crypto::kBlock;
    cipher_->decrypt(sector.first(blocks * mds_crypto::kBlock), 1 + blocks * k);
  }

  std::shared_ptr<RandomAccessFile> base_;
  std::shared_ptr<const mds_crypto::Lrw> cipher_;
  std::vector<EncryptedRun> runs_;
};

}  // namespace

bool is_v2(std::span<const uint8_t> head) {
  return head.size() > 16 && std::memcmp(head.data(), "MEDIA DESCRIPTOR", 16) == 0 && head[16] == 2;
}

Result<Container> read_container(const RandomAccessFile& file, uint64_t max_descriptor) {
  const std::string where = "'" + file.name() + "'";
  const uint64_t size = file.size();
  std::vector<uint8_t> head(static_cast<size_t>(std::min<uint64_t>(size, kMdxHeaderSize)));
  if (Status s = file.read_at(0, head); !s.ok()) return s;
  ByteView v(head, where);
  const uint32_t key_at = static_cast<uint32_t>(v.le(44, 4, "key header offset"));
  if (!v.status().ok()) return v.status();
  Container c;
  uint64_t cipher_at = 0, cipher_size = 0, header_at = 0;
  if (key_at == kMdxMarker) {
    // MDX: the descriptor area (encrypted descriptor, then the key header, of
    // which the area's length counts only the 64-byte salt) lies after the data.
    c.mdx = true;
    const uint64_t area = v.le(48, 8, "MDX descriptor offset");
    const uint64_t length = v.le(56, 8, "MDX descriptor length");
    if (!v.status().ok()) return v.status();
    if (area < kMdxHeaderSize || area > size || length < mds_crypto::kSaltSize + 16 || length > size - area) {
      return v.fail(48, "MDX descriptor area at " + std::to_string(area) + ", " + std::to_string(length) +
                            " bytes, does not lie inside the file (" + std::to_string(size) + " bytes)");
    }
    cipher_at = area;
    cipher_size = length - mds_crypto::kSaltSize;
    header_at = area + cipher_size;
  } else {
    cipher_at = kFileHeaderSize;
    if (key_at < kFileHeaderSize + 16 || key_at > size) {
      return v.fail(44, "key header offset " + std::to_string(key_at) + " is not inside the file (" +
                            std::to_string(size) + " bytes)");
    }
    cipher_size = key_at - kFileHeaderSize;
    header_at = key_at;
  }
  if (header_at > size || size - header_at < kHeaderSize) {
    return Status::Corruption(where + ": offset " + std::to_string(header_at) + ": key header of 512 bytes runs past the end of the file (" +
                              std::to_string(size) + " bytes); the file is truncated");
  }
  if (cipher_size > max_descriptor) {
    return Status::Corruption(where + ": offset " + std::to_string(cipher_at) + ": encrypted descriptor of " +
                              std::to_string(cipher_size) + " bytes is larger than the limit of " +
                              std::to_string(max_descriptor));
  }
  std::array<uint8_t, kHeaderSize> header;
  if (Status s = file.read_at(header_at, header); !s.ok()) return s;
  auto key = mds_crypto::open_key_header(header, mds_crypto::HeaderMode::cbc,
                                         where + ": descriptor key header at offset " + std::to_string(header_at));
  if (!key.ok()) return key.status();
  if (round_up16(key->compressed_size) != cipher_size) {
    return Status::Corruption(where + ": descriptor key header at offset " + std::to_string(header_at) +
                              ": compressed descriptor size " + std::to_string(key->compressed_size) +
                              " does not fill the " + std::to_string(cipher_size) + " encrypted bytes at offset " +
                              std::to_string(cipher_at));
  }
  if (key->decompressed_size == 0 || key->decompressed_size > max_descriptor) {
    return Status::Corruption(where + ": descriptor key header at offset " + std::to_string(header_at) +
                              ": descriptor size " + std::to_string(key->decompressed_size) + " is not 1.." +
                              std::to_string(max_descriptor));
  }
  std::vector<uint8_t> cipher(static_cast<size_t>(cipher_size));
  if (Status s = file.read_at(cipher_at, cipher); !s.ok()) return s;
  mds_crypto::descriptor_cipher(*key).decrypt(cipher);

  c.descriptor.assign(head.begin(), head.begin() + kPrefix);
  c.descriptor.resize(kPrefix + key->decompressed_size);
  const InflatedBlock z = inflate_block(std::span(cipher).first(key->compressed_size),
                                       std::span(c.descriptor).subspan(kPrefix, key->decompressed_size), 15);
  if (!z.started) return Status::IoError(where + ": zlib cannot start inflating (out of memory)");
  const int rc = z.rc;
  const uint64_t produced = z.produced;
  const std::string zlib_says = z.zlib_says.empty() ? "incomplete" : z.zlib_says;
  if (rc != Z_STREAM_END || produced != key->decompressed_size) {
    return Status::Corruption(where + ": offset " + std::to_string(cipher_at) +
                              ": the decrypted descriptor is not a zlib stream of " +
                              std::to_string(key->decompressed_size) + " bytes (zlib: " +
                              (rc == Z_STREAM_END ? "ended after " + std::to_string(produced) + " bytes"
                                                  : zlib_says) +
                              ")");
  }
  return c;
}

namespace {

// The track data's key header inside a version 2 descriptor (its 512 bytes
// from the returned pointer), or null when the data is plain.
Result<const uint8_t*> data_key_header(std::span<const uint8_t> descriptor, const std::string& where, uint64_t* at) {
  ByteView v(descriptor, where + " (decrypted descriptor)");
  *at = v.le(kDataKeyHeaderAt, 4, "track data key header offset");
  if (!v.status().ok()) return v.status();
  if (*at == 0) return static_cast<const uint8_t*>(nullptr);
  if (*at + kHeaderSize != descriptor.size()) {
    return v.fail(kDataKeyHeaderAt, "track data key header at " + std::to_string(*at) +
                                        " is not the descriptor's last 512 bytes (descriptor is " +
                                        std::to_string(descriptor.size()) + " bytes)");
  }
  return descriptor.data() + *at;
}

constexpr size_t kMaxPasswordLine = 4096;
// TrueCrypt's (and mdsx's) password limit; libMirage passes a longer one whole.
constexpr size_t kTrueCryptPasswordMax = 64;

}  // namespace

Result<std::shared_ptr<const mds_crypto::Lrw>> data_cipher(std::span<const uint8_t> descriptor, const std::string& where,
                                                           const PasswordSource& user_password) {
  uint64_t at = 0;
  auto header = data_key_header(descriptor, where, &at);
  if (!header.ok()) return header.status();
  if (*header == nullptr) return std::shared_ptr<const mds_crypto::Lrw>();
  const std::span<const uint8_t, kHeaderSize> sealed(*header, kHeaderSize);
  const std::string what = where + ": track data key header at descriptor offset " + std::to_string(at);
  auto key = mds_crypto::open_key_header(sealed, mds_crypto::HeaderMode::lrw, what);
  if (key.ok()) return std::make_shared<const mds_crypto::Lrw>(mds_crypto::data_cipher(*key));
  // Not the salt-derived password: the user's (DAEMON Tools' "protect with password").
  auto password = user_password ? user_password() : Result<UserPassword>(Status::NotFound("no password file given"));
  if (!password.ok()) {
    return password.status().with_context(where + ": the track data is protected by a password");
  }
  std::vector<std::span<const uint8_t>> tries = {password->bytes};
  if (password->bytes.size() > kTrueCryptPasswordMax) {
    tries.insert(tries.begin(), std::span<const uint8_t>(password->bytes).first(kTrueCryptPasswordMax));
  }
  for (std::span<const uint8_t> p : tries) {
    key = mds_crypto::open_key_header(sealed, mds_crypto::HeaderMode::lrw, what, p);
    if (key.ok()) return std::make_shared<const mds_crypto::Lrw>(mds_crypto::data_cipher(*key));
  }
  return Status::InvalidArgument("the password in '" + password->from + "' does not open the track data of " + where +
                                 " (its key header at descriptor offset " + std::to_string(at) +
                                 " does not decrypt to the magic \"TRUE\" with a valid CRC)");
}

bool needs_user_password(std::span<const uint8_t> descriptor) {
  uint64_t at = 0;
  auto header = data_key_header(descriptor, "", &at);
  return header.ok() && *header != nullptr &&
         !mds_crypto::open_key_header(std::span<const uint8_t, kHeaderSize>(*header, kHeaderSize),
                                      mds_crypto::HeaderMode::lrw, "")
              .ok();
}

Result<std::vector<uint8_t>> read_password_file(const RandomAccessFile& file) {
  std::vector<uint8_t> head(static_cast<size_t>(std::min<uint64_t>(file.size(), kMaxPasswordLine + 2)));
  if (Status s = file.read_at(0, head); !s.ok()) return s;
  auto end = std::find(head.begin(), head.end(), uint8_t{'\n'});
  const bool line_ends_here = end != head.end() || file.size() == head.size();
  if (end != head.begin() && *(end - 1) == '\r') --end;
  std::vector<uint8_t> line(head.begin(), end);
  if (!line_ends_here || line.size() > kMaxPasswordLine) {
    return Status::InvalidArgument("password file '" + file.name() + "': its first line is longer than " +
                                   std::to_string(kMaxPasswordLine) + " bytes");
  }
  if (line.empty()) return Status::InvalidArgument("password file '" + file.name() + "': its first line is empty");
  return line;
}

std::shared_ptr<RandomAccessFile> decrypted_file(std::shared_ptr<RandomAccessFile> base,
                                                 std::shared_ptr<const mds_crypto::Lrw> cipher,
                                                 std::vector<EncryptedRun> runs) {
  return std::make_shared<DecryptedFile>(std::move(base), std::move(cipher), std::move(runs));
}

void encrypt_sector(const mds_crypto::Lrw& cipher, std::span<uint8_t> sector, uint64_t sector_in_track) {
  const size_t blocks = sector.size() / mds_crypto::kBlock;
  cipher.encrypt(sector.first(blocks * mds_crypto::kBlock), 1 + blocks * sector_in_track);
}

}  // namespace udisc::formats::mds_v2
