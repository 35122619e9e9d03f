// Checks shared by the audio readers (audio_source.cc, flac_source.cc).
#pragma once

#include <cstdint>
#include <string>

#include "util/status.h"

namespace udisc::formats {

std::string quoted(const std::string& name);
// InvalidArgument unless `bytes` is whole sample frames; OutOfRange past `frames`.
Status check_read(const std::string& name, uint64_t frames, uint64_t frame, size_t bytes);
std::string describe_format(unsigned channels, unsigned bits, unsigned rate);
// NotSupported unless 16-bit stereo 44100 Hz; `kind` names the container ("FLAC").
Status require_cd_format(const std::string& name, const char* kind, unsigned channels, unsigned bits, unsigned rate);

}  // namespace udisc::formats
