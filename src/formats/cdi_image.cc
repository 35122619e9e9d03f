// DiscJuggler reader: one .cdi file, the sectors of every track (each from
// its pregap) first, then a descriptor whose start the last 8 bytes give
// (version 0x80000004 = v2, ...05 = v3, ...06 = v3.5, then a 32-bit offset:
// absolute in v2/v3, counted back from the end of the file in v3.5). No
// specification was published; the layout below is the one libMirage,
// cdirip-derived readers (redream, lxdream) and Aaru agree on, byte for byte
// in docs/formats/cdi.md. All integers are little-endian. Only the
// descriptor is read at open.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <optional>

#include "formats/byte_view.h"
#include "formats/cd_text_packs.h"
#include "formats/descriptor_images.h"
#include "formats/track_image.h"

namespace udisc::formats {
namespace {

constexpr uint32_t kVersion2 = 0x80000004u;
constexpr uint32_t kVersion3 = 0x80000005u;
constexpr uint32_t kVersion35 = 0x80000006u;
constexpr uint64_t kMaxDescriptorBytes = 16 << 20;  // real descriptors have a few KiB
constexpr int32_t kMaxLba = 1 << 26;
constexpr uint32_t kMaxIndices = 100;
constexpr uint32_t kMaxTextBlocks = 16;
constexpr uint8_t kStartMark[10] = {0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF};
constexpr uint32_t kExtendedHead = 0x80000000u;  // DiscJuggler 4: capacity and medium type follow
constexpr uint16_t kMediumDvd = 0x38;

struct Footer {
  uint32_t version = 0;
  uint64_t descriptor = 0;  // offset of the descriptor
};

std::optional<Footer> find_footer(const RandomAccessFile& f) {
  const uint64_t size = f.size();
  std::array<uint8_t, 8> tail{};
  if (size < 16 || !f.read_at(size - tail.size(), tail).ok()) return std::nullopt;
  auto le32 = [&](size_t at) {
    return uint32_t{tail[at]} | uint32_t{tail[at + 1]} << 8 | uint32_t{tail[at + 2]} << 16 | uint32_t{tail[at + 3]} << 24;
  };
  const uint32_t version = le32(0), value = le32(4);
  if (version < kVersion2 || version > kVersion35 || value == 0) return std::nullopt;
  const uint64_t at = version == kVersion35 ? size - std::min<uint64_t>(value, size) : value;
  if (at + 8 >= size) return std::nullopt;
  return Footer{version, at};
}

std::string version_name(uint32_t v) { return v == kVersion2 ? "v2" : v == kVersion3 ? "v3" : "v3.5"; }

class CdiReader {
 public:
  CdiReader(std::shared_ptr<RandomAccessFile> file, Footer footer, std::vector<uint8_t> data)
      : file_(std::move(file)), footer_(footer), data_(std::move(data)),
        v_(data_, "'" + file_->name() + "' (DiscJuggler " + version_name(footer.version) + " descriptor)",
           footer.descriptor) {}

  Result<ImagePtr> open() {
    const uint64_t sessions = v_.le(0, 2, "session count");
    if (!v_.status().ok()) return v_.status();
    if (sessions == 0 || sessions > 99) return v_.fail(0, std::to_string(sessions) + " sessions (a disc has 1..99)");
    at_ = 2;
    for (uint64_t s = 0; s < sessions; ++s) {
      const uint64_t tracks = v_.le(at_, 2, "track count");
      if (!v_.status().ok()) return v_.status();
      if (tracks == 0 || disc_.tracks.size() + tracks > 99) {
        return v_.fail(at_, "session " + std::to_string(s + 1) + " has " + std::to_string(tracks) +
                                " tracks (1..99 on the disc)");
      }
      at_ += 2;
      for (uint64_t k = 0; k < tracks; ++k) {
        if (Status st = read_track(static_cast<uint8_t>(s + 1)); !st.ok()) return st;
      }
      at_ += 12;  // session trailer: session type, end address
      if (footer_.version != kVersion2) at_ += 1;
    }
    if (Status st = read_disc_block(); !st.ok()) return st;
    finish_disc(disc_);
    if (dvd_ && disc_.tracks.size() == 1 && disc::is_data(disc_.tracks[0].mode)) {
      disc_.disc_class = disc::classify_plain_image(static_cast<uint64_t>(disc_.leadout_lba()));
    }
    std::vector<std::shared_ptr<RandomAccessFile>> files{file_};
    return make_track_image("cdi", "'" + file_->name() + "'", std::move(disc_), std::move(files), std::move(runs_));
  }

