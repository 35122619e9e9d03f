// open_image: chooses a reader by what the file contains.
//
// Order of decisions (docs/formats/iso.md, "Format detection"):
//   0. Signatures that open a reader: CHD ("MComprHD"); the descriptor
//      formats (descriptor_images.h): a "[CloneCD]" control file, an Alcohol
//      "MEDIA DESCRIPTOR", a Nero or DiscJuggler footer; ECM and CSO files are decoded first.
//   1. Signatures of formats we recognise but do not read (compressed
//      files without an index, ...) give a clear "not supported" error.
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

#include "formats/chd_image.h"
#include "formats/cue_image.h"
#include "formats/compressed_files.h"
#include "formats/cue_sheet.h"
#include "formats/descriptor_images.h"

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
const char* unsupported_signature(std::span<const uint8_t> head) {
  if (starts_with(head, "PK\x03\x04")) return "zip archive";
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

Result<ImagePtr> open_image(const std::string& path, const ExtraCompanions& extra) {
  if (extra.empty()) return open_image(path);
  auto file = open_file(path);
  if (!file.ok()) return file.status();
  return open_image(std::move(file).value(), with_extra_companions(folder_resolver(folder_of(path)), extra));
}

namespace {

// A companion stored compressed (a cue sheet's FILE "x.bin.ecm") is read as
// the file it decodes to.
FileResolver decoding_resolver(const FileResolver& resolve) {
  return [resolve](const std::string& name) -> Result<std::shared_ptr<RandomAccessFile>> {
    auto file = resolve(name);
    if (!file.ok()) return file;
    std::array<uint8_t, 4> magic{};
    if ((*file)->size() < magic.size() || !(*file)->read_at(0, magic).ok()) return file;
    if (looks_like_ecm(magic)) return open_ecm(std::move(file).value());
    if (looks_like_cso(magic)) return open_cso(std::move(file).value());
    if (looks_like_zso(magic)) return open_zso(std::move(file).value());
    std::array<uint8_t, 6> xz_magic{};
    if ((*file)->size() >= xz_magic.size() && (*file)->read_at(0, xz_magic).ok() && looks_like_xz(xz_magic)) {
      return open_xz(std::move(file).value());
    }
    return file;
  };
}

Result<ImagePtr> open_decoded_image(std::shared_ptr<RandomAccessFile> main, const FileResolver& resolve,
                                    bool decode);

}  // namespace

Result<ImagePtr> open_image(std::shared_ptr<RandomAccessFile> main, const FileResolver& resolve) {
  return open_decoded_image(std::move(main), decoding_resolver(resolve), true);
}

namespace {

// `decode`: whether a compressed main file is decoded (once: a decoded file is
// not decoded again, so nested encodings cannot recurse without bound).
Result<ImagePtr> open_decoded_image(std::shared_ptr<RandomAccessFile> main, const FileResolver& resolve,
                                    bool decode) {
  if (main == nullptr) return Status::InvalidArgument("no image file");
  const std::string& path = main->name();
  auto head_or = read_head(*main);
  if (!head_or.ok()) return head_or.status();
  const std::vector<uint8_t>& head = *head_or;
  const uint64_t size = main->size();

  if (looks_like_chd(head)) return open_chd(std::move(main), {}, resolve);
  if (decode && (looks_like_ecm(head) || looks_like_cso(head) || looks_like_zso(head) || looks_like_xz(head))) {
    auto decoded = looks_like_ecm(head)   ? open_ecm(std::move(main))
                   : looks_like_cso(head) ? open_cso(std::move(main))
                   : looks_like_zso(head) ? open_zso(std::move(main))
                                          : open_xz(std::move(main));
    if (!decoded.ok()) return decoded.status();
    return open_decoded_image(std::move(decoded).value(), resolve, false);
  }
  if (const char* why = compressed_without_index(head)) {
    return Status::NotSupported("'" + path + "': " + why);
  }

  if (looks_like_ccd(head)) return open_ccd(*main, resolve);
  if (looks_like_mds(head)) return open_mds(std::move(main), resolve);
  if (looks_like_nrg(*main)) return open_nrg(std::move(main));
  if (looks_like_cdi(*main)) return open_cdi(std::move(main));
  if (looks_like_toc(head) && (lower_extension(path) == "toc" || !looks_like_cue(head))) return open_toc(*main, resolve);
  if (const char* what = unsupported_signature(head)) {
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

}  // namespace

Result<std::vector<std::string>> companion_names(const RandomAccessFile& main) {
  auto head = read_head(main);
  if (!head.ok()) return head.status();
  std::vector<std::string> names;
  if (looks_like_chd(*head)) {
    const auto id = chd_identity(main);
    if (id && !id->parent_sha1.empty()) names.push_back(chd_parent_ref(id->parent_sha1));
    return names;
  }
  if (looks_like_ccd(*head)) return ccd_companions(main.name());
  if (looks_like_mds(*head)) return mds_companions(main);
  if (looks_like_toc(*head) && (lower_extension(main.name()) == "toc" || !looks_like_cue(*head))) {
    return toc_companions(main);
  }
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
