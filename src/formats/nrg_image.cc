// Nero reader: one .nrg file, sector data first and a chain of chunks at the
// end that a footer points to ("NERO" + 32-bit offset in version 1, "NER5" +
// 64-bit offset in version 2). Only the chunks are read at open. Chunk
// layouts, what each field means here, and sources: docs/formats/nrg.md.
// All integers are big-endian.
#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <optional>

#include "formats/byte_view.h"
#include "formats/cd_text_packs.h"
#include "formats/descriptor_images.h"
#include "formats/track_image.h"

namespace udisc::formats {
namespace {

constexpr uint64_t kMaxChunkBytes = 16 << 20;  // all chunks together; real images have a few KiB
constexpr int32_t kMaxLba = 1 << 26;  // 64 Mi sectors: 128 GiB of 2048-byte sectors, beyond any BD-ROM
constexpr size_t kDaoHeaderSize = 22;
constexpr size_t kDaoBlockV1 = 30;
constexpr size_t kDaoBlockV2 = 42;
constexpr size_t kCueBlockSize = 8;
constexpr size_t kEtnBlockV1 = 20;
constexpr size_t kEtnBlockV2 = 32;
// MTYP bits (NeroAPI NERO_MEDIA_TYPE) that mean a DVD.
constexpr uint32_t kMediaDvdAny = 0x00004 | 0x00008 | 0x00010 | 0x00200 | 0x40000 | 0x80000;

struct Footer {
  int version = 0;       // 1: "NERO", 2: "NER5"
  uint64_t chunks = 0;   // offset of the first chunk
  uint64_t end = 0;      // where the footer starts
};

std::optional<Footer> find_footer(const RandomAccessFile& f) {
  const uint64_t size = f.size();
  std::array<uint8_t, 12> tail{};
  if (size < tail.size() || !f.read_at(size - tail.size(), tail).ok()) return std::nullopt;
  auto be = [&](size_t at, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | tail[at + i];
    return v;
  };
  if (std::memcmp(tail.data(), "NER5", 4) == 0) return Footer{2, be(4, 8), size - 12};
  if (std::memcmp(tail.data() + 4, "NERO", 4) == 0) return Footer{1, be(8, 4), size - 8};
  return std::nullopt;
}

struct Chunk {
  std::string id;
  uint64_t at = 0;    // offset of its data within the chunk area
  uint64_t size = 0;
};

// Sector layout of a Nero mode code (the DAO block's mode byte).
struct ModeCode {
  disc::TrackMode mode;
  uint32_t main;
  uint32_t sub;
};
std::optional<ModeCode> decode_mode(uint8_t code) {
  switch (code) {
    case 0x00: return ModeCode{disc::TrackMode::mode1, 2048, 0};
    case 0x02: return ModeCode{disc::TrackMode::mode2_form1, 2048, 0};
    case 0x03: return ModeCode{disc::TrackMode::mode2, 2336, 0};
    case 0x05: return ModeCode{disc::TrackMode::mode1, 2352, 0};
    case 0x06: return ModeCode{disc::TrackMode::mode2_form1, 2352, 0};
    case 0x07: return ModeCode{disc::TrackMode::audio, 2352, 0};
    case 0x0F: return ModeCode{disc::TrackMode::mode1, 2352, 96};
    case 0x10: return ModeCode{disc::TrackMode::audio, 2352, 96};
    case 0x11: return ModeCode{disc::TrackMode::mode2_form1, 2352, 96};
    default: return std::nullopt;
  }
}

struct CuePoint {
  uint8_t control = 0;
  uint8_t track = 0;
  uint8_t index = 0;
  int32_t lba = 0;
};

struct DaoTrack {
  std::string isrc;
  uint16_t sector_size = 0;
  uint8_t mode_code = 0;
  uint64_t pregap_offset = 0, start_offset = 0, end_offset = 0;
  uint64_t at = 0;
};

class NrgReader {
 public:
  NrgReader(std::shared_ptr<RandomAccessFile> file, Footer footer, std::vector<uint8_t> data)
      : file_(std::move(file)), footer_(footer), data_(std::move(data)),
        v_(data_, "'" + file_->name() + "' (Nero v" + std::to_string(footer.version) + " chunks)", footer.chunks) {}

