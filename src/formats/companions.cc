#include "formats/companions.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>

namespace udisc::formats {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A case-insensitive match for `name` among the entries of `folder`, or "".
std::string find_case_insensitive(const std::string& folder, const std::string& name) {
  DIR* dir = ::opendir(folder.empty() ? "." : folder.c_str());
  if (dir == nullptr) return "";
  const std::string want = lower(name);
  std::string found;
  while (dirent* ent = ::readdir(dir)) {
    if (lower(ent->d_name) == want) {
      found = ent->d_name;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string folder_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string companion_path(const std::string& folder, const std::string& written) {
  std::string name = written;
  std::replace(name.begin(), name.end(), '\\', '/');
  const std::string prefix = folder.empty() ? "" : (folder == "/" ? "/" : folder + "/");
  const std::string path = !name.empty() && name.front() == '/' ? name : prefix + name;
  if (exists(path)) return path;
  const std::string dir = folder_of(path);
  const size_t slash = path.find_last_of('/');
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string match = find_case_insensitive(dir, base);
  if (!match.empty()) return dir.empty() ? match : (dir == "/" ? "/" : dir + "/") + match;
  const size_t name_slash = name.find_last_of('/');
  if (name_slash != std::string::npos) {
    const std::string bare = name.substr(name_slash + 1);
    if (exists(prefix + bare)) return prefix + bare;
    match = find_case_insensitive(folder, bare);
    if (!match.empty()) return prefix + match;
  }
  return path;
}

FileResolver folder_resolver(const std::string& folder) {
  return [folder](const std::string& written) -> Result<std::shared_ptr<RandomAccessFile>> {
    const std::string path = companion_path(folder, written);
    auto file = open_file(path);
    if (file.ok() || file.status().code() != Status::Code::not_found) return file;
    return Status::NotFound("missing file: '" + path + "' does not exist");
  };
}

}  // namespace udisc::formats
