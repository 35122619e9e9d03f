// libFuzzer target: open_iso on arbitrary bytes, then reads of every form at
// the first, a middle and the last LBA. Nothing may crash or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "formats/open.h"
#include "formats/fuzz_reads.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto image =
      udisc::formats::open_iso(udisc::formats::memory_file(std::vector<uint8_t>(data, data + size), "fuzz.iso"));
  if (!image.ok()) return 0;
  const udisc::disc::Image& im = **image;
  const udisc::disc::Disc& d = im.disc();
  const int32_t end = d.leadout_lba();
  std::vector<uint8_t> buffer;
  for (int32_t lba : {0, end / 2, end - 1, end, -1}) {
    for (uint32_t count : {1u, 2u}) {
      udisc::formats::fuzzing::read_every_form(im, lba, count, buffer);
    }
  }
  return 0;
}
