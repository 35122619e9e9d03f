// MDS version 2 and MDX containers (DAEMON Tools, Alcohol 2.x): the encrypted,
// zlib-compressed descriptor and the LRW-encrypted track data around the
// descriptor layout mds_image.cc reads. Layout and sources: docs/formats/mds.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "formats/file.h"
#include "formats/mds_crypto.h"
#include "util/status.h"

namespace udisc::formats::mds_v2 {

// File header: "MEDIA DESCRIPTOR", version 2.x, a copyright text, then at 44
// the key header's offset (MDS v2) or FF FF FF FF (MDX, followed by the
// 64-bit offset and length of the descriptor area at 48 and 56).
constexpr size_t kFileHeaderSize = 48;
constexpr size_t kMdxHeaderSize = 64;
constexpr uint32_t kMdxMarker = 0xFFFFFFFFu;
// Offsets inside a version 2 descriptor count these 18 bytes (signature and version) as if they preceded it.
constexpr size_t kPrefix = 18;

struct Container {
  bool mdx = false;
  // The 18 bytes of signature and version, then the inflated descriptor.
  std::vector<uint8_t> descriptor;
};

// Whether the head of a file is a version 2 header.
bool is_v2(std::span<const uint8_t> head);
// Reads, decrypts and inflates the descriptor; at most `max_descriptor` bytes
// of it, encrypted or inflated. Errors name the file, the offset and the field.
Result<Container> read_container(const RandomAccessFile& file, uint64_t max_descriptor);

// A user's password for the track data: the bytes of the first line of the
// file named with --password-file, and that file's name for errors.
struct UserPassword {
  std::vector<uint8_t> bytes;
  std::string from;
};
// Asked only when the salt-derived password does not open the data key header.
using PasswordSource = std::function<Result<UserPassword>()>;

// The track data cipher, if the descriptor holds a key header for it (offset
// at descriptor byte 0x58); null when the data is plain. A header that does
// not open with the salt-derived password is opened with `user_password`'s;
// errors say the data is protected by a password, or that it is the wrong one.
Result<std::shared_ptr<const mds_crypto::Lrw>> data_cipher(std::span<const uint8_t> descriptor, const std::string& where,
                                                           const PasswordSource& user_password);
// Whether the track data's key header needs a user's password (it is there,
// and does not open with the salt-derived password).
bool needs_user_password(std::span<const uint8_t> descriptor);
// A password file's first line without its line ending ("\n" or "\r\n"): at
// most 4096 bytes, not empty.
Result<std::vector<uint8_t>> read_password_file(const RandomAccessFile& file);

// One track's stored sectors in a data file: each sector's first
// (sector_size & ~15) bytes are LRW-encrypted with block indices starting at
// 1 + (sector_size / 16) * (sector number counted from the track's start).
struct EncryptedRun {
  uint64_t offset = 0;
  uint32_t sector_size = 0;
  uint64_t sectors = 0;
};

// `base` read through the cipher for the bytes inside `runs` (others as stored).
std::shared_ptr<RandomAccessFile> decrypted_file(std::shared_ptr<RandomAccessFile> base,
                                                 std::shared_ptr<const mds_crypto::Lrw> cipher,
                                                 std::vector<EncryptedRun> runs);
// The writer's side: encrypts one sector in place.
void encrypt_sector(const mds_crypto::Lrw& cipher, std::span<uint8_t> sector, uint64_t sector_in_track);

}  // namespace udisc::formats::mds_v2