 private:
  // The head every track record and the disc block begin with: an optional
  // 8-byte extension, two start marks, the file name, the medium type.
  Status read_head(ByteView& v, const std::string& what) {
    const bool extended = v.le(at_, 4, "record extension flag") != 0;
    at_ += extended ? 12 : 4;
    for (int m = 0; m < 2; ++m) {
      if (!v.has(at_, sizeof kStartMark) || std::memcmp(data_.data() + at_, kStartMark, sizeof kStartMark) != 0) {
        return v.fail(at_, what + ": no start mark (00 00 01 00 00 00 FF FF FF FF)");
      }
      at_ += sizeof kStartMark;
    }
    at_ += 4;
    at_ += 1 + v.u8(at_, "file name length");
    at_ += 19;
    if (v.le(at_, 4, "head flags") == kExtendedHead) {
      dvd_ = dvd_ || v.le(at_ + 10, 2, "medium type") == kMediumDvd;
      at_ += 8;
    }
    at_ += 4;
    return v.status();
  }

  Status read_track(uint8_t session) {
    const uint8_t number = static_cast<uint8_t>(disc_.tracks.size() + 1);
    const std::string what = "track " + std::to_string(number);
    const uint64_t record = at_;
    if (Status s = read_head(v_, what); !s.ok()) return s;
    const uint64_t n_indices = v_.le(at_, 2, "index count");
    if (!v_.status().ok()) return v_.status();
    if (n_indices < 2 || n_indices > kMaxIndices) {
      return v_.fail(at_, what + ": " + std::to_string(n_indices) + " index lengths (2.." + std::to_string(kMaxIndices) + ")");
    }
    at_ += 2;
    std::vector<uint32_t> lengths;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n_indices; ++i, at_ += 4) {
      lengths.push_back(static_cast<uint32_t>(v_.le(at_, 4, "index length")));
      sum += lengths.back();
    }
    const uint64_t text_blocks = v_.le(at_, 4, "CD-TEXT block count");
    if (text_blocks > kMaxTextBlocks) return v_.fail(at_, what + ": " + std::to_string(text_blocks) + " CD-TEXT blocks");
    at_ += 4;
    for (uint64_t b = 0; b < text_blocks; ++b) {
      for (int f = 0; f < 18 && v_.status().ok(); ++f) at_ += 1 + v_.u8(at_, "CD-TEXT field length");
    }
    at_ += 2;
    const uint64_t mode_at = at_;
    const uint64_t mode = v_.le(at_, 4, "track mode");
    at_ += 8;
    at_ += 8;  // session and track index
    const uint64_t start_address = v_.le(at_, 4, "track start address");
    const uint64_t total = v_.le(at_ + 4, 4, "track length");
    at_ += 8 + 16;
    const uint64_t read_mode_at = at_;
    const uint64_t read_mode = v_.le(at_, 4, "read mode");
    const uint64_t ctl = v_.le(at_ + 4, 4, "control");
    at_ += 8 + 9;
    std::string isrc(12, '\0');
    if (v_.has(at_, 12)) std::memcpy(isrc.data(), data_.data() + at_, 12);
    const uint64_t isrc_valid = v_.le(at_ + 12, 4, "ISRC valid flag");
    at_ += 16;
    if (footer_.version != kVersion2) {
      at_ += 5;
      if (v_.le(at_, 4, "record tail flag") == 0xFFFFFFFFu) at_ += 78;
      at_ += 4;
    }
    if (!v_.status().ok()) return v_.status();

