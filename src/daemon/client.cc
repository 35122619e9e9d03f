#include "daemon/client.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "daemon/daemon.h"
#include "daemon/image_source.h"
#include "formats/companions.h"
#include "remote/http_file.h"

namespace udisc::daemon {

using nlohmann::json;

Result<Client> Client::connect(const std::string& socket_path, int* error_number) {
  auto fd = connect_unix(socket_path, error_number);
  if (!fd.ok()) return fd.status();
  return Client(std::move(fd).value());
}

Result<std::string> Client::read_line() {
  for (;;) {
    const size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (buffer_.size() > 64 * kMaxMessageBytes) return Status::Corruption("reply from the daemon is too long");
    char buf[65536];
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(std::string("reading from the daemon: ") + std::strerror(errno));
    }
    if (n == 0) return Status::IoError("the daemon closed the connection");
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

Result<std::string> Client::raw(std::string_view bytes, std::span<const int> fds) {
  if (Status s = send_with_fds(fd_.get(), bytes, fds); !s.ok()) return s;
  return read_line();
}

Result<Reply> Client::call(json request, std::span<const int> fds) {
  const int64_t id = next_id_++;
  request["v"] = kProtocolVersion;
  request["id"] = id;
  if (!fds.empty()) request["fds"] = fds.size();
  const std::string line = request.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  if (Status s = send_with_fds(fd_.get(), line, fds); !s.ok()) return s;
  for (;;) {
    auto got = read_line();
    if (!got.ok()) return got.status();
    json j = json::parse(*got, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status::Corruption("the daemon sent a reply that is not JSON");
    // Not ours: a reply to an earlier raw() request. An error with a null id
    // (the daemon could not read the request's id) is ours: one request at a time.
    const json reply_id = j.value("id", json());
    if (reply_id != json(id) && !(reply_id.is_null() && !j.value("ok", true))) continue;
    Reply r;
    r.ok = j.value("ok", false);
    if (r.ok) {
      r.result = j.value("result", json::object());
    } else {
      const json err = j.value("error", json::object());
      r.code = error_code_from_string(err.value("code", "internal")).value_or(ErrorCode::internal);
      r.message = err.value("message", "(no message)");
    }
    return r;
  }
}

std::string default_socket_path() {
  const char* env = std::getenv(kSocketEnv);
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(kDefaultSocketPath);
}

std::vector<int> ImageToSend::raw_fds() const {
  std::vector<int> out;
  for (const auto& f : fds) out.push_back(f.get());
  return out;
}

Result<ImageToSend> open_image_to_send(const std::string& path, const formats::ExtraCompanions& extra) {
  ImageToSend out;
  UniqueFd main(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!main.valid()) {
    const int e = errno;
    if (e == ENOENT) return Status::NotFound("'" + path + "': no such file");
    return Status::IoError("'" + path + "': " + std::strerror(e));
  }
  std::vector<std::string> refs, paths;
  if (Status s = companion_files(path, &refs, &paths, extra); !s.ok()) return s;
  // An absolute path, so the daemon's messages name the file the user means.
  std::string shown = path;
  if (!path.empty() && path[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) != nullptr) shown = std::string(cwd) + "/" + path;
  }
  out.spec = json{{"path", shown}, {"files", refs}};
  out.fds.push_back(std::move(main));
  for (size_t i = 0; i < paths.size(); ++i) {
    UniqueFd f(::open(paths[i].c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!f.valid() && errno == ENOENT && extra.password_file.empty() && formats::is_password_ref(refs[i])) {
      return Status::NotFound("'" + path + "': the track data is protected by a password: name a file whose first "
                              "line is the password with --password-file FILE");
    }
    if (!f.valid() && errno == ENOENT && extra.chd_parent.empty() && formats::is_chd_parent_ref(refs[i])) {
      return Status::NotFound("'" + path + "' is a child CHD: no .chd file beside it has the SHA-1 it names (" +
                              refs[i].substr(refs[i].find(':') + 1) + "); name its parent with --parent FILE");
    }
    if (!f.valid()) {
      return Status::IoError("'" + path + "' names file '" + refs[i] + "': opening '" + paths[i] +
                             "': " + std::strerror(errno));
    }
    out.fds.push_back(std::move(f));
  }
  return out;
}

Result<nlohmann::json> url_image_spec(const std::string& url, const std::string& ca_file,
                                      const std::string& auth_file) {
  if (Status s = check_image_url(url); !s.ok()) return Status::InvalidArgument("'" + url + "': " + s.message());
  json spec = {{"url", url}};
  auto credentials = remote::load_credentials(auth_file);
  if (!credentials.ok()) return credentials.status();
  if (credentials->kind != remote::Credentials::Kind::none) spec["auth"] = remote::credentials_line(*credentials);
  if (!ca_file.empty()) {
    std::ifstream in(ca_file, std::ios::binary);
    if (!in) return Status::NotFound("--ca-file '" + ca_file + "': " + std::strerror(errno));
    std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (pem.size() > kMaxCaPemBytes) {
      return Status::InvalidArgument("--ca-file '" + ca_file + "' is " + std::to_string(pem.size()) +
                                     " bytes; the daemon takes at most " + std::to_string(kMaxCaPemBytes) +
                                     " (give the bundle of the CAs this server needs, not the whole system store)");
    }
    if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return Status::InvalidArgument("--ca-file '" + ca_file + "' holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    spec["ca_pem"] = std::move(pem);
  }
  return spec;
}

}  // namespace udisc::daemon
