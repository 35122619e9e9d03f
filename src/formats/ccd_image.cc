// CloneCD reader: .ccd control file + .img (2352-byte raw sectors) + .sub
// (96 bytes of deinterleaved P–W sub-channel per sector). Layout rules and
// sources: docs/formats/ccd.md.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <map>
#include <optional>
#include <string_view>

#include "formats/cd_text_packs.h"
#include "formats/descriptor_images.h"
#include "formats/track_image.h"

namespace udisc::formats {
namespace {

constexpr size_t kMaxCcdBytes = 1 << 20;
constexpr size_t kMaxEntries = 1000;
constexpr int32_t kFirstSessionGap = 6750 + 4500;  // lead-out + lead-in after session 1
constexpr int32_t kLaterSessionGap = 2250 + 4500;
constexpr int32_t kMaxLba = 100 * 60 * 75;
constexpr size_t kMaxCdTextPacks = 8 * 256;  // 8 blocks of at most 256 packs

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// One "[Entry n]": a raw TOC entry (MMC READ TOC format 2 fields).
struct Entry {
  int line = 0;
  int session = 0;
  int point = -1;
  int adr = 1;
  int control = 0;
  int pmin = -1, psec = -1, pframe = -1;
  std::optional<int32_t> plba;

  std::optional<int32_t> p_lba() const {
    if (plba) return plba;
    if (pmin < 0 || psec < 0 || pframe < 0) return std::nullopt;
    return (pmin * 60 + psec) * 75 + pframe - 150;
  }
};

struct TrackSection {
  int line = 0;
  std::optional<int> mode;
  std::map<int, int32_t> indices;
  std::string isrc;
};

struct Ccd {
  std::string name;
  std::string catalog;
  bool scrambled = false;
  std::vector<Entry> entries;
  std::map<int, TrackSection> tracks;
  std::map<int, int> pregap_mode;  // session -> PreGapMode (read, reported in errors only)
  std::vector<uint8_t> cd_text;    // [CDText] entries as 18-byte packs (CRC zero: CloneCD keeps 16 bytes)
  int cd_text_line = 0;
};

class CcdParser {
 public:
  explicit CcdParser(std::string name) { ccd_.name = std::move(name); }

  Result<Ccd> parse(std::string_view text) {
    int line_no = 0;
    bool seen_clonecd = false;
    while (!text.empty()) {
      const size_t nl = text.find('\n');
      std::string_view line = trim(text.substr(0, nl));
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      ++line_no;
      if (line.empty() || line.front() == ';') continue;
      if (line.front() == '[') {
        const size_t close = line.find(']');
        if (close == std::string_view::npos) return error(line_no, "section header without ']'");
        Status s = begin_section(lower(trim(line.substr(1, close - 1))), line_no);
        if (!s.ok()) return s;
        seen_clonecd = seen_clonecd || section_ == Section::clonecd;
        continue;
      }
      const size_t eq = line.find('=');
      if (eq == std::string_view::npos) return error(line_no, "expected KEY=VALUE, found '" + std::string(line) + "'");
      Status s = set(lower(trim(line.substr(0, eq))), trim(line.substr(eq + 1)), line_no);
      if (!s.ok()) return s;
    }
    if (!seen_clonecd) return Status::Corruption(ccd_.name + ": no [CloneCD] section; not a CloneCD control file");
    return std::move(ccd_);
  }

 private:
  enum class Section { none, clonecd, disc, session, entry, track, cdtext, other };

  Status error(int line, const std::string& what) const {
    return Status::Corruption(ccd_.name + ": line " + std::to_string(line) + ": " + what);
  }

  Status begin_section(const std::string& header, int line) {
    auto numbered = [&](std::string_view prefix, int* out) {
      if (header.rfind(prefix, 0) != 0) return false;
      std::string_view num = trim(std::string_view(header).substr(prefix.size()));
      auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), *out);
      return ec == std::errc() && p == num.data() + num.size();
    };
    number_ = 0;
    if (header == "clonecd") {
      section_ = Section::clonecd;
    } else if (header == "disc") {
      section_ = Section::disc;
    } else if (numbered("session", &number_)) {
      section_ = Section::session;
    } else if (numbered("entry", &number_)) {
      if (ccd_.entries.size() >= kMaxEntries) return error(line, "more than " + std::to_string(kMaxEntries) + " entries");
      section_ = Section::entry;
      ccd_.entries.push_back(Entry{});
      ccd_.entries.back().line = line;
    } else if (numbered("track", &number_)) {
      if (number_ < 1 || number_ > 99) return error(line, "[TRACK " + std::to_string(number_) + "]: track numbers are 1..99");
      section_ = Section::track;
      ccd_.tracks[number_].line = line;
    } else if (header == "cdtext") {
      section_ = Section::cdtext;
      ccd_.cd_text_line = line;
    } else if (header.rfind("session", 0) == 0 || header.rfind("entry", 0) == 0 || header.rfind("track", 0) == 0) {
      return error(line, "section [" + header + "] has no valid number");
    } else {
      section_ = Section::other;  // sections of later versions: not needed for the layout
    }
    return Status::Ok();
  }

