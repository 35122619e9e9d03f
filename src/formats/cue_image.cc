// CUE/BIN reader: cue sheet + BINARY / MOTOROLA / WAVE (WAV, FLAC) files.
//
// Opening parses the sheet, opens every FILE (reading only headers), lays the
// tracks out on the disc and builds the disc::Disc. Each track is a list of
// extents: runs of LBAs that are either stored in a file (at a byte offset,
// in the track's stored sector format) or not stored (PREGAP, POSTGAP, the
// implicit pregap of a later session's first track). Reads locate the extent
// by binary search and convert between stored and requested forms; nothing
// is cached, so reads are stateless and thread-safe.

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <optional>
#include <utility>

#include "disc/ecma130.h"
#include "disc/subchannel.h"
#include "formats/audio_source.h"
#include "formats/cue_image.h"
#include "util/per_thread.h"

namespace udisc::formats {
namespace {

using cue::CueSheet;
using cue::CueTrack;
using cue::FileType;
using cue::TrackType;

constexpr uint32_t kRaw = disc::kRawSectorSize;
constexpr uint32_t kSub = disc::kSubchannelSize;
constexpr size_t kMaxCueSheetBytes = 1 << 20;
constexpr int64_t kMaxTrackSectors = 100 * 60 * 75;  // 100 minutes: beyond any CD
constexpr int64_t kMaxDiscSectors = 4 * kMaxTrackSectors;
constexpr uint32_t kChunkSectors = 32;  // stored sectors read at once when converting

// Per-thread buffer for chunked conversions (reads stay stateless).
struct ScratchTag;
std::vector<uint8_t>& scratch() { return per_thread<std::vector<uint8_t>, ScratchTag>(); }

struct Source {
  std::string name;  // as in the sheet
  FileType type = FileType::binary;
  std::shared_ptr<RandomAccessFile> file;
  std::unique_ptr<AudioSource> audio;  // WAVE files
  uint64_t size = 0;                   // bytes (WAVE: decoded PCM bytes)
};

struct Extent {
  int32_t lba = 0;
  int32_t count = 0;
  size_t track = 0;        // index into Layout tracks
  int source = -1;         // -1: not stored
  uint64_t offset = 0;     // byte offset of the extent's first sector in the source
};

struct TrackFormat {
  TrackType type = TrackType::audio;
  disc::TrackMode mode = disc::TrackMode::audio;
  uint32_t stored = 2352;  // bytes per stored sector
};

void swap_bytes(std::span<uint8_t> data) {
  for (size_t i = 0; i + 1 < data.size(); i += 2) std::swap(data[i], data[i + 1]);
}

class CueImage final : public disc::Image {
 public:
  CueImage(disc::Disc d, std::vector<Source> sources, std::vector<TrackFormat> formats, std::vector<Extent> extents)
      : disc_(std::move(d)), sources_(std::move(sources)), formats_(std::move(formats)), extents_(std::move(extents)) {}

  const disc::Disc& disc() const override { return disc_; }
  std::string format_name() const override { return "cue"; }

