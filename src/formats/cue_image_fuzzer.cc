// libFuzzer target: the cue reader on a cue sheet plus in-memory files.
//
// Input: 2 bytes (little-endian) = length N of the sheet, N bytes of sheet
// text, then the content every FILE of the sheet resolves to (so BINARY,
// MOTOROLA, WAVE and FLAC parsing all see fuzzed bytes). A FILE named
// "missing*" is not found. The image, if it opens, is read in every form at
// the start, index 1, the middle and the end of each track and just outside.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/cue_image.h"
#include "formats/fuzz_reads.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t n = std::min<size_t>(data[0] | data[1] << 8, size - 2);
  const std::string text(reinterpret_cast<const char*>(data + 2), n);
  const std::vector<uint8_t> content(data + 2 + n, data + size);
  auto resolve = [&](const std::string& name) -> udisc::Result<std::shared_ptr<udisc::formats::RandomAccessFile>> {
    if (name.rfind("missing", 0) == 0) return udisc::Status::NotFound("no " + name);
    return udisc::formats::memory_file(content, name);
  };
  auto image = udisc::formats::open_cue_sheet(text, "fuzz.cue", resolve);
  if (!image.ok()) return 0;
  const udisc::disc::Image& im = **image;
  const udisc::disc::Disc& d = im.disc();
  if (!udisc::disc::validate(d).ok()) __builtin_trap();
  std::vector<uint8_t> buffer;
  std::vector<int32_t> lbas = {d.leadout_lba(), d.tracks.front().pregap_lba - 1};
  for (const auto& t : d.tracks) {
    for (int32_t lba : {t.pregap_lba, t.start_lba, t.start_lba + (t.end_lba - t.start_lba) / 2, t.end_lba - 1}) {
      lbas.push_back(lba);
    }
  }
  if (lbas.size() > 64) lbas.resize(64);
  for (int32_t lba : lbas) {
    for (uint32_t count : {1u, 3u}) {
      udisc::formats::fuzzing::read_every_form(im, lba, count, buffer);
    }
  }
  return 0;
}
