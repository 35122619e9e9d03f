// cdrdao TOC reader: a text .toc file naming the data files of one session.
// Statements, units and byte order (raw audio files are big-endian, as
// cdrdao writes and reads them) are described in docs/formats/toc.md.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <string_view>

#include "formats/descriptor_images.h"
#include "formats/track_image.h"

namespace udisc::formats {
namespace {

constexpr size_t kMaxTocBytes = 1 << 20;
constexpr int64_t kMaxSectors = 100 * 60 * 75;
constexpr uint32_t kSamplesPerSector = 588;

struct Token {
  enum Kind { word, string, number, msf, hash_number, open, close, colon } kind;
  std::string text;
  int64_t value = 0;
  int line = 0;
};

// Splits the text into tokens; `//` comments run to the end of the line.
Result<std::vector<Token>> tokenize(std::string_view text, const std::string& name) {
  std::vector<Token> out;
  int line = 1;
  size_t i = 0;
  auto error = [&](const std::string& what) {
    return Status::Corruption(name + ": line " + std::to_string(line) + ": " + what);
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '"') {
      std::string s;
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        if (text[i] == '\n') return error("string not closed before the end of the line");
        s.push_back(text[i++]);
      }
      if (i >= text.size()) return error("string not closed");
      ++i;
      out.push_back(Token{Token::string, s, 0, line});
    } else if (c == '{' || c == '}' || c == ',' || c == ':') {
      out.push_back(Token{c == '{' ? Token::open : c == '}' ? Token::close : Token::colon, std::string(1, c), 0, line});
      ++i;
    } else if (c == '#' || std::isdigit(static_cast<unsigned char>(c))) {
      const bool hash = c == '#';
      if (hash) ++i;
      size_t j = i;
      while (j < text.size() && (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == ':')) ++j;
      const std::string_view tok = text.substr(i, j - i);
      if (tok.empty()) return error("'#' without a byte offset");
      const size_t colons = static_cast<size_t>(std::count(tok.begin(), tok.end(), ':'));
      if (colons == 2 && !hash) {
        int m = 0, s = 0, f = 0;
        const size_t a = tok.find(':'), b = tok.rfind(':');
        auto num = [](std::string_view v, int* o) {
          auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), *o);
          return ec == std::errc() && p == v.data() + v.size() && !v.empty();
        };
        if (!num(tok.substr(0, a), &m) || !num(tok.substr(a + 1, b - a - 1), &s) || !num(tok.substr(b + 1), &f) ||
            s >= 60 || f >= 75 || m > 99) {
          std::string what(tok);
          what.append(" is not a time MM:SS:FF");
          return error(what);
        }
        out.push_back(Token{Token::msf, std::string(tok), (m * 60 + s) * 75 + f, line});
      } else if (colons == 0) {
        int64_t v = 0;
        auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
        if (ec != std::errc() || v > (int64_t{1} << 40)) return error("number '" + std::string(tok) + "' is too large");
        out.push_back(Token{hash ? Token::hash_number : Token::number, std::string(tok), v, line});
      } else {
        std::string what(tok);
        what.append(" is neither a number nor a time MM:SS:FF");
        return error(what);
      }
      i = j;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) ++j;
      out.push_back(Token{Token::word, std::string(text.substr(i, j - i)), 0, line});
      i = j;
    } else {
      return error(std::string("unexpected character '") + c + "'");
    }
    if (out.size() > 200000) return error("too many tokens");
  }
  return out;
}

struct ModeInfo {
  disc::TrackMode mode;
  uint32_t main;
};
std::optional<ModeInfo> track_mode(const std::string& w) {
  if (w == "AUDIO") return ModeInfo{disc::TrackMode::audio, 2352};
  if (w == "MODE1") return ModeInfo{disc::TrackMode::mode1, 2048};
  if (w == "MODE1_RAW") return ModeInfo{disc::TrackMode::mode1, 2352};
  if (w == "MODE2") return ModeInfo{disc::TrackMode::mode2, 2336};
  if (w == "MODE2_FORM1") return ModeInfo{disc::TrackMode::mode2_form1, 2048};
  if (w == "MODE2_FORM_MIX") return ModeInfo{disc::TrackMode::mode2_form1, 2336};
  if (w == "MODE2_RAW") return ModeInfo{disc::TrackMode::mode2_form1, 2352};
  return std::nullopt;
}