  Status read_user(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    if (count == 0) return out.empty() ? Status::Ok() : Status::InvalidArgument("read_user: buffer size for 0 sectors");
    const Extent* first = find(lba);
    if (first == nullptr) return out_of_range(lba);
    const uint32_t size = disc::user_data_size(formats_[first->track].mode);
    if (out.size() != static_cast<size_t>(count) * size) {
      return Status::InvalidArgument("read_user at LBA " + std::to_string(lba) + ": buffer of " +
                                     std::to_string(out.size()) + " bytes for " + std::to_string(count) +
                                     " sectors of " + std::to_string(size) + " bytes");
    }
    for (uint32_t i = 0; i < count;) {
      const int32_t at = lba + static_cast<int32_t>(i);
      const Extent* e = find(at);
      if (e == nullptr) return out_of_range(at);
      const TrackFormat& f = formats_[e->track];
      if (disc::user_data_size(f.mode) != size) {
        return Status::InvalidArgument("read_user: LBA " + std::to_string(at) + " (track " +
                                       std::to_string(disc_.tracks[e->track].number) +
                                       ") has a different user data size than LBA " + std::to_string(lba));
      }
      const uint32_t run = std::min<uint32_t>(count - i, static_cast<uint32_t>(e->lba + e->count - at));
      std::span<uint8_t> dst = out.subspan(static_cast<size_t>(i) * size, static_cast<size_t>(run) * size);
      if (e->source < 0) {
        std::fill(dst.begin(), dst.end(), uint8_t{0});  // empty sectors carry zero user data
      } else if (f.stored == size) {
        // Stored exactly as returned (MODE1/2048, AUDIO): one read for the run.
        Status s = read_stored(*e, at, dst);
        if (!s.ok()) return s;
      } else {
        // Read stored sectors in chunks and copy their user data out.
        std::vector<uint8_t>& chunk = scratch();
        for (uint32_t k = 0; k < run;) {
          const uint32_t n = std::min<uint32_t>(run - k, kChunkSectors);
          chunk.resize(static_cast<size_t>(n) * f.stored);
          Status s = read_stored(*e, at + static_cast<int32_t>(k), chunk);
          if (!s.ok()) return s;
          for (uint32_t j = 0; j < n; ++j) {
            std::memcpy(dst.data() + static_cast<size_t>(k + j) * size,
                        chunk.data() + static_cast<size_t>(j) * f.stored + user_offset(f), size);
          }
          k += n;
        }
      }
      i += run;
    }
    return Status::Ok();
  }

  Status read_raw(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    if (out.size() != static_cast<size_t>(count) * kRaw) {
      return Status::InvalidArgument("read_raw at LBA " + std::to_string(lba) + ": buffer of " +
                                     std::to_string(out.size()) + " bytes for " + std::to_string(count) + " sectors");
    }
    std::array<uint8_t, kRaw> sector{};
    for (uint32_t i = 0; i < count;) {
      const int32_t at = lba + static_cast<int32_t>(i);
      const Extent* e = find(at);
      if (e == nullptr) return out_of_range(at);
      const TrackFormat& f = formats_[e->track];
      const uint32_t run = std::min<uint32_t>(count - i, static_cast<uint32_t>(e->lba + e->count - at));
      if (e->source >= 0 && f.stored == kRaw) {
        // Stored raw sectors: passed through, one read for the run.
        Status s = read_stored(*e, at, out.subspan(static_cast<size_t>(i) * kRaw, static_cast<size_t>(run) * kRaw));
        if (!s.ok()) return s;
        i += run;
        continue;
      }
      for (uint32_t k = 0; k < run; ++k) {
        const int32_t sector_lba = at + static_cast<int32_t>(k);
        std::span<uint8_t, kRaw> dst(out.data() + static_cast<size_t>(i + k) * kRaw, kRaw);
        Status s;
        if (e->source < 0) {
          disc::build_empty_sector(f.mode, sector_lba, dst);
        } else if (f.stored > kRaw) {
          s = read_stored(*e, sector_lba, dst);  // CDG: the 2352 bytes before the sub-channel
        } else {
          std::span<uint8_t> stored(sector.data(), f.stored);
          s = read_stored(*e, sector_lba, stored);
          if (s.ok()) s = synthesize(f, sector_lba, stored, dst);
        }
        if (!s.ok()) return s;
      }
      i += run;
    }
    return Status::Ok();
  }

