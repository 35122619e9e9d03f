// Folders the daemon (usually root) writes in: the state folder
// (/var/lib/udisc) and the socket folder (/run/udisc).
//
// A root process that creates or renames files in a folder another user can
// write may be redirected by that user (a symlink planted at the name it is
// about to open). So the daemon creates its folders itself when they are
// missing and refuses to start in a folder, or below an ancestor, that a
// user other than root and the daemon's own can write to. A sticky folder
// (/tmp, for `--socket /tmp/x.sock`) is accepted: there nobody may rename or
// remove another user's file, and the daemon opens its own files with
// O_NOFOLLOW / O_EXCL and refuses files of other users (state.cc), and
// binds its socket in a private sub-folder first (unix_socket.cc).
//
// Thread safety: plain functions.
#pragma once

#include <sys/types.h>

#include <string>

#include "util/status.h"

namespace udisc::daemon {

// The folder part of a file path ("." for a bare name, "/" for "/x").
std::string folder_of_path(const std::string& path);

// Creates `dir` when missing (missing ancestors with mode 0755, `dir` itself
// with `mode`, owned by the daemon's user), then checks the folder and every
// ancestor of its real path: each must be owned by root or by the daemon's
// user and be writable by no one else (group or others), unless it has the
// sticky bit.
// `what` names the folder in messages ("state folder", "socket folder").
Status ensure_private_dir(const std::string& dir, mode_t mode, const std::string& what);

// Opens (creating with mode 0600 when missing) a file the daemon owns in a
// folder checked by ensure_private_dir: never follows a symlink at `path`
// and refuses a file that is not a regular file owned by the daemon's user.
// `flags` adds to O_CLOEXEC | O_NOFOLLOW (e.g. O_RDWR | O_CREAT). NotFound
// when it does not exist (and O_CREAT is not given).
Result<int> open_own_file(const std::string& path, int flags);

}  // namespace udisc::daemon
