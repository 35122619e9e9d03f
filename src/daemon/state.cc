#include "daemon/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "daemon/protocol.h"
#include "daemon/safe_dir.h"

namespace udisc::daemon {
namespace {

using nlohmann::json;

constexpr char kFormat[] = "udisc-state";
constexpr int kVersion = 1;
constexpr size_t kMaxStateBytes = size_t{16} * 1024 * 1024;

json file_to_json(const FileRecord& f) {
  json j = {{"path", f.path}, {"dev", f.dev}, {"ino", f.ino}, {"size", f.size}};
  if (!f.ref.empty()) j["ref"] = f.ref;
  return j;
}

json identity_to_json(const device::Identity& id) {
  return json{{"vendor", id.vendor}, {"product", id.product}, {"revision", id.revision},
              {"serial", id.serial}, {"naa_id", id.naa_id},   {"kind", to_string(id.kind)}};
}

// A small checked reader: every error names the file and the field path.
class Reader {
 public:
  explicit Reader(std::string name) : name_(std::move(name)) {}
  Status error(const std::string& field, const std::string& what) const {
    return Status::Corruption("state file '" + name_ + "': field '" + field + "' " + what);
  }
  Status string(const json& obj, const std::string& at, const char* key, std::string* out, bool required = true) const {
    if (!obj.contains(key)) return required ? error(at + key, "is missing") : Status::Ok();
    if (!obj[key].is_string()) return error(at + key, "must be a string");
    *out = obj[key].get<std::string>();
    return Status::Ok();
  }
  Status u64(const json& obj, const std::string& at, const char* key, uint64_t* out, bool required = true) const {
    if (!obj.contains(key)) return required ? error(at + key, "is missing") : Status::Ok();
    const json& v = obj[key];
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
      return error(at + key, "must be a non-negative integer");
    }
    *out = v.get<uint64_t>();
    return Status::Ok();
  }
  Status file(const json& obj, const std::string& at, FileRecord* f) const {
    if (!obj.is_object()) return error(at, "must be an object");
    if (Status s = string(obj, at + ".", "path", &f->path); !s.ok()) return s;
    if (Status s = string(obj, at + ".", "ref", &f->ref, false); !s.ok()) return s;
    if (Status s = u64(obj, at + ".", "dev", &f->dev); !s.ok()) return s;
    if (Status s = u64(obj, at + ".", "ino", &f->ino); !s.ok()) return s;
    return u64(obj, at + ".", "size", &f->size);
  }