  Status read_subchannel(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    if (out.size() != static_cast<size_t>(count) * kSub) {
      return Status::InvalidArgument("read_subchannel at LBA " + std::to_string(lba) + ": buffer of " +
                                     std::to_string(out.size()) + " bytes for " + std::to_string(count) + " sectors");
    }
    for (uint32_t i = 0; i < count; ++i) {
      const int32_t at = lba + static_cast<int32_t>(i);
      const Extent* e = find(at);
      if (e == nullptr) return out_of_range(at);
      std::span<uint8_t, kSub> dst(out.data() + static_cast<size_t>(i) * kSub, kSub);
      if (e->source >= 0 && formats_[e->track].type == TrackType::cdg) {
        const Source& src = sources_[e->source];
        Status s = src.file->read_at(sector_offset(*e, at) + kRaw, dst);
        if (!s.ok()) return s.with_context("LBA " + std::to_string(at));
        continue;
      }
      disc::build_subchannel(disc_, at, dst);
    }
    return Status::Ok();
  }

  bool stores_raw(int32_t lba) const override {
    const Extent* e = find(lba);
    return e != nullptr && e->source >= 0 && formats_[e->track].stored >= kRaw;
  }

 private:
  const Extent* find(int32_t lba) const {
    auto it = std::upper_bound(extents_.begin(), extents_.end(), lba,
                               [](int32_t v, const Extent& e) { return v < e.lba; });
    if (it == extents_.begin()) return nullptr;
    --it;
    return lba < it->lba + it->count ? &*it : nullptr;
  }

  Status out_of_range(int32_t lba) const {
    return Status::OutOfRange("LBA " + std::to_string(lba) + " is not on the disc (lead-out at " +
                              std::to_string(disc_.leadout_lba()) + ")");
  }

  uint64_t sector_offset(const Extent& e, int32_t lba) const {
    return e.offset + static_cast<uint64_t>(lba - e.lba) * formats_[e.track].stored;
  }

  // Offset of the user data inside a stored sector of format f.
  static uint32_t user_offset(const TrackFormat& f) {
    switch (f.type) {
      case TrackType::mode1_2352: return 16;
      case TrackType::mode2_2352:
      case TrackType::cdi_2352: return f.mode == disc::TrackMode::mode2 ? 16 : 24;
      case TrackType::mode2_2336:
      case TrackType::cdi_2336: return f.mode == disc::TrackMode::mode2 ? 0 : 8;
      default: return 0;
    }
  }

  // Reads out.size() stored bytes of extent e from the start of the sector at lba.
  Status read_stored(const Extent& e, int32_t lba, std::span<uint8_t> out) const {
    const Source& src = sources_[e.source];
    const uint64_t offset = sector_offset(e, lba);
    Status s;
    if (src.audio) {
      // Decoded PCM; the last sector of a file that is not whole sectors is padded with silence.
      const uint64_t have = offset < src.size ? std::min<uint64_t>(src.size - offset, out.size()) : 0;
      if (have > 0) s = src.audio->read_pcm(offset / kBytesPerSampleFrame, out.first(static_cast<size_t>(have)));
      std::fill(out.begin() + static_cast<std::ptrdiff_t>(have), out.end(), uint8_t{0});
    } else {
      s = src.file->read_at(offset, out);
      // MOTOROLA: big-endian samples (every stored sector size is even, so pairs stay aligned).
      if (s.ok() && src.type == FileType::motorola && cue::is_audio(formats_[e.track].type)) swap_bytes(out);
    }
    if (!s.ok()) return s.with_context("LBA " + std::to_string(lba));
    return Status::Ok();
  }

  // The one place raw sectors are synthesised from stored 2048 / 2336-byte sectors.
  static Status synthesize(const TrackFormat& f, int32_t lba, std::span<const uint8_t> stored,
                           std::span<uint8_t, kRaw> out) {
    Status s = disc::build_raw_sector(f.mode, lba, stored, out);
    if (!s.ok()) return s.with_context("LBA " + std::to_string(lba));
    return Status::Ok();
  }

