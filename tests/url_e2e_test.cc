// udisc with images on a web server: nginx (Debian) on 127.0.0.1 serving the
// project's generated discs. `udisc info`, `verify` and `convert` of a URL
// print and write exactly what they do for the local file (a multi-file
// BIN/CUE resolves its BINs against the sheet's URL); `udisc serve URL`
// answers an iSCSI initiator (QEMU's, through qemu-img) with the image's
// bytes, fails reads with a medium error while the server is down and
// recovers when it is back, and turns a replaced object into a new medium.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "remote/testing/nginx.h"
#include "run_command.h"

#ifndef UDISC_BIN
#error "UDISC_BIN (path of the udisc binary) must be defined"
#endif

namespace {

namespace fs = std::filesystem;
using udisc::remote::Nginx;
using udisc::testing::quote;
using udisc::testing::Ran;
using udisc::testing::slurp;

class UrlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Nginx::available()) GTEST_SKIP() << "nginx is not installed (tools/install-deps.sh installs it)";
    char tmpl[] = "/tmp/udisc-url-e2e-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    server_ = std::make_unique<Nginx>();
    ASSERT_TRUE(server_->start()) << server_->error();
    www_ = server_->root();
    make_iso(www_ / "disc.iso", 1);
    fs::create_directories(www_ / "mixed");
    Ran mixed = sh(quote(MAKE_MIXED_CUE) + " " + quote((www_ / "mixed").string()) + " --layout split --iso " +
                   quote((www_ / "disc.iso").string()) + " --name 'mixed disc'");
    ASSERT_EQ(mixed.status, 0) << mixed.err;
  }
  void TearDown() override {
    if (serve_pid_ > 0) {
      ::kill(serve_pid_, SIGKILL);
      ::waitpid(serve_pid_, nullptr, 0);
    }
    server_.reset();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  Ran sh(const std::string& command) { return udisc::testing::run_shell(command, dir_); }
  Ran udisc(const std::string& args) { return sh(quote(UDISC_BIN) + " " + args); }

  void make_iso(const fs::path& out, int seed) {
    const fs::path tree = dir_ / ("tree" + std::to_string(seed));
    fs::create_directories(tree);
    Ran r = sh("head -c 2500000 /dev/urandom > " + quote((tree / "random.bin").string()) + " && echo " +
               std::to_string(seed) + " > " + quote((tree / "seed.txt").string()) +
               " && xorriso -as mkisofs -quiet -R -J -o " + quote(out.string()) + " " + quote(tree.string()));
    ASSERT_EQ(r.status, 0) << r.err;
  }

  // udisc serve in the background on a free port; returns the iSCSI URL of LUN 0.
  std::string serve(const std::string& images) {
    const std::string log = (dir_ / "serve.log").string();
    const std::string out = (dir_ / "serve.out").string();
    serve_pid_ = ::fork();
    if (serve_pid_ == 0) {
      const std::string cmd = "exec " + quote(UDISC_BIN) + " serve --listen 127.0.0.1:0" +
                              " --iqn iqn.2025-01.org.udisc:url " + images + " >" + quote(out) + " 2>" + quote(log);
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 100 && slurp(out).find("Serving until") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const std::string printed = slurp(out);
    EXPECT_NE(printed.find("Serving until"), std::string::npos) << slurp(log);
    // Port 0 was any free port; serve prints the one it got.
    const std::string marker = "listening on 127.0.0.1:";
    const size_t at = printed.find(marker);
    EXPECT_NE(at, std::string::npos) << printed;
    const std::string port = printed.substr(at + marker.size(), printed.find('\n', at) - at - marker.size());
    return "iscsi://127.0.0.1:" + port + "/iqn.2025-01.org.udisc:url/";
  }

  // The whole LUN through QEMU's iSCSI initiator.
  Ran read_lun(const std::string& url, const fs::path& out) {
    return sh("qemu-img convert -f raw -O raw " + quote(url) + " " + quote(out.string()));
  }

  fs::path dir_;
  fs::path www_;
  std::unique_ptr<Nginx> server_;
  pid_t serve_pid_ = -1;
};

TEST_F(UrlTest, InfoVerifyAndConvertOfAUrlEqualTheLocalFile) {
  std::vector<std::string> images = {"disc.iso"};
  images.push_back("mixed/mixed disc.cue");
  for (const std::string& name : images) {
    const std::string local = quote((www_ / name).string());
    std::string escaped = name;
    for (size_t at; (at = escaped.find(' ')) != std::string::npos;) escaped.replace(at, 1, "%20");
    const std::string url = quote(server_->url("/" + escaped));
    for (const std::string command : {"info --json", "info", "verify"}) {
      Ran a = udisc(command + " " + local);
      Ran b = udisc(command + " " + url);
      ASSERT_EQ(a.status, 0) << a.err;
      EXPECT_EQ(b.status, 0) << b.err;
      if (command == "info") {
        // The text table names the image on its first line; the rest is the same.
        EXPECT_NE(b.out.find("http://127.0.0.1:"), std::string::npos) << b.out;
        EXPECT_EQ(a.out.substr(a.out.find('\n')), b.out.substr(b.out.find('\n'))) << name;
      } else {
        EXPECT_EQ(a.out, b.out) << command << " " << name;
      }
    }
    fs::create_directories(dir_ / "a");
    fs::create_directories(dir_ / "b");
    Ran ca = udisc("convert " + local + " -o " + quote((dir_ / "a" / "out.cue").string()));
    Ran cb = udisc("convert " + url + " -o " + quote((dir_ / "b" / "out.cue").string()));
    ASSERT_EQ(ca.status, 0) << ca.err;
    ASSERT_EQ(cb.status, 0) << cb.err;
    Ran diff = sh("diff -r " + quote((dir_ / "a").string()) + " " + quote((dir_ / "b").string()));
    EXPECT_EQ(diff.status, 0) << diff.out;
    fs::remove_all(dir_ / "a");
    fs::remove_all(dir_ / "b");
  }
}

TEST_F(UrlTest, HttpsWithACaFileAndCredentialsFromAFile) {
  const std::string https = quote(server_->url("/disc.iso", /*tls=*/true));
  Ran unverified = udisc("info " + https);
  EXPECT_EQ(unverified.status, 1);
  EXPECT_NE(unverified.err.find("udisc: "), std::string::npos);
  EXPECT_NE(unverified.err.find("certificate"), std::string::npos) << unverified.err;
  Ran verified = udisc("info --ca-file " + quote(server_->ca_file()) + " " + https);
  EXPECT_EQ(verified.status, 0) << verified.err;

  const std::string private_url = quote(server_->url("/private/disc.iso"));
  Ran refused = udisc("info " + private_url);
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("HTTP 401"), std::string::npos) << refused.err;
  std::ofstream(dir_ / "auth") << "bearer " << Nginx::kBearerToken << "\n";
  Ran allowed = udisc("info --auth-file " + quote((dir_ / "auth").string()) + " " + private_url);
  EXPECT_EQ(allowed.status, 0) << allowed.err;
  Ran from_env = sh("UDISC_HTTP_AUTH='bearer " + std::string(Nginx::kBearerToken) + "' " + quote(UDISC_BIN) +
                    " info " + private_url);
  EXPECT_EQ(from_env.status, 0) << from_env.err;

  Ran in_url = udisc("info http://someone:hunter2@127.0.0.1:" + std::to_string(server_->port()) + "/disc.iso");
  EXPECT_EQ(in_url.status, 1);
  EXPECT_NE(in_url.err.find("--auth-file"), std::string::npos) << in_url.err;
}