  static std::optional<int64_t> number(std::string_view v) {
    int base = 10;
    bool negative = false;
    if (!v.empty() && v.front() == '-') {
      negative = true;
      v.remove_prefix(1);
    }
    if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
      base = 16;
      v.remove_prefix(2);
    }
    int64_t out = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out, base);
    if (ec != std::errc() || p != v.data() + v.size() || v.empty() || out > (int64_t{1} << 31)) return std::nullopt;
    return negative ? -out : out;
  }

  Status set(const std::string& key, std::string_view value, int line) {
    auto int_value = [&](int64_t lo, int64_t hi, auto* out) -> Status {
      auto n = number(value);
      if (!n || *n < lo || *n > hi) {
        return error(line, key + "=" + std::string(value) + " is not a number in " + std::to_string(lo) + ".." +
                               std::to_string(hi));
      }
      *out = static_cast<std::remove_pointer_t<decltype(out)>>(*n);
      return Status::Ok();
    };
    switch (section_) {
      case Section::none: return error(line, "'" + key + "' before any section");
      case Section::disc:
        if (key == "catalog") ccd_.catalog = std::string(value);
        if (key == "datatracksscrambled") {
          int v = 0;
          if (Status s = int_value(0, 1, &v); !s.ok()) return s;
          ccd_.scrambled = v != 0;
        }
        return Status::Ok();
      case Section::session:
        if (key == "pregapmode") {
          int v = 0;
          if (Status s = int_value(0, 2, &v); !s.ok()) return s;
          ccd_.pregap_mode[number_] = v;
        }
        if (key == "pregapsubc") {
          int v = 0;
          return int_value(0, 1, &v);
        }
        return Status::Ok();
      case Section::entry: {
        Entry& e = ccd_.entries.back();
        if (key == "session") return int_value(1, 99, &e.session);
        if (key == "point") return int_value(0, 0xFF, &e.point);
        if (key == "adr") return int_value(0, 0xF, &e.adr);
        if (key == "control") return int_value(0, 0xF, &e.control);
        if (key == "pmin") return int_value(0, 0xFF, &e.pmin);
        if (key == "psec") return int_value(0, 0xFF, &e.psec);
        if (key == "pframe") return int_value(0, 0xFF, &e.pframe);
        if (key == "plba") {
          int32_t v = 0;
          if (Status s = int_value(-kMaxLba, kMaxLba, &v); !s.ok()) return s;
          e.plba = v;
        }
        return Status::Ok();
      }
      case Section::track: {
        TrackSection& t = ccd_.tracks[number_];
        if (key == "mode") {
          int v = 0;
          if (Status s = int_value(0, 2, &v); !s.ok()) return s;
          t.mode = v;
        } else if (key.rfind("index", 0) == 0) {
          auto ix = number(trim(std::string_view(key).substr(5)));
          if (!ix || *ix < 0 || *ix > 99) return error(line, "'" + key + "': index numbers are 0..99");
          int32_t lba = 0;
          if (Status s = int_value(-150, kMaxLba, &lba); !s.ok()) return s;
          t.indices[static_cast<int>(*ix)] = lba;
        } else if (key == "isrc") {
          t.isrc = std::string(value);
        }
        return Status::Ok();
      }
      case Section::cdtext: return set_cd_text(key, value, line);
      default: return Status::Ok();
    }
  }

  // "Entry n=80 00 00 00 ..." : the first 16 bytes of CD-TEXT pack n in hex.
  Status set_cd_text(const std::string& key, std::string_view value, int line) {
    if (key.rfind("entry", 0) != 0 || key == "entries") return Status::Ok();
    auto n = number(trim(std::string_view(key).substr(5)));
    if (!n || *n != static_cast<int64_t>(ccd_.cd_text.size() / 18)) {
      return error(line, "'" + key + "': CD-TEXT entries must be numbered 0, 1, 2, ... in order");
    }
    if (ccd_.cd_text.size() >= kMaxCdTextPacks * 18) {
      return error(line, "more than " + std::to_string(kMaxCdTextPacks) + " CD-TEXT entries");
    }
    std::array<uint8_t, 18> pack{};
    size_t count = 0;
    while (!value.empty()) {
      const size_t space = value.find_first_of(" \t");
      const std::string_view byte = value.substr(0, space);
      value = space == std::string_view::npos ? std::string_view() : trim(value.substr(space));
      unsigned v = 0;
      auto [p, ec] = std::from_chars(byte.data(), byte.data() + byte.size(), v, 16);
      if (ec != std::errc() || p != byte.data() + byte.size() || v > 0xFF || count >= 16) {
        return error(line, "'" + key + "': expected 16 hex bytes");
      }
      pack[count++] = static_cast<uint8_t>(v);
    }
    if (count != 16) return error(line, "'" + key + "': expected 16 hex bytes, found " + std::to_string(count));
    ccd_.cd_text.insert(ccd_.cd_text.end(), pack.begin(), pack.end());
    return Status::Ok();
  }

  Ccd ccd_;
  Section section_ = Section::none;
  int number_ = 0;
};