  disc::Disc disc_;
  std::vector<Source> sources_;
  std::vector<TrackFormat> formats_;
  std::vector<Extent> extents_;  // sorted by lba, not overlapping
};

// ---- Opening ----------------------------------------------------------------

class Builder {
 public:
  Builder(CueSheet sheet, const CueFileResolver& resolve) : sheet_(std::move(sheet)), resolve_(resolve) {}

  Result<ImagePtr> build(std::vector<std::string>* warnings) {
    Status s = open_sources();
    if (!s.ok()) return s;
    s = lay_out();
    if (!s.ok()) return s;
    s = validate(disc_);
    if (!s.ok()) return s.with_context(sheet_.name);
    if (warnings != nullptr) {
      warnings->insert(warnings->end(), sheet_.warnings.begin(), sheet_.warnings.end());
      warnings->insert(warnings->end(), warnings_.begin(), warnings_.end());
    }
    return ImagePtr(std::make_shared<CueImage>(std::move(disc_), std::move(sources_), std::move(formats_),
                                               std::move(extents_)));
  }

 private:
  std::string at_line(int line) const { return sheet_.name + ": line " + std::to_string(line) + ": "; }

  Status open_sources() {
    for (const cue::CueFile& f : sheet_.files) {
      Source src;
      src.name = f.name;
      src.type = f.type;
      auto file = resolve_(f.name);
      if (!file.ok()) {
        return Status(file.status()).with_context(at_line(f.line) + "FILE '" + f.name + "'");
      }
      src.file = std::move(file).value();
      if (f.type == FileType::wave) {
        bool headerless = false;
        auto audio = open_audio(src.file, &headerless);
        if (!audio.ok()) return Status(audio.status()).with_context(at_line(f.line) + "FILE '" + f.name + "'");
        src.audio = std::move(audio).value();
        src.size = src.audio->frames() * kBytesPerSampleFrame;
        if (headerless) {
          warnings_.push_back(at_line(f.line) + "'" + f.name + "' is neither WAV nor FLAC; read as raw little-endian PCM");
        }
      } else {
        src.size = src.file->size();
      }
      sources_.push_back(std::move(src));
    }
    return Status::Ok();
  }

  // Mode of a MODE2 / CDI track from its first stored sector's subheader:
  // equal copies make it XA (form from the submode bit), different copies formless.
  disc::TrackMode probe_mode2(const TrackFormat& f, const Source& src, uint64_t offset) {
    const uint32_t sub = f.stored == kRaw ? 16 : 0;
    std::array<uint8_t, 8> sh{};
    if (offset + sub + sh.size() > src.size || !src.file->read_at(offset + sub, sh).ok()) {
      return disc::TrackMode::mode2_form1;
    }
    if (std::memcmp(sh.data(), sh.data() + 4, 4) != 0) return disc::TrackMode::mode2;
    return (sh[2] & disc::ecma130::submode::kForm2) ? disc::TrackMode::mode2_form2 : disc::TrackMode::mode2_form1;
  }

  static disc::TrackMode base_mode(TrackType t) {
    switch (t) {
      case TrackType::audio:
      case TrackType::cdg: return disc::TrackMode::audio;
      case TrackType::mode1_2048:
      case TrackType::mode1_2352: return disc::TrackMode::mode1;
      default: return disc::TrackMode::mode2_form1;
    }
  }

  Status short_file(const Source& src, const CueTrack& t, uint64_t need, int line) const {
    return Status::Corruption(at_line(line) + "'" + src.name + "' is shorter than the sheet says: " +
                              std::to_string(src.size) + " bytes, but track " + std::to_string(t.number) +
                              " needs at least " + std::to_string(need));
  }

  // Stored sectors of a track in one file: `count` sectors from `position`
  // (in the track's sector size), at byte `offset`.
  struct Segment {
    size_t file = 0;
    int32_t position = 0;
    int64_t count = -1;  // -1 until known: "to the end of the file"
    uint64_t offset = 0;
  };

