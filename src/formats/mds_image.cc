// Alcohol 120% / DAEMON Tools reader: .mds descriptor (version 1, or version
// 2 whose descriptor mds_v2.cc decrypts and inflates) + .mdf data file, or an
// MDX (version 2, descriptor and data in one file). Field layout, the meaning
// of each field this reader uses, and sources: docs/formats/mds.md. All
// integers are little-endian.
#include <algorithm>
#include <cstring>
#include <map>

#include "formats/byte_view.h"
#include "formats/descriptor_images.h"
#include "formats/mds_chunks.h"
#include "formats/mds_v2.h"
#include "formats/track_image.h"

namespace udisc::formats {
namespace {

constexpr std::string_view kSignature = "MEDIA DESCRIPTOR";
constexpr uint64_t kMaxMdsBytes = 16 << 20;
constexpr size_t kTrackBlockSize = 80;

// Where versions 1 and 2 differ in the blocks this reader uses (version 2's
// descriptor counts the 18 bytes of signature and version before it).
struct Layout {
  int version = 1;
  size_t header_size = 88;
  size_t session_size = 24;
  size_t session_end_at = 4;
  unsigned session_end_width = 4;
};
constexpr Layout kVersion1{};
constexpr Layout kVersion2{.version = 2, .header_size = 96, .session_size = 32, .session_end_at = 24,
                           .session_end_width = 8};
// Version 2 footer byte 4 (version 1's wide-name flag): bit 0 = track stored in compressed chunks.
constexpr uint8_t kFooterCompressed = 0x01;
constexpr int32_t kMaxLba = 100 * 60 * 75;

// Medium types (header offset 18).
constexpr uint16_t kMediumDvdRom = 0x10;
constexpr uint16_t kMediumDvdR = 0x12;
constexpr uint16_t kMediumV2DvdRom = 3;  // version 2: 0..2 CD media
// Track block sub-channel field.
constexpr uint8_t kSubNone = 0x00;
constexpr uint8_t kSubPw96Interleaved = 0x08;

struct TrackBlock {
  uint8_t mode = 0;
  uint8_t subchannel = 0;
  uint8_t adr_ctl = 0;
  uint8_t point = 0;
  uint8_t pmin = 0, psec = 0, pframe = 0;
  uint32_t extra_offset = 0;
  uint16_t sector_size = 0;
  uint32_t start_sector = 0;
  uint64_t start_offset = 0;
  uint32_t files = 0;
  uint32_t footer_offset = 0;
  uint64_t at = 0;  // where the block is, for messages
  int session = 1;
  // Version 2 footer flag 0x01: stored in compressed chunks (footer 12, 16, 24).
  bool chunked = false;
  uint32_t group_sectors = 0;
  uint64_t chunked_sectors = 0;
  uint64_t table_offset = 0;
  // Index in the reader's files of the track's own decoded file (chunked tracks), else -1.
  int own_file = -1;
};

class MdsReader {
 public:
  // `data`: the descriptor (version 2: as mds_v2 decrypted it, after the 18 bytes of signature and version).
  MdsReader(const RandomAccessFile& mds, std::vector<uint8_t> data, const Layout& layout, bool mdx)
      : name_("'" + mds.name() + "'" + (layout.version == 2 ? " (decrypted descriptor)" : "")),
        file_name_("'" + mds.name() + "'"),
        mds_name_(mds.name()),
        data_(std::move(data)),
        v_(data_, name_),
        layout_(layout),
        mdx_(mdx) {}

