// Images from files already open: the portable part of image_source.h,
// shared by the Linux daemon (descriptors received over the Unix socket) and
// the Windows service (handles duplicated from the client). No system header.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "formats/file.h"
#include "formats/open.h"
#include "util/status.h"

namespace udisc::daemon {

// The largest cue sheet accepted.
inline constexpr size_t kMaxCueBytes = 1 << 20;

// Whether the head of a file is cue sheet text (no NUL, a cue keyword first).
bool looks_like_cue(std::span<const uint8_t> head);

// Opens an image from an already-open main file and its companions (cue
// sheet references -> files). Chooses the reader by content.
Result<formats::ImagePtr> open_image_from_files(
    std::shared_ptr<formats::RandomAccessFile> main,
    std::map<std::string, std::shared_ptr<formats::RandomAccessFile>> companions);

}  // namespace udisc::daemon
