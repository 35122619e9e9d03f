// Nginx: a real web server for the tests of remote/ — Debian's nginx on
// 127.0.0.1 with an HTTP and an HTTPS port, a CA and server certificate made
// with the openssl command for the test, and these locations under root():
//   /NAME            the file, ranges served (nginx's default)
//   /noranges/NAME   the same file with ranges disabled (max_ranges 0)
//   /private/NAME    the same file, only with "Authorization: Bearer kBearerToken"
//   /slow/NAME       the same file sent at 32 KiB/s per request (limit_rate; the
//                    first second's 32 KiB at once)
// access_log() is the server's own record of each request: connection
// number, status, Range header and body bytes.
// Everything lives in a temporary directory removed by the destructor.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace udisc::remote {

class Nginx {
 public:
  static constexpr const char* kBearerToken = "test-token-5d1f";

  static bool available() { return std::filesystem::exists(binary()); }
  static std::string binary() { return "/usr/sbin/nginx"; }

  Nginx() {
    char tmpl[] = "/tmp/udisc-nginx-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::filesystem::create_directories(dir_ / "www");
    std::filesystem::create_directories(dir_ / "tmp");
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all | std::filesystem::perms::group_exec |
                                           std::filesystem::perms::others_exec);
    http_port_ = free_port();
    https_port_ = free_port();
  }
  ~Nginx() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::filesystem::path root() const { return dir_ / "www"; }
  std::string ca_file() const { return (dir_ / "ca.crt").string(); }
  const std::string& error() const { return error_; }
  uint16_t port(bool tls = false) const { return tls ? https_port_ : http_port_; }
  // One line per request: "CONNECTION STATUS RANGE BYTES" (RANGE "-" when none).
  std::string access_log() const { return slurp(dir_ / "access.log"); }
  std::string url(const std::string& path, bool tls = false) const {
    return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port(tls)) + path;
  }

  bool start() {
    if (!std::filesystem::exists(dir_ / "server.crt") && !make_certificates()) return false;
    write_config();
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string prefix = dir_.string() + "/";
      const std::string conf = (dir_ / "nginx.conf").string();
      ::execl(binary().c_str(), "nginx", "-p", prefix.c_str(), "-c", conf.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (accepts(http_port_) && accepts(https_port_)) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        error_ = "nginx exited at start: " + slurp(dir_ / "error.log");
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    error_ = "nginx did not listen within 5 s: " + slurp(dir_ / "error.log");
    return false;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  static uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }

  static bool accepts(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }

  static std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  bool make_certificates() {
    const std::string d = dir_.string();
    const std::string script =
        "set -e; cd '" + d + "'; exec >openssl.log 2>&1; "
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=udisc test CA' "
        "  -keyout ca.key -out ca.crt; "
        "openssl req -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1' -keyout server.key -out server.csr; "
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf; "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
        "  -extfile ext.cnf -out server.crt";
    if (std::system(("bash -c \"" + script + "\"").c_str()) != 0) {
      error_ = "openssl failed: " + slurp(dir_ / "openssl.log");
      return false;
    }
    return true;
  }

  void write_config() const {
    const std::string d = dir_.string();
    std::ofstream c(dir_ / "nginx.conf");
    if (::geteuid() == 0) c << "user root;\n";
    c << "daemon off;\nmaster_process on;\nworker_processes 1;\n"
      << "pid " << d << "/nginx.pid;\nerror_log " << d << "/error.log warn;\n"
      << "events { worker_connections 512; }\n"
      << "http {\n  log_format udisc '$connection $status $http_range $body_bytes_sent';\n"
      << "  access_log " << d << "/access.log udisc;\n  default_type application/octet-stream;\n"
      << "  client_body_temp_path " << d << "/tmp/body;\n  proxy_temp_path " << d << "/tmp/proxy;\n"
      << "  fastcgi_temp_path " << d << "/tmp/fcgi;\n  uwsgi_temp_path " << d << "/tmp/uwsgi;\n"
      << "  scgi_temp_path " << d << "/tmp/scgi;\n"
      << "  server {\n"
      << "    listen 127.0.0.1:" << http_port_ << ";\n"
      << "    listen 127.0.0.1:" << https_port_ << " ssl;\n"
      << "    ssl_certificate " << d << "/server.crt;\n    ssl_certificate_key " << d << "/server.key;\n"
      << "    root " << d << "/www;\n"
      << "    location /noranges/ { alias " << d << "/www/; max_ranges 0; }\n"
      << "    location /slow/ { alias " << d << "/www/; limit_rate 32k; }\n"
      << "    location /private/ { alias " << d << "/www/;\n"
      << "      if ($http_authorization != \"Bearer " << kBearerToken << "\") { return 401; } }\n"
      << "  }\n}\n";
  }

  std::filesystem::path dir_;
  uint16_t http_port_ = 0;
  uint16_t https_port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
};

}  // namespace udisc::remote