  Status parse() {
    if (data_.size() < layout_.header_size ||
        std::memcmp(data_.data(), kSignature.data(), kSignature.size()) != 0) {
      return Status::Corruption(name_ + ": no \"MEDIA DESCRIPTOR\" header of " + std::to_string(layout_.header_size) +
                                " bytes; not an Alcohol .mds file");
    }
    const uint8_t major = v_.u8(16, "version");
    const uint8_t minor = v_.u8(17, "version");
    if (major != layout_.version) {
      return Status::NotSupported(name_ + ": MDS version " + std::to_string(major) + "." + std::to_string(minor) +
                                  " is not supported: versions 1 (Alcohol 120% 1.x) and 2 (DAEMON Tools, MDX) are read");
    }
    medium_ = static_cast<uint16_t>(v_.le(18, 2, "medium type"));
    const uint16_t sessions = static_cast<uint16_t>(v_.le(20, 2, "session count"));
    const uint32_t sessions_offset = static_cast<uint32_t>(v_.le(80, 4, "session blocks offset"));
    if (sessions == 0 || sessions > 99) return v_.fail(20, "session count " + std::to_string(sessions) + " is not 1..99");
    for (uint16_t s = 0; s < sessions; ++s) {
      const uint64_t at = sessions_offset + uint64_t{s} * layout_.session_size;
      const uint64_t raw_end = v_.le(at + layout_.session_end_at, layout_.session_end_width, "session end");
      const int64_t wide_end = layout_.session_end_width == 8 ? static_cast<int64_t>(raw_end)
                                                              : int64_t{static_cast<int32_t>(raw_end)};
      if (wide_end < -150 || wide_end > 2 * kMaxLba) {
        return v_.fail(at + layout_.session_end_at, "session end " + std::to_string(wide_end) + " is beyond any CD");
      }
      const int32_t end = static_cast<int32_t>(wide_end);
      const uint16_t number = static_cast<uint16_t>(v_.le(at + 8, 2, "session number"));
      const uint8_t blocks = v_.u8(at + 10, "session block count");
      const uint32_t tracks_offset = static_cast<uint32_t>(v_.le(at + 20, 4, "track blocks offset"));
      if (!v_.status().ok()) return v_.status();
      if (number != s + 1) {
        return v_.fail(at + 8, "session block " + std::to_string(s) + " has number " + std::to_string(number));
      }
      session_end_[number] = end;
      for (uint8_t b = 0; b < blocks; ++b) {
        Status st = read_track_block(tracks_offset + uint64_t{b} * kTrackBlockSize, number);
        if (!st.ok()) return st;
      }
    }
    return v_.status();
  }

  // Names of the data files, as the footers write them ("*" = this descriptor's base name).
  Result<std::vector<std::string>> file_names() {
    std::vector<std::string> names;
    for (const TrackBlock& t : tracks_) {
      if (t.files == 0) continue;
      if (t.files != 1) {
        return v_.fail(t.at + 48, "track " + std::to_string(t.point) + " is split over " + std::to_string(t.files) +
                                      " files; split .mdf files are not supported");
      }
      auto n = footer_name(t);
      if (!n.ok()) return n.status();
      if (std::find(names.begin(), names.end(), *n) == names.end()) names.push_back(*n);
    }
    return names;
  }

  Result<ImagePtr> build(const FileResolver& resolve) {
    auto names = file_names();
    if (!names.ok()) return names.status();
    std::vector<std::shared_ptr<RandomAccessFile>> files;
    for (const std::string& n : *names) {
      if (names_self(n) && self_ != nullptr) {
        files.push_back(self_);
        continue;
      }
      auto f = resolve(n);
      if (!f.ok()) return Status(f.status()).with_context(name_ + ": data file '" + n + "'");
      files.push_back(std::move(f).value());
    }
    if (tracks_.empty()) return Status::Corruption(name_ + ": no track blocks (points 1..99)");
    auto plain = decrypted(std::move(files), *names);
    if (!plain.ok()) return plain.status();
    files = std::move(plain).value();
    if (Status s = open_chunked(files, *names); !s.ok()) return s;
    const bool dvd = layout_.version == 2 ? medium_ >= kMediumV2DvdRom : (medium_ == kMediumDvdRom || medium_ == kMediumDvdR);
    if (dvd) return build_dvd(std::move(files), *names);
    return build_cd(std::move(files), *names);
  }

