// Fuzz target: the sector checker and the Q decoders on arbitrary bytes, and
// the property that every sector the generator builds passes the checker.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "disc/ecma130.h"
#include "disc/subchannel.h"

using namespace udisc::disc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  const uint8_t selector = data[0];
  int32_t lba = 0;
  std::memcpy(&lba, data + 1, 4);
  lba = lba % 449850;
  if (lba < -150) lba = -150 - (lba % 150);
  data += 5;
  size -= 5;

  // Arbitrary bytes as a raw sector, checked against every expectation.
  std::array<uint8_t, 2352> raw{};
  std::memcpy(raw.data(), data, size < raw.size() ? size : raw.size());
  (void)check_raw_sector(raw, lba);
  for (TrackMode m : {TrackMode::audio, TrackMode::mode1, TrackMode::mode2, TrackMode::mode2_form1,
                      TrackMode::mode2_form2}) {
    (void)check_raw_sector(raw, lba, m).first_bad();
  }
  std::array<uint8_t, 96> sub{};
  std::memcpy(sub.data(), data, size < sub.size() ? size : sub.size());
  const QFrame q = extract_q(sub);
  (void)q_crc_ok(q);
  (void)decode_position(q);
  (void)decode_mcn(q);
  (void)decode_isrc(q);

  // Property: generated sectors always pass.
  static constexpr TrackMode kModes[] = {TrackMode::mode1, TrackMode::mode2, TrackMode::mode2_form1,
                                         TrackMode::mode2_form2};
  const TrackMode mode = kModes[selector % 4];
  const size_t user = user_data_size(mode);
  std::array<uint8_t, 2352> buf{};
  std::memcpy(buf.data(), data, size < user ? size : user);
  std::array<uint8_t, 2352> out{};
  if (!build_raw_sector(mode, lba, std::span<const uint8_t>(buf.data(), user), out).ok()) std::abort();
  if (!check_raw_sector(out, lba, mode).ok()) std::abort();
  build_empty_sector(mode, lba, out);
  if (!check_raw_sector(out, lba, mode).ok()) std::abort();
  return 0;
}