  Result<ImagePtr> open() {
    if (Status s = list_chunks(); !s.ok()) return s;
    const char* cue_id = v2() ? "CUEX" : "CUES";
    const char* dao_id = v2() ? "DAOX" : "DAOI";
    const char* etn_id = v2() ? "ETN2" : "ETNF";
    std::vector<const Chunk*> cues, daos, etns;
    for (const Chunk& c : chunks_) {
      if (c.id == cue_id) cues.push_back(&c);
      if (c.id == dao_id) daos.push_back(&c);
      if (c.id == etn_id) etns.push_back(&c);
      if (c.id == "MTYP") {
        media_ = static_cast<uint32_t>(v_.be(c.at, 4, "MTYP media type"));
      }
      if ((c.id == "CUEX" || c.id == "DAOX" || c.id == "ETN2" || c.id == "CUES" || c.id == "DAOI" || c.id == "ETNF") &&
          c.id != cue_id && c.id != dao_id && c.id != etn_id) {
        return v_.fail(c.at - 8, "chunk " + c.id + " of the other Nero version in a version " +
                                     std::to_string(footer_.version) + " image");
      }
    }
    if (!v_.status().ok()) return v_.status();
    if (!daos.empty()) {
      if (daos.size() != cues.size()) {
        return Status::Corruption(v_name() + ": " + std::to_string(daos.size()) + " " + dao_id + " chunks but " +
                                  std::to_string(cues.size()) + " " + cue_id + " chunks (one of each per session)");
      }
      for (size_t s = 0; s < daos.size(); ++s) {
        if (Status st = load_dao_session(static_cast<uint8_t>(s + 1), *cues[s], *daos[s]); !st.ok()) return st;
      }
    } else if (!etns.empty()) {
      for (size_t s = 0; s < etns.size(); ++s) {
        if (Status st = load_tao_session(static_cast<uint8_t>(s + 1), *etns[s]); !st.ok()) return st;
      }
    } else {
      return Status::Corruption(v_name() + ": no " + std::string(dao_id) + " (disc-at-once) or " + etn_id +
                                " (track-at-once) chunk describes the tracks");
    }
    for (const Chunk& c : chunks_) {
      if (c.id != "CDTX") continue;
      // Raw 18-byte CD-TEXT packs (docs/formats/nrg.md).
      Status s = decode_cd_text_packs(std::span<const uint8_t>(data_.data() + c.at, static_cast<size_t>(c.size)), disc_);
      if (!s.ok()) return Status(s).with_context(v_name() + " chunk CDTX at offset " + std::to_string(footer_.chunks + c.at));
    }
    finish_disc(disc_);
    if ((media_ & kMediaDvdAny) != 0 && disc_.tracks.size() == 1 && disc::is_data(disc_.tracks[0].mode)) {
      disc_.disc_class = disc::classify_plain_image(static_cast<uint64_t>(disc_.leadout_lba()));
    }
    std::vector<std::shared_ptr<RandomAccessFile>> files{file_};
    return make_track_image("nrg", v_name(), std::move(disc_), std::move(files), std::move(runs_));
  }

 private:
  bool v2() const { return footer_.version == 2; }
  std::string v_name() const { return "'" + file_->name() + "'"; }

  Status list_chunks() {
    uint64_t at = 0;
    while (true) {
      if (!v_.has(at, 8)) return v_.fail(at, "chunk list ends without an END! chunk");
      Chunk c;
      c.id.assign(reinterpret_cast<const char*>(data_.data() + at), 4);
      c.size = v_.be(at + 4, 4, "chunk size");
      c.at = at + 8;
      if (c.id == "END!") break;
      if (!v_.has(c.at, c.size)) {
        return v_.fail(at, "chunk '" + printable(c.id) + "' of " + std::to_string(c.size) + " bytes runs past the footer");
      }
      if (chunks_.size() >= 1000) return v_.fail(at, "more than 1000 chunks");
      chunks_.push_back(c);
      at = c.at + c.size;
    }
    return Status::Ok();
  }

  static std::string printable(const std::string& id) {
    std::string out;
    for (char ch : id) out.push_back(ch >= 0x20 && ch < 0x7F ? ch : '?');
    return out;
  }

