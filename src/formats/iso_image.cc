// ISO reader: one data track from a file of plain 2048-byte sectors, or of
// raw 2352-byte mode 1 / mode 2 sectors (recognised by the sync pattern).
//
// Facts relied on (docs/formats/iso.md):
//   - A plain image is the user data of consecutive sectors from LBA 0; it
//     carries no medium type, so the disc class follows from its size
//     (disc::classify_plain_image).
//   - A raw sector starts with the 12-byte sync 00 FF×10 00 (ECMA-130 14.2),
//     then a 4-byte header (BCD MSF, mode). Mode 2 sectors written per
//     CD-ROM XA carry an 8-byte subheader (file, channel, submode, coding,
//     then the same four bytes again); submode bit 5 selects form 2.
// Opening reads at most a few sectors; reads are stateless preads.
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "disc/ecma130.h"
#include "disc/subchannel.h"
#include "formats/open.h"

namespace udisc::formats {
namespace {

using disc::kRawSectorSize;
using disc::TrackMode;

constexpr uint32_t kUserSectorSize = 2048;
constexpr std::array<uint8_t, 12> kSync = {0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00};
constexpr uint32_t kHeaderModeOffset = 15;  // ECMA-130 14.3: header byte 4 = mode
constexpr uint32_t kSubheaderOffset = 16;   // CD-ROM XA subheader (8 bytes)
constexpr uint8_t kSubmodeForm2 = 0x20;     // XA submode bit 5
// Sector 16 holds the ISO 9660 / UDF volume recognition area; in an XA image it is form 1.
constexpr uint64_t kProbeSector = 16;
constexpr uint32_t kChunkSectors = 32;

bool has_sync(std::span<const uint8_t> sector) {
  return sector.size() >= kSync.size() && std::equal(kSync.begin(), kSync.end(), sector.begin());
}

// Byte offset of the user data inside a raw sector of this mode.
uint32_t user_offset(TrackMode mode) {
  switch (mode) {
    case TrackMode::audio:
      return 0;
    case TrackMode::mode1:
      return 16;
    case TrackMode::mode2:
      return 16;
    case TrackMode::mode2_form1:
      return 24;
    case TrackMode::mode2_form2:
      return 24;
  }
  return 16;
}

class IsoImage final : public disc::Image {
 public:
  IsoImage(std::shared_ptr<RandomAccessFile> file, bool raw, disc::Disc d)
      : file_(std::move(file)), raw_(raw), disc_(std::move(d)), mode_(disc_.tracks.front().mode) {}

  const disc::Disc& disc() const override { return disc_; }
  std::string format_name() const override { return raw_ ? "iso-raw" : "iso"; }

  Status read_user(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    const uint32_t size = disc::user_data_size(mode_);
    if (Status s = check(lba, count, out.size(), size, "read_user"); !s.ok()) return s;
    if (!raw_) return file_->read_at(static_cast<uint64_t>(lba) * kUserSectorSize, out);
    std::vector<uint8_t> buffer(static_cast<size_t>(std::min(count, kChunkSectors)) * kRawSectorSize);
    const uint32_t offset = user_offset(mode_);
    for (uint32_t done = 0; done < count;) {
      const uint32_t n = std::min(count - done, kChunkSectors);
      std::span<uint8_t> raw(buffer.data(), static_cast<size_t>(n) * kRawSectorSize);
      if (Status s = file_->read_at(static_cast<uint64_t>(lba + done) * kRawSectorSize, raw); !s.ok()) return s;
      for (uint32_t i = 0; i < n; ++i) {
        std::memcpy(out.data() + static_cast<size_t>(done + i) * size,
                    raw.data() + static_cast<size_t>(i) * kRawSectorSize + offset, size);
      }
      done += n;
    }
    return Status::Ok();
  }

  Status read_raw(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    if (Status s = check(lba, count, out.size(), kRawSectorSize, "read_raw"); !s.ok()) return s;
    if (raw_) return file_->read_at(static_cast<uint64_t>(lba) * kRawSectorSize, out);
    if (!disc::is_cd(disc_.disc_class)) {
      return Status::NotSupported("'" + file_->name() + "': raw CD sectors do not exist on a " +
                                  disc::to_string(disc_.disc_class) + " disc");
    }
    // Read the user data of all sectors first, then spread them out back to front
    // (so no sector is overwritten before it is moved) and synthesise around them.
    const uint32_t off = user_offset(mode_);
    std::span<uint8_t> packed = out.first(static_cast<size_t>(count) * kUserSectorSize);
    if (Status s = file_->read_at(static_cast<uint64_t>(lba) * kUserSectorSize, packed); !s.ok()) return s;
    for (uint32_t i = count; i-- > 0;) {
      uint8_t* sector = out.data() + static_cast<size_t>(i) * kRawSectorSize;
      std::memmove(sector + off, out.data() + static_cast<size_t>(i) * kUserSectorSize, kUserSectorSize);
      std::span<uint8_t, kRawSectorSize> s(sector, kRawSectorSize);
      // Plain images hold mode 1 user data: sync, header, 8 zero bytes, then EDC and ECC.
      disc::write_sync_and_header(lba + static_cast<int32_t>(i), 1, s);
      std::memset(sector + disc::ecma130::kMode1ZeroOffset, 0, 8);
      disc::complete_sector(s);
    }
    return Status::Ok();
  }

