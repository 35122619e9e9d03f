// libFuzzer target: the cue sheet parser on arbitrary text. Nothing may crash;
// every error must name the sheet and a line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "formats/cue_sheet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sheet = udisc::formats::cue::parse_cue_sheet(text, "fuzz.cue");
  if (!sheet.ok()) {
    if (sheet.status().message().rfind("fuzz.cue: line ", 0) != 0) std::abort();
    return 0;
  }
  // Invariants the reader relies on.
  const auto& s = sheet.value();
  if (s.tracks.empty()) std::abort();
  int previous = 0;
  for (const auto& t : s.tracks) {
    if (t.file >= s.files.size() || t.indices.empty() || t.number < 1 || t.number > 99) std::abort();
    if (previous != 0 && t.number != previous + 1) std::abort();
    previous = t.number;
    for (size_t i = 1; i < t.indices.size(); ++i) {
      const auto& a = t.indices[i - 1];
      const auto& b = t.indices[i];
      if (b.number != a.number + 1 || b.file < a.file || b.file >= s.files.size() ||
          (a.file == b.file && b.position <= a.position)) {
        std::abort();
      }
    }
  }
  return 0;
}