  // The stored part of track i runs from its first index to the next track's
  // first index (through whole files in between), or for the last track to
  // the end of its last file.
  std::vector<Segment> segments_of(size_t i) const {
    const std::vector<CueTrack>& tracks = sheet_.tracks;
    const CueTrack& t = tracks[i];
    const size_t f0 = t.first_file();
    const int32_t p0 = t.first_position();
    std::vector<Segment> out;
    if (i + 1 < tracks.size()) {
      const size_t f1 = tracks[i + 1].first_file();
      const int32_t p1 = tracks[i + 1].first_position();
      if (f1 == f0) return {Segment{f0, p0, p1 - p0}};
      out.push_back(Segment{f0, p0, -1});
      for (size_t f = f0 + 1; f < f1; ++f) out.push_back(Segment{f, 0, -1});
      if (p1 > 0) out.push_back(Segment{f1, 0, p1});
      return out;
    }
    out.push_back(Segment{f0, p0, -1});
    for (size_t f = f0 + 1; f <= t.indices.back().file; ++f) out.push_back(Segment{f, 0, -1});
    return out;
  }

  // (segment number, sectors into it) of an index, if it is stored.
  template <typename Seg>
  static std::optional<std::pair<size_t, int32_t>> locate(const std::vector<Seg>& segs, const cue::CueIndex& ix) {
    for (size_t k = 0; k < segs.size(); ++k) {
      const Seg& seg = segs[k];
      if (seg.file == ix.file && ix.position >= seg.position && ix.position - seg.position < seg.count) {
        return std::make_pair(k, static_cast<int32_t>(ix.position - seg.position));
      }
    }
    return std::nullopt;
  }

