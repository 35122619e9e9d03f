// libFuzzer target: open_chd on arbitrary bytes (header, map, metadata and
// hunks all come from the input; so does a child's parent), then reads of
// every form at the first, a middle and the last LBA, which decompress hunks
// with whatever codec the input names. Nothing may crash, hang or read out of
// bounds.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "formats/chd_image.h"
#include "formats/fuzz_reads.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  auto file = udisc::formats::memory_file(bytes, "fuzz.chd");
  // A child CHD's parent is the input itself without its parent (the v5
  // parent SHA-1 zeroed, the v3/v4 flag cleared), so parent hunks are read.
  if (bytes.size() >= 124 && bytes[15] == 5) std::fill(bytes.begin() + 104, bytes.begin() + 124, uint8_t{0});
  if (bytes.size() >= 20 && bytes[15] != 5) bytes[19] &= 0xFE;
  auto parent_file = udisc::formats::memory_file(std::move(bytes), "parent.chd");
  const udisc::formats::FileResolver parent =
      [parent_file](const std::string&) -> udisc::Result<std::shared_ptr<udisc::formats::RandomAccessFile>> {
    return parent_file;
  };
  // No read-ahead: each input runs on one thread, the same way every time.
  auto image = udisc::formats::open_chd(
      file, udisc::formats::ChdOptions{.cache_bytes = 0, .max_hunks = 1 << 16, .readahead_hunks = 0}, parent);
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