 private:
  Status read_track_block(uint64_t at, int session) {
    TrackBlock t;
    t.at = at;
    t.session = session;
    t.mode = v_.u8(at + 0, "track mode");
    t.subchannel = v_.u8(at + 1, "sub-channel mode");
    t.adr_ctl = v_.u8(at + 2, "ADR/control");
    t.point = v_.u8(at + 4, "point");
    t.pmin = v_.u8(at + 9, "PMin");
    t.psec = v_.u8(at + 10, "PSec");
    t.pframe = v_.u8(at + 11, "PFrame");
    t.extra_offset = static_cast<uint32_t>(v_.le(at + 12, 4, "extra block offset"));
    t.sector_size = static_cast<uint16_t>(v_.le(at + 16, 2, "sector size"));
    t.start_sector = static_cast<uint32_t>(v_.le(at + 36, 4, "start sector"));
    t.start_offset = v_.le(at + 40, 8, "start offset");
    t.files = static_cast<uint32_t>(v_.le(at + 48, 4, "file count"));
    t.footer_offset = static_cast<uint32_t>(v_.le(at + 52, 4, "footer offset"));
    if (!v_.status().ok()) return v_.status();
    if (layout_.version == 2 && t.point >= 1 && t.point <= 99 && t.files != 0 &&
        (v_.u8(uint64_t{t.footer_offset} + 4, "footer flags") & kFooterCompressed) != 0) {
      t.chunked = true;
      t.group_sectors = static_cast<uint32_t>(v_.le(uint64_t{t.footer_offset} + 12, 4, "sectors per compression group"));
      t.chunked_sectors = v_.le(uint64_t{t.footer_offset} + 16, 8, "compressed sectors");
      t.table_offset = v_.le(uint64_t{t.footer_offset} + 24, 8, "compression table offset");
      if (!v_.status().ok()) return v_.status();
    }
    if (t.point == 0xA2) {
      leadout_[session] = (t.pmin * 60 + t.psec) * 75 + t.pframe - 150;
    } else if (t.point >= 1 && t.point <= 99) {
      if (tracks_.size() >= 99) return v_.fail(at + 4, "more than 99 track blocks");
      tracks_.push_back(t);
    }
    return Status::Ok();
  }

  Result<std::string> footer_name(const TrackBlock& t) {
    const uint64_t at = t.footer_offset;
    const uint32_t name_offset = static_cast<uint32_t>(v_.le(at, 4, "file name offset"));
    // Version 2 names are always UTF-16; byte 4 holds flags there.
    const uint32_t wide = layout_.version == 2 ? 1 : static_cast<uint32_t>(v_.le(at + 4, 4, "wide file name flag"));
    if (!v_.status().ok()) return v_.status();
    // An MDX keeps its data in itself: no name.
    if (mdx_ && name_offset == 0) return own_name();
    std::string out;
    const size_t step = wide ? 2 : 1;
    for (uint64_t p = name_offset;; p += step) {
      if (!v_.has(p, step)) return v_.fail(p, "file name of track " + std::to_string(t.point) + " is not terminated");
      const uint16_t c = static_cast<uint16_t>(v_.le(p, static_cast<unsigned>(step), "file name"));
      if (c == 0) break;
      if (c > 0x7F) return v_.fail(p, "file name of track " + std::to_string(t.point) + " has a non-ASCII character");
      out.push_back(static_cast<char>(c));
      if (out.size() > 4096) return v_.fail(name_offset, "file name longer than 4096 characters");
    }
    if (out.empty()) return v_.fail(name_offset, "empty file name for track " + std::to_string(t.point));
    if (out.front() == '*') {
      // "*.mdf": the descriptor's own name with the given extension.
      std::string base = mds_name_.substr(mds_name_.find_last_of('/') + 1);
      const size_t dot = base.find_last_of('.');
      if (dot != std::string::npos) base.resize(dot);
      out = base + out.substr(1);
    }
    return out;
  }

  std::string own_name() const { return mds_name_.substr(mds_name_.find_last_of('/') + 1); }

  int file_index(const TrackBlock& t, const std::vector<std::string>& names) {
    if (t.own_file >= 0) return t.own_file;
    auto n = footer_name(t);
    if (!n.ok()) return -1;
    return static_cast<int>(std::find(names.begin(), names.end(), *n) - names.begin());
  }

