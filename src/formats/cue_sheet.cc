#include "formats/cue_sheet.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

namespace udisc::formats::cue {

const char* to_string(FileType t) {
  switch (t) {
    case FileType::binary: return "BINARY";
    case FileType::motorola: return "MOTOROLA";
    case FileType::wave: return "WAVE";
  }
  return "?";
}

namespace {

struct ModeName {
  std::string_view keyword;
  TrackType type;
  uint32_t size;
};
constexpr ModeName kModes[] = {
    {"AUDIO", TrackType::audio, 2352},           {"CDG", TrackType::cdg, 2448},
    {"MODE1/2048", TrackType::mode1_2048, 2048}, {"MODE1/2352", TrackType::mode1_2352, 2352},
    {"MODE2/2336", TrackType::mode2_2336, 2336}, {"MODE2/2352", TrackType::mode2_2352, 2352},
    {"CDI/2336", TrackType::cdi_2336, 2336},     {"CDI/2352", TrackType::cdi_2352, 2352},
};

}  // namespace

const char* to_string(TrackType t) {
  for (const ModeName& m : kModes) {
    if (m.type == t) return m.keyword.data();
  }
  return "?";
}

uint32_t stored_sector_size(TrackType t) {
  for (const ModeName& m : kModes) {
    if (m.type == t) return m.size;
  }
  return 2352;
}

bool is_audio(TrackType t) { return t == TrackType::audio || t == TrackType::cdg; }

bool is_mode2(TrackType t) {
  return t == TrackType::mode2_2336 || t == TrackType::mode2_2352 || t == TrackType::cdi_2336 ||
         t == TrackType::cdi_2352;
}

int32_t CueTrack::index1_position() const {
  for (const CueIndex& i : indices) {
    if (i.number == 1) return i.position;
  }
  return indices.empty() ? 0 : indices.front().position;
}

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// Splits off the first whitespace-separated word.
std::string_view next_word(std::string_view& s) {
  s = trim(s);
  size_t end = 0;
  while (end < s.size() && !is_blank(s[end])) ++end;
  std::string_view word = s.substr(0, end);
  s = trim(s.substr(end));
  return word;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!trim(s).empty()) out.push_back(next_word(s));
  return out;
}

std::string quote(std::string_view s) {
  std::string shown(s.substr(0, 64));
  if (s.size() > 64) shown += "...";
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  return "'" + shown + "'";
}