class TocParser {
 public:
  TocParser(std::vector<Token> tokens, std::string name, const FileResolver& resolve)
      : t_(std::move(tokens)), name_(std::move(name)), resolve_(resolve) {}

  Result<ImagePtr> parse() {
    while (i_ < t_.size()) {
      const Token& tok = t_[i_];
      if (tok.kind != Token::word) return error(tok, "expected a statement, found '" + tok.text + "'");
      Status s = statement();
      if (!s.ok()) return s;
    }
    if (d_.tracks.empty()) return Status::Corruption(name_ + ": no TRACK statements");
    if (Status s = close_track(); !s.ok()) return s;
    finish_disc(d_);
    return make_track_image("toc", name_, std::move(d_), std::move(files_), std::move(runs_));
  }

 private:
  Status error(const Token& tok, const std::string& what) const {
    return Status::Corruption(name_ + ": line " + std::to_string(tok.line) + ": " + what);
  }
  const Token* peek(size_t ahead = 0) const { return i_ + ahead < t_.size() ? &t_[i_ + ahead] : nullptr; }
  bool next_is(Token::Kind k) const { return peek() != nullptr && peek()->kind == k; }

  Status skip_block() {
    // CD_TEXT { ... }: balanced braces, contents not needed for the layout.
    if (!next_is(Token::open)) return error(t_[i_ - 1], "CD_TEXT without '{'");
    int depth = 0;
    do {
      if (t_[i_].kind == Token::open) ++depth;
      if (t_[i_].kind == Token::close) --depth;
      ++i_;
    } while (depth > 0 && i_ < t_.size());
    if (depth != 0) return error(t_.back(), "CD_TEXT block not closed");
    return Status::Ok();
  }

  // A length in sectors: MM:SS:FF, or a number of samples (audio) / bytes (data).
  Result<int64_t> length(const Token& at, bool audio, int64_t number) {
    const int64_t unit = audio ? kSamplesPerSector : track_main_;
    if (number % unit != 0) {
      return error(at, std::to_string(number) + (audio ? " samples" : " bytes") + " is not a whole number of " +
                           std::to_string(unit) + (audio ? "-sample" : "-byte") + " sectors");
    }
    return number / unit;
  }
  Result<std::optional<int64_t>> optional_length(bool audio) {
    const Token* p = peek();
    if (p == nullptr) return std::optional<int64_t>{};
    if (p->kind == Token::msf) {
      ++i_;
      return std::optional<int64_t>{p->value};
    }
    if (p->kind == Token::number) {
      ++i_;
      auto l = length(*p, audio, p->value);
      if (!l.ok()) return l.status();
      return std::optional<int64_t>{*l};
    }
    return std::optional<int64_t>{};
  }

