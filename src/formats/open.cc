// open_image: chooses a reader by what the file contains.
//
// Order of decisions (docs/formats/iso.md, "Format detection"):
//   1. Signatures of formats we recognise but do not read (CHD, NRG, MDS,
//      CloneCD, ...) give a clear "not supported" error naming the format.
//   2. A text file whose first keyword is a cue sheet keyword is a cue sheet.
//   3. A raw sync pattern (00 FF×10 00) at byte 0, or a size that is a
//      multiple of 2048, is an ISO (plain or raw) image.
//   4. The extension only breaks ties: ".cue" sends text that fails rule 2
//      to the cue reader so its error names the line that is wrong.
#include "formats/open.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <string_view>

#include "formats/cue_image.h"
#include "formats/cue_sheet.h"

namespace udisc::formats {
namespace {

constexpr size_t kSniffBytes = 4096;

std::string lower_extension(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

bool starts_with(std::span<const uint8_t> data, std::string_view magic, size_t at = 0) {
  return data.size() >= at + magic.size() && std::memcmp(data.data() + at, magic.data(), magic.size()) == 0;
}

// Formats with a signature that we know but do not read.
const char* unsupported_signature(std::span<const uint8_t> head, uint64_t size, const RandomAccessFile& file) {
  if (starts_with(head, "MComprHD")) return "CHD (MAME compressed hunks of data)";
  if (starts_with(head, "MEDIA DESCRIPTOR")) return "MDS (Alcohol 120% descriptor)";
  if (starts_with(head, "[CloneCD]")) return "CloneCD control file (.ccd)";
  if (starts_with(head, "\x1F\x8B")) return "gzip-compressed data";
  if (starts_with(head,
                  "\xFD"
                  "7zXZ"))
    return "xz-compressed data";
  if (starts_with(head, "PK\x03\x04")) return "zip archive";
  if (starts_with(head, "CISO") || starts_with(head, "ZISO")) return "compressed ISO (CSO/ZSO)";
  // Nero images end with "NER5" / "NERO" followed by the footer offset.
  if (size >= 12) {
    std::array<uint8_t, 12> tail{};
    if (file.read_at(size - 12, tail).ok()) {
      if (std::memcmp(tail.data(), "NER5", 4) == 0) return "Nero image (.nrg)";
      if (std::memcmp(tail.data() + 4, "NERO", 4) == 0) return "Nero image (.nrg)";
    }
  }
  return nullptr;
}

// Whether the head of the file is cue sheet text: no NUL bytes, and the first
// word (after an optional UTF-8 BOM and blank lines) is a cue keyword.
bool looks_like_cue(std::span<const uint8_t> head) {
  if (std::find(head.begin(), head.end(), uint8_t{0}) != head.end()) return false;
  size_t i = starts_with(head, "\xEF\xBB\xBF") ? 3 : 0;
  while (i < head.size() && std::isspace(head[i])) ++i;
  std::string word;
  while (i < head.size() && std::isalpha(head[i]) && word.size() < 16) {
    word.push_back(static_cast<char>(std::toupper(head[i])));
    ++i;
  }
  if (i < head.size() && !std::isspace(head[i])) return false;
  static constexpr std::string_view kKeywords[] = {"FILE",       "REM",        "CATALOG", "TITLE", "PERFORMER",
                                                   "SONGWRITER", "CDTEXTFILE", "TRACK",   "FLAGS"};
  return std::find(std::begin(kKeywords), std::end(kKeywords), word) != std::end(kKeywords);
}

bool has_raw_sync(std::span<const uint8_t> head) {
  static constexpr uint8_t kSync[12] = {0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00};
  return head.size() >= sizeof kSync && std::memcmp(head.data(), kSync, sizeof kSync) == 0;
}

// The first bytes of `file`, for recognising its format.
Result<std::vector<uint8_t>> read_head(const RandomAccessFile& file) {
  const uint64_t size = file.size();
  if (size == 0) return Status::Corruption("'" + file.name() + "': empty file, not a disc image");
  std::vector<uint8_t> head(static_cast<size_t>(std::min<uint64_t>(size, kSniffBytes)));
  if (Status s = file.read_at(0, head); !s.ok()) return s;
  return head;
}

}  // namespace

Result<ImagePtr> open_image(const std::string& path) {
  auto file = open_file(path);
  if (!file.ok()) return file.status();
  return open_image(std::move(file).value(), folder_resolver(folder_of(path)));
}

Result<ImagePtr> open_image(std::shared_ptr<RandomAccessFile> main, const FileResolver& resolve) {
  if (main == nullptr) return Status::InvalidArgument("no image file");
  const std::string& path = main->name();
  auto head_or = read_head(*main);
  if (!head_or.ok()) return head_or.status();
  const std::vector<uint8_t>& head = *head_or;
  const uint64_t size = main->size();

  if (const char* what = unsupported_signature(head, size, *main)) {
    return Status::NotSupported("'" + path + "': " + what + " is not a supported image format");
  }
  const std::string ext = lower_extension(path);
  if (looks_like_cue(head) || (ext == "cue" && size < (1u << 20))) return open_cue_file(*main, resolve);
  if (has_raw_sync(head) || size % 2048 == 0) return open_iso(std::move(main));
  if (ext == "bin" || ext == "img" || ext == "raw") {
    return Status::NotSupported("'" + path + "': " + std::to_string(size) +
                                " bytes without a sync pattern; a BIN file needs its cue sheet (open the .cue)");
  }
  return Status::NotSupported("'" + path + "': unknown image format (not a cue sheet, no raw sync pattern, size " +
                              std::to_string(size) + " is not a multiple of 2048)");
}

Result<std::vector<std::string>> companion_names(const RandomAccessFile& main) {
  auto head = read_head(main);
  if (!head.ok()) return head.status();
  std::vector<std::string> names;
  if (looks_like_cue(*head)) {
    auto text = read_cue_text(main);
    if (!text.ok()) return text.status();
    auto sheet = cue::parse_cue_sheet(*text, main.name());
    if (!sheet.ok()) return sheet.status();
    for (const auto& f : sheet->files) {
      if (std::find(names.begin(), names.end(), f.name) == names.end()) names.push_back(f.name);
    }
  }
  return names;
}

}  // namespace udisc::formats