 private:
  std::string name_;
};

Status write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("writing '" + path + "': " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

bool DriveRecord::operator==(const DriveRecord& o) const {
  return number == o.number && owner_uid == o.owner_uid && owner_gid == o.owner_gid &&
         identity.vendor == o.identity.vendor && identity.product == o.identity.product &&
         identity.revision == o.identity.revision && identity.serial == o.identity.serial &&
         identity.naa_id == o.identity.naa_id && identity.kind == o.identity.kind && tray_open == o.tray_open &&
         image == o.image;
}

json to_json(const DaemonState& state) {
  json drives = json::array();
  for (const auto& d : state.drives) {
    json jd = {{"number", d.number},
               {"owner_uid", d.owner_uid},
               {"owner_gid", d.owner_gid},
               {"identity", identity_to_json(d.identity)},
               {"tray", d.tray_open ? "open" : "closed"},
               {"image", nullptr}};
    if (d.image) {
      json files = json::array();
      for (const auto& f : d.image->files) files.push_back(file_to_json(f));
      jd["image"] = {{"format", d.image->format}, {"reopenable", d.image->reopenable}};
      if (d.image->url.empty()) {
        jd["image"]["file"] = file_to_json(d.image->image);
        jd["image"]["files"] = files;
      } else {
        jd["image"]["url"] = d.image->url;
        if (!d.image->auth.empty()) jd["image"]["auth"] = d.image->auth;
        if (!d.image->ca_pem.empty()) jd["image"]["ca_pem"] = d.image->ca_pem;
      }
    }
    drives.push_back(std::move(jd));
  }
  return json{{"format", kFormat}, {"version", kVersion}, {"drives", drives}};
}

Result<DaemonState> state_from_json(const json& j, const std::string& name) {
  Reader r(name);
  if (!j.is_object()) return r.error("(top level)", "must be an object");
  std::string format;
  if (Status s = r.string(j, "", "format", &format); !s.ok()) return s;
  if (format != kFormat) return r.error("format", "is '" + format + "', expected '" + kFormat + "'");
  uint64_t version = 0;
  if (Status s = r.u64(j, "", "version", &version); !s.ok()) return s;
  if (version != kVersion) {
    return r.error("version",
                   "is " + std::to_string(version) + "; this daemon reads version " + std::to_string(kVersion));
  }
  if (!j.contains("drives") || !j["drives"].is_array()) return r.error("drives", "must be an array");
  DaemonState state;
  std::set<uint32_t> seen;
  const json& drives = j["drives"];
  for (size_t i = 0; i < drives.size(); ++i) {
    const std::string at = "drives[" + std::to_string(i) + "]";
    const json& jd = drives[i];
    if (!jd.is_object()) return r.error(at, "must be an object");
    DriveRecord d;
    uint64_t v = 0;
    if (Status s = r.u64(jd, at + ".", "number", &v); !s.ok()) return s;
    if (v > 9999) return r.error(at + ".number", "is out of range 0..9999");
    d.number = static_cast<uint32_t>(v);
    if (!seen.insert(d.number).second) return r.error(at + ".number", "repeats drive " + std::to_string(v));
    if (Status s = r.u64(jd, at + ".", "owner_uid", &v); !s.ok()) return s;
    if (v > 0xFFFFFFFEu) return r.error(at + ".owner_uid", "is out of range");
    d.owner_uid = static_cast<uid_t>(v);
    if (Status s = r.u64(jd, at + ".", "owner_gid", &v); !s.ok()) return s;
    if (v > 0xFFFFFFFEu) return r.error(at + ".owner_gid", "is out of range");
    d.owner_gid = static_cast<gid_t>(v);
    if (!jd.contains("identity") || !jd["identity"].is_object()) return r.error(at + ".identity", "must be an object");
    const json& ji = jd["identity"];
    const std::string ai = at + ".identity.";
    if (Status s = r.string(ji, ai, "vendor", &d.identity.vendor); !s.ok()) return s;
    if (Status s = r.string(ji, ai, "product", &d.identity.product); !s.ok()) return s;
    if (Status s = r.string(ji, ai, "revision", &d.identity.revision); !s.ok()) return s;
    if (Status s = r.string(ji, ai, "serial", &d.identity.serial); !s.ok()) return s;
    if (Status s = r.u64(ji, ai, "naa_id", &d.identity.naa_id, false); !s.ok()) return s;
    std::string kind = "bd";
    if (Status s = r.string(ji, ai, "kind", &kind, false); !s.ok()) return s;
    auto kind_value = drive_kind_from_string(kind);
    if (!kind_value) return r.error(ai + "kind", "must be \"cd\", \"dvd\" or \"bd\"");
    d.identity.kind = *kind_value;
    std::string tray;
    if (Status s = r.string(jd, at + ".", "tray", &tray); !s.ok()) return s;
    if (tray != "open" && tray != "closed") return r.error(at + ".tray", "must be \"open\" or \"closed\"");
    d.tray_open = tray == "open";
    if (jd.contains("image") && !jd["image"].is_null()) {
      const json& ji2 = jd["image"];
      const std::string am = at + ".image";
      if (!ji2.is_object()) return r.error(am, "must be an object or null");
      ImageRecord img;
      if (Status s = r.string(ji2, am + ".", "url", &img.url, false); !s.ok()) return s;
      if (Status s = r.string(ji2, am + ".", "auth", &img.auth, false); !s.ok()) return s;
      if (Status s = r.string(ji2, am + ".", "ca_pem", &img.ca_pem, false); !s.ok()) return s;
      if (!img.url.empty()) {
        if (Status s = check_image_url(img.url); !s.ok()) return r.error(am + ".url", "is not usable: " + s.message());
      } else if (!ji2.contains("file")) {
        return r.error(am + ".file", "is missing");
      } else if (Status s = r.file(ji2["file"], am + ".file", &img.image); !s.ok()) {
        return s;
      }
      if (ji2.contains("files")) {
        if (!ji2["files"].is_array()) return r.error(am + ".files", "must be an array");
        for (size_t k = 0; k < ji2["files"].size(); ++k) {
          FileRecord f;
          if (Status s = r.file(ji2["files"][k], am + ".files[" + std::to_string(k) + "]", &f); !s.ok()) return s;
          img.files.push_back(std::move(f));
        }
      }
      if (Status s = r.string(ji2, am + ".", "format", &img.format, false); !s.ok()) return s;
      if (ji2.contains("reopenable")) {
        if (!ji2["reopenable"].is_boolean()) return r.error(am + ".reopenable", "must be true or false");
        img.reopenable = ji2["reopenable"].get<bool>();
      }
      d.image = std::move(img);
    }
    state.drives.push_back(std::move(d));
  }
  std::sort(state.drives.begin(), state.drives.end(),
            [](const DriveRecord& a, const DriveRecord& b) { return a.number < b.number; });
  return state;
}

Status save_state(const DaemonState& state, const std::string& path) {
  const std::string data = to_json(state).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  const std::string dir = folder_of_path(path);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IoError("creating folder '" + dir + "': " + std::strerror(errno));
  }
  return replace_file(path, data);
}

Status replace_file(const std::string& path, const std::string& data) {
  const std::string dir = folder_of_path(path);
  const std::string tmp = path + ".tmp";
  // O_EXCL | O_NOFOLLOW: in a folder others may write (a sticky /tmp), a file
  // or symlink planted at the temporary name is never written through. A
  // stale one of ours (a crash between create and rename) is removed first;
  // someone else's cannot be removed there, and saving fails naming it.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno == EEXIST && ::unlink(tmp.c_str()) == 0) {
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  }
  if (fd < 0) return Status::IoError("creating '" + tmp + "': " + std::strerror(errno));
  Status s = write_all(fd, data, tmp);
  if (s.ok() && ::fsync(fd) != 0) s = Status::IoError("fsync '" + tmp + "': " + std::strerror(errno));
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = Status::IoError("renaming '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Result<std::string> read_own_file(const std::string& path, size_t max_bytes, const std::string& what) {
  auto opened = open_own_file(path, O_RDONLY);
  if (!opened.ok()) {
    if (opened.status().code() == Status::Code::not_found) return opened.status();
    return opened.status().with_context(what);
  }
  const int fd = *opened;
  std::string data;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return Status::IoError("reading " + what + " '" + path + "': " + std::strerror(e));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > max_bytes) {
      ::close(fd);
      const std::string limit = max_bytes % (1 << 20) == 0   ? std::to_string(max_bytes >> 20) + " MiB"
                                : max_bytes % (1 << 10) == 0 ? std::to_string(max_bytes >> 10) + " KiB"
                                                             : std::to_string(max_bytes) + " bytes";
      return Status::Corruption(what + " '" + path + "' is larger than " + limit);
    }
  }
  ::close(fd);
  return data;
}

Result<DaemonState> load_state(const std::string& path) {
  // Only a state file of the daemon's own user is believed: one planted by
  // another user (in a folder they may write) would name owners and paths.
  auto read = read_own_file(path, kMaxStateBytes, "state file");
  if (!read.ok()) {
    if (read.status().code() == Status::Code::not_found) return DaemonState{};
    return read.status();
  }
  const std::string& data = *read;
  json j = json::parse(data, nullptr, false);
  if (j.is_discarded()) {
    std::string where;
    try {
      json ignored = json::parse(data);
    } catch (const json::parse_error& e) {
      where = std::string(": ") + e.what();
    }
    return Status::Corruption("state file '" + path + "' is not valid JSON" + where);
  }
  return state_from_json(j, path);
}

}  // namespace udisc::daemon