  std::vector<CuePoint> read_cues(const Chunk& c) {
    std::vector<CuePoint> out;
    for (uint64_t p = c.at; p + kCueBlockSize <= c.at + c.size; p += kCueBlockSize) {
      CuePoint cp;
      const uint8_t adr_ctl = v_.u8(p, "CUE control/ADR");
      cp.control = adr_ctl >> 4;
      cp.track = v_.u8(p + 1, "CUE track");
      cp.index = v_.u8(p + 2, "CUE index");
      if (cp.track != 0xAA) cp.track = disc::from_bcd(cp.track);
      cp.index = disc::from_bcd(cp.index);
      if (v2()) {
        cp.lba = static_cast<int32_t>(static_cast<uint32_t>(v_.be(p + 4, 4, "CUE sector")));
      } else {
        // Version 1 gives an absolute MSF (binary, not BCD) in bytes 5..7.
        const int m = v_.u8(p + 5, "CUE minute"), s = v_.u8(p + 6, "CUE second"), f = v_.u8(p + 7, "CUE frame");
        cp.lba = (m * 60 + s) * 75 + f - 150;
      }
      if (cp.lba < -150 || cp.lba > kMaxLba) {
        v_.fail(p, "CUE point of track " + std::to_string(cp.track) + " at LBA " + std::to_string(cp.lba) + " is beyond any disc");
      }
      out.push_back(cp);
    }
    return out;
  }

  Status load_dao_session(uint8_t session, const Chunk& cue_chunk, const Chunk& dao) {
    const std::vector<CuePoint> cues = read_cues(cue_chunk);
    if (!v_.status().ok()) return v_.status();
    const size_t block = v2() ? kDaoBlockV2 : kDaoBlockV1;
    if (dao.size < kDaoHeaderSize) return v_.fail(dao.at, "DAO chunk shorter than its 22-byte header");
    if (disc_.mcn.empty()) {
      std::string mcn(reinterpret_cast<const char*>(data_.data() + dao.at + 4), 13);
      if (mcn.find('\0') == std::string::npos) disc_.mcn = mcn;
    }
    const uint8_t first = v_.u8(dao.at + 20, "DAO first track");
    const uint8_t last = v_.u8(dao.at + 21, "DAO last track");
    const size_t count = (dao.size - kDaoHeaderSize) / block;
    if (first < 1 || last < first || last > 99 || count != static_cast<size_t>(last - first + 1)) {
      return v_.fail(dao.at + 20, "DAO chunk names tracks " + std::to_string(first) + ".." + std::to_string(last) +
                                      " but holds " + std::to_string(count) + " track blocks");
    }
    std::optional<int32_t> leadout;
    for (const CuePoint& cp : cues) {
      if (cp.track == 0xAA) leadout = cp.lba;
    }
    if (!leadout) return v_.fail(cue_chunk.at, "session " + std::to_string(session) + " has no lead-out CUE point (track AA)");
    const size_t first_index = disc_.tracks.size();
    for (size_t i = 0; i < count; ++i) {
      DaoTrack d;
      d.at = dao.at + kDaoHeaderSize + i * block;
      d.isrc.assign(reinterpret_cast<const char*>(data_.data() + d.at), 12);
      if (d.isrc.find('\0') != std::string::npos) d.isrc.clear();
      d.sector_size = static_cast<uint16_t>(v_.be(d.at + 12, 2, "DAO sector size"));
      d.mode_code = v_.u8(d.at + 14, "DAO mode");
      const unsigned w = v2() ? 8 : 4;
      d.pregap_offset = v_.be(d.at + 18, w, "DAO pregap offset");
      d.start_offset = v_.be(d.at + 18 + w, w, "DAO start offset");
      d.end_offset = v_.be(d.at + 18 + 2 * w, w, "DAO end offset");
      if (!v_.status().ok()) return v_.status();
      const uint8_t number = static_cast<uint8_t>(first + i);
      disc::Track t;
      t.number = number;
      t.session = session;
      t.isrc = d.isrc;
      std::optional<int32_t> index0;
      bool has_index1 = false;
      for (const CuePoint& cp : cues) {
        if (cp.track != number) continue;
        if (cp.index == 0) index0 = cp.lba;
        if (cp.index == 1) {
          t.start_lba = cp.lba;
          t.control = cp.control & 0x0F;
          has_index1 = true;
        }
        if (cp.index >= 2) t.indices.push_back(disc::Index{cp.index, cp.lba});
      }
      if (!has_index1) return v_.fail(cue_chunk.at, "track " + std::to_string(number) + " has no INDEX 1 CUE point");
      t.pregap_lba = index0 && *index0 < t.start_lba ? *index0 : t.start_lba;
      t.indices.insert(t.indices.begin(), disc::Index{1, t.start_lba});
      Status s = add_stored_track(std::move(t), d, first_index + i == 0);
      if (!s.ok()) return s;
    }
    // Track ends: the next track's pregap, or this session's lead-out.
    for (size_t i = first_index; i < disc_.tracks.size(); ++i) {
      disc_.tracks[i].end_lba = i + 1 < disc_.tracks.size() ? disc_.tracks[i + 1].pregap_lba : *leadout;
    }
    return place_session_runs(first_index);
  }

