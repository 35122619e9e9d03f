#include "daemon/image_files.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

#include "formats/cue_image.h"

namespace udisc::daemon {
namespace {

Result<formats::ImagePtr> open_cue_from_files(
    std::shared_ptr<formats::RandomAccessFile> sheet,
    std::map<std::string, std::shared_ptr<formats::RandomAccessFile>> companions) {
  std::string text(static_cast<size_t>(sheet->size()), '\0');
  if (Status s = sheet->read_at(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size())); !s.ok()) {
    return s;
  }
  formats::CueFileResolver resolve =
      [&companions, &sheet](const std::string& name) -> Result<std::shared_ptr<formats::RandomAccessFile>> {
    auto it = companions.find(name);
    if (it == companions.end()) {
      return Status::NotFound("'" + sheet->name() + "': file '" + name +
                              "' named by the sheet was not sent with it (send one descriptor per FILE entry)");
    }
    return it->second;
  };
  return formats::open_cue_sheet(text, sheet->name(), resolve);
}

}  // namespace

bool looks_like_cue(std::span<const uint8_t> head) {
  if (std::find(head.begin(), head.end(), uint8_t{0}) != head.end()) return false;
  size_t i = head.size() >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF ? 3 : 0;
  while (i < head.size() && std::isspace(head[i])) ++i;
  std::string word;
  while (i < head.size() && std::isalpha(head[i]) && word.size() < 16)
    word.push_back(static_cast<char>(std::toupper(head[i++])));
  if (i < head.size() && !std::isspace(head[i])) return false;
  static constexpr std::string_view kKeywords[] = {"FILE",       "REM",        "CATALOG", "TITLE", "PERFORMER",
                                                   "SONGWRITER", "CDTEXTFILE", "TRACK",   "FLAGS"};
  return std::find(std::begin(kKeywords), std::end(kKeywords), word) != std::end(kKeywords);
}

Result<formats::ImagePtr> open_image_from_files(
    std::shared_ptr<formats::RandomAccessFile> main,
    std::map<std::string, std::shared_ptr<formats::RandomAccessFile>> companions) {
  const uint64_t size = main->size();
  if (size == 0) return Status::Corruption("'" + main->name() + "': empty file, not a disc image");
  std::vector<uint8_t> head(static_cast<size_t>(std::min<uint64_t>(size, 4096)));
  if (Status s = main->read_at(0, head); !s.ok()) return s;
  if (looks_like_cue(head)) {
    if (size > kMaxCueBytes) return Status::Corruption("'" + main->name() + "': cue sheet larger than 1 MiB");
    return open_cue_from_files(std::move(main), std::move(companions));
  }
  if (!companions.empty()) {
    return Status::InvalidArgument("'" + main->name() + "' is not a cue sheet, yet " +
                                   std::to_string(companions.size()) + " companion files were sent with it");
  }
  return formats::open_iso(std::move(main));
}

}  // namespace udisc::daemon