  // Main bytes per sector and mode of a track block; error for layouts we do not read.
  Status sector_layout(const TrackBlock& t, const RandomAccessFile& file, uint32_t* main, disc::TrackMode* mode) {
    uint32_t sub = 0;
    if (t.subchannel == kSubPw96Interleaved) {
      sub = disc::kSubchannelSize;
    } else if (t.subchannel != kSubNone) {
      return v_.fail(t.at + 1, "track " + std::to_string(t.point) + ": sub-channel mode 0x" + hex(t.subchannel) +
                                   " is not supported (only none and 0x08, 96-byte interleaved P-W)");
    }
    if (t.sector_size <= sub) return v_.fail(t.at + 16, "sector size " + std::to_string(t.sector_size) + " is too small");
    *main = t.sector_size - sub;
    switch (t.mode & 0x07) {
      case 1: *mode = disc::TrackMode::audio; break;
      case 2: *mode = disc::TrackMode::mode1; break;
      case 3: *mode = disc::TrackMode::mode2; break;
      case 4: *mode = disc::TrackMode::mode2_form1; break;
      case 5: *mode = disc::TrackMode::mode2_form2; break;
      default:
        return v_.fail(t.at, "track " + std::to_string(t.point) + ": unknown track mode 0x" + hex(t.mode));
    }
    if (*mode != disc::TrackMode::audio && *main != 2048) {
      *mode = probe_data_mode(file, t.start_offset, *main, *mode);
    }
    return Status::Ok();
  }

  static std::string hex(unsigned v) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    return std::string{kDigits[(v >> 4) & 0xF], kDigits[v & 0xF]};
  }

  Result<ImagePtr> build_cd(std::vector<std::shared_ptr<RandomAccessFile>> files, const std::vector<std::string>& names) {
    std::sort(tracks_.begin(), tracks_.end(), [](const TrackBlock& a, const TrackBlock& b) { return a.point < b.point; });
    disc::Disc d;
    std::vector<StoredRun> runs;
    std::vector<uint32_t> lengths;
    for (size_t i = 0; i < tracks_.size(); ++i) {
      const TrackBlock& b = tracks_[i];
      disc::Track t;
      t.number = b.point;
      t.session = static_cast<uint8_t>(b.session);
      t.control = b.adr_ctl & 0x0F;
      t.start_lba = static_cast<int32_t>(b.start_sector);
      uint32_t pregap = 0, length = 0;
      if (b.extra_offset != 0) {
        pregap = static_cast<uint32_t>(v_.le(b.extra_offset, 4, "pregap"));
        length = static_cast<uint32_t>(v_.le(uint64_t{b.extra_offset} + 4, 4, "track length"));
        if (!v_.status().ok()) return v_.status();
      }
      if (t.start_lba < -150 || t.start_lba > kMaxLba || pregap > static_cast<uint32_t>(kMaxLba) || length > static_cast<uint32_t>(kMaxLba)) {
        return v_.fail(b.at + 36, "track " + std::to_string(b.point) + ": start " + std::to_string(b.start_sector) +
                                      ", pregap " + std::to_string(pregap) + " or length " + std::to_string(length) +
                                      " is beyond any CD");
      }
      // Track 1's 150-sector pregap is the disc's lead-in gap, never stored: the model starts at LBA 0 (as CUE).
      if (i == 0 && pregap == 150 && t.start_lba == 0) pregap = 0;
      t.pregap_lba = t.start_lba - static_cast<int32_t>(pregap);
      const int fi = b.files != 0 ? file_index(b, names) : -1;
      if (fi < 0 || static_cast<size_t>(fi) >= files.size()) return v_.fail(b.at + 52, "track " + std::to_string(b.point) + " has no data file");
      if (Status s = sector_layout(b, *files[static_cast<size_t>(fi)], &sector_main_, &t.mode); !s.ok()) return s;
      mains_.push_back(sector_main_);
      file_of_.push_back(fi);
      lengths.push_back(length);
      d.tracks.push_back(std::move(t));
    }
    for (size_t i = 0; i < d.tracks.size(); ++i) {
      disc::Track& t = d.tracks[i];
      const TrackBlock& b = tracks_[i];
      if (i + 1 < d.tracks.size() && d.tracks[i + 1].session == t.session) {
        t.end_lba = d.tracks[i + 1].pregap_lba;
      } else if (auto lo = leadout_.find(t.session); lo != leadout_.end()) {
        t.end_lba = lo->second;
      } else {
        t.end_lba = session_end_[t.session];
      }
      if (t.end_lba <= t.start_lba || t.end_lba > 2 * kMaxLba) {
        return v_.fail(b.at + 36, "track " + std::to_string(t.number) + " ends (LBA " + std::to_string(t.end_lba) +
                                      ") before it starts (LBA " + std::to_string(t.start_lba) + ")");
      }
      t.indices.push_back(disc::Index{1, t.start_lba});
      if (t.pregap_lba < t.start_lba) {
        t.indices.insert(t.indices.begin(), disc::Index{0, t.pregap_lba});
        runs.push_back(StoredRun{.lba = t.pregap_lba, .count = t.start_lba - t.pregap_lba, .track = i});
      }
      // The .mdf holds `length` sectors from INDEX 1; sectors beyond it (to the next track's pregap) are not stored.
      const int32_t stored = std::min<int32_t>(static_cast<int32_t>(lengths[i]), t.end_lba - t.start_lba);
      const uint32_t stride = b.sector_size;
      if (stored > 0) {
        StoredRun r{.lba = t.start_lba, .count = stored, .track = i, .file = file_of_[i], .offset = b.start_offset,
                    .main_size = mains_[i], .stride = stride};
        if (b.subchannel == kSubPw96Interleaved) {
          r.sub_file = file_of_[i];
          r.sub_offset = b.start_offset + mains_[i];
          r.sub_stride = stride;
        }
        runs.push_back(r);
      }
      if (t.start_lba + stored < t.end_lba) {
        runs.push_back(StoredRun{.lba = t.start_lba + stored, .count = t.end_lba - t.start_lba - stored, .track = i});
      }
    }
    // MDS v1 has no fields for the MCN and ISRCs; stored sub-channel carries them.
    codes_from_subchannel(files, runs, d);
    finish_disc(d);
    return make_track_image(format_name(), file_name_, std::move(d), std::move(files), std::move(runs));
  }