  Status lay_out() {
    const std::vector<CueTrack>& tracks = sheet_.tracks;
    // Per file: the next unassigned position and its byte offset.
    std::vector<int64_t> file_pos(sources_.size(), 0);
    std::vector<uint64_t> file_byte(sources_.size(), 0);
    std::vector<std::vector<Segment>> segments(tracks.size());
    for (size_t i = 0; i < tracks.size(); ++i) {
      const CueTrack& t = tracks[i];
      const uint32_t size = cue::stored_sector_size(t.type);
      segments[i] = segments_of(i);
      for (Segment& seg : segments[i]) {
        const Source& src = sources_[seg.file];
        const int line = sheet_.files[seg.file].line;
        if (src.audio && !cue::is_audio(t.type)) {
          return Status::Corruption(at_line(t.line) + "track " + std::to_string(t.number) + " is " +
                                    cue::to_string(t.type) + " but its file '" + src.name + "' is WAVE (audio only)");
        }
        if (src.audio && t.type == TrackType::cdg) {
          return Status::Corruption(at_line(t.line) + "track " + std::to_string(t.number) + " is CDG but its file '" +
                                    src.name + "' is WAVE (no subchannel)");
        }
        if (seg.position < file_pos[seg.file]) {
          return Status::Corruption(at_line(t.line) + "track " + std::to_string(t.number) + " overlaps the previous track in '" + src.name + "'");
        }
        if (seg.position > file_pos[seg.file] && file_pos[seg.file] == 0) {
          warnings_.push_back(at_line(t.indices.front().line) + "the first " + std::to_string(seg.position) +
                              " sectors of '" + src.name + "' come before track " + std::to_string(t.number) +
                              " and are not used");
        }
        seg.offset = file_byte[seg.file] + static_cast<uint64_t>(seg.position - file_pos[seg.file]) * size;
        if (seg.count < 0) {
          // To the end of the file.
          const uint64_t rest = src.size > seg.offset ? src.size - seg.offset : 0;
          seg.count = static_cast<int64_t>(rest / size);
          if (rest % size != 0) {
            if (src.audio) {
              ++seg.count;  // audio: the last partial sector is padded with silence
              warnings_.push_back(at_line(line) + "'" + src.name +
                                  "' is not a whole number of sectors; the last sector is padded with silence");
            } else {
              warnings_.push_back(at_line(line) + "'" + src.name + "' ends with " + std::to_string(rest % size) +
                                  " bytes that are not a whole " + std::to_string(size) + "-byte sector; they are ignored");
            }
          }
        } else if (seg.offset + static_cast<uint64_t>(seg.count) * size > src.size) {
          return short_file(src, t, seg.offset + static_cast<uint64_t>(seg.count) * size,
                            i + 1 < tracks.size() ? tracks[i + 1].indices.front().line : t.line);
        }
        if (seg.count > kMaxTrackSectors) {
          return Status::Corruption(at_line(t.line) + "track " + std::to_string(t.number) + " has " +
                                    std::to_string(seg.count) + " sectors in '" + src.name +
                                    "' (a CD track holds at most " + std::to_string(kMaxTrackSectors) + ")");
        }
        file_pos[seg.file] = seg.position + seg.count;
        file_byte[seg.file] = seg.offset + static_cast<uint64_t>(seg.count) * size;
      }
      // Every index must point at a stored sector.
      for (const cue::CueIndex& ix : t.indices) {
        if (!locate(segments[i], ix).has_value()) {
          const Source& src = sources_[ix.file];
          uint64_t need = 0;
          for (const Segment& seg : segments[i]) {
            if (seg.file == ix.file) need = seg.offset + static_cast<uint64_t>(ix.position - seg.position + 1) * size;
          }
          return short_file(src, t, need, ix.line);
        }
      }
    }

    // Assign LBAs.
    int32_t cursor = 0;
    int64_t total = 0;
    for (size_t i = 0; i < tracks.size(); ++i) {
      const CueTrack& t = tracks[i];
      TrackFormat f{t.type, base_mode(t.type), cue::stored_sector_size(t.type)};
      const cue::CueIndex* index1 = &t.indices.front();
      for (const cue::CueIndex& ix : t.indices) {
        if (ix.number == 1) index1 = &ix;
      }
      if (cue::is_mode2(t.type)) {
        const auto at = locate(segments[i], *index1);
        const Segment& seg = segments[i][at->first];
        f.mode = probe_mode2(f, sources_[seg.file], seg.offset + static_cast<uint64_t>(index1->position - seg.position) * f.stored);
      }

      disc::Track dt;
      dt.number = t.number;
      dt.session = t.session;
      dt.mode = f.mode;
      dt.control = static_cast<uint8_t>(t.flags | (disc::is_data(f.mode) ? disc::control::kDataTrack : 0));
      dt.isrc = t.isrc;
      dt.cd_text = t.cd_text;

      const bool has_index0 = t.indices.front().number == 0;
      int32_t pregap_not_stored = t.pregap;
      if (i == 0) {
        // Track 1: a PREGAP of up to 150 sectors is the disc's 2-second pregap before LBA 0.
        cursor = t.pregap <= disc::kMsfLbaShift ? -t.pregap : 0;
      } else if (t.session != tracks[i - 1].session) {
        cursor += t.session == 2 ? kFirstSessionGap : kLaterSessionGap;
        if (t.pregap == 0 && !has_index0) pregap_not_stored = kSessionPregap;
      }
      dt.pregap_lba = cursor;
      add_extent(i, cursor, pregap_not_stored, -1, 0);
      cursor += pregap_not_stored;
      // Stored part: one extent per segment.
      std::vector<int32_t> segment_lba;
      for (const Segment& seg : segments[i]) {
        segment_lba.push_back(cursor);
        add_extent(i, cursor, static_cast<int32_t>(seg.count), static_cast<int>(seg.file), seg.offset);
        cursor += static_cast<int32_t>(seg.count);
        total += seg.count;
        if (cursor > kMaxDiscSectors || total > kMaxDiscSectors) {
          return Status::Corruption(at_line(t.line) + "the disc would be longer than any CD (" +
                                    std::to_string(cursor) + " sectors)");
        }
      }
      for (const cue::CueIndex& ix : t.indices) {
        if (ix.number == 0) continue;
        const auto at = locate(segments[i], ix);
        dt.indices.push_back(disc::Index{ix.number, segment_lba[at->first] + at->second});
      }
      dt.start_lba = dt.indices.front().lba;
      if (dt.start_lba > dt.pregap_lba) dt.indices.insert(dt.indices.begin(), disc::Index{0, dt.pregap_lba});
      add_extent(i, cursor, t.postgap, -1, 0);
      cursor += t.postgap;
      dt.postgap = t.postgap;
      dt.end_lba = cursor;
      if (dt.end_lba <= dt.start_lba) {
        return Status::Corruption(at_line(t.line) + "track " + std::to_string(t.number) + " has no sectors after INDEX 01");
      }
      formats_.push_back(f);
      disc_.tracks.push_back(std::move(dt));
    }

    // Sessions, class, MCN, CD-TEXT.
    for (const disc::Track& t : disc_.tracks) {
      if (disc_.sessions.empty() || disc_.sessions.back().number != t.session) {
        disc_.sessions.push_back(disc::Session{t.session, t.number, t.number, t.end_lba});
      }
      disc_.sessions.back().last_track = t.number;
      disc_.sessions.back().leadout_lba = t.end_lba;
    }
    bool all_audio = true, any_mode2 = false;
    for (const disc::Track& t : disc_.tracks) {
      all_audio = all_audio && t.mode == disc::TrackMode::audio;
      any_mode2 = any_mode2 || t.mode == disc::TrackMode::mode2 || t.mode == disc::TrackMode::mode2_form1 ||
                  t.mode == disc::TrackMode::mode2_form2;
    }
    disc_.disc_class = all_audio ? disc::DiscClass::cd_da : any_mode2 ? disc::DiscClass::cd_rom_xa : disc::DiscClass::cd_rom;
    disc_.mcn = sheet_.catalog;
    disc_.cd_text = sheet_.cd_text;
    return Status::Ok();
  }

