// libFuzzer target: open_image's format detection on arbitrary bytes (given
// to it as a file through a memfd), then whichever reader it picks, then a
// read of each form at the first and last LBA. Nothing may crash.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/open.h"
#include "formats/fuzz_reads.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = ::memfd_create("fuzz_open_image", MFD_CLOEXEC);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  if (done == size) {
    auto image = udisc::formats::open_image("/proc/self/fd/" + std::to_string(fd));
    if (image.ok()) {
      const udisc::disc::Image& im = **image;
      const udisc::disc::Disc& d = im.disc();
      std::vector<uint8_t> buffer;
      for (const auto& t : d.tracks) {
        for (int32_t lba : {t.pregap_lba, t.end_lba - 1}) {
          udisc::formats::fuzzing::read_every_form(im, lba, 1, buffer);
        }
      }
    }
  }
  ::close(fd);
  return 0;
}
