// Shared by the image fuzz targets: reads `count` sectors at `lba` in every
// form an Image offers (user data sized by the track's mode, raw, sub-channel),
// ignoring the Status: a fuzzer only checks that nothing crashes or overruns.
#pragma once

#include <cstdint>
#include <vector>

#include "disc/image.h"

namespace udisc::formats::fuzzing {

inline void read_every_form(const disc::Image& image, int32_t lba, uint32_t count, std::vector<uint8_t>& buffer) {
  const disc::Track* track = image.disc().track_at(lba);
  const uint32_t user = disc::user_data_size(track != nullptr ? track->mode : disc::TrackMode::mode1);
  buffer.assign(size_t{count} * user, 0);
  (void)image.read_user(lba, count, buffer);
  buffer.assign(size_t{count} * disc::kRawSectorSize, 0);
  (void)image.read_raw(lba, count, buffer);
  buffer.assign(size_t{count} * disc::kSubchannelSize, 0);
  (void)image.read_subchannel(lba, count, buffer);
  (void)image.stores_raw(lba);
}

}  // namespace udisc::formats::fuzzing