  Status statement() {
    const Token& tok = t_[i_++];
    const std::string& w = tok.text;
    if (w == "CD_DA" || w == "CD_ROM" || w == "CD_ROM_XA" || w == "CD_I") return Status::Ok();
    if (w == "CATALOG") {
      if (!next_is(Token::string)) return error(tok, "CATALOG needs a \"13-digit\" string");
      d_.mcn = t_[i_++].text;
      return Status::Ok();
    }
    if (w == "CD_TEXT") return skip_block();
    if (w == "TRACK") return begin_track(tok);
    if (d_.tracks.empty()) return error(tok, "'" + w + "' before the first TRACK");
    disc::Track& t = d_.tracks.back();
    if (w == "NO") {
      if (!next_is(Token::word)) return error(tok, "NO without COPY or PRE_EMPHASIS");
      const std::string what = t_[i_++].text;
      if (what == "COPY") t.control &= static_cast<uint8_t>(~disc::control::kCopyPermitted);
      else if (what == "PRE_EMPHASIS") t.control &= static_cast<uint8_t>(~disc::control::kPreEmphasis);
      else return error(tok, "NO " + what + ": expected NO COPY or NO PRE_EMPHASIS");
      return Status::Ok();
    }
    if (w == "COPY") t.control |= disc::control::kCopyPermitted;
    else if (w == "PRE_EMPHASIS") t.control |= disc::control::kPreEmphasis;
    else if (w == "FOUR_CHANNEL_AUDIO") t.control |= disc::control::kFourChannel;
    else if (w == "TWO_CHANNEL_AUDIO") t.control &= static_cast<uint8_t>(~disc::control::kFourChannel);
    else if (w == "ISRC") {
      if (!next_is(Token::string)) return error(tok, "ISRC needs a \"CCOOOYYSSSSS\" string");
      t.isrc = t_[i_++].text;
    } else if (w == "SILENCE" || w == "ZERO") {
      const Token* p = peek();
      if (p == nullptr || (p->kind != Token::msf && p->kind != Token::number)) return error(tok, w + " needs a length");
      auto l = optional_length(w == "SILENCE");
      if (!l.ok()) return l.status();
      return add_content(tok, -1, 0, **l);
    } else if (w == "FILE" || w == "AUDIOFILE" || w == "DATAFILE") {
      return file_statement(tok, w == "DATAFILE");
    } else if (w == "START") {
      if (start_set_) return error(tok, "second START/PREGAP in track " + std::to_string(t.number));
      start_set_ = true;
      if (next_is(Token::msf)) {
        pregap_ = t_[i_++].value;
      } else {
        pregap_ = track_length_;
      }
    } else if (w == "PREGAP") {
      if (start_set_ || track_length_ != 0) return error(tok, "PREGAP must come first in a track, without START");
      if (!next_is(Token::msf)) return error(tok, "PREGAP needs MM:SS:FF");
      const int64_t n = t_[i_++].value;
      start_set_ = true;
      pregap_ = n;
      return add_content(tok, -1, 0, n);
    } else if (w == "INDEX") {
      if (!next_is(Token::msf)) return error(tok, "INDEX needs MM:SS:FF");
      index_offsets_.push_back(t_[i_++].value);
    } else if (w == "FIFO") {
      return error(tok, "FIFO input cannot be part of an image");
    } else {
      return error(tok, "unknown statement '" + w + "'");
    }
    return Status::Ok();
  }

  Status begin_track(const Token& tok) {
    if (!d_.tracks.empty()) {
      if (Status s = close_track(); !s.ok()) return s;
    }
    if (!next_is(Token::word)) return error(tok, "TRACK needs a mode");
    const Token& mode = t_[i_++];
    if (mode.text == "MODE2_FORM2") {
      return Status::NotSupported(name_ + ": line " + std::to_string(mode.line) +
                                  ": MODE2_FORM2 (2324-byte sectors without subheader) is not supported");
    }
    const auto m = track_mode(mode.text);
    if (!m) return error(mode, "unknown track mode '" + mode.text + "'");
    track_sub_ = 0;
    if (next_is(Token::word) && (peek()->text == "RW" || peek()->text == "RW_RAW")) {
      if (peek()->text == "RW") {
        return Status::NotSupported(name_ + ": line " + std::to_string(mode.line) +
                                    ": packed R-W sub-channel (RW) is not supported; RW_RAW is");
      }
      ++i_;
      track_sub_ = disc::kSubchannelSize;
    }
    if (d_.tracks.size() >= 99) return error(tok, "more than 99 tracks");
    disc::Track t;
    t.number = static_cast<uint8_t>(d_.tracks.size() + 1);
    t.mode = m->mode;
    t.control = disc::is_data(m->mode) ? disc::control::kDataTrack : 0;
    t.pregap_lba = cursor_;
    d_.tracks.push_back(t);
    track_main_ = m->main;
    track_length_ = 0;
    pregap_ = 0;
    start_set_ = false;
    index_offsets_.clear();
    first_run_ = runs_.size();
    return Status::Ok();
  }