  Result<ImagePtr> build_dvd(std::vector<std::shared_ptr<RandomAccessFile>> files, const std::vector<std::string>& names) {
    if (tracks_.size() != 1) {
      return Status::NotSupported(name_ + ": DVD descriptor with " + std::to_string(tracks_.size()) +
                                  " tracks; only single-track DVD images are supported");
    }
    const TrackBlock& b = tracks_.front();
    const int fi = b.files != 0 ? file_index(b, names) : -1;
    if (fi < 0 || static_cast<size_t>(fi) >= files.size()) return v_.fail(b.at + 52, "the DVD track has no data file");
    if (b.sector_size != 2048 || b.subchannel != kSubNone) {
      return v_.fail(b.at + 16, "DVD track stored as " + std::to_string(b.sector_size) + "-byte sectors; expected 2048");
    }
    const RandomAccessFile& f = *files[static_cast<size_t>(fi)];
    if (f.size() <= b.start_offset) return v_.fail(b.at + 40, "the DVD track starts beyond the end of its data file");
    const uint64_t sectors = (f.size() - b.start_offset) / 2048;
    if (sectors == 0 || sectors > (uint64_t{1} << 31) - 1) {
      return v_.fail(b.at + 40, "DVD data file holds " + std::to_string(sectors) + " sectors");
    }
    disc::Disc d;
    disc::Track t;
    t.mode = disc::TrackMode::mode1;
    t.control = disc::control::kDataTrack;
    t.end_lba = static_cast<int32_t>(sectors);
    t.indices.push_back(disc::Index{1, 0});
    d.tracks.push_back(t);
    finish_disc(d);
    d.disc_class = disc::classify_plain_image(sectors);
    std::vector<StoredRun> runs{StoredRun{.lba = 0, .count = t.end_lba, .track = 0, .file = fi, .offset = b.start_offset,
                                          .main_size = 2048, .stride = 2048}};
    return make_track_image(format_name(), file_name_, std::move(d), std::move(files), std::move(runs));
  }