    if (mode > 2) return v_.fail(mode_at, what + ": unknown track mode " + std::to_string(mode) + " (0 audio, 1 mode 1, 2 mode 2)");
    static constexpr uint32_t kMain[] = {2048, 2336, 2352, 2352, 2352};
    static constexpr uint32_t kSubBytes[] = {0, 0, 0, 16, 96};
    if (read_mode > 4) {
      return v_.fail(read_mode_at, what + ": unknown read mode " + std::to_string(read_mode) +
                                       " (0: 2048, 1: 2336, 2: 2352, 3: 2352+16, 4: 2352+96 bytes per sector)");
    }
    if (sum != total) {
      return v_.fail(record, what + ": index lengths add up to " + std::to_string(sum) + " sectors but the track has " +
                                 std::to_string(total));
    }
    if (total == 0 || total > static_cast<uint64_t>(kMaxLba) || start_address > static_cast<uint64_t>(kMaxLba) ||
        lengths[0] >= total) {
      return v_.fail(record, what + ": start " + std::to_string(start_address) + ", " + std::to_string(total) +
                                 " sectors with a pregap of " + std::to_string(lengths[0]) + " is not a track on a disc");
    }
    const uint32_t main_size = kMain[read_mode];
    const uint32_t stride = main_size + kSubBytes[read_mode];

