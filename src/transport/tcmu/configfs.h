// Small file-system helpers for configfs and sysfs attributes. Every error
// names the path and the errno text.
#pragma once

#include <string>
#include <vector>

#include "util/status.h"

namespace udisc::tcmu::fs {

bool exists(const std::string& path);
bool is_dir(const std::string& path);
bool is_symlink(const std::string& path);
// Writes `value` in one write(2) (configfs parses each write as a whole).
Status write_attr(const std::string& path, const std::string& value);
// Reads an attribute, trailing whitespace and NULs removed.
Result<std::string> read_attr(const std::string& path);
// mkdir; an existing directory is fine when ok_if_exists.
Status make_dir(const std::string& path, bool ok_if_exists);
Status remove_dir(const std::string& path);
Status make_symlink(const std::string& target, const std::string& link);
Status remove_link(const std::string& path);
Result<std::string> read_link(const std::string& path);
// Entry names of a directory (no "." / ".."), sorted; empty if it does not exist.
std::vector<std::string> list_dir(const std::string& path);
// Runs a program (PATH lookup) and waits; IoError naming it and its exit status.
Status run_program(const std::vector<std::string>& argv);
// Whether `fstype` is mounted at `mount_point` (per /proc/mounts).
bool is_mounted(const std::string& mount_point, const std::string& fstype);

}  // namespace udisc::tcmu::fs