  // Version 2 track data encrypted with `cipher_`: each file read through it
  // for the sectors its track blocks store (extra block length, else to the
  // end of the file), before anything (mode probe, sub-channel) reads them.
  Result<std::vector<std::shared_ptr<RandomAccessFile>>> decrypted(std::vector<std::shared_ptr<RandomAccessFile>> files,
                                                                   const std::vector<std::string>& names) {
    if (cipher_ == nullptr) return files;
    std::vector<std::vector<mds_v2::EncryptedRun>> per_file(files.size());
    for (const TrackBlock& t : tracks_) {
      const int fi = t.files != 0 ? file_index(t, names) : -1;
      // A chunked track's groups are decrypted as they are decoded (open_chunked).
      if (fi < 0 || static_cast<size_t>(fi) >= files.size() || t.sector_size == 0 || t.chunked) continue;
      uint64_t sectors = 0;
      if (t.extra_offset != 0) {
        sectors = v_.le(uint64_t{t.extra_offset} + 4, 4, "track length");
        if (!v_.status().ok()) return v_.status();
      } else {
        const uint64_t size = files[static_cast<size_t>(fi)]->size();
        sectors = size > t.start_offset ? (size - t.start_offset) / t.sector_size : 0;
      }
      per_file[static_cast<size_t>(fi)].push_back(
          mds_v2::EncryptedRun{.offset = t.start_offset, .sector_size = t.sector_size, .sectors = sectors});
    }
    for (size_t i = 0; i < files.size(); ++i) {
      if (!per_file[i].empty()) files[i] = mds_v2::decrypted_file(files[i], cipher_, std::move(per_file[i]));
    }
    return files;
  }

  // Each track stored in compressed chunks becomes a file of its own (its
  // sectors decoded from 0), added to `files`; its block then points there.
  Status open_chunked(std::vector<std::shared_ptr<RandomAccessFile>>& files, const std::vector<std::string>& names) {
    for (TrackBlock& t : tracks_) {
      if (!t.chunked) continue;
      const int fi = file_index(t, names);
      if (fi < 0 || static_cast<size_t>(fi) >= files.size()) return v_.fail(t.at + 52, "track " + std::to_string(t.point) + " has no data file");
      auto track = mds_chunks::open_track(files[static_cast<size_t>(fi)],
                                          mds_chunks::Track{.offset = t.start_offset,
                                                            .sector_size = t.sector_size,
                                                            .group_sectors = t.group_sectors,
                                                            .sectors = t.chunked_sectors,
                                                            .table_offset = t.table_offset,
                                                            .what = "track " + std::to_string(t.point) +
                                                                    " (footer at descriptor offset " +
                                                                    std::to_string(t.footer_offset) + ")"},
                                          cipher_);
      if (!track.ok()) return track.status();
      files.push_back(std::move(track).value());
      t.own_file = static_cast<int>(files.size() - 1);
      t.start_offset = 0;
    }
    return Status::Ok();
  }

 public:
  void set_self(std::shared_ptr<RandomAccessFile> self) { self_ = std::move(self); }
  std::span<const uint8_t> descriptor() const { return data_; }
  void set_cipher(std::shared_ptr<const mds_crypto::Lrw> cipher) { cipher_ = std::move(cipher); }
  bool is_mdx() const { return mdx_; }
  // What `udisc info` calls it: an MDX holds its data, an .mds names an .mdf.
  const char* format_name() const { return mdx_ ? "mdx" : "mds"; }
  bool names_self(const std::string& n) const { return mdx_ && n == own_name(); }