// A number of at most `max_digits` decimal digits.
std::optional<int> parse_number(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

class Parser {
 public:
  Parser(std::string_view text, std::string name) : text_(text) { sheet_.name = std::move(name); }

  Result<CueSheet> run() {
    if (text_.size() >= 3 && text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);
    size_t pos = 0;
    while (pos <= text_.size()) {
      ++line_;
      size_t end = pos;
      while (end < text_.size() && text_[end] != '\n' && text_[end] != '\r') ++end;
      std::string_view line = text_.substr(pos, end - pos);
      if (end < text_.size() && text_[end] == '\r' && end + 1 < text_.size() && text_[end + 1] == '\n') ++end;
      pos = end + 1;
      Status s = parse_line(line);
      if (!s.ok()) return s;
      if (end >= text_.size()) break;
    }
    Status s = finish();
    if (!s.ok()) return s;
    return std::move(sheet_);
  }

 private:
  Status error(const std::string& what) const {
    return Status::Corruption(sheet_.name + ": line " + std::to_string(line_) + ": " + what);
  }
  Status error_at(int line, const std::string& what) const {
    return Status::Corruption(sheet_.name + ": line " + std::to_string(line) + ": " + what);
  }
  void warn(const std::string& what) {
    if (sheet_.warnings.size() < 100) {
      sheet_.warnings.push_back(sheet_.name + ": line " + std::to_string(line_) + ": " + what);
    }
  }
  CueTrack* track() { return in_track_ ? &sheet_.tracks.back() : nullptr; }

  // "mm:ss:ff" (minutes up to 3 digits) as a count of sectors.
  Result<int32_t> parse_msf(std::string_view s, const char* what) const {
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); ++i) {
      if (i == s.size() || s[i] == ':') {
        parts.push_back(s.substr(start, i - start));
        start = i + 1;
      }
    }
    if (parts.size() != 3) return error(std::string("bad ") + what + " time " + quote(s) + " (expected mm:ss:ff)");
    auto m = parse_number(parts[0], 3);
    auto sec = parse_number(parts[1], 2);
    auto f = parse_number(parts[2], 2);
    if (!m || !sec || !f) return error(std::string("bad ") + what + " time " + quote(s) + " (expected mm:ss:ff)");
    if (*sec >= 60) return error(std::string("bad ") + what + " time " + quote(s) + ": seconds must be below 60");
    if (*f >= 75) return error(std::string("bad ") + what + " time " + quote(s) + ": frames must be below 75");
    return static_cast<int32_t>((*m * 60 + *sec) * 75 + *f);
  }

  // A string argument: quoted ("a b") or the rest of the line.
  Result<std::string> parse_text(std::string_view rest, const char* keyword) const {
    rest = trim(rest);
    if (!rest.empty() && rest.front() == '"') {
      size_t close = rest.find('"', 1);
      if (close == std::string_view::npos) return error(std::string(keyword) + ": missing closing quote");
      if (!trim(rest.substr(close + 1)).empty()) {
        return error(std::string(keyword) + ": unexpected text after the closing quote: " +
                     quote(trim(rest.substr(close + 1))));
      }
      return std::string(rest.substr(1, close - 1));
    }
    return std::string(rest);
  }

  Status parse_line(std::string_view line) {
    if (line.find('\0') != std::string_view::npos) return error("NUL byte: this is not a cue sheet (binary data)");
    std::string_view rest = line;
    const std::string keyword = upper(next_word(rest));
    if (keyword.empty()) return Status::Ok();
    if (keyword == "REM") return parse_rem(rest);
    if (keyword == "FILE") return parse_file(rest);
    if (keyword == "TRACK") return parse_track(rest);
    if (keyword == "INDEX") return parse_index(rest);
    if (keyword == "PREGAP" || keyword == "POSTGAP") return parse_gap(keyword, rest);
    if (keyword == "FLAGS") return parse_flags(rest);
    if (keyword == "ISRC") return parse_isrc(rest);
    if (keyword == "CATALOG") return parse_catalog(rest);
    if (keyword == "TITLE" || keyword == "PERFORMER" || keyword == "SONGWRITER") return parse_cd_text(keyword, rest);
    if (keyword == "CDTEXTFILE") {
      auto name = parse_text(rest, "CDTEXTFILE");
      if (!name.ok()) return name.status();
      warn("CDTEXTFILE " + quote(*name) + " ignored (CD-TEXT comes from TITLE, PERFORMER and SONGWRITER)");
      return Status::Ok();
    }
    // CD-TEXT fields some authoring tools write; the disc model does not carry them.
    static constexpr std::string_view kIgnored[] = {"ARRANGER", "COMPOSER", "MESSAGE",   "DISC_ID",  "GENRE",
                                                    "TOC_INFO1", "TOC_INFO2", "UPC_EAN", "SIZE_INFO"};
    if (std::find(std::begin(kIgnored), std::end(kIgnored), keyword) != std::end(kIgnored)) {
      warn(keyword + " ignored");
      return Status::Ok();
    }
    return error("unknown keyword " + quote(keyword));
  }

  Status parse_rem(std::string_view rest) {
    const std::string what = upper(next_word(rest));
    if (what != "SESSION") return Status::Ok();  // comments, REM LEAD-OUT, REM GENRE, ...
    auto w = words(rest);
    auto number = w.size() == 1 ? parse_number(w[0], 2) : std::nullopt;
    if (!number || *number < 1 || *number > 99) return error("REM SESSION needs a session number 01..99");
    if (in_track_ && sheet_.tracks.back().indices.empty()) {
      return error("REM SESSION inside track " + std::to_string(sheet_.tracks.back().number) + " before its INDEX");
    }
    const std::string session_name = "REM SESSION " + std::to_string(*number);
    if (sheet_.tracks.empty()) {
      if (session_declared_) return error("duplicate REM SESSION (session " + std::to_string(session_) + " has no tracks)");
      if (*number != 1) return error("first session is " + session_name + "; it must be 01");
    } else {
      if (sheet_.tracks.back().session != session_) {
        return error("session " + std::to_string(session_) + " has no tracks");
      }
      if (*number == session_) return error("duplicate " + session_name);
      if (*number != session_ + 1) {
        return error(session_name + " follows session " + std::to_string(session_) +
                     " (sessions must be numbered 1, 2, 3, ...)");
      }
    }
    session_ = static_cast<uint8_t>(*number);
    session_declared_ = true;
    session_line_ = line_;
    return Status::Ok();
  }

  Status parse_file(std::string_view rest) {
    rest = trim(rest);
    std::string name;
    std::string_view type_word;
    if (!rest.empty() && rest.front() == '"') {
      size_t close = rest.find('"', 1);
      if (close == std::string_view::npos) return error("FILE: missing closing quote");
      name = std::string(rest.substr(1, close - 1));
      std::string_view after = rest.substr(close + 1);
      auto w = words(after);
      if (w.size() != 1) return error("FILE needs a file name and one type (BINARY, MOTOROLA or WAVE)");
      type_word = w[0];
    } else {
      // Unquoted: the type is the last word, the name everything before it.
      size_t last = rest.find_last_of(" \t");
      if (last == std::string_view::npos) return error("FILE needs a file name and a type (BINARY, MOTOROLA or WAVE)");
      name = std::string(trim(rest.substr(0, last)));
      type_word = trim(rest.substr(last + 1));
    }
    if (name.empty()) return error("FILE has an empty file name");
    const std::string type = upper(type_word);
    FileType ft;
    if (type == "BINARY") {
      ft = FileType::binary;
    } else if (type == "MOTOROLA") {
      ft = FileType::motorola;
    } else if (type == "WAVE") {
      ft = FileType::wave;
    } else if (type == "AIFF" || type == "MP3") {
      return Status::NotSupported(sheet_.name + ": line " + std::to_string(line_) + ": FILE type " + type +
                                  " is not supported (use WAVE with a .wav or .flac file, or BINARY)");
    } else {
      return error("unknown FILE type " + quote(type_word) + " (expected BINARY, MOTOROLA or WAVE)");
    }
    if (!sheet_.files.empty() && !file_has_track_) {
      warn("FILE " + quote(sheet_.files.back().name) + " has no tracks; ignored");
      sheet_.files.pop_back();
    }
    // A FILE inside a track continues that track in the new file (EAC's
    // "gaps appended to the previous track" sheets put INDEX 00 of a track at
    // the end of one file and INDEX 01 at the start of the next).
    sheet_.files.push_back(CueFile{std::move(name), ft, line_});
    file_has_track_ = false;
    return Status::Ok();
  }

  Status close_track() {
    if (!in_track_) return Status::Ok();
    const CueTrack& t = sheet_.tracks.back();
    bool has1 = std::any_of(t.indices.begin(), t.indices.end(), [](const CueIndex& i) { return i.number == 1; });
    if (!has1) return error_at(t.line, "track " + std::to_string(t.number) + " has no INDEX 01");
    in_track_ = false;
    return Status::Ok();
  }

  Status parse_track(std::string_view rest) {
    if (sheet_.files.empty()) return error("TRACK before any FILE");
    auto w = words(rest);
    if (w.size() != 2) return error("TRACK needs a number and a mode, e.g. TRACK 01 MODE1/2352");
    auto number = parse_number(w[0], 2);
    if (!number || *number < 1 || *number > 99) return error("bad track number " + quote(w[0]) + " (must be 01..99)");
    const std::string mode = upper(w[1]);
    const ModeName* found = nullptr;
    for (const ModeName& m : kModes) {
      if (m.keyword == mode) found = &m;
    }
    if (found == nullptr) {
      return error("unknown track mode " + quote(w[1]) +
                   " (expected AUDIO, CDG, MODE1/2048, MODE1/2352, MODE2/2336, MODE2/2352, CDI/2336 or CDI/2352)");
    }
    Status s = close_track();
    if (!s.ok()) return s;
    if (!sheet_.tracks.empty() && *number != sheet_.tracks.back().number + 1) {
      if (*number == sheet_.tracks.back().number) return error("duplicate TRACK " + std::to_string(*number));
      return error("TRACK " + std::to_string(*number) + " follows track " + std::to_string(sheet_.tracks.back().number) +
                   " (track numbers must increase by one)");
    }
    CueTrack t;
    t.number = static_cast<uint8_t>(*number);
    t.type = found->type;
    t.session = session_;
    t.file = sheet_.files.size() - 1;
    t.line = line_;
    sheet_.tracks.push_back(std::move(t));
    in_track_ = true;
    file_has_track_ = true;
    return Status::Ok();
  }

  Status parse_index(std::string_view rest) {
    CueTrack* t = track();
    if (t == nullptr) return error("INDEX before TRACK");
    auto w = words(rest);
    if (w.size() != 2) return error("INDEX needs a number and a time, e.g. INDEX 01 00:00:00");
    auto number = parse_number(w[0], 2);
    if (!number) return error("bad index number " + quote(w[0]) + " (must be 00..99)");
    auto pos = parse_msf(w[1], "INDEX");
    if (!pos.ok()) return pos.status();
    const std::string name = "INDEX " + std::string(*number < 10 ? "0" : "") + std::to_string(*number);
    const size_t file = sheet_.files.size() - 1;
    file_has_track_ = true;
    if (t->indices.empty()) {
      if (*number > 1) return error("first index of track " + std::to_string(t->number) + " is " + name + "; it must be 00 or 01");
      // Within one FILE, a track starts after the previous track's last index.
      if (sheet_.tracks.size() >= 2) {
        const CueTrack& prev = sheet_.tracks[sheet_.tracks.size() - 2];
        if (prev.indices.back().file == file && *pos <= prev.indices.back().position) {
          return error(name + " of track " + std::to_string(t->number) + " at " + std::string(w[1]) +
                       " is not after the last index of track " + std::to_string(prev.number) +
                       " in the same file (index out of order)");
        }
      }
    } else {
      const CueIndex& last = t->indices.back();
      if (*number == last.number) return error("duplicate " + name + " in track " + std::to_string(t->number));
      if (*number != last.number + 1) {
        return error(name + " out of order in track " + std::to_string(t->number) + " (after INDEX " +
                     std::to_string(last.number) + "; indices must increase by one)");
      }
      if (last.file == file) {
        if (*pos < last.position || (*pos == last.position && last.number != 0)) {
          return error(name + " at " + std::string(w[1]) + " is not after INDEX " + std::to_string(last.number) +
                       " of track " + std::to_string(t->number) + " (index out of order)");
        }
        if (*pos == last.position) t->indices.pop_back();  // INDEX 00 == INDEX 01: no pregap
      }
    }
    t->indices.push_back(CueIndex{static_cast<uint8_t>(*number), *pos, line_, file});
    return Status::Ok();
  }

  Status parse_gap(const std::string& keyword, std::string_view rest) {
    CueTrack* t = track();
    if (t == nullptr) return error(keyword + " before TRACK");
    auto w = words(rest);
    if (w.size() != 1) return error(keyword + " needs one time, e.g. " + keyword + " 00:02:00");
    auto length = parse_msf(w[0], keyword.c_str());
    if (!length.ok()) return length.status();
    if (keyword == "PREGAP") {
      if (pregap_seen_track_ == t->number) return error("duplicate PREGAP in track " + std::to_string(t->number));
      if (!t->indices.empty()) return error("PREGAP after INDEX in track " + std::to_string(t->number) + " (it must come before the first INDEX)");
      pregap_seen_track_ = t->number;
      t->pregap = *length;
    } else {
      if (postgap_seen_track_ == t->number) return error("duplicate POSTGAP in track " + std::to_string(t->number));
      postgap_seen_track_ = t->number;
      t->postgap = *length;
    }
    return Status::Ok();
  }

  Status parse_flags(std::string_view rest) {
    CueTrack* t = track();
    if (t == nullptr) return error("FLAGS before TRACK");
    if (flags_seen_track_ == t->number) return error("duplicate FLAGS in track " + std::to_string(t->number));
    flags_seen_track_ = t->number;
    for (std::string_view w : words(rest)) {
      const std::string f = upper(w);
      if (f == "DCP") {
        t->flags |= disc::control::kCopyPermitted;
      } else if (f == "4CH") {
        t->flags |= disc::control::kFourChannel;
      } else if (f == "PRE") {
        t->flags |= disc::control::kPreEmphasis;
      } else if (f == "SCMS") {
        // Serial copy management: not part of the Q control field.
      } else if (f == "DATA") {
        // Some tools write it; the data bit follows from the track mode.
      } else {
        warn("unknown flag " + quote(w) + " ignored (known: DCP, 4CH, PRE, SCMS)");
      }
    }
    return Status::Ok();
  }

  static bool valid_isrc(std::string_view s) {
    if (s.size() != 12) return false;
    for (size_t i = 0; i < 12; ++i) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (i < 5 ? !(std::isupper(c) || std::isdigit(c)) : !std::isdigit(c)) return false;
    }
    return true;
  }

  Status parse_isrc(std::string_view rest) {
    CueTrack* t = track();
    if (t == nullptr) return error("ISRC before TRACK (ISRC belongs to a track)");
    auto value = parse_text(rest, "ISRC");
    if (!value.ok()) return value.status();
    if (isrc_seen_track_ == t->number) return error("duplicate ISRC in track " + std::to_string(t->number));
    isrc_seen_track_ = t->number;
    const std::string code = upper(*value);
    if (!valid_isrc(code)) {
      warn("ISRC " + quote(*value) + " ignored (expected 12 characters: CCOOOYYNNNNN)");
      return Status::Ok();
    }
    t->isrc = code;
    return Status::Ok();
  }

  Status parse_catalog(std::string_view rest) {
    if (catalog_seen_) return error("duplicate CATALOG");
    catalog_seen_ = true;
    auto value = parse_text(rest, "CATALOG");
    if (!value.ok()) return value.status();
    const bool digits = value->size() == 13 && std::all_of(value->begin(), value->end(), [](unsigned char c) { return std::isdigit(c); });
    if (!digits) {
      warn("CATALOG " + quote(*value) + " ignored (expected 13 digits)");
      return Status::Ok();
    }
    sheet_.catalog = *value;
    return Status::Ok();
  }

  Status parse_cd_text(const std::string& keyword, std::string_view rest) {
    auto value = parse_text(rest, keyword.c_str());
    if (!value.ok()) return value.status();
    disc::CdText& text = in_track_ ? sheet_.tracks.back().cd_text : sheet_.cd_text;
    std::string& field = keyword == "TITLE" ? text.title : keyword == "PERFORMER" ? text.performer : text.songwriter;
    if (!field.empty()) warn("second " + keyword + " replaces the first");
    field = std::move(*value);
    return Status::Ok();
  }

  Status finish() {
    Status s = close_track();
    if (!s.ok()) return s;
    if (sheet_.tracks.empty()) return error_at(line_, "the sheet has no tracks");
    if (!file_has_track_) {
      warn("FILE " + quote(sheet_.files.back().name) + " has no tracks; ignored");
      sheet_.files.pop_back();
    }
    if (sheet_.tracks.back().session != session_) {
      return error_at(session_line_, "session " + std::to_string(session_) + " has no tracks");
    }
    return Status::Ok();
  }

  std::string_view text_;
  CueSheet sheet_;
  int line_ = 0;
  bool in_track_ = false;
  bool file_has_track_ = false;
  bool catalog_seen_ = false;
  bool session_declared_ = false;
  uint8_t session_ = 1;
  int session_line_ = 0;
  int pregap_seen_track_ = 0;
  int postgap_seen_track_ = 0;
  int flags_seen_track_ = 0;
  int isrc_seen_track_ = 0;
};

}  // namespace

Result<CueSheet> parse_cue_sheet(std::string_view text, const std::string& name) { return Parser(text, name).run(); }

}  // namespace udisc::formats::cue