  Status load_tao_session(uint8_t session, const Chunk& etn) {
    const size_t block = v2() ? kEtnBlockV2 : kEtnBlockV1;
    const size_t first_index = disc_.tracks.size();
    for (uint64_t p = etn.at; p + block <= etn.at + etn.size; p += block) {
      DaoTrack d;
      d.at = p;
      const unsigned w = v2() ? 8 : 4;
      d.start_offset = d.pregap_offset = v_.be(p, w, "ETN offset");
      const uint64_t size = v_.be(p + w, w, "ETN size");
      d.mode_code = v_.u8(p + 2 * w + 3, "ETN mode");
      const int32_t start = static_cast<int32_t>(static_cast<uint32_t>(v_.be(p + 2 * w + 4, 4, "ETN start sector")));
      if (!v_.status().ok()) return v_.status();
      const auto code = decode_mode(d.mode_code);
      if (!code) return v_.fail(p + 2 * w + 3, "unknown Nero mode code " + std::to_string(d.mode_code));
      d.sector_size = static_cast<uint16_t>(code->main + code->sub);
      d.end_offset = d.start_offset + size;
      if (disc_.tracks.size() >= 99) return v_.fail(p, "more than 99 tracks");
      disc::Track t;
      t.number = static_cast<uint8_t>(disc_.tracks.size() + 1);
      t.session = session;
      t.start_lba = t.pregap_lba = start;
      t.control = code->mode == disc::TrackMode::audio ? 0 : disc::control::kDataTrack;
      t.indices.push_back(disc::Index{1, start});
      if (start < 0 || start > kMaxLba) return v_.fail(p, "ETN start sector " + std::to_string(start) + " is beyond any disc");
      if (Status s = add_stored_track(std::move(t), d, false); !s.ok()) return s;
      const uint64_t sectors = size / d.sector_size;
      disc_.tracks.back().end_lba = start + static_cast<int32_t>(std::min<uint64_t>(sectors, kMaxLba));
    }
    if (disc_.tracks.size() == first_index) return v_.fail(etn.at, "track-at-once chunk with no tracks");
    return place_session_runs(first_index);
  }

  Status add_stored_track(disc::Track t, const DaoTrack& d, bool disc_first) {
    const auto code = decode_mode(d.mode_code);
    if (!code) {
      return v_.fail(d.at + 14, "track " + std::to_string(t.number) + ": unknown Nero mode code 0x" + hex(d.mode_code));
    }
    if (d.sector_size != code->main + code->sub) {
      return v_.fail(d.at + 12, "track " + std::to_string(t.number) + ": sector size " + std::to_string(d.sector_size) +
                                    " does not match mode code 0x" + hex(d.mode_code) + " (" +
                                    std::to_string(code->main + code->sub) + " bytes)");
    }
    if (d.pregap_offset > d.start_offset || d.start_offset > d.end_offset || d.end_offset > footer_.chunks) {
      return v_.fail(d.at + 18, "track " + std::to_string(t.number) + ": file offsets " + std::to_string(d.pregap_offset) +
                                    " / " + std::to_string(d.start_offset) + " / " + std::to_string(d.end_offset) +
                                    " are out of order or run into the chunks at " + std::to_string(footer_.chunks));
    }
    t.mode = code->mode;
    if (disc::is_data(t.mode) && code->main != 2048) {
      t.mode = probe_data_mode(*file_, d.start_offset, code->main, t.mode);
    }
    if (t.control == 0 && disc::is_data(t.mode)) t.control = disc::control::kDataTrack;
    const uint64_t stored_pregap = (d.start_offset - d.pregap_offset) / d.sector_size;
    // Track 1's pregap from LBA -150, not stored: the disc's lead-in gap, which the model omits (as CUE).
    if (disc_first && stored_pregap == 0 && t.pregap_lba == -150 && t.start_lba == 0) t.pregap_lba = 0;
    if (stored_pregap > static_cast<uint64_t>(t.start_lba - t.pregap_lba)) {
      return v_.fail(d.at + 18, "track " + std::to_string(t.number) + " stores " + std::to_string(stored_pregap) +
                                    " pregap sectors but its INDEX 0 is only " +
                                    std::to_string(t.start_lba - t.pregap_lba) + " sectors before INDEX 1");
    }
    if (t.pregap_lba < t.start_lba) t.indices.insert(t.indices.begin(), disc::Index{0, t.pregap_lba});
    disc_.tracks.push_back(std::move(t));
    layouts_.push_back(Layout{*code, d, stored_pregap});
    return Status::Ok();
  }

