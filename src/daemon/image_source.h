// Images from descriptors: the daemon never opens a path on a caller's
// behalf.
//
// A client opens its image (and, for a cue sheet, every file the sheet
// names) with its own rights and sends the descriptors. open_received_image
// checks each one (a regular file or block device, opened for reading — an
// O_PATH or write-only descriptor proves no right to read and is refused),
// records where it points (readlink of /proc/self/fd/N, device and inode) so
// a restarted daemon can open it again, and opens the image from the
// descriptors alone.
//
// After a restart, reopen_image() opens the recorded paths *as the drive's
// owner*: a child process drops to the owner's uid, gid and supplementary
// groups (looked up before the fork) and opens the files, so the kernel's own
// permission checks (modes, ACLs, LSMs) decide, exactly as when the owner ran
// `udisc mount`; the descriptors come back over a socketpair. A path that now
// names another file (device/inode differ) is refused.
//
// Thread safety: plain functions. reopen_image forks; the child calls only
// async-signal-safe functions, so it is safe in a threaded process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/image_files.h"
#include "daemon/protocol.h"
#include "daemon/state.h"
#include "daemon/unix_socket.h"
#include "formats/open.h"
#include "remote/location.h"
#include "util/status.h"

namespace udisc::daemon {

struct OpenedImage {
  formats::ImagePtr image;
  ImageRecord record;
  // An image from a URL: its HTTP files, for RemoteMedia (from_url.image is `image`).
  remote::OpenedLocation from_url;
};

// `fds` holds 1 + spec.files.size() descriptors (the image, then companions).
Result<OpenedImage> open_received_image(const ImageSpec& spec, std::vector<UniqueFd> fds);

// Opens an image from spec.url (http or https) with the caller's
// credentials and CA bundle from the spec; no local file is read. The
// record keeps all three so a restarted daemon can open it again.
Result<OpenedImage> open_url_image(const ImageSpec& spec);

// Reopens a recorded image with the rights of uid/gid (see file comment);
// a URL image is fetched again (no user switch: no local file is read).
Result<OpenedImage> reopen_image(const ImageRecord& record, uid_t uid, gid_t gid);

// How long the helper of open_as_user may take for all its paths before it
// is killed (SIGKILL) and reaped.
inline constexpr std::chrono::seconds kOpenTimeout{5};

// Opens each path read-only as uid/gid (with the user's supplementary
// groups); one result per path, errors naming the path and errno text.
// Opens with O_NONBLOCK (a FIFO does not wait for a writer) and refuses
// anything but a regular file or block device before the daemon reads it.
std::vector<Result<UniqueFd>> open_as_user(const std::vector<std::string>& paths, uid_t uid, gid_t gid);

// Which file a descriptor refers to; IoError when it is neither a regular
// file nor a block device or is not open for reading.
Result<FileRecord> describe_fd(int fd, const std::string& what);



}  // namespace udisc::daemon
