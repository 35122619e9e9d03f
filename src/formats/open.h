// Opening an image of any supported format.
//
// open_image chooses the reader by content (magic bytes, cue sheet syntax,
// sync patterns), using the extension only as a tie-breaker, and reads only
// metadata. An image made of several files (a cue sheet and its BINs, ...)
// is opened from its main file; the others come through a FileResolver
// (formats/companions.h), so the same readers serve paths on this machine,
// descriptors sent to the daemon and in-memory files. Each reader's own entry
// point is declared here too, so callers and tests can open a specific format.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "disc/image.h"
#include "formats/companions.h"
#include "formats/file.h"
#include "util/status.h"

namespace udisc::formats {

using ImagePtr = std::shared_ptr<const disc::Image>;

// Any format; errors name the file and what is wrong. Companions are found
// beside `path` (folder_resolver).
Result<ImagePtr> open_image(const std::string& path);
// As above, with the files the user named: a child CHD's parent (--parent)
// instead of the .chd beside the image with the SHA-1 the child names, an
// MDS v2 / MDX image's password file (--password-file).
Result<ImagePtr> open_image(const std::string& path, const ExtraCompanions& extra);
// Any format, from its already-open main file (named by main->name() in
// errors; its extension breaks ties); companions through `resolve`.
Result<ImagePtr> open_image(std::shared_ptr<RandomAccessFile> main, const FileResolver& resolve);

// The companions the image in `main` needs, as names for a FileResolver, in
// the order first named, without duplicates; empty for a one-file image.
// Reads only metadata. Errors name the file (and line, for a cue sheet).
Result<std::vector<std::string>> companion_names(const RandomAccessFile& main);

// ISO: plain 2048-byte sectors, or raw 2352-byte mode 1/mode 2 sectors (recognised by sync pattern).
Result<ImagePtr> open_iso(std::shared_ptr<RandomAccessFile> file);
// CUE sheet at `path`; referenced files resolved relative to the sheet's folder.
Result<ImagePtr> open_cue(const std::string& path);

}  // namespace udisc::formats
