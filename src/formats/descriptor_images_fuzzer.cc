// libFuzzer target: the CloneCD, Alcohol MDS, Nero NRG and DiscJuggler CDI
// readers on arbitrary descriptors. The first byte picks the reader (0: .ccd,
// 1: .mds, 2: .nrg, 3: .cdi, 4: a whole MDS version 2 / MDX file (key
// header, cipher, zlib), 5: a decrypted version 2 descriptor (its layout
// without the cipher in the way; 6: the same as an MDX's); others wrap to
// these); the rest is the descriptor (for NRG, CDI and 4 the whole file, data
// and descriptor). Companion files (.img, .sub, .mdf) are a
// fixed in-memory 64-sector raw image; the password file an MDS v2 / MDX
// under a user's password asks for holds "pazz" (the seed's password). Every track is read at its first and
// last sector in every form. Nothing may crash or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/descriptor_images.h"
#include "formats/fuzz_reads.h"

namespace {

std::shared_ptr<udisc::formats::RandomAccessFile> companion(const std::string& name) {
  std::vector<uint8_t> bytes(64 * 2448, 0);
  for (size_t s = 0; s < 64; ++s) {
    for (size_t i = 1; i < 11; ++i) bytes[s * 2448 + i] = 0xFF;  // sync patterns at 2448-byte steps
    bytes[s * 2448 + 15] = static_cast<uint8_t>(s % 3);
  }
  return udisc::formats::memory_file(std::move(bytes), name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using namespace udisc::formats;
  const int which = data[0] % 7;
  std::vector<uint8_t> body(data + 1, data + size);
  FileResolver resolve = [](const std::string& name) -> udisc::Result<std::shared_ptr<RandomAccessFile>> {
    if (is_password_ref(name)) return memory_file({'p', 'a', 'z', 'z', '\n'}, "password");
    return companion(name);
  };
  udisc::Result<ImagePtr> image = udisc::Status::NotFound("none");
  if (which == 0) {
    image = open_ccd(*memory_file(std::move(body), "fuzz.ccd"), resolve);
  } else if (which == 1) {
    auto mds = memory_file(std::move(body), "fuzz.mds");
    (void)mds_companions(*mds);
    image = open_mds(*mds, resolve);
  } else if (which == 4) {
    auto file = memory_file(std::move(body), "fuzz.mdx");
    (void)mds_companions(*file);
    image = open_mds(file, resolve);
  } else if (which == 5 || which == 6) {
    image = open_mds_v2_descriptor(std::move(body), *memory_file({}, "fuzz.mds"), which == 6, resolve);
  } else if (which == 2) {
    image = open_nrg(memory_file(std::move(body), "fuzz.nrg"));
  } else {
    image = open_cdi(memory_file(std::move(body), "fuzz.cdi"));
  }
  if (!image.ok()) return 0;
  const udisc::disc::Image& im = **image;
  std::vector<uint8_t> buffer;
  for (const auto& t : im.disc().tracks) {
    for (int32_t lba : {t.pregap_lba, t.start_lba, t.end_lba - 1}) fuzzing::read_every_form(im, lba, 2, buffer);
  }
  return 0;
}