 private:
  std::string name_;
  std::string file_name_;
  std::string mds_name_;
  std::vector<uint8_t> data_;
  ByteView v_;
  Layout layout_;
  bool mdx_ = false;
  std::shared_ptr<RandomAccessFile> self_;
  std::shared_ptr<const mds_crypto::Lrw> cipher_;
  uint16_t medium_ = 0;
  std::vector<TrackBlock> tracks_;
  std::map<int, int32_t> leadout_;
  std::map<int, int32_t> session_end_;
  std::vector<uint32_t> mains_;
  std::vector<int> file_of_;
  uint32_t sector_main_ = 0;
};

Result<std::vector<uint8_t>> read_whole(const RandomAccessFile& f) {
  if (f.size() > kMaxMdsBytes) {
    return Status::Corruption("'" + f.name() + "': " + std::to_string(f.size()) + " bytes is too large for an .mds descriptor");
  }
  if (f.size() == 0) return Status::Corruption("'" + f.name() + "': empty file, not an .mds descriptor");
  std::vector<uint8_t> data(static_cast<size_t>(f.size()));
  if (Status s = f.read_at(0, data); !s.ok()) return s;
  return data;
}

// A reader over the descriptor of either version (version 2 decrypted and inflated).
Result<std::unique_ptr<MdsReader>> parsed(const RandomAccessFile& mds) {
  std::array<uint8_t, 17> head{};
  if (mds.size() >= head.size()) {
    if (Status s = mds.read_at(0, head); !s.ok()) return s;
  }
  std::unique_ptr<MdsReader> reader;
  if (mds_v2::is_v2(head)) {
    auto c = mds_v2::read_container(mds, kMaxMdsBytes);
    if (!c.ok()) return c.status();
    const bool mdx = c->mdx;
    reader = std::make_unique<MdsReader>(mds, std::move(c->descriptor), kVersion2, mdx);
  } else {
    auto data = read_whole(mds);
    if (!data.ok()) return data.status();
    reader = std::make_unique<MdsReader>(mds, std::move(data).value(), kVersion1, false);
  }
  if (Status s = reader->parse(); !s.ok()) return s;
  return reader;
}

Result<ImagePtr> build_parsed(const RandomAccessFile& mds, Result<std::unique_ptr<MdsReader>> reader,
                              std::shared_ptr<RandomAccessFile> self, const FileResolver& resolve) {
  if (!reader.ok()) return reader.status();
  if (mds_v2::is_v2((*reader)->descriptor())) {
    auto cipher = mds_v2::data_cipher(
        (*reader)->descriptor(), "'" + mds.name() + "'", [&resolve]() -> Result<mds_v2::UserPassword> {
          auto file = resolve(password_ref());
          if (!file.ok()) return file.status();
          auto bytes = mds_v2::read_password_file(**file);
          if (!bytes.ok()) return bytes.status();
          return mds_v2::UserPassword{std::move(bytes).value(), (*file)->name()};
        });
    if (!cipher.ok()) return cipher.status();
    (*reader)->set_cipher(std::move(cipher).value());
  }
  (*reader)->set_self(std::move(self));
  return (*reader)->build(resolve);
}

}  // namespace

bool looks_like_mds(std::span<const uint8_t> head) {
  return head.size() >= kSignature.size() && std::memcmp(head.data(), kSignature.data(), kSignature.size()) == 0;
}

Result<ImagePtr> open_mds(const RandomAccessFile& mds, const FileResolver& resolve) {
  return build_parsed(mds, parsed(mds), nullptr, resolve);
}

Result<ImagePtr> open_mds(std::shared_ptr<RandomAccessFile> mds, const FileResolver& resolve) {
  const RandomAccessFile& file = *mds;
  return build_parsed(file, parsed(file), std::move(mds), resolve);
}

Result<ImagePtr> open_mds_v2_descriptor(std::vector<uint8_t> descriptor, const RandomAccessFile& named_as, bool mdx,
                                        const FileResolver& resolve) {
  if (descriptor.size() > kMaxMdsBytes) return Status::Corruption("descriptor too large");
  auto reader = std::make_unique<MdsReader>(named_as, std::move(descriptor), kVersion2, mdx);
  if (Status s = reader->parse(); !s.ok()) return s;
  return build_parsed(named_as, std::move(reader), nullptr, resolve);
}

Result<std::vector<std::string>> mds_companions(const RandomAccessFile& mds) {
  auto reader = parsed(mds);
  if (!reader.ok()) return reader.status();
  auto names = (*reader)->file_names();
  if (!names.ok()) return names.status();
  // An MDX's data is in itself, not a companion.
  std::vector<std::string> out;
  for (std::string& n : *names) {
    if (!(*reader)->names_self(n)) out.push_back(std::move(n));
  }
  const auto& descriptor = (*reader)->descriptor();
  if (mds_v2::is_v2(descriptor) && mds_v2::needs_user_password(descriptor)) out.push_back(password_ref());
  return out;
}

}  // namespace udisc::formats