  Status file_statement(const Token& tok, bool data) {
    if (!next_is(Token::string)) return error(tok, tok.text + " needs a file name in quotes");
    const std::string file = t_[i_++].text;
    if (file.size() > 4 && std::equal(file.end() - 4, file.end(), ".wav", [](char a, char b) { return std::tolower(a) == b; })) {
      return Status::NotSupported(name_ + ": line " + std::to_string(tok.line) + ": WAVE file '" + file +
                                  "' in a TOC is not supported (raw big-endian audio files are)");
    }
    const bool audio = d_.tracks.back().mode == disc::TrackMode::audio;
    uint64_t offset = 0;
    if (next_is(Token::hash_number)) offset = static_cast<uint64_t>(t_[i_++].value);
    if (!data) {
      // <start> (samples or MSF), then an optional <length>.
      const Token* p = peek();
      if (p == nullptr || (p->kind != Token::msf && p->kind != Token::number)) return error(tok, tok.text + " needs a start");
      auto start = optional_length(audio);
      if (!start.ok()) return start.status();
      offset += static_cast<uint64_t>(**start) * stride();
    }
    auto len = optional_length(audio);
    if (!len.ok()) return len.status();
    const int fi = file_index(tok, file);
    if (fi < 0) return last_error_;
    int64_t count = len->value_or(0);
    if (count == 0) {
      const uint64_t size = files_[static_cast<size_t>(fi)]->size();
      if (size < offset) return error(tok, "'" + file + "' is shorter than the offset " + std::to_string(offset));
      count = static_cast<int64_t>((size - offset) / stride());
    }
    return add_content(tok, fi, offset, count);
  }

  uint32_t stride() const { return track_main_ + track_sub_; }

  int file_index(const Token& tok, const std::string& file) {
    auto it = file_ids_.find(file);
    if (it != file_ids_.end()) return it->second;
    auto f = resolve_(file);
    if (!f.ok()) {
      last_error_ = Status(f.status()).with_context(name_ + ": line " + std::to_string(tok.line) + ": '" + file + "'");
      return -1;
    }
    files_.push_back(std::move(f).value());
    file_ids_[file] = static_cast<int>(files_.size() - 1);
    return static_cast<int>(files_.size() - 1);
  }

  Status add_content(const Token& tok, int file, uint64_t offset, int64_t count) {
    if (count <= 0) return Status::Ok();
    if (count > kMaxSectors || cursor_ + track_length_ + count > kMaxSectors) {
      return error(tok, "the disc would be longer than any CD");
    }
    StoredRun r{.lba = static_cast<int32_t>(cursor_ + track_length_), .count = static_cast<int32_t>(count),
                .track = d_.tracks.size() - 1};
    if (file >= 0) {
      r.file = file;
      r.offset = offset;
      r.main_size = track_main_;
      r.stride = stride();
      r.big_endian_audio = true;
      if (track_sub_ != 0) {
        r.sub_file = file;
        r.sub_offset = offset + track_main_;
        r.sub_stride = stride();
      }
    }
    runs_.push_back(r);
    track_length_ += count;
    return Status::Ok();
  }