std::string base_name(const std::string& name) {
  const size_t slash = name.find_last_of('/');
  const size_t dot = name.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return name;
  return name.substr(0, dot);
}

std::string file_part(const std::string& name) {
  const size_t slash = name.find_last_of('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

Result<ImagePtr> build(const Ccd& ccd, const FileResolver& resolve) {
  const std::string& name = ccd.name;
  if (ccd.scrambled) {
    return Status::NotSupported(name + ": DataTracksScrambled=1 (data sectors stored scrambled) is not supported");
  }
  std::vector<const Entry*> track_entries;
  std::map<int, const Entry*> leadouts;
  for (const Entry& e : ccd.entries) {
    if (e.session == 0 || e.point < 0) {
      return Status::Corruption(name + ": line " + std::to_string(e.line) + ": entry without Session or Point");
    }
    if (e.adr != 1) continue;  // ADR 5 (B0, C0 ...) entries of multisession discs: not needed
    if (e.point >= 1 && e.point <= 99) track_entries.push_back(&e);
    if (e.point == 0xA2) leadouts[e.session] = &e;
  }
  if (track_entries.empty()) return Status::Corruption(name + ": no track entries (Point 1..99)");
  std::sort(track_entries.begin(), track_entries.end(), [](const Entry* a, const Entry* b) { return a->point < b->point; });

  auto files_or = resolve(file_part(base_name(name)) + ".img");
  if (!files_or.ok()) return Status(files_or.status()).with_context(name + ": image data");
  std::vector<std::shared_ptr<RandomAccessFile>> files{std::move(files_or).value()};
  auto sub = resolve(file_part(base_name(name)) + ".sub");
  const bool has_sub = sub.ok();
  if (has_sub) files.push_back(std::move(sub).value());

  disc::Disc d;
  d.mcn = ccd.catalog;
  std::vector<StoredRun> runs;
  std::vector<int32_t> first_stored(track_entries.size());
  // Start (pregap) of each track and the sectors of it the .img holds.
  for (size_t i = 0; i < track_entries.size(); ++i) {
    const Entry& e = *track_entries[i];
    const auto start = e.p_lba();
    if (!start) return Status::Corruption(name + ": line " + std::to_string(e.line) + ": track entry without PLBA or PMin/PSec/PFrame");
    disc::Track t;
    t.number = static_cast<uint8_t>(e.point);
    t.session = static_cast<uint8_t>(e.session);
    t.control = static_cast<uint8_t>(e.control);
    t.start_lba = *start;
    auto sec = ccd.tracks.find(e.point);
    std::optional<int32_t> index0;
    if (sec != ccd.tracks.end()) {
      t.isrc = sec->second.isrc;
      for (const auto& [n, lba] : sec->second.indices) {
        if (n == 0 && lba < t.start_lba) index0 = lba;
        if (n >= 2) t.indices.push_back(disc::Index{static_cast<uint8_t>(n), lba});
      }
    }
    first_stored[i] = index0.value_or(t.start_lba);
    t.pregap_lba = first_stored[i];
    if (!index0 && i > 0 && e.session != track_entries[i - 1]->session) {
      // The first track of a later session: the pregap between the lead-in and
      // INDEX 1 is not in the .img (docs/formats/ccd.md).
      auto prev = leadouts.find(track_entries[i - 1]->session);
      if (prev != leadouts.end() && prev->second->p_lba()) {
        const int32_t gap_end = *prev->second->p_lba() + (e.session == 2 ? kFirstSessionGap : kLaterSessionGap);
        if (gap_end < t.start_lba) t.pregap_lba = gap_end;
      }
    }
    t.indices.insert(t.indices.begin(), disc::Index{1, t.start_lba});
    if (t.pregap_lba < t.start_lba) t.indices.insert(t.indices.begin(), disc::Index{0, t.pregap_lba});
    d.tracks.push_back(std::move(t));
  }
  uint64_t img_sectors = 0;
  for (size_t i = 0; i < d.tracks.size(); ++i) {
    disc::Track& t = d.tracks[i];
    const Entry& e = *track_entries[i];
    if (i + 1 < d.tracks.size() && d.tracks[i + 1].session == t.session) {
      t.end_lba = first_stored[i + 1];
    } else {
      auto lo = leadouts.find(e.session);
      if (lo == leadouts.end() || !lo->second->p_lba()) {
        return Status::Corruption(name + ": session " + std::to_string(e.session) + " has no lead-out entry (Point 0xA2)");
      }
      t.end_lba = *lo->second->p_lba();
    }
    if (t.end_lba <= t.start_lba) {
      return Status::Corruption(name + ": track " + std::to_string(t.number) + " ends (LBA " + std::to_string(t.end_lba) +
                                ") before it starts (LBA " + std::to_string(t.start_lba) + ")");
    }
    const uint64_t offset = img_sectors * disc::kRawSectorSize;
    const auto sec = ccd.tracks.find(t.number);
    const bool data_by_control = (t.control & disc::control::kDataTrack) != 0;
    const int mode = sec != ccd.tracks.end() && sec->second.mode ? *sec->second.mode : (data_by_control ? 1 : 0);
    if (mode == 0) {
      t.mode = disc::TrackMode::audio;
    } else {
      // The mode byte and subheader of the first stored sector decide the form (as for CUE MODE2/2352).
      const disc::TrackMode fallback = mode == 1 ? disc::TrackMode::mode1 : disc::TrackMode::mode2_form1;
      t.mode = probe_data_mode(*files[0], offset + static_cast<uint64_t>(t.start_lba - first_stored[i]) * disc::kRawSectorSize,
                               disc::kRawSectorSize, fallback);
    }
    if (t.pregap_lba < first_stored[i]) {
      runs.push_back(StoredRun{.lba = t.pregap_lba, .count = first_stored[i] - t.pregap_lba, .track = i});
    }
    StoredRun r{.lba = first_stored[i], .count = t.end_lba - first_stored[i], .track = i, .file = 0, .offset = offset};
    if (has_sub) {
      r.sub_file = 1;
      r.sub_offset = img_sectors * disc::kSubchannelSize;
      r.sub_layout = SubchannelLayout::linear;
    }
    runs.push_back(r);
    img_sectors += static_cast<uint64_t>(r.count);
  }
  if (Status s = decode_cd_text_packs(ccd.cd_text, d); !s.ok()) {
    return s.with_context(name + ": [CDText] at line " + std::to_string(ccd.cd_text_line));
  }
  finish_disc(d);
  return make_track_image("ccd", name, std::move(d), std::move(files), std::move(runs));
}

}  // namespace

bool looks_like_ccd(std::span<const uint8_t> head) {
  size_t i = head.size() >= 3 && std::memcmp(head.data(), "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  while (i < head.size() && std::isspace(head[i])) ++i;
  static constexpr std::string_view kTag = "[clonecd]";
  if (head.size() - i < kTag.size()) return false;
  for (size_t k = 0; k < kTag.size(); ++k) {
    if (std::tolower(head[i + k]) != kTag[k]) return false;
  }
  return true;
}

Result<ImagePtr> open_ccd(const RandomAccessFile& ccd, const FileResolver& resolve) {
  if (ccd.size() > kMaxCcdBytes) {
    return Status::Corruption("'" + ccd.name() + "': " + std::to_string(ccd.size()) + " bytes is too large for a CloneCD control file");
  }
  std::string text(static_cast<size_t>(ccd.size()), '\0');
  if (Status s = ccd.read_at(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size())); !s.ok()) {
    return s;
  }
  auto parsed = CcdParser(ccd.name()).parse(text);
  if (!parsed.ok()) return parsed.status();
  return build(*parsed, resolve);
}

std::vector<std::string> ccd_companions(const std::string& ccd_name) {
  const std::string base = file_part(base_name(ccd_name));
  return {base + ".img", base + ".sub"};
}

}  // namespace udisc::formats
