// CUE/BIN reader: cue sheet + BINARY / MOTOROLA / WAVE (WAV, FLAC) files.
//
// Opening parses the sheet, opens every FILE (reading only headers), lays the
// tracks out on the disc and builds the disc::Disc. Each track is a list of
// extents: runs of LBAs that are either stored in a file (at a byte offset,
// in the track's stored sector format) or not stored (PREGAP, POSTGAP, the
// implicit pregap of a later session's first track). The extents become the
// StoredRuns of a TrackImage (track_image.h), the one read path shared with
// the other descriptor formats; WAVE files are read as their decoded PCM.

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
#include "formats/track_image.h"

namespace udisc::formats {
namespace {

using cue::CueSheet;
using cue::CueTrack;
using cue::FileType;
using cue::TrackType;

constexpr uint32_t kRaw = disc::kRawSectorSize;
constexpr size_t kMaxCueSheetBytes = 1 << 20;
constexpr int64_t kMaxTrackSectors = 100 * 60 * 75;  // 100 minutes: beyond any CD
constexpr int64_t kMaxDiscSectors = 4 * kMaxTrackSectors;

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

// A WAVE (WAV or FLAC) file presented as the PCM bytes it decodes to, padded
// with silence to whole sectors (a last partial sector reads as silence), so
// the one image read path (TrackImage) serves it like a BINARY file.
class PcmFile final : public RandomAccessFile {
 public:
  PcmFile(std::unique_ptr<AudioSource> audio, uint64_t pcm_bytes)
      : audio_(std::move(audio)), pcm_bytes_(pcm_bytes),
        size_((pcm_bytes + kRaw - 1) / kRaw * kRaw) {}
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return audio_->name(); }
  Status read_at(uint64_t offset, std::span<uint8_t> out) const override {
    if (offset > size_ || out.size() > size_ - offset || offset % kBytesPerSampleFrame != 0) {
      return Status::IoError("'" + name() + "': read of " + std::to_string(out.size()) + " bytes at " +
                             std::to_string(offset) + " outside its " + std::to_string(size_) + " bytes of audio");
    }
    const uint64_t have = offset < pcm_bytes_ ? std::min<uint64_t>(pcm_bytes_ - offset, out.size()) : 0;
    if (have > 0) {
      if (Status s = audio_->read_pcm(offset / kBytesPerSampleFrame, out.first(static_cast<size_t>(have))); !s.ok()) {
        return s;
      }
    }
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(have), out.end(), uint8_t{0});
    return Status::Ok();
  }

 private:
  std::unique_ptr<AudioSource> audio_;
  uint64_t pcm_bytes_;
  uint64_t size_;
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
    return to_track_image();
  }

 private:
  // The layout as the runs every descriptor format is read through (track_image.h).
  Result<ImagePtr> to_track_image() {
    std::vector<std::shared_ptr<RandomAccessFile>> files;
    for (Source& src : sources_) {
      files.push_back(src.audio ? std::make_shared<PcmFile>(std::move(src.audio), src.size) : src.file);
    }
    std::vector<StoredRun> runs;
    for (const Extent& e : extents_) {
      StoredRun r{.lba = e.lba, .count = e.count, .track = e.track};
      if (e.source >= 0) {
        const TrackFormat& f = formats_[e.track];
        r.file = e.source;
        r.offset = e.offset;
        r.main_size = std::min(f.stored, kRaw);
        r.stride = f.stored;
        r.big_endian_audio = sources_[static_cast<size_t>(e.source)].type == FileType::motorola;
        if (f.type == TrackType::cdg) {  // 96 bytes of raw P-W after each 2352-byte sector
          r.sub_file = e.source;
          r.sub_offset = e.offset + kRaw;
          r.sub_stride = f.stored;
        }
      }
      runs.push_back(r);
    }
    return make_track_image("cue", sheet_.name, std::move(disc_), std::move(files), std::move(runs));
  }

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
    finish_disc(disc_);
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
