// Opening an image of any supported format.
//
// open_image chooses the reader by content (magic bytes, cue sheet syntax,
// sync patterns), using the extension only as a tie-breaker, and reads only
// metadata. Each reader's own entry point is declared here too, so callers
// and tests can open a specific format.
#pragma once

#include <memory>
#include <string>

#include "disc/image.h"
#include "formats/file.h"
#include "util/status.h"

namespace udisc::formats {

using ImagePtr = std::shared_ptr<const disc::Image>;

// Any format; errors name the file and what is wrong.
Result<ImagePtr> open_image(const std::string& path);

// ISO: plain 2048-byte sectors, or raw 2352-byte mode 1/mode 2 sectors (recognised by sync pattern).
Result<ImagePtr> open_iso(std::shared_ptr<RandomAccessFile> file);
// CUE sheet at `path`; referenced files resolved relative to the sheet's folder.
Result<ImagePtr> open_cue(const std::string& path);

}  // namespace udisc::formats