// README's line, run as written: "URL" and "udisc" stand for the nginx URL
// and the binary under test; ca.crt and token.txt are in the current folder.
constexpr const char* kReadmeMountUrl = "udisc mount --ca-file ca.crt --auth-file token.txt URL";

TEST_F(UrlTest, MountAUrlThroughTheDaemon) {
  const std::string socket = (dir_ / "control.sock").string();
  const pid_t daemon = ::fork();
  if (daemon == 0) {
    const std::string cmd = "exec " + quote(UDISC_BIN) + " daemon --backend none --socket " + quote(socket) +
                            " --state " + quote((dir_ / "state" / "state.json").string()) + " 2>" +
                            quote((dir_ / "daemon.log").string());
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 100 && !fs::exists(socket); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  fs::copy_file(server_->ca_file(), dir_ / "ca.crt");
  std::ofstream(dir_ / "token.txt") << "bearer " << Nginx::kBearerToken << "\n";
  const std::string url = server_->url("/private/disc.iso", /*tls=*/true);
  std::string line = kReadmeMountUrl;
  line.replace(line.find("URL"), 3, quote(url));
  line.replace(0, 5, quote(UDISC_BIN));
  const std::string env = "cd " + quote(dir_.string()) + " && UDISC_SOCKET=" + quote(socket) + " ";
  Ran mounted = sh(env + line);
  EXPECT_EQ(mounted.status, 0) << mounted.err;
  EXPECT_NE(mounted.out.find("drive 0"), std::string::npos) << mounted.out;
  Ran listed = sh(env + quote(UDISC_BIN) + " status");
  EXPECT_EQ(listed.status, 0) << listed.err;
  EXPECT_NE(listed.out.find(url), std::string::npos) << listed.out;
  Ran as_json = sh(env + quote(UDISC_BIN) + " list --json");
  EXPECT_NE(as_json.out.find(url), std::string::npos) << as_json.out;
  // The object replaced on the server: within a revalidation (every 5 s) the
  // drive holds the new version as a new medium, and `udisc status` says so.
  const size_t at = listed.out.find("version   ETag");
  ASSERT_NE(at, std::string::npos) << listed.out;
  const std::string v1 = listed.out.substr(at, listed.out.find('\n', at) - at);
  make_iso(dir_ / "v2.iso", 2);
  fs::last_write_time(dir_ / "v2.iso", fs::last_write_time(www_ / "disc.iso") + std::chrono::seconds(10));
  fs::rename(dir_ / "v2.iso", www_ / "disc.iso");
  Ran changed;
  for (int i = 0; i < 40; ++i) {  // up to 20 s on a loaded machine
    changed = sh(env + quote(UDISC_BIN) + " status 0");
    if (changed.out.find("version   ETag") != std::string::npos && changed.out.find(v1) == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_EQ(changed.out.find(v1), std::string::npos) << changed.out;
  EXPECT_NE(changed.out.find("version   ETag"), std::string::npos) << changed.out;
  EXPECT_NE(slurp(dir_ / "daemon.log").find("changed on the server"), std::string::npos) << slurp(dir_ / "daemon.log");
  // Without the token: a clear refusal, and no second drive.
  Ran refused = sh(env + quote(UDISC_BIN) + " mount --ca-file ca.crt " + quote(url));
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("HTTP 401"), std::string::npos) << refused.err;
  Ran ftp = sh(env + quote(UDISC_BIN) + " insert 0 ftp://127.0.0.1/disc.iso");
  EXPECT_EQ(ftp.status, 1);
  Ran unmounted = sh(env + quote(UDISC_BIN) + " unmount 0");
  EXPECT_EQ(unmounted.status, 0) << unmounted.err;
  ::kill(daemon, SIGTERM);
  ::waitpid(daemon, nullptr, 0);
  for (const std::string& text : {mounted.out, mounted.err, listed.out, as_json.out, refused.err, changed.out,
                                  slurp(dir_ / "daemon.log")}) {
    EXPECT_EQ(text.find(Nginx::kBearerToken), std::string::npos) << text;
  }
}

TEST_F(UrlTest, AServerWithoutRangesOrWithoutTheFileIsAClearError) {
  Ran no_ranges = udisc("info " + quote(server_->url("/noranges/disc.iso")));
  EXPECT_EQ(no_ranges.status, 1);
  EXPECT_NE(no_ranges.err.find("does not serve byte ranges"), std::string::npos) << no_ranges.err;
  Ran missing = udisc("info " + quote(server_->url("/missing.iso")));
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("HTTP 404"), std::string::npos) << missing.err;
}

TEST_F(UrlTest, ServeReadsTheUrlSurvivesTheServerGoingAwayAndSwapsAReplacedObject) {
  const fs::path original = dir_ / "original.iso";
  fs::copy_file(www_ / "disc.iso", original);
  // A missing cache folder is a clear error; an existing one gets a private
  // file no one sees in it (O_TMPFILE), limited to 1 MiB.
  Ran no_dir = udisc("serve --listen 127.0.0.1:0 --cache-dir " + quote((dir_ / "missing").string()) + " " +
                     quote(server_->url("/disc.iso")));
  EXPECT_EQ(no_dir.status, 1);
  EXPECT_NE(no_dir.err.find("--cache-dir"), std::string::npos) << no_dir.err;
  fs::create_directories(dir_ / "cache");
  const std::string lun = serve("--cache-dir " + quote((dir_ / "cache").string()) + " --cache-size 1M " +
                                quote(server_->url("/disc.iso")) + " " + quote(original.string()));

  Ran first = read_lun(lun + "0", dir_ / "lun0.img");
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_EQ(slurp(dir_ / "lun0.img"), slurp(original));

  // The web server stops: reads of what is not cached fail (medium error), the
  // target keeps serving its other LUN, and all is well once the server is back.
  server_->stop();
  Ran other = read_lun(lun + "1", dir_ / "lun1.img");
  EXPECT_EQ(other.status, 0) << other.err;
  ASSERT_TRUE(server_->start()) << server_->error();
  Ran again = read_lun(lun + "0", dir_ / "again.img");
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(slurp(dir_ / "again.img"), slurp(original));

  // The object is replaced: after the next revalidation (every 5 s; waited
  // for up to 20 s) the drive holds the new version as a new medium; never a
  // mix of both.
  make_iso(dir_ / "v2.iso", 2);
  fs::last_write_time(dir_ / "v2.iso", fs::last_write_time(www_ / "disc.iso") + std::chrono::seconds(10));
  fs::rename(dir_ / "v2.iso", www_ / "disc.iso");
  for (int i = 0; i < 40 && slurp(dir_ / "serve.log").find("changed on the server") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // revalidation every 5 s; a loaded machine is slower
  }
  Ran swapped = read_lun(lun + "0", dir_ / "swapped.img");
  ASSERT_EQ(swapped.status, 0) << swapped.err;
  EXPECT_EQ(slurp(dir_ / "swapped.img"), slurp(www_ / "disc.iso"));
  EXPECT_NE(slurp(dir_ / "serve.log").find("changed on the server"), std::string::npos) << slurp(dir_ / "serve.log");
  EXPECT_TRUE(fs::is_empty(dir_ / "cache"));
}

}  // namespace
