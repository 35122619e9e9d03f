// Companion files: the other files an image is made of (a cue sheet's FILE
// entries; for other descriptor formats, the data and sub-channel files
// beside them).
//
// Readers never open companions by path themselves: they ask a FileResolver
// for a name exactly as the descriptor writes (or implies) it. open_image(path)
// resolves names on the file system beside the descriptor (folder_resolver);
// the daemon resolves them to the descriptors the client sent; tests and
// fuzzers keep them in memory. The client side of the daemon uses
// companion_path to find the same files the folder resolver would open.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "formats/file.h"
#include "util/status.h"

namespace udisc::formats {

// Given a companion's name as the descriptor writes it, returns the opened file.
using FileResolver = std::function<Result<std::shared_ptr<RandomAccessFile>>(const std::string& name)>;

// The folder part of `path` ("" for a bare name, "/" for a file in the root).
std::string folder_of(const std::string& path);

// Where `written` is found beside a descriptor in `folder`: the name relative
// to the folder with "\" read as "/"; else its last component matched without
// case; else the bare file name in the folder, exactly, then without case
// (images made on Windows name "D:\rips\x.bin" or "X.BIN" for x.bin). Returns
// the first candidate when nothing matches, so the caller's open() names it.
std::string companion_path(const std::string& folder, const std::string& written);

// Opens companions on the file system by companion_path's rules.
FileResolver folder_resolver(const std::string& folder);

// A child CHD names its parent by SHA-1, not by a file name, so it asks for
// chd_parent_ref(sha1 in hex). companion_path finds such a ref as the .chd
// file in the folder whose header records that SHA-1; with_chd_parent
// answers it with the file the user named (udisc's --parent FILE).
std::string chd_parent_ref(const std::string& sha1_hex);
bool is_chd_parent_ref(const std::string& ref);
FileResolver with_chd_parent(FileResolver base, std::string parent_path);

// An MDS v2 / MDX image whose track data is under a user's password asks for
// password_ref(): a file whose first line is the password. Nothing beside the
// image answers it (folder_resolver says so); with_extra_companions answers
// it with the file the user named (udisc's --password-file FILE).
std::string password_ref();
bool is_password_ref(const std::string& ref);

// Files the user names for an image besides those its descriptor names; each
// "" when not given. They travel as the image's companions do (opened by the
// client, sent to the daemon, reopened by path after a restart).
struct ExtraCompanions {
  std::string chd_parent;     // --parent: a child CHD's parent CHD
  std::string password_file;  // --password-file: the password of an MDS v2 / MDX image's track data
  bool empty() const { return chd_parent.empty() && password_file.empty(); }
};
FileResolver with_extra_companions(FileResolver base, const ExtraCompanions& extra);
// The file the user gave for `ref`, or "" (companion_path finds the others).
std::string extra_companion_path(const ExtraCompanions& extra, const std::string& ref);

}  // namespace udisc::formats
