// Images from files already open, and the client's list of companion files:
// the portable part of image_source.h, shared by the Linux daemon
// (descriptors received over the Unix socket) and the Windows service
// (handles duplicated from the client). No system header.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "formats/file.h"
#include "formats/open.h"
#include "util/status.h"

namespace udisc::daemon {

// Opens an image from an already-open main file and its companions (cue
// sheet references -> files). Chooses the reader by content.
Result<formats::ImagePtr> open_image_from_files(
    std::shared_ptr<formats::RandomAccessFile> main,
    std::map<std::string, std::shared_ptr<formats::RandomAccessFile>> companions);

// Client side: the companion files an image needs (for a cue sheet, the
// FILE entries, resolved against the sheet's folder). `refs` receives the
// names as written in the sheet, `paths` where the client finds them.
// A child CHD's parent is sent too: `extra.chd_parent` if given (--parent),
// else the .chd beside it with the SHA-1 the child names. (A grandparent is
// not: the daemon then names the SHA-1 it misses.) An MDS v2 / MDX image
// whose track data is under a user's password sends `extra.password_file`.
Status companion_files(const std::string& image_path, std::vector<std::string>* refs, std::vector<std::string>* paths,
                       const formats::ExtraCompanions& extra = {});

}  // namespace udisc::daemon
