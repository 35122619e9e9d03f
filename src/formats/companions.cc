#include "formats/companions.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "formats/chd_image.h"

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

constexpr std::string_view kChdParentPrefix = "chd-parent-sha1:";
// The name the password file is asked for by; folder_resolver never opens a file of that name.
constexpr std::string_view kPasswordRef = "<password-file>";

std::string sha1_of_ref(const std::string& ref) { return ref.substr(kChdParentPrefix.size()); }

// The regular *.chd file in `folder` whose header records `sha1`, or "".
std::string find_chd_by_sha1(const std::string& folder, const std::string& sha1) {
  DIR* dir = ::opendir(folder.empty() ? "." : folder.c_str());
  if (dir == nullptr) return "";
  const std::string prefix = folder.empty() ? "" : (folder == "/" ? "/" : folder + "/");
  std::string found;
  while (dirent* ent = ::readdir(dir)) {
    const std::string name = ent->d_name;
    if (name.size() < 4 || lower(name.substr(name.size() - 4)) != ".chd") continue;
    struct stat st {};
    if (::stat((prefix + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    auto file = open_file(prefix + name);
    if (!file.ok()) continue;
    const auto id = chd_identity(**file);
    if (id && id->sha1 == sha1) {
      found = prefix + name;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

}  // namespace

std::string folder_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string companion_path(const std::string& folder, const std::string& written) {
  if (is_chd_parent_ref(written)) {
    const std::string found = find_chd_by_sha1(folder, sha1_of_ref(written));
    if (!found.empty()) return found;
  }
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
    if (is_password_ref(written)) {
      return Status::NotFound("no password file given: name a file whose first line is the password with "
                              "--password-file FILE");
    }
    const std::string path = companion_path(folder, written);
    auto file = open_file(path);
    if (file.ok() || file.status().code() != Status::Code::not_found) return file;
    if (is_chd_parent_ref(written)) {
      return Status::NotFound("no .chd file in '" + (folder.empty() ? std::string(".") : folder) +
                              "' has SHA-1 " + sha1_of_ref(written) + " (name the parent CHD with --parent FILE)");
    }
    return Status::NotFound("missing file: '" + path + "' does not exist");
  };
}

std::string chd_parent_ref(const std::string& sha1_hex) { return std::string(kChdParentPrefix) + sha1_hex; }

bool is_chd_parent_ref(const std::string& ref) { return ref.starts_with(kChdParentPrefix); }

FileResolver with_chd_parent(FileResolver base, std::string parent_path) {
  return [base = std::move(base), parent_path = std::move(parent_path)](
             const std::string& ref) -> Result<std::shared_ptr<RandomAccessFile>> {
    if (!is_chd_parent_ref(ref)) return base(ref);
    // The named file answers for the SHA-1 it has; a grandparent is still
    // looked for beside the image, and a wrong file is returned so the
    // reader's error names it and both SHA-1s.
    auto named = open_file(parent_path);
    if (!named.ok()) return named.status().with_context("--parent");
    const auto id = chd_identity(**named);
    if (id && id->sha1 == sha1_of_ref(ref)) return named;
    auto beside = base(ref);
    return beside.ok() ? beside : named;
  };
}

std::string password_ref() { return std::string(kPasswordRef); }

bool is_password_ref(const std::string& ref) { return ref == kPasswordRef; }

FileResolver with_extra_companions(FileResolver base, const ExtraCompanions& extra) {
  if (!extra.chd_parent.empty()) base = with_chd_parent(std::move(base), extra.chd_parent);
  if (extra.password_file.empty()) return base;
  return [base = std::move(base), path = extra.password_file](
             const std::string& ref) -> Result<std::shared_ptr<RandomAccessFile>> {
    if (!is_password_ref(ref)) return base(ref);
    auto file = open_file(path);
    if (!file.ok()) return file.status().with_context("--password-file");
    return file;
  };
}

std::string extra_companion_path(const ExtraCompanions& extra, const std::string& ref) {
  if (is_chd_parent_ref(ref)) return extra.chd_parent;
  if (is_password_ref(ref)) return extra.password_file;
  return "";
}

}  // namespace udisc::formats