    disc::Track t;
    t.number = number;
    t.session = session;
    t.mode = mode == 0 ? disc::TrackMode::audio : mode == 1 ? disc::TrackMode::mode1 : disc::TrackMode::mode2_form1;
    const int32_t stored_from = static_cast<int32_t>(start_address) - 150;  // the address counts from MSF 00:00:00
    t.start_lba = stored_from + static_cast<int32_t>(lengths[0]);
    t.end_lba = stored_from + static_cast<int32_t>(total);
    // Sectors before LBA 0 are the disc's lead-in gap, which the model omits (as CUE).
    t.pregap_lba = t.start_lba >= 0 ? std::max(stored_from, 0) : stored_from;
    if (t.pregap_lba < t.start_lba) t.indices.push_back(disc::Index{0, t.pregap_lba});
    int32_t index_at = t.start_lba;
    for (size_t i = 1; i < lengths.size(); ++i) {  // index i starts where index i-1's length ends
      t.indices.push_back(disc::Index{static_cast<uint8_t>(i), index_at});
      index_at += static_cast<int32_t>(lengths[i]);
    }
    t.control = static_cast<uint8_t>(ctl & 0x0F);
    if (isrc_valid != 0 && std::all_of(isrc.begin(), isrc.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); })) {
      t.isrc = isrc;
    }
    const uint64_t skip = static_cast<uint64_t>(t.pregap_lba - stored_from) * stride;
    const uint64_t end = offset_ + total * stride;
    if (end > footer_.descriptor) {
      return v_.fail(record, what + ": its " + std::to_string(total) + " sectors of " + std::to_string(stride) +
                                 " bytes from file offset " + std::to_string(offset_) +
                                 " run into the descriptor at offset " + std::to_string(footer_.descriptor));
    }
    if (disc::is_data(t.mode) && main_size != 2048) {
      t.mode = probe_data_mode(*file_, offset_ + skip + static_cast<uint64_t>(t.start_lba - t.pregap_lba) * stride,
                               main_size, t.mode);
    }
    if (t.mode == disc::TrackMode::audio && main_size != 2352) {
      return v_.fail(read_mode_at, what + ": an audio track stored as " + std::to_string(main_size) + "-byte sectors");
    }
    if (disc::is_data(t.mode)) t.control |= disc::control::kDataTrack;
    StoredRun r{.lba = t.pregap_lba, .count = t.end_lba - t.pregap_lba, .track = disc_.tracks.size(), .file = 0,
                .offset = offset_ + skip, .main_size = main_size, .stride = stride};
    if (read_mode == 4) {
      r.sub_file = 0;
      r.sub_offset = r.offset + main_size;
      r.sub_stride = stride;
    }
    runs_.push_back(r);
    disc_.tracks.push_back(std::move(t));
    offset_ = end;
    return Status::Ok();
  }

  // After the sessions: an empty session, then the disc block with the MCN
  // and the raw CD-TEXT packs. Images without it (or with a head this reader
  // does not recognise) have neither.
  Status read_disc_block() {
    ByteView v(data_, v_name(), footer_.descriptor);
    if (!v.has(at_, 2) || v.le(at_, 2, "empty session") != 0) return Status::Ok();
    at_ += 2;
    if (!read_head(v, "disc block").ok()) return Status::Ok();
    at_ += 4;  // disc length
    at_ += 1 + v.u8(at_, "volume id length");
    at_ += 9;
    std::string mcn(13, '\0');
    if (v.has(at_, 13)) std::memcpy(mcn.data(), data_.data() + at_, 13);
    const uint64_t mcn_valid = v.le(at_ + 13, 4, "MCN valid flag");
    at_ += 17;
    const uint64_t text_at = at_;
    const uint64_t text_bytes = v.le(at_, 4, "CD-TEXT length");
    at_ += 4;
    if (!v.status().ok()) return Status::Ok();
    if (mcn_valid != 0 && std::all_of(mcn.begin(), mcn.end(), [](char c) { return c >= '0' && c <= '9'; })) disc_.mcn = mcn;
    if (text_bytes == 0) return Status::Ok();
    if (!v.has(at_, text_bytes)) return v.fail(text_at, "CD-TEXT of " + std::to_string(text_bytes) + " bytes runs past the descriptor");
    Status s = decode_cd_text_packs(std::span<const uint8_t>(data_.data() + at_, text_bytes), disc_);
    return s.ok() ? s : Status(s).with_context(v_name() + " offset " + std::to_string(footer_.descriptor + text_at));
  }

  std::string v_name() const { return "'" + file_->name() + "'"; }

  std::shared_ptr<RandomAccessFile> file_;
  Footer footer_;
  std::vector<uint8_t> data_;
  ByteView v_;
  uint64_t at_ = 0;
  uint64_t offset_ = 0;  // data file offset of the next track's first stored sector
  bool dvd_ = false;
  disc::Disc disc_;
  std::vector<StoredRun> runs_;
};

}  // namespace

bool looks_like_cdi(const RandomAccessFile& file) {
  // The footer alone could be the last samples of an audio image; the
  // descriptor it points to must also start with a session count of 1..99.
  const auto footer = find_footer(file);
  std::array<uint8_t, 2> sessions{};
  if (!footer || !file.read_at(footer->descriptor, sessions).ok()) return false;
  const unsigned count = sessions[0] | unsigned{sessions[1]} << 8;
  return count >= 1 && count <= 99;
}

Result<ImagePtr> open_cdi(std::shared_ptr<RandomAccessFile> cdi) {
  const auto footer = find_footer(*cdi);
  if (!footer) {
    return Status::Corruption("'" + cdi->name() + "': no DiscJuggler footer (version 0x80000004..6 and descriptor offset in the last 8 bytes)");
  }
  const uint64_t bytes = cdi->size() - footer->descriptor;
  if (bytes > kMaxDescriptorBytes) {
    return Status::Corruption("'" + cdi->name() + "': DiscJuggler descriptor of " + std::to_string(bytes) +
                              " bytes at offset " + std::to_string(footer->descriptor) + " is too large");
  }
  std::vector<uint8_t> data(static_cast<size_t>(bytes));
  if (Status s = cdi->read_at(footer->descriptor, data); !s.ok()) return s;
  return CdiReader(std::move(cdi), *footer, std::move(data)).open();
}

}  // namespace udisc::formats