  void add_extent(size_t track, int32_t lba, int32_t count, int source, uint64_t offset) {
    if (count <= 0) return;
    extents_.push_back(Extent{lba, count, track, source, offset});
  }

  CueSheet sheet_;
  const CueFileResolver& resolve_;
  std::vector<Source> sources_;
  std::vector<TrackFormat> formats_;
  std::vector<Extent> extents_;
  std::vector<std::string> warnings_;
  disc::Disc disc_;
};

}  // namespace

Result<ImagePtr> open_cue_sheet(std::string_view text, const std::string& cue_name, const CueFileResolver& resolve,
                                std::vector<std::string>* warnings) {
  auto sheet = cue::parse_cue_sheet(text, cue_name);
  if (!sheet.ok()) return sheet.status();
  return Builder(std::move(sheet).value(), resolve).build(warnings);
}

Result<ImagePtr> open_cue_file(const RandomAccessFile& sheet, const FileResolver& resolve) {
  auto text = read_cue_text(sheet);
  if (!text.ok()) return text.status();
  return open_cue_sheet(*text, sheet.name(), resolve);
}

Result<std::string> read_cue_text(const RandomAccessFile& sheet) {
  const uint64_t size = sheet.size();
  if (size > kMaxCueSheetBytes) {
    return Status::Corruption("'" + sheet.name() + "': " + std::to_string(size) + " bytes is too large for a cue sheet");
  }
  std::string text(static_cast<size_t>(size), '\0');
  if (!text.empty()) {
    Status s = sheet.read_at(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
    if (!s.ok()) return s;
  }
  return text;
}

Result<ImagePtr> open_cue(const std::string& path) {
  auto file = open_file(path);
  if (!file.ok()) return file.status();
  return open_cue_file(**file, folder_resolver(folder_of(path)));
}

}  // namespace udisc::formats
