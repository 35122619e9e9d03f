// libFuzzer target: open_chd on arbitrary bytes (header, map, metadata and
// hunks all come from the input), then reads of every form at the first, a
// middle and the last LBA, which decompress hunks with whatever codec the
// input names. Nothing may crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "formats/chd_image.h"
#include "formats/fuzz_reads.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto image = udisc::formats::open_chd(
      udisc::formats::memory_file(std::vector<uint8_t>(data, data + size), "fuzz.chd"),
      udisc::formats::ChdOptions{.cache_bytes = 0, .max_hunks = 1 << 16});
  if (!image.ok()) return 0;
  const udisc::disc::Image& im = **image;
  const udisc::disc::Disc& d = im.disc();
  const int32_t first = d.tracks.front().pregap_lba;
  const int32_t end = d.leadout_lba();
  std::vector<uint8_t> buffer;
  for (int32_t lba : {first, first + (end - first) / 2, end - 1, end}) {
    for (uint32_t count : {1u, 3u}) {
      udisc::formats::fuzzing::read_every_form(im, lba, count, buffer);
    }
  }
  (void)udisc::formats::chd_verify_data(im);
  return 0;
}