  // Runs of the tracks from first_index on, once their ends are known.
  Status place_session_runs(size_t first_index) {
    for (size_t i = first_index; i < disc_.tracks.size(); ++i) {
      const disc::Track& t = disc_.tracks[i];
      const Layout& l = layouts_[i];
      if (t.end_lba <= t.start_lba) {
        return v_.fail(l.dao.at, "track " + std::to_string(t.number) + " ends (LBA " + std::to_string(t.end_lba) +
                                     ") before it starts (LBA " + std::to_string(t.start_lba) + ")");
      }
      const int32_t pregap = t.start_lba - t.pregap_lba;
      const int32_t unstored_pregap = pregap - static_cast<int32_t>(l.stored_pregap);
      add_run(i, t.pregap_lba, unstored_pregap, false, 0);
      add_run(i, t.start_lba - static_cast<int32_t>(l.stored_pregap), static_cast<int32_t>(l.stored_pregap), true,
              l.dao.pregap_offset);
      const uint64_t have = (l.dao.end_offset - l.dao.start_offset) / l.dao.sector_size;
      const int32_t stored = static_cast<int32_t>(std::min<uint64_t>(have, static_cast<uint64_t>(t.end_lba - t.start_lba)));
      add_run(i, t.start_lba, stored, true, l.dao.start_offset);
      add_run(i, t.start_lba + stored, t.end_lba - t.start_lba - stored, false, 0);
    }
    return Status::Ok();
  }

  void add_run(size_t track, int32_t lba, int32_t count, bool stored, uint64_t offset) {
    if (count <= 0) return;
    StoredRun r{.lba = lba, .count = count, .track = track};
    if (stored) {
      const Layout& l = layouts_[track];
      r.file = 0;
      r.offset = offset;
      r.main_size = l.code.main;
      r.stride = l.dao.sector_size;
      if (l.code.sub != 0) {
        r.sub_file = 0;
        r.sub_offset = offset + l.code.main;
        r.sub_stride = l.dao.sector_size;
      }
    }
    runs_.push_back(r);
  }

  static std::string hex(unsigned v) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    return std::string{kDigits[(v >> 4) & 0xF], kDigits[v & 0xF]};
  }

  struct Layout {
    ModeCode code;
    DaoTrack dao;
    uint64_t stored_pregap = 0;
  };

  std::shared_ptr<RandomAccessFile> file_;
  Footer footer_;
  std::vector<uint8_t> data_;
  ByteView v_;
  std::vector<Chunk> chunks_;
  uint32_t media_ = 0;
  disc::Disc disc_;
  std::vector<Layout> layouts_;
  std::vector<StoredRun> runs_;
};

}  // namespace

bool looks_like_nrg(const RandomAccessFile& file) { return find_footer(file).has_value(); }

Result<ImagePtr> open_nrg(std::shared_ptr<RandomAccessFile> nrg) {
  const std::string name = "'" + nrg->name() + "'";
  const auto footer = find_footer(*nrg);
  if (!footer) return Status::Corruption(name + ": no Nero footer (\"NER5\" or \"NERO\" at the end); not an .nrg image");
  if (footer->chunks >= footer->end) {
    return Status::Corruption(name + ": Nero v" + std::to_string(footer->version) + " footer points to offset " +
                              std::to_string(footer->chunks) + ", not before the footer at " + std::to_string(footer->end));
  }
  const uint64_t bytes = footer->end - footer->chunks;
  if (bytes > kMaxChunkBytes) {
    return Status::Corruption(name + ": " + std::to_string(bytes) + " bytes of Nero chunks (at most " +
                              std::to_string(kMaxChunkBytes) + "); the footer offset is likely wrong");
  }
  std::vector<uint8_t> data(static_cast<size_t>(bytes));
  if (Status s = nrg->read_at(footer->chunks, data); !s.ok()) return s;
  return NrgReader(std::move(nrg), *footer, std::move(data)).open();
}

}  // namespace udisc::formats