  Status read_subchannel(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    if (Status s = check(lba, count, out.size(), disc::kSubchannelSize, "read_subchannel"); !s.ok()) return s;
    for (uint32_t i = 0; i < count; ++i) {
      std::span<uint8_t, disc::kSubchannelSize> s(out.data() + static_cast<size_t>(i) * disc::kSubchannelSize,
                                                  disc::kSubchannelSize);
      disc::build_subchannel(disc_, lba + static_cast<int32_t>(i), s);
    }
    return Status::Ok();
  }

  bool stores_raw(int32_t lba) const override { return raw_ && lba >= 0 && lba < disc_.leadout_lba(); }

 private:
  Status check(int32_t lba, uint32_t count, size_t out_size, uint32_t sector_size, const char* what) const {
    const int64_t end = static_cast<int64_t>(lba) + count;
    if (lba < 0 || end > disc_.leadout_lba()) {
      return Status::OutOfRange("'" + file_->name() + "': " + what + " of LBA " + std::to_string(lba) + "+" +
                                std::to_string(count) + " outside 0.." + std::to_string(disc_.leadout_lba() - 1));
    }
    if (out_size != static_cast<size_t>(count) * sector_size) {
      return Status::InvalidArgument(std::string(what) + ": buffer of " + std::to_string(out_size) + " bytes for " +
                                     std::to_string(count) + " sectors of " + std::to_string(sector_size));
    }
    return Status::Ok();
  }

  std::shared_ptr<RandomAccessFile> file_;
  bool raw_;
  disc::Disc disc_;
  TrackMode mode_;
};

// Reads a raw sector's first 24 bytes (sync, header, subheader) if the file has it.
bool probe(const RandomAccessFile& file, uint64_t sector, std::array<uint8_t, 24>& head, Status& error) {
  const uint64_t offset = sector * kRawSectorSize;
  if (file.size() < offset + head.size()) return false;
  error = file.read_at(offset, head);
  return error.ok();
}

}  // namespace

Result<ImagePtr> open_iso(std::shared_ptr<RandomAccessFile> file) {
  if (file == nullptr) return Status::InvalidArgument("open_iso: no file");
  const std::string& name = file->name();
  const uint64_t size = file->size();
  if (size == 0) return Status::Corruption("'" + name + "': empty file, not a disc image");

  Status io;
  std::array<uint8_t, 24> first{};
  bool raw = false;
  if (probe(*file, 0, first, io) && has_sync(first)) {
    // One stray sync at byte 0 of a plain image is possible in principle; two are not.
    std::array<uint8_t, 24> second{};
    raw = size < 2 * static_cast<uint64_t>(kRawSectorSize) || (probe(*file, 1, second, io) && has_sync(second));
  }
  if (!io.ok()) return io;

  TrackMode mode = TrackMode::mode1;
  uint64_t sectors = 0;
  disc::DiscClass disc_class = disc::DiscClass::cd_rom;
  if (raw) {
    if (size % kRawSectorSize != 0) {
      return Status::Corruption("'" + name + "': raw 2352-byte sectors (sync pattern at byte 0) but the size, " +
                                std::to_string(size) + " bytes, is not a multiple of 2352");
    }
    sectors = size / kRawSectorSize;
    const uint8_t mode_byte = first[kHeaderModeOffset];
    if (mode_byte == 1) {
      mode = TrackMode::mode1;
    } else if (mode_byte == 2) {
      std::array<uint8_t, 24> head = first;
      if (sectors > kProbeSector) {
        if (!probe(*file, kProbeSector, head, io)) return io;
        if (!has_sync(head)) head = first;
      }
      const bool xa = std::equal(head.begin() + kSubheaderOffset, head.begin() + kSubheaderOffset + 4,
                                 head.begin() + kSubheaderOffset + 4);
      if (!xa) {
        mode = TrackMode::mode2;
      } else {
        mode = (head[kSubheaderOffset + 2] & kSubmodeForm2) ? TrackMode::mode2_form2 : TrackMode::mode2_form1;
        disc_class = disc::DiscClass::cd_rom_xa;
      }
    } else {
      return Status::Corruption("'" + name + "': raw sector at LBA 0 has mode byte " + std::to_string(mode_byte) +
                                " (expected 1 or 2)");
    }
  } else {
    if (size % kUserSectorSize != 0) {
      return Status::Corruption(
          "'" + name + "': size " + std::to_string(size) +
          " bytes is not a multiple of 2048 (plain ISO sectors) and the file has no raw-sector sync pattern");
    }
    sectors = size / kUserSectorSize;
    disc_class = disc::classify_plain_image(sectors);
  }
  if (sectors > static_cast<uint64_t>(INT32_MAX)) {
    return Status::NotSupported("'" + name + "': " + std::to_string(sectors) + " sectors exceed the LBA range");
  }

  disc::Disc d;
  d.disc_class = disc_class;
  disc::Track t;
  t.number = 1;
  t.session = 1;
  t.mode = mode;
  t.control = disc::control::kDataTrack;
  t.pregap_lba = 0;
  t.start_lba = 0;
  t.end_lba = static_cast<int32_t>(sectors);
  t.indices = {disc::Index{1, 0}};
  d.tracks.push_back(t);
  d.sessions.push_back(disc::Session{1, 1, 1, static_cast<int32_t>(sectors)});
  if (Status s = disc::validate(d); !s.ok()) return s.with_context("'" + name + "'");
  return ImagePtr(std::make_shared<IsoImage>(std::move(file), raw, std::move(d)));
}

}  // namespace udisc::formats
