// libFuzzer target: the ECM, CSO, xz and ZSO decoders on arbitrary bytes. The
// first byte picks the decoder (modulo 4: 0 ECM, 1 CSO, 2 xz, 3 ZSO); the rest is the file. A file
// that opens is read whole and at a few offsets. Nothing may crash, read out
// of bounds or allocate without bound.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "formats/compressed_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using namespace udisc::formats;
  auto file = memory_file(std::vector<uint8_t>(data + 1, data + size), "fuzz");
  const int which = data[0] % 4;
  auto decoded = which == 0 ? open_ecm(file) : which == 1 ? open_cso(file) : which == 2 ? open_xz(file) : open_zso(file);
  if (!decoded.ok()) return 0;
  const RandomAccessFile& f = **decoded;
  std::vector<uint8_t> buffer(static_cast<size_t>(std::min<uint64_t>(f.size(), 1 << 20)));
  (void)f.read_at(0, buffer);
  for (uint64_t at : {f.size() / 2, f.size() > 3000 ? f.size() - 3000 : 0}) {
    std::vector<uint8_t> part(static_cast<size_t>(std::min<uint64_t>(3000, f.size() - at)));
    (void)f.read_at(at, part);
  }
  return 0;
}