  Status close_track() {
    disc::Track& t = d_.tracks.back();
    if (pregap_ >= track_length_) {
      return Status::Corruption(name_ + ": track " + std::to_string(t.number) + " has no sectors after its pregap (" +
                                std::to_string(pregap_) + " of " + std::to_string(track_length_) + " sectors)");
    }
    t.start_lba = static_cast<int32_t>(cursor_ + pregap_);
    t.end_lba = static_cast<int32_t>(cursor_ + track_length_);
    if (pregap_ > 0) t.indices.push_back(disc::Index{0, t.pregap_lba});
    t.indices.push_back(disc::Index{1, t.start_lba});
    uint8_t n = 2;
    for (int64_t off : index_offsets_) {
      if (n > 99) break;
      t.indices.push_back(disc::Index{n++, static_cast<int32_t>(t.start_lba + off)});
    }
    // The mode of a MODE2 data track comes from its first stored sector's subheader.
    if (disc::is_data(t.mode) && track_main_ != 2048) {
      for (size_t k = first_run_; k < runs_.size(); ++k) {
        const StoredRun& r = runs_[k];
        if (r.file < 0 || r.lba + r.count <= t.start_lba) continue;
        const uint64_t at = r.offset + static_cast<uint64_t>(std::max(0, t.start_lba - r.lba)) * r.stride;
        t.mode = probe_data_mode(*files_[static_cast<size_t>(r.file)], at, r.main_size, t.mode);
        break;
      }
    }
    cursor_ = t.end_lba;
    return Status::Ok();
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  std::string name_;
  const FileResolver& resolve_;
  disc::Disc d_;
  std::vector<std::shared_ptr<RandomAccessFile>> files_;
  std::map<std::string, int> file_ids_;
  std::vector<StoredRun> runs_;
  Status last_error_;
  int64_t cursor_ = 0;
  int64_t track_length_ = 0;
  int64_t pregap_ = 0;
  bool start_set_ = false;
  uint32_t track_main_ = 2352;
  uint32_t track_sub_ = 0;
  std::vector<int64_t> index_offsets_;
  size_t first_run_ = 0;
};

}  // namespace

bool looks_like_toc(std::span<const uint8_t> head) {
  if (std::find(head.begin(), head.end(), uint8_t{0}) != head.end()) return false;
  // The first word outside comments is a TOC header or TRACK keyword.
  size_t i = 0;
  while (i < head.size()) {
    while (i < head.size() && std::isspace(head[i])) ++i;
    if (i + 1 < head.size() && head[i] == '/' && head[i + 1] == '/') {
      while (i < head.size() && head[i] != '\n') ++i;
      continue;
    }
    break;
  }
  std::string word;
  while (i < head.size() && (std::isalnum(head[i]) || head[i] == '_') && word.size() < 16) word.push_back(static_cast<char>(head[i++]));
  static constexpr std::string_view kFirst[] = {"CD_DA", "CD_ROM", "CD_ROM_XA", "CD_I", "CATALOG", "TRACK", "CD_TEXT"};
  return std::find(std::begin(kFirst), std::end(kFirst), word) != std::end(kFirst);
}

Result<ImagePtr> open_toc(const RandomAccessFile& toc, const FileResolver& resolve) {
  const std::string name = "'" + toc.name() + "'";
  if (toc.size() > kMaxTocBytes) return Status::Corruption(name + ": " + std::to_string(toc.size()) + " bytes is too large for a TOC file");
  std::string text(static_cast<size_t>(toc.size()), '\0');
  if (Status s = toc.read_at(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size())); !s.ok()) return s;
  auto tokens = tokenize(text, name);
  if (!tokens.ok()) return tokens.status();
  return TocParser(std::move(tokens).value(), name, resolve).parse();
}

Result<std::vector<std::string>> toc_companions(const RandomAccessFile& toc) {
  // The names after FILE / AUDIOFILE / DATAFILE, in order, without duplicates.
  if (toc.size() > kMaxTocBytes) return Status::Corruption("'" + toc.name() + "': too large for a TOC file");
  std::string text(static_cast<size_t>(toc.size()), '\0');
  if (Status s = toc.read_at(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size())); !s.ok()) return s;
  auto tokens = tokenize(text, "'" + toc.name() + "'");
  if (!tokens.ok()) return tokens.status();
  std::vector<std::string> names;
  for (size_t i = 0; i + 1 < tokens->size(); ++i) {
    const Token& t = (*tokens)[i];
    if (t.kind == Token::word && (t.text == "FILE" || t.text == "AUDIOFILE" || t.text == "DATAFILE") &&
        (*tokens)[i + 1].kind == Token::string) {
      const std::string& n = (*tokens)[i + 1].text;
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
  }
  return names;
}

}  // namespace udisc::formats
