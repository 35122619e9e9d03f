// The daemon end to end over a real Unix socket (backend "none"): images as
// SCM_RIGHTS descriptors, ownership between two real uids (SO_PEERCRED; the
// other uid runs in a child process), locked drives, malformed input, slow
// clients, 16 drives, and a restart from the state file; images the daemon
// fetches from URLs on a real nginx (DaemonUrlTest).
#include "daemon/daemon.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "daemon/client.h"
#include "remote/testing/nginx.h"

namespace udisc::daemon {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr uid_t kOtherUid = 65534;  // nobody
constexpr gid_t kOtherGid = 65534;

size_t open_fd_count() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Runs `fn` in a child process as uid/gid; returns what it printed (its result).
std::string run_as(uid_t uid, gid_t gid, const std::function<std::string()>& fn) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return "pipe failed";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipefd[0]);
    std::string out;
    if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0) {
      out = "could not switch user";
    } else {
      out = fn();
    }
    (void)!::write(pipefd[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return out;
}

// SCSI through the engine, as a transport would send it.
struct ScsiOut {
  device::Response r;
  std::vector<uint8_t> data;
};
ScsiOut scsi(device::Drive& d, std::vector<uint8_t> cdb, uint32_t expected) {
  ScsiOut out;
  out.data.resize(expected);
  std::span<uint8_t> seg(out.data);
  std::vector<std::span<uint8_t>> segs{seg};
  device::Request req;
  req.cdb = cdb;
  req.direction = expected ? device::DataDirection::from_device : device::DataDirection::none;
  req.expected_transfer_length = expected;
  req.data_in = segs;
  req.initiator = 7;
  out.r = d.execute(req);
  return out;
}

// READ CAPACITY(10) after clearing unit attentions; returns the sector count or -1.
int64_t capacity(device::Drive& d) {
  for (int i = 0; i < 4; ++i) {
    ScsiOut o = scsi(d, {0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 8);
    if (o.r.status == device::ScsiStatus::good) {
      return ((int64_t{o.data[0]} << 24) | (o.data[1] << 16) | (o.data[2] << 8) | o.data[3]) + 1;
    }
    if (o.r.sense_length >= 14 && (o.r.sense[2] & 0x0F) != 0x06) return -1;  // not a unit attention
  }
  return -1;
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path("/tmp") / ("udisc-daemon-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    socket_ = (dir_ / "control.sock").string();
    state_ = (dir_ / "state" / "state.json").string();
    fds_at_start_ = open_fd_count();
  }
  void TearDown() override {
    stop();
    fs::remove_all(dir_);
    EXPECT_EQ(open_fd_count(), fds_at_start_) << "descriptors leaked";
  }

  DaemonOptions options() {
    DaemonOptions o;
    o.socket_path = socket_;
    o.state_path = state_;
    o.socket_mode = 0666;  // the other uid connects too
    o.socket_group = "";
    o.log = [this](const std::string& line) {
      std::lock_guard lock(log_mu_);
      log_.push_back(line);
    };
    return o;
  }

  void start(DaemonOptions o) {
    daemon_ = std::make_unique<Daemon>(std::move(o), make_none_backend());
    Status s = daemon_->start();
    ASSERT_TRUE(s.ok()) << s.message();
    thread_ = std::thread([this] { run_status_ = daemon_->run(); });
  }
  void start() { start(options()); }
  // Starts a daemon with `o` that must refuse to start; returns why.
  std::string start_error(DaemonOptions o) {
    Daemon d(std::move(o), make_none_backend());
    Status s = d.start();
    EXPECT_FALSE(s.ok());
    return s.message();
  }
  void stop() {
    if (!daemon_) return;
    daemon_->request_stop();
    thread_.join();
    daemon_.reset();
  }

  Client client() {
    auto c = Client::connect(socket_);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return std::move(c).value();
  }

  // A plain ISO of `sectors` 2048-byte sectors; byte 0 of each sector = `tag`.
  std::string make_iso(const std::string& name, int sectors, uint8_t tag = 1, mode_t mode = 0644) {
    const std::string path = (dir_ / name).string();
    std::vector<char> data(static_cast<size_t>(sectors) * 2048, 0);
    for (int s = 0; s < sectors; ++s) data[static_cast<size_t>(s) * 2048] = static_cast<char>(tag);
    std::ofstream(path, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
    ::chmod(path.c_str(), mode);
    return path;
  }

  Reply call(Client& c, json req, const std::string& image = "") {
    if (!image.empty()) {
      auto img = open_image_to_send(image);
      EXPECT_TRUE(img.ok()) << img.status().message();
      if (!img.ok()) return {};
      req["image"] = img->spec;
      auto fds = img->raw_fds();
      auto r = c.call(std::move(req), fds);
      EXPECT_TRUE(r.ok()) << r.status().message();
      return r.ok() ? *r : Reply{};
    }
    auto r = c.call(std::move(req));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : Reply{};
  }

  Reply mount(Client& c, const std::string& image, std::optional<int> drive = std::nullopt) {
    json req = {{"op", "mount"}};
    if (drive) req["drive"] = *drive;
    return call(c, req, image);
  }

  std::shared_ptr<device::Drive> engine(uint32_t n) { return daemon_->controller().engine(n); }

  bool log_contains(const std::string& needle) {
    std::lock_guard lock(log_mu_);
    for (const auto& l : log_) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  fs::path dir_;
  std::string socket_, state_;
  std::unique_ptr<Daemon> daemon_;
  std::thread thread_;
  Status run_status_;
  size_t fds_at_start_ = 0;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_F(DaemonTest, HelloListAndSocketMode) {
  DaemonOptions o = options();
  o.socket_mode = 0660;
  start(o);
  struct stat st {};
  ASSERT_EQ(::lstat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  Client c = client();
  Reply h = call(c, {{"op", "hello"}});
  ASSERT_TRUE(h.ok) << h.message;
  EXPECT_EQ(h.result["protocol"], 1);
  EXPECT_EQ(h.result["backend"], "none");
  EXPECT_EQ(h.result["uid"], 0);
  Reply l = call(c, {{"op", "list"}});
  ASSERT_TRUE(l.ok);
  EXPECT_TRUE(l.result["drives"].empty());

  // A second daemon on the same socket is refused; the first keeps serving.
  Daemon second(options(), make_none_backend());
  Status s = second.start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("already listens"), std::string::npos) << s.message();
  EXPECT_TRUE(call(c, {{"op", "hello"}}).ok);
  // So is one on another socket with the same state file.
  DaemonOptions other = options();
  other.socket_path = (dir_ / "other.sock").string();
  Daemon third(other, make_none_backend());
  s = third.start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("uses the state file"), std::string::npos) << s.message();
  EXPECT_TRUE(call(c, {{"op", "hello"}}).ok);
}

TEST_F(DaemonTest, MountEjectInsertRemove) {
  start();
  const std::string a = make_iso("a.iso", 300, 0xA1);
  const std::string b = make_iso("b.iso", 500, 0xB2);
  Client c = client();

  Reply m = mount(c, a);
  ASSERT_TRUE(m.ok) << m.message;
  EXPECT_TRUE(m.result["created"].get<bool>());
  const json& d = m.result["drive"];
  EXPECT_EQ(d["drive"], 0);
  EXPECT_EQ(d["owner_uid"], 0);
  EXPECT_EQ(d["tray"], "closed");
  EXPECT_TRUE(d["medium"].get<bool>());
  EXPECT_EQ(d["image"]["path"], a);  // recorded from the descriptor, not the client's word
  EXPECT_EQ(d["image"]["format"], "iso");
  EXPECT_EQ(d["image"]["sectors"], 300);
  EXPECT_TRUE(d["image"]["persistent"].get<bool>());
  ASSERT_NE(engine(0), nullptr);
  EXPECT_EQ(capacity(*engine(0)), 300);

  // READ(10) of LBA 5 returns the image's bytes: the engine reads our descriptor.
  ScsiOut rd = scsi(*engine(0), {0x28, 0, 0, 0, 0, 5, 0, 0, 1, 0}, 2048);
  ASSERT_EQ(rd.r.status, device::ScsiStatus::good);
  EXPECT_EQ(rd.data[0], 0xA1);
  Reply st = call(c, {{"op", "status"}, {"drive", 0}});
  ASSERT_TRUE(st.ok);
  EXPECT_GE(st.result["drives"][0]["counters"]["commands"].get<uint64_t>(), 2u);
  EXPECT_GE(st.result["drives"][0]["counters"]["bytes"].get<uint64_t>(), 2048u);

  Reply e = call(c, {{"op", "eject"}, {"drive", 0}});
  ASSERT_TRUE(e.ok) << e.message;
  EXPECT_EQ(e.result["drive"]["tray"], "open");
  EXPECT_FALSE(e.result["drive"]["medium"].get<bool>());
  EXPECT_TRUE(e.result["drive"]["image"].is_null());
  EXPECT_EQ(capacity(*engine(0)), -1);

  Reply i = call(c, {{"op", "insert"}, {"drive", 0}}, b);
  ASSERT_TRUE(i.ok) << i.message;
  EXPECT_FALSE(i.result["created"].get<bool>());
  EXPECT_EQ(capacity(*engine(0)), 500);

  // The state file follows every change.
  auto saved = load_state(state_);
  ASSERT_TRUE(saved.ok());
  ASSERT_EQ(saved->drives.size(), 1u);
  ASSERT_TRUE(saved->drives[0].image.has_value());
  EXPECT_EQ(saved->drives[0].image->image.path, b);

  Reply r = call(c, {{"op", "remove"}, {"drive", 0}});
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(engine(0), nullptr);
  EXPECT_TRUE(call(c, {{"op", "list"}}).result["drives"].empty());
  Reply gone = call(c, {{"op", "eject"}, {"drive", 0}});
  EXPECT_FALSE(gone.ok);
  EXPECT_EQ(gone.code, ErrorCode::not_found);
  EXPECT_TRUE(load_state(state_)->drives.empty());
}

TEST_F(DaemonTest, MountReusesAnEmptyDriveOfTheCaller) {
  start();
  Client c = client();
  ASSERT_TRUE(mount(c, make_iso("a.iso", 10)).ok);
  ASSERT_TRUE(call(c, {{"op", "eject"}, {"drive", 0}}).ok);
  Reply again = mount(c, make_iso("b.iso", 20));
  ASSERT_TRUE(again.ok) << again.message;
  EXPECT_EQ(again.result["drive"]["drive"], 0);
  EXPECT_FALSE(again.result["created"].get<bool>());
  Reply next = mount(c, make_iso("c.iso", 30));
  ASSERT_TRUE(next.ok);
  EXPECT_EQ(next.result["drive"]["drive"], 1);
  Reply chosen = mount(c, make_iso("d.iso", 40), 7);
  ASSERT_TRUE(chosen.ok) << chosen.message;
  EXPECT_EQ(chosen.result["drive"]["drive"], 7);
  EXPECT_EQ(capacity(*engine(7)), 40);
  // create with an identity and no image: an empty drive with a closed tray.
  Reply cr =
      call(c, {{"op", "create"}, {"identity", {{"vendor", "PIONEER"}, {"product", "DVR-112"}, {"kind", "dvd"}}}});
  ASSERT_TRUE(cr.ok) << cr.message;
  EXPECT_EQ(cr.result["drive"]["drive"], 2);
  EXPECT_EQ(cr.result["drive"]["identity"]["vendor"], "PIONEER");
  EXPECT_EQ(cr.result["drive"]["identity"]["kind"], "dvd");
  EXPECT_EQ(engine(2)->identity().product, "DVR-112");
}

TEST_F(DaemonTest, CueSheetTravelsWithItsFiles) {
  start();
  const int sectors = 200;
  {
    std::vector<char> bin(sectors * 2048, 0x5A);
    std::ofstream(dir_ / "Track 01.bin", std::ios::binary).write(bin.data(), static_cast<std::streamsize>(bin.size()));
    std::ofstream(dir_ / "disc.cue")
        << "FILE \"Track 01.bin\" BINARY\r\n  TRACK 01 MODE1/2048\r\n    INDEX 01 00:00:00\r\n";
  }
  Client c = client();
  Reply m = mount(c, (dir_ / "disc.cue").string());
  ASSERT_TRUE(m.ok) << m.message;
  const json& img = m.result["drive"]["image"];
  EXPECT_EQ(img["format"], "cue");
  ASSERT_EQ(img["files"].size(), 1u);
  EXPECT_EQ(img["files"][0], (dir_ / "Track 01.bin").string());
  EXPECT_EQ(capacity(*engine(0)), sectors);

  // A sheet sent without its files: the daemon says which file is missing.
  UniqueFd sheet(::open((dir_ / "disc.cue").c_str(), O_RDONLY | O_CLOEXEC));
  const int fd = sheet.get();
  auto r = c.call({{"op", "mount"}, {"image", {{"path", "disc.cue"}}}}, std::span<const int>(&fd, 1));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->code, ErrorCode::bad_image);
  EXPECT_NE(r->message.find("Track 01.bin"), std::string::npos) << r->message;
}

// A child CHD travels with its parent: found beside it by SHA-1, or named
// by the caller (--parent); missing, the client names what to do.
TEST_F(DaemonTest, ChildChdTravelsWithItsParent) {
  if (std::system("command -v chdman >/dev/null 2>&1") != 0) GTEST_SKIP() << "chdman (mame-tools) not installed";
  start();
  const std::string parent_iso = make_iso("parent.iso", 300, 0x11);
  const std::string child_iso = make_iso("child.iso", 300, 0x22);
  fs::create_directories(dir_ / "parents");
  const std::string parent = (dir_ / "parents" / "p.chd").string();
  const std::string child = (dir_ / "child.chd").string();
  const std::string chdman = "timeout 60 chdman createraw -f -hs 4096 -us 2048 >/dev/null 2>&1 -i ";
  ASSERT_EQ(std::system((chdman + "'" + parent_iso + "' -o '" + parent + "'").c_str()), 0);
  ASSERT_EQ(std::system((chdman + "'" + child_iso + "' -o '" + child + "' -op '" + parent + "'").c_str()), 0);

  auto missing = open_image_to_send(child);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--parent FILE"), std::string::npos) << missing.status().message();

  auto img = open_image_to_send(child, {.chd_parent = parent});
  ASSERT_TRUE(img.ok()) << img.status().message();
  Client c = client();
  auto fds = img->raw_fds();
  auto r = c.call({{"op", "mount"}, {"image", img->spec}}, fds);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->ok) << r->message;
  const json& shown = r->result["drive"]["image"];
  EXPECT_EQ(shown["format"], "chd");
  ASSERT_EQ(shown["files"].size(), 1u);
  EXPECT_EQ(shown["files"][0], parent);
  EXPECT_EQ(capacity(*engine(0)), 300);

  // Beside the child, the parent is found by its SHA-1 whatever its name.
  fs::rename(parent, dir_ / "any name.chd");
  Reply beside = mount(c, child);
  ASSERT_TRUE(beside.ok) << beside.message;
  EXPECT_EQ(beside.result["drive"]["image"]["files"][0], (dir_ / "any name.chd").string());
}

// An MDX whose track data is under a user's password travels with the
// password file the caller names (--password-file), as a child CHD's parent
// does: opened by the client, sent as a descriptor, its path (not the
// secret) recorded and reopened by the restarted daemon.
TEST_F(DaemonTest, PasswordProtectedMdxTravelsWithItsPasswordFile) {
  start();
  const fs::path images = dir_ / "mdx";
  fs::create_directories(images);
  ASSERT_EQ(std::system(("'" MAKE_MIXED_CUE "' '" + images.string() + "' >/dev/null 2>&1").c_str()), 0);
  ASSERT_EQ(std::system(("'" WRITE_IMAGE "' '" + (images / "mixed.cue").string() + "' '" + images.string() +
                         "' disc --format mdx --encrypt-data --password pazz >/dev/null 2>&1")
                            .c_str()),
            0);
  const std::string mdx = (images / "disc.mdx").string();
  const std::string password = (dir_ / "password").string();
  const std::string wrong = (dir_ / "wrong").string();
  std::ofstream(password) << "pazz\n";
  std::ofstream(wrong) << "pass\n";
  ASSERT_EQ(::chmod(password.c_str(), 0600), 0);

  auto missing = open_image_to_send(mdx);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--password-file FILE"), std::string::npos) << missing.status().message();

  Client c = client();
  auto bad = open_image_to_send(mdx, {.password_file = wrong});
  ASSERT_TRUE(bad.ok()) << bad.status().message();
  auto bad_fds = bad->raw_fds();
  auto refused = c.call({{"op", "mount"}, {"image", bad->spec}}, bad_fds);
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->ok);
  EXPECT_NE(refused->message.find("does not open the track data"), std::string::npos) << refused->message;

  auto img = open_image_to_send(mdx, {.password_file = password});
  ASSERT_TRUE(img.ok()) << img.status().message();
  auto fds = img->raw_fds();
  auto r = c.call({{"op", "mount"}, {"image", img->spec}}, fds);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->ok) << r->message;
  const json& shown = r->result["drive"]["image"];
  EXPECT_EQ(shown["format"], "mdx");
  ASSERT_EQ(shown["files"].size(), 1u);
  EXPECT_EQ(shown["files"][0], password);
  const int64_t sectors = capacity(*engine(0));
  EXPECT_GT(sectors, 0);
  stop();

  start();
  Client c2 = client();
  Reply l = call(c2, {{"op", "list"}});
  ASSERT_TRUE(l.ok);
  const json& drives = l.result["drives"];
  ASSERT_EQ(drives.size(), 1u) << drives.dump();
  EXPECT_EQ(drives[0]["image"]["path"], mdx) << drives.dump();
  EXPECT_EQ(drives[0]["image"]["files"][0], password) << drives.dump();
  EXPECT_EQ(capacity(*engine(0)), sectors);
}

TEST_F(DaemonTest, DescriptorsThatProveNoReadRightAreRefused) {
  start();
  const std::string secret = make_iso("secret.iso", 16, 1, 0600);
  Client c = client();
  struct Case {
    int flags;
    const char* needle;
  };
  for (const Case& k : {Case{O_PATH, "O_PATH"}, Case{O_WRONLY, "not open for reading"}}) {
    UniqueFd f(::open(secret.c_str(), k.flags | O_CLOEXEC));
    ASSERT_TRUE(f.valid());
    const int fd = f.get();
    auto r = c.call({{"op", "mount"}, {"image", {{"path", secret}}}}, std::span<const int>(&fd, 1));
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->code, ErrorCode::bad_image);
    EXPECT_NE(r->message.find(k.needle), std::string::npos) << r->message;
  }
  UniqueFd dirfd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  const int fd = dirfd.get();
  auto r = c.call({{"op", "mount"}, {"image", {{"path", "dir"}}}}, std::span<const int>(&fd, 1));
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->message.find("not a regular file"), std::string::npos) << r->message;
  EXPECT_EQ(daemon_->controller().drive_count(), 0u);
}

TEST_F(DaemonTest, OwnershipBetweenTwoUids) {
  start();
  Client root = client();
  ASSERT_TRUE(mount(root, make_iso("root.iso", 64, 0x11, 0600)).ok);  // drive 0, root's
  const std::string users = make_iso("user.iso", 32, 0x22, 0644);
  const std::string roots_only = (dir_ / "root.iso").string();

  const std::string out = run_as(kOtherUid, kOtherGid, [&]() -> std::string {
    auto c = Client::connect(socket_);
    if (!c.ok()) return "connect: " + c.status().message();
    json result;
    auto do_call = [&](json req) -> json {
      auto r = c->call(std::move(req));
      if (!r.ok()) return "transport";
      return r->ok ? json("ok") : json(to_string(r->code));
    };
    // Everyone may list, but not see other users' image paths.
    auto l = c->call({{"op", "list"}});
    result["list"] = l.ok() && l->ok ? l->result["drives"][0]["image"] : json("failed");
    result["eject_roots"] = do_call({{"op", "eject"}, {"drive", 0}});
    result["remove_roots"] = do_call({{"op", "remove"}, {"drive", 0}});
    result["identity_roots"] = do_call({{"op", "set_identity"}, {"drive", 0}, {"identity", {{"vendor", "X"}}}});
    // A file this user cannot read never leaves the client.
    auto denied = open_image_to_send(roots_only);
    result["open_roots"] = denied.ok() ? "opened?!" : denied.status().message();
    auto img = open_image_to_send(users);
    if (!img.ok()) return "open user.iso: " + img.status().message();
    json req = {{"op", "mount"}, {"image", img->spec}};
    auto fds = img->raw_fds();
    auto m = c->call(req, fds);
    result["mount"] = m.ok() && m->ok ? m->result["drive"] : json(m.ok() ? m->message : m.status().message());
    result["eject_own"] = do_call({{"op", "eject"}, {"drive", 1}});
    return result.dump();
  });
  json r = json::parse(out, nullptr, false);
  ASSERT_FALSE(r.is_discarded()) << out;
  EXPECT_FALSE(r["list"].contains("path")) << r["list"];
  EXPECT_EQ(r["list"]["format"], "iso");
  EXPECT_EQ(r["eject_roots"], "permission_denied");
  EXPECT_EQ(r["remove_roots"], "permission_denied");
  EXPECT_EQ(r["identity_roots"], "permission_denied");
  EXPECT_NE(r["open_roots"].get<std::string>().find("Permission denied"), std::string::npos) << r["open_roots"];
  ASSERT_TRUE(r["mount"].is_object()) << r["mount"];
  EXPECT_EQ(r["mount"]["drive"], 1);
  EXPECT_EQ(r["mount"]["owner_uid"], kOtherUid);
  EXPECT_EQ(r["mount"]["image"]["path"], users);
  EXPECT_EQ(r["eject_own"], "ok");

  // Root's drive is untouched; root may change anyone's drive.
  EXPECT_EQ(capacity(*engine(0)), 64);
  EXPECT_TRUE(call(root, {{"op", "remove"}, {"drive", 1}}).ok);
  auto saved = load_state(state_);
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(saved->drives.size(), 1u);
}

TEST_F(DaemonTest, InjectedCredentialsOwnership) {
  // The same rules without sockets: the controller trusts only the credentials it is given.
  DaemonOptions o = options();
  o.state_path.clear();
  auto backend = make_none_backend();
  Controller ctl(o, *backend);
  ASSERT_TRUE(ctl.restore().ok());
  std::deque<UniqueFd> none;
  const Credentials alice{1001, 1001, 1}, bob{1002, 1002, 2}, root{0, 0, 3};
  auto ok = [](const std::string& reply) { return json::parse(reply)["ok"].get<bool>(); };
  auto code = [](const std::string& reply) { return json::parse(reply)["error"]["code"].get<std::string>(); };
  ASSERT_TRUE(ok(ctl.handle_line(R"({"v":1,"id":1,"op":"create"})", alice, none)));
  EXPECT_EQ(code(ctl.handle_line(R"({"v":1,"id":2,"op":"eject","drive":0})", bob, none)), "permission_denied");
  EXPECT_EQ(code(ctl.handle_line(R"({"v":1,"id":3,"op":"remove","drive":0})", bob, none)), "permission_denied");
  EXPECT_TRUE(ok(ctl.handle_line(R"({"v":1,"id":4,"op":"eject","drive":0})", alice, none)));
  EXPECT_TRUE(ok(ctl.handle_line(R"({"v":1,"id":5,"op":"remove","drive":0})", root, none)));
  // Per-user limit.
  DaemonOptions small = o;
  small.max_drives_per_user = 2;
  Controller ctl2(small, *backend);
  ASSERT_TRUE(ok(ctl2.handle_line(R"({"v":1,"id":1,"op":"create"})", alice, none)));
  ASSERT_TRUE(ok(ctl2.handle_line(R"({"v":1,"id":2,"op":"create"})", alice, none)));
  EXPECT_EQ(code(ctl2.handle_line(R"({"v":1,"id":3,"op":"create"})", alice, none)), "limit");
  EXPECT_TRUE(ok(ctl2.handle_line(R"({"v":1,"id":4,"op":"create"})", bob, none)));
}

TEST_F(DaemonTest, LockedDriveRefusesEjectUnlessForced) {
  start();
  Client c = client();
  ASSERT_TRUE(mount(c, make_iso("a.iso", 100)).ok);
  ASSERT_EQ(capacity(*engine(0)), 100);
  // PREVENT ALLOW MEDIUM REMOVAL, PREVENT=1 (SPC-5 6.13), as a mounted file system sends it.
  ScsiOut p = scsi(*engine(0), {0x1E, 0, 0, 0, 1, 0}, 0);
  ASSERT_EQ(p.r.status, device::ScsiStatus::good);
  EXPECT_TRUE(call(c, {{"op", "list"}}).result["drives"][0]["locked"].get<bool>());

  for (const char* op : {"eject", "remove"}) {
    Reply r = call(c, {{"op", op}, {"drive", 0}});
    EXPECT_FALSE(r.ok) << op;
    EXPECT_EQ(r.code, ErrorCode::locked) << op;
    EXPECT_NE(r.message.find("--force"), std::string::npos) << r.message;
  }
  // The refused eject reached the host as a real drive's button does: an
  // eject-request media event (MMC-6 6.8.2.4, media event code 1).
  bool eject_request_seen = false;
  for (int poll = 0; poll < 4 && !eject_request_seen; ++poll) {
    // GET EVENT STATUS NOTIFICATION, polled, media class (bit 4).
    ScsiOut g = scsi(*engine(0), {0x4A, 0x01, 0, 0, 0x10, 0, 0, 0, 8, 0}, 8);
    ASSERT_EQ(g.r.status, device::ScsiStatus::good);
    eject_request_seen = (g.data[2] & 0x07) == 4 && (g.data[4] & 0x0F) == 1;
  }
  EXPECT_TRUE(eject_request_seen);
  Reply ins = call(c, {{"op", "insert"}, {"drive", 0}}, make_iso("b.iso", 10));
  EXPECT_EQ(ins.code, ErrorCode::locked);
  EXPECT_EQ(capacity(*engine(0)), 100);  // still the first disc

  Reply forced = call(c, {{"op", "eject"}, {"drive", 0}, {"force", true}});
  ASSERT_TRUE(forced.ok) << forced.message;
  EXPECT_EQ(capacity(*engine(0)), -1);
}

TEST_F(DaemonTest, MalformedRequestsGetErrorsAndTheDaemonLives) {
  start();
  Client c = client();
  struct Case {
    std::string line;
    const char* code;
  };
  const std::vector<Case> cases = {
      {"hello\n", "bad_request"},
      {"{}\n", "bad_request"},
      {std::string("\x00\x01\xff{\n", 5), "bad_request"},
      {R"({"v":1,"id":1,"op":"mount","image":{},"fds":1})"
       "\n",
       "bad_request"},  // declares a descriptor it lacks
      {R"({"v":1,"id":2,"op":"eject","drive":"/dev/sr99"})"
       "\n",
       "not_found"},
      {R"({"v":3,"id":3,"op":"list"})"
       "\n",
       "unsupported_version"},
      {R"({"v":1,"id":4,"op":"create","drive":"/dev/sr0"})"
       "\n",
       "bad_request"},
  };
  for (const auto& k : cases) {
    auto r = c.raw(k.line);
    ASSERT_TRUE(r.ok()) << r.status().message();
    json j = json::parse(*r, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << *r;
    EXPECT_FALSE(j["ok"].get<bool>());
    EXPECT_EQ(j["error"]["code"], k.code) << *r;
  }
  // Descriptors sent with a request that takes none are closed, not kept.
  {
    UniqueFd f(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const int fd = f.get();
    auto r = c.raw(R"({"v":1,"id":9,"op":"list"})"
                   "\n",
                   std::span<const int>(&fd, 1));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(json::parse(*r)["ok"].get<bool>());
  }
  // A message longer than the limit: an error, then the connection closes.
  std::string huge(kMaxMessageBytes + 10, 'x');
  auto r = c.raw(huge);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NE(r->find("longer than"), std::string::npos) << *r;
  auto after = c.raw("{}\n");
  EXPECT_FALSE(after.ok());
  // Everyone else is still served.
  Client d = client();
  EXPECT_TRUE(call(d, {{"op", "hello"}}).ok);
}

TEST_F(DaemonTest, StalledClientsDoNotBlockOthers) {
  start();
  // One client sends half a request and stops; another never reads its replies.
  auto half = Client::connect(socket_);
  ASSERT_TRUE(half.ok());
  ASSERT_TRUE(send_with_fds(half->fd(), R"({"v":1,"id":1,"op":"li)", {}).ok());
  auto flood = Client::connect(socket_);
  ASSERT_TRUE(flood.ok());
  ::fcntl(flood->fd(), F_SETFL, O_NONBLOCK);
  std::string many;
  for (int i = 0; i < 2000; ++i)
    many += R"({"v":1,"id":1,"op":"list"})"
            "\n";
  std::atomic<bool> stop{false};
  std::thread flooder([&] {
    while (!stop) {
      if (::send(flood->fd(), many.data(), many.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  });
  Client c = client();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(call(c, {{"op", "hello"}}).ok);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  flooder.join();
  EXPECT_LT(ms, 5000) << "50 requests took " << ms << " ms beside a stalled and a flooding client";
}

TEST_F(DaemonTest, SixteenDrivesAtOnce) {
  start();
  Client c = client();
  for (int i = 0; i < 16; ++i) {
    std::string name = "d";  // appended, not "d" + ...: GCC 12 -O3 -Wrestrict false positive
    name.append(std::to_string(i)).append(".iso");
    Reply m = mount(c, make_iso(name, 100 + i, static_cast<uint8_t>(i)));
    ASSERT_TRUE(m.ok) << m.message;
    EXPECT_EQ(m.result["drive"]["drive"], i);
  }
  // Reads on every drive at once while the control socket keeps answering.
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (uint32_t i = 0; i < 16; ++i) {
    readers.emplace_back([&, i] {
      auto d = engine(i);
      if (capacity(*d) != 100 + static_cast<int>(i)) ++bad;
      for (int k = 0; k < 50; ++k) {
        ScsiOut o = scsi(*d, {0x28, 0, 0, 0, 0, static_cast<uint8_t>(k), 0, 0, 1, 0}, 2048);
        if (o.r.status != device::ScsiStatus::good || o.data[0] != i) ++bad;
      }
    });
  }
  for (int k = 0; k < 20; ++k) EXPECT_TRUE(call(c, {{"op", "status"}}).ok);
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  Reply l = call(c, {{"op", "list"}});
  ASSERT_EQ(l.result["drives"].size(), 16u);
  for (const json& d : l.result["drives"]) EXPECT_GE(d["counters"]["commands"].get<uint64_t>(), 51u);
  ASSERT_EQ(load_state(state_)->drives.size(), 16u);
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(call(c, {{"op", "remove"}, {"drive", i}}).ok);
  EXPECT_TRUE(load_state(state_)->drives.empty());
}

TEST_F(DaemonTest, RestartRestoresDrivesAsTheirOwners) {
  start();
  const std::string a = make_iso("a.iso", 111, 0xAA);
  const std::string replaced = make_iso("replaced.iso", 50);
  const std::string users = make_iso("user.iso", 222, 0xBB, 0644);
  const std::string revoked = make_iso("revoked.iso", 33, 0xCC, 0644);
  Client c = client();
  ASSERT_TRUE(mount(c, a).ok);  // drive 0
  ASSERT_TRUE(
      call(c, {{"op", "set_identity"}, {"drive", 0}, {"identity", {{"vendor", "PLEXTOR"}, {"serial", "S123"}}}}).ok);
  ASSERT_TRUE(mount(c, replaced).ok);           // drive 1
  ASSERT_TRUE(call(c, {{"op", "create"}}).ok);  // drive 2
  ASSERT_TRUE(call(c, {{"op", "eject"}, {"drive", 2}}).ok);
  const std::string out = run_as(kOtherUid, kOtherGid, [&]() -> std::string {
    auto uc = Client::connect(socket_);
    if (!uc.ok()) return "connect";
    std::string res;
    for (const std::string& path : {users, revoked}) {
      auto img = open_image_to_send(path);
      if (!img.ok()) return img.status().message();
      auto fds = img->raw_fds();
      auto m = uc->call({{"op", "mount"}, {"image", img->spec}}, fds);
      res += m.ok() && m->ok ? std::to_string(m->result["drive"]["drive"].get<int>()) : "failed";
    }
    return res;
  });
  ASSERT_EQ(out, "34");
  stop();  // SIGTERM path: everything is kept

  // Between the runs: one image is replaced by another file, another is no
  // longer readable by its owner.
  fs::remove(replaced);
  make_iso("replaced.iso", 60);
  ASSERT_EQ(::chmod(revoked.c_str(), 0600), 0);

  start();
  Client c2 = client();
  Reply l = call(c2, {{"op", "list"}});
  ASSERT_TRUE(l.ok);
  const json& drives = l.result["drives"];
  ASSERT_EQ(drives.size(), 5u) << drives.dump();
  EXPECT_EQ(drives[0]["image"]["path"], a);
  EXPECT_EQ(drives[0]["identity"]["vendor"], "PLEXTOR");
  EXPECT_EQ(drives[0]["identity"]["serial"], "S123");
  EXPECT_EQ(capacity(*engine(0)), 111);
  EXPECT_TRUE(drives[1]["image"].is_null());  // replaced: not the file that was inserted
  EXPECT_TRUE(log_contains("drive 1: image not restored")) << "the log says why drive 1 came back empty";
  EXPECT_EQ(drives[2]["tray"], "open");
  EXPECT_EQ(drives[3]["owner_uid"], kOtherUid);
  EXPECT_EQ(drives[3]["image"]["path"], users);
  EXPECT_EQ(capacity(*engine(3)), 222);
  EXPECT_TRUE(drives[4]["image"].is_null());  // its owner can no longer read it
  EXPECT_TRUE(log_contains("Permission denied"));
  EXPECT_EQ(capacity(*engine(4)), -1);
  // Serials survive a restart (udev's by-id links stay stable).
  EXPECT_EQ(drives[3]["identity"]["serial"].get<std::string>().size(), 12u);
}

TEST_F(DaemonTest, CorruptStateFileStopsTheStart) {
  fs::create_directories(fs::path(state_).parent_path());
  std::ofstream(state_) << R"({"format":"udisc-state","version":1,"drives":[{"number":"zero"}]})";
  Daemon d(options(), make_none_backend());
  Status s = d.start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(state_), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("drives[0].number"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace udisc::daemon

// ---- folders and files in places other users can write (issue 11 §1, lower items)

namespace udisc::daemon {
namespace {

TEST_F(DaemonTest, CreatesAMissingStateFolderPrivateAndRefusesAWritableOne) {
  // Missing: created 0700 with its missing parents.
  state_ = (dir_ / "var" / "lib" / "udisc" / "state.json").string();
  start();
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "var" / "lib" / "udisc").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  Client c = client();
  ASSERT_TRUE(mount(c, make_iso("a.iso", 20)).ok);
  stop();
  // Writable by others (not sticky): refused, naming the folder and the fix.
  const fs::path open_dir = dir_ / "shared";
  fs::create_directories(open_dir);
  ASSERT_EQ(::chmod(open_dir.c_str(), 0777), 0);
  state_ = (open_dir / "state.json").string();
  const std::string why = start_error(options());
  EXPECT_NE(why.find("writable by other users"), std::string::npos) << why;
  EXPECT_NE(why.find(open_dir.string()), std::string::npos) << why;
  EXPECT_NE(why.find("chmod go-w"), std::string::npos) << why;
}

TEST_F(DaemonTest, RefusesASocketFolderOthersCanWriteAndAnotherUsersFolder) {
  const fs::path open_dir = dir_ / "sock";
  fs::create_directories(open_dir);
  ASSERT_EQ(::chmod(open_dir.c_str(), 0757), 0);
  socket_ = (open_dir / "control.sock").string();
  {
    const std::string why = start_error(options());
    EXPECT_NE(why.find("socket folder"), std::string::npos) << why;
  }
  ASSERT_EQ(::chmod(open_dir.c_str(), 0755), 0);
  ASSERT_EQ(::chown(open_dir.c_str(), kOtherUid, kOtherGid), 0);
  const std::string why = start_error(options());
  EXPECT_NE(why.find("belongs to uid 65534"), std::string::npos) << why;
}

TEST_F(DaemonTest, SymlinksPlantedInAStickyFolderAreNotFollowed) {
  // A sticky folder all may write, like /tmp: another user plants symlinks
  // at the socket path and the state file's temporary name, pointing at
  // files root owns.
  const fs::path shared = dir_ / "tmp";
  fs::create_directories(shared);
  ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);
  const fs::path victim = dir_ / "victim";
  std::ofstream(victim) << "precious";
  ASSERT_EQ(::chmod(victim.c_str(), 0644), 0);
  socket_ = (shared / "udisc.sock").string();
  state_ = (shared / "udisc-state.json").string();
  const std::string planted = run_as(kOtherUid, kOtherGid, [&]() -> std::string {
    if (::symlink(victim.c_str(), socket_.c_str()) != 0) return "symlink socket";
    if (::symlink(victim.c_str(), (state_ + ".tmp").c_str()) != 0) return "symlink tmp";
    return "ok";
  });
  ASSERT_EQ(planted, "ok");
  // The socket path holds a symlink: not a socket, so the daemon refuses
  // rather than chmod/chown through it.
  {
    const std::string why = start_error(options());
    EXPECT_NE(why.find("not a socket"), std::string::npos) << why;
  }
  ASSERT_EQ(::unlink(socket_.c_str()), 0);
  start();
  Client c = client();
  // The temporary name is another user's symlink: removed, not written
  // through (O_EXCL | O_NOFOLLOW); the state is saved, the victim untouched.
  ASSERT_TRUE(mount(c, make_iso("a.iso", 20)).ok);
  stop();
  EXPECT_EQ(load_state(state_)->drives.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u) << "chmod went through a symlink";
  EXPECT_EQ(st.st_uid, 0u);
  std::ifstream in(victim);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "precious");
}

TEST_F(DaemonTest, AStateFileOfAnotherUserIsNotBelieved) {
  const fs::path shared = dir_ / "tmp";
  fs::create_directories(shared);
  ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);
  state_ = (shared / "udisc-state.json").string();
  const std::string planted = run_as(kOtherUid, kOtherGid, [&]() -> std::string {
    std::ofstream(state_) << R"({"format":"udisc-state","version":1,"drives":[]})";
    std::ofstream(state_ + ".lock") << "";
    return "ok";
  });
  ASSERT_EQ(planted, "ok");
  {
    const std::string why = start_error(options());
    EXPECT_NE(why.find("not a regular file of uid 0"), std::string::npos) << why;
  }
  ASSERT_EQ(::unlink((state_ + ".lock").c_str()), 0);
  const std::string why = start_error(options());
  EXPECT_NE(why.find("state file"), std::string::npos) << why;
  EXPECT_NE(why.find("not a regular file of uid 0"), std::string::npos) << why;
}

}  // namespace
}  // namespace udisc::daemon

// ---- limits on connections and descriptors (issue 11, D2 and D3)

namespace udisc::daemon {
namespace {

// Connects as `uid` in a child; returns how many of `count` connections the
// daemon kept (a refused one gets a "limit" line and is closed). The child
// holds them until `hold_ms` is over.
int connect_many_as(uid_t uid, gid_t gid, const std::string& socket, int count, int hold_ms) {
  const std::string out = run_as(uid, gid, [&]() -> std::string {
    std::vector<UniqueFd> conns;
    for (int i = 0; i < count; ++i) {
      auto c = connect_unix(socket);
      if (c.ok()) conns.push_back(std::move(c).value());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    int kept = 0;
    for (auto& c : conns) {
      char b;
      const ssize_t n = ::recv(c.get(), &b, 1, MSG_DONTWAIT);
      kept += n < 0 && errno == EAGAIN;  // nothing said, still open
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
    return std::to_string(kept);
  });
  return std::atoi(out.c_str());
}

TEST_F(DaemonTest, PerUserConnectionCapAndRootAlwaysAdmitted) {
  DaemonOptions o = options();
  o.max_clients = 10;
  o.max_clients_per_user = 4;
  start(o);
  std::atomic<int> kept{-1};
  std::thread holder([&] { kept = connect_many_as(kOtherUid, kOtherGid, socket_, 30, 1500); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // Root gets through while the other user holds all it may.
  for (int i = 0; i < 5; ++i) {
    Client c = client();
    EXPECT_TRUE(call(c, {{"op", "list"}}).ok);
  }
  holder.join();
  EXPECT_EQ(kept.load(), 4);
}

TEST_F(DaemonTest, IdleAndPartialConnectionsTimeOut) {
  DaemonOptions o = options();
  o.idle_timeout_ms = 300;
  o.partial_timeout_ms = 300;
  start(o);
  auto idle = Client::connect(socket_);
  auto partial = Client::connect(socket_);
  ASSERT_TRUE(idle.ok() && partial.ok());
  ASSERT_TRUE(send_with_fds(partial->fd(), R"({"v":1,"id":1,"op":"li)", {}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  char buf[512];
  timeval tv{2, 0};
  ::setsockopt(idle->fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(partial->fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_EQ(::recv(idle->fd(), buf, sizeof buf, 0), 0) << "the idle connection is closed";
  const ssize_t n = ::recv(partial->fd(), buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_NE(std::string(buf, static_cast<size_t>(n)).find("incomplete"), std::string::npos);
  // A connection in use is not cut.
  Client c = client();
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(call(c, {{"op", "list"}}).ok);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

TEST_F(DaemonTest, QueuedDescriptorsAreCappedPerConnectionAndPerUser) {
  DaemonOptions o = options();
  o.max_queued_fds = 10;
  o.max_queued_fds_per_user = 15;
  start(o);
  const std::string out = run_as(kOtherUid, kOtherGid, [&]() -> std::string {
    UniqueFd null(::open("/dev/null", O_RDONLY));
    std::vector<int> ten(10, null.get());
    std::string res;
    // Ten per connection are kept (one request's worth) ...
    auto a = connect_unix(socket_);
    if (!a.ok() || !send_with_fds(a->get(), R"({"v":1,)", ten).ok()) return "send a";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    char b;
    res += ::recv(a->get(), &b, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN ? "kept " : "closed ";
    // ... but not eleven, nor more than fifteen for the user in all.
    auto c = connect_unix(socket_);
    if (!c.ok() || !send_with_fds(c->get(), R"({"v":1,)", ten).ok()) return "send c";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    char line[512];
    const ssize_t n = ::recv(c->get(), line, sizeof line, MSG_DONTWAIT);
    res += n > 0 && std::string(line, static_cast<size_t>(n)).find("too many descriptors") != std::string::npos
               ? "refused"
               : "accepted";
    return res;
  });
  EXPECT_EQ(out, "kept refused");
  Client c = client();
  EXPECT_TRUE(call(c, {{"op", "list"}}).ok);
  EXPECT_LT(open_fd_count(), fds_at_start_ + 20) << "descriptors the daemon still holds";
}

TEST_F(DaemonTest, AnImageTurnedIntoAFifoDoesNotHangTheRestart) {
  start();
  const fs::path home = dir_ / "home";
  fs::create_directories(home);
  ASSERT_EQ(::chown(home.c_str(), kOtherUid, kOtherGid), 0);
  const std::string iso = (home / "mine.iso").string();
  make_iso("mine.iso", 30);
  fs::rename(dir_ / "mine.iso", iso);
  ASSERT_EQ(::chown(iso.c_str(), kOtherUid, kOtherGid), 0);
  const std::string out = run_as(kOtherUid, kOtherGid, [&]() -> std::string {
    auto uc = Client::connect(socket_);
    auto img = open_image_to_send(iso);
    if (!uc.ok() || !img.ok()) return "open";
    auto fds = img->raw_fds();
    auto m = uc->call({{"op", "mount"}, {"image", img->spec}}, fds);
    return m.ok() && m->ok ? "ok" : "failed";
  });
  ASSERT_EQ(out, "ok");
  stop();
  ASSERT_EQ(::unlink(iso.c_str()), 0);
  ASSERT_EQ(::mkfifo(iso.c_str(), 0644), 0);
  ASSERT_EQ(::chown(iso.c_str(), kOtherUid, kOtherGid), 0);
  const auto t0 = std::chrono::steady_clock::now();
  start();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 3000) << "start took " << ms << " ms";
  Client c = client();
  Reply l = call(c, {{"op", "list"}});
  ASSERT_EQ(l.result["drives"].size(), 1u);
  EXPECT_TRUE(l.result["drives"][0]["image"].is_null());
  EXPECT_TRUE(log_contains("not a regular file or block device"));
}

// ---- images the daemon fetches from a URL (a real nginx on 127.0.0.1) ----

class DaemonUrlTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    if (!remote::Nginx::available()) GTEST_SKIP() << "nginx is not installed (tools/install-deps.sh)";
    nginx_ = std::make_unique<remote::Nginx>();
    const std::string iso = make_iso("web.iso", 150, 0x5A);
    fs::copy_file(iso, nginx_->root() / "disc.iso");
    fs::permissions(nginx_->root() / "disc.iso", fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    ASSERT_TRUE(nginx_->start()) << nginx_->error();
    token_file_ = (dir_ / "token.txt").string();
    std::ofstream(token_file_) << "bearer " << remote::Nginx::kBearerToken << "\n";
  }
  void TearDown() override {
    nginx_.reset();
    DaemonTest::TearDown();
  }

  // A mount of `url` with the "image" argument url_image_spec builds.
  Reply mount_url(Client& c, const std::string& url, const std::string& ca_file = "", const std::string& auth = "") {
    auto spec = url_image_spec(url, ca_file, auth);
    EXPECT_TRUE(spec.ok()) << spec.status().message();
    return call(c, {{"op", "mount"}, {"image", spec.ok() ? *spec : json()}});
  }

  // Everything a reply or the log said must not hold the secret.
  void expect_no_secret(const std::string& text, const std::string& where) {
    EXPECT_EQ(text.find(remote::Nginx::kBearerToken), std::string::npos) << where << ": " << text;
    EXPECT_EQ(text.find("BEGIN CERTIFICATE"), std::string::npos) << where << ": " << text;
  }

  std::unique_ptr<remote::Nginx> nginx_;
  std::string token_file_;
};

TEST_F(DaemonUrlTest, MountListOwnershipSecretsErrorsAndRestart) {
  start();
  Client c = client();
  const std::string plain = nginx_->url("/disc.iso");
  const std::string secret = nginx_->url("/private/disc.iso", true);
  std::string replies;

  // Plain http: the daemon fetches it; the owner sees the URL.
  Reply m = mount_url(c, plain);
  ASSERT_TRUE(m.ok) << m.message;
  EXPECT_EQ(m.result["drive"]["drive"], 0);
  EXPECT_EQ(capacity(*engine(0)), 150);
  // HTTPS with the test CA (sent as PEM text) and a bearer token from a file.
  m = mount_url(c, secret, nginx_->ca_file(), token_file_);
  ASSERT_TRUE(m.ok) << m.message;
  EXPECT_EQ(m.result["drive"]["drive"], 1);
  EXPECT_EQ(capacity(*engine(1)), 150);
  replies += m.result.dump();
  auto listed = c.raw(R"({"v":1,"id":"l","op":"status"})" "\n");
  ASSERT_TRUE(listed.ok());
  replies += *listed;
  json l = json::parse(*listed)["result"]["drives"];
  EXPECT_EQ(l[0]["image"]["url"], plain);
  EXPECT_EQ(l[0]["image"]["path"], plain);
  EXPECT_EQ(l[1]["image"]["url"], secret);
  EXPECT_EQ(l[1]["image"]["format"], "iso");

  // Another uid: sees the drives but not the URLs, cannot eject or remove them.
  const std::string out = run_as(kOtherUid, kOtherGid, [&]() -> std::string {
    auto uc = Client::connect(socket_);
    if (!uc.ok()) return "connect";
    json result;
    auto code = [&](json req) -> json {
      auto r = uc->call(std::move(req));
      return !r.ok() ? json("transport") : r->ok ? json("ok") : json(to_string(r->code));
    };
    auto lr = uc->call({{"op", "list"}});
    result["list"] = lr.ok() && lr->ok ? lr->result["drives"][1]["image"] : json("failed");
    result["eject"] = code({{"op", "eject"}, {"drive", 1}});
    result["remove"] = code({{"op", "remove"}, {"drive", 1}});
    result["insert"] = code({{"op", "insert"}, {"drive", 1}, {"image", {{"url", plain}}}});
    return result.dump();
  });
  json o = json::parse(out, nullptr, false);
  ASSERT_FALSE(o.is_discarded()) << out;
  EXPECT_FALSE(o["list"].contains("url")) << o["list"];
  EXPECT_FALSE(o["list"].contains("path")) << o["list"];
  EXPECT_EQ(o["eject"], "permission_denied");
  EXPECT_EQ(o["remove"], "permission_denied");
  EXPECT_EQ(o["insert"], "permission_denied");
  replies += out;

  // Refusals, each with a clear message and no drive left behind.
  struct Bad {
    json image;
    ErrorCode code;
    std::string says;
  };
  std::ifstream ca_in(nginx_->ca_file());
  const std::string ca_pem((std::istreambuf_iterator<char>(ca_in)), std::istreambuf_iterator<char>());
  const std::vector<Bad> bad = {
      {{{"url", nginx_->url("/missing.iso")}}, ErrorCode::bad_image, "404"},
      {{{"url", nginx_->url("/noranges/disc.iso")}}, ErrorCode::bad_image, "range"},
      {{{"url", nginx_->url("/private/disc.iso")}}, ErrorCode::bad_image, "credentials"},
      {{{"url", secret}, {"auth", "bearer not-the-token"}, {"ca_pem", ca_pem}},
       ErrorCode::bad_image,
       "credentials"},
      {{{"url", secret}, {"auth", std::string("bearer ") + remote::Nginx::kBearerToken}},
       ErrorCode::bad_image,
       "certificate"},  // no CA sent: verification stays on
      {{{"url", "ftp://127.0.0.1/disc.iso"}}, ErrorCode::bad_request, "http:// or https://"},
      {{{"url", "file:///etc/shadow"}}, ErrorCode::bad_request, "http:// or https://"},
      {{{"url", "http://user:pw@127.0.0.1/disc.iso"}}, ErrorCode::bad_request, "credentials"},
      {{{"url", plain}, {"auth", "token"}}, ErrorCode::bad_request, "bearer TOKEN"},
      {{{"url", plain}, {"files", {"a.bin"}}}, ErrorCode::bad_request, "image.files"},
      {{{"url", "http://127.0.0.1:1/disc.iso"}}, ErrorCode::bad_image, "127.0.0.1:1"},
  };
  for (const Bad& b : bad) {
    Reply r = call(c, {{"op", "mount"}, {"image", b.image}});
    EXPECT_FALSE(r.ok) << b.image;
    EXPECT_EQ(r.code, b.code) << b.image << ": " << r.message;
    EXPECT_NE(r.message.find(b.says), std::string::npos) << b.image << ": " << r.message;
    replies += r.message;
  }
  EXPECT_EQ(daemon_->controller().drive_count(), 2u);
  // A URL with descriptors is malformed, not half-used.
  int fd = ::open(make_iso("x.iso", 16).c_str(), O_RDONLY | O_CLOEXEC);
  auto withfd = c.call({{"op", "mount"}, {"image", {{"url", plain}}}}, std::span<const int>(&fd, 1));
  ::close(fd);
  ASSERT_TRUE(withfd.ok());
  EXPECT_EQ(withfd->code, ErrorCode::bad_request) << withfd->message;

  // The state file holds the credentials: root's only.
  struct stat st {};
  ASSERT_EQ(::stat(state_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(fs::path(state_).parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);

  // A restart fetches both again, with the recorded credentials and CA.
  stop();
  start();
  Client c2 = client();
  auto relisted = c2.raw(R"({"v":1,"id":"l2","op":"list"})" "\n");
  ASSERT_TRUE(relisted.ok());
  replies += *relisted;
  json l2 = json::parse(*relisted)["result"]["drives"];
  ASSERT_EQ(l2.size(), 2u) << l2;
  EXPECT_EQ(l2[0]["image"]["url"], plain);
  EXPECT_EQ(l2[1]["image"]["url"], secret);
  EXPECT_EQ(l2[1]["owner_uid"], 0);
  EXPECT_EQ(capacity(*engine(0)), 150);
  EXPECT_EQ(capacity(*engine(1)), 150);

  expect_no_secret(replies, "replies");
  std::lock_guard lock(log_mu_);
  for (const auto& line : log_) expect_no_secret(line, "log");
}

// Reads `count` sectors from `lba` through the engine, as a transport would.
ScsiOut read10(device::Drive& d, uint32_t lba, uint16_t count) {
  return scsi(d,
              {0x28, 0, static_cast<uint8_t>(lba >> 24), static_cast<uint8_t>(lba >> 16), static_cast<uint8_t>(lba >> 8),
               static_cast<uint8_t>(lba), 0, static_cast<uint8_t>(count >> 8), static_cast<uint8_t>(count), 0},
              count * 2048u);
}
// Sense key, ASC, ASCQ of a CHECK CONDITION (fixed sense); {0,0,0} for GOOD.
std::array<int, 3> sense_of(const ScsiOut& o) {
  if (o.r.status == device::ScsiStatus::good || o.r.sense_length < 14) return {0, 0, 0};
  return {o.r.sense[2] & 0x0F, o.r.sense[12], o.r.sense[13]};
}

TEST_F(DaemonUrlTest, AReplacedObjectBecomesANewMediumAndADownServerAMediumError) {
  // Like `udisc serve`'s LUNs (remote/remote_media.h): a drive whose object
  // is replaced on the server gets the new version as a new medium, never a
  // disc made of both; a stopped server fails reads of what is not cached
  // with a medium error, the other drives keep serving, and reads recover
  // once the server is back.
  DaemonOptions o = options();
  o.url_revalidate_every = std::chrono::milliseconds(300);
  start(o);
  Client c = client();
  const std::string url = nginx_->url("/disc.iso");
  ASSERT_TRUE(mount_url(c, url).ok);                    // drive 0: 150 sectors, byte 0 of each = 0x5A
  ASSERT_TRUE(mount(c, make_iso("local.iso", 64, 0x11)).ok);  // drive 1: a local file
  fs::copy_file(make_iso("big.iso", 4096, 0x77), nginx_->root() / "big.iso");
  ASSERT_TRUE(mount_url(c, nginx_->url("/big.iso")).ok);  // drive 2: 8 MiB, read only later
  auto status_of = [&](int drive) {
    auto r = c.call({{"op", "status"}, {"drive", drive}});
    return r.ok() && r->ok ? r->result["drives"][0] : json();
  };
  const std::string v1 = status_of(0)["image"].value("version", "");
  EXPECT_NE(v1.find("ETag"), std::string::npos) << status_of(0);
  device::Drive& d0 = *engine(0);
  ASSERT_EQ(capacity(d0), 150);
  for (uint32_t lba = 0; lba < 150; lba += 10) {
    ScsiOut r = read10(d0, lba, 10);
    ASSERT_EQ(sense_of(r), (std::array<int, 3>{0, 0, 0}));
    for (int i = 0; i < 10; ++i) ASSERT_EQ(r.data[i * 2048u], 0x5A) << lba + i;
  }

  // The object is replaced (same size, new content and date: a new ETag).
  const std::string v2_path = make_iso("v2.iso", 150, 0xA5);
  fs::last_write_time(v2_path, fs::last_write_time(nginx_->root() / "disc.iso") + std::chrono::seconds(10));
  fs::rename(v2_path, nginx_->root() / "disc.iso");
  // A reader going round the disc sees version 1 whole (from the cache), or
  // medium errors, until a unit attention 28/00 announces the new medium;
  // from then on only version 2. Never a sector of the other version.
  bool changed = false;
  int medium_errors = 0, v2_reads = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (uint32_t lba = 0; v2_reads < 15 && std::chrono::steady_clock::now() < deadline; lba = (lba + 10) % 150) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ScsiOut r = read10(d0, lba, 10);
    const auto sense = sense_of(r);
    if (sense == std::array<int, 3>{6, 0x28, 0}) {
      EXPECT_FALSE(changed) << "a second medium change";
      changed = true;
      continue;
    }
    if (sense[0] == 3) {
      ++medium_errors;
      EXPECT_FALSE(changed) << "the new medium failed a read at LBA " << lba;
      continue;
    }
    ASSERT_EQ(sense, (std::array<int, 3>{0, 0, 0})) << "LBA " << lba;
    for (int i = 0; i < 10; ++i) ASSERT_EQ(r.data[i * 2048u], changed ? 0xA5 : 0x5A) << "LBA " << lba + i;
    v2_reads += changed;
  }
  EXPECT_TRUE(changed) << "no unit attention 28/00 within 20 s";
  EXPECT_EQ(v2_reads, 15);
  json now = status_of(0);
  EXPECT_NE(now["image"].value("version", ""), v1) << now;
  EXPECT_NE(now["image"].value("version", "").find("ETag"), std::string::npos) << now;
  EXPECT_TRUE(log_contains("drive 0: '" + url + "' changed on the server (" + v1 + " -> "));

  // The server stops. Drive 2 fails what it has not cached with a medium
  // error (after its retries), while drive 1 and the control socket answer
  // at once; drive 2 reads again once the server is back.
  const std::string big_version = status_of(2)["image"].value("version", "");
  ASSERT_EQ(capacity(*engine(1)), 64);  // (clears the unit attentions of the new disc)
  ASSERT_EQ(capacity(*engine(2)), 4096);
  nginx_->stop();
  std::array<int, 3> down_sense{};
  std::thread slow([&] { down_sense = sense_of(read10(*engine(2), 3000, 16)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto t0 = std::chrono::steady_clock::now();
  ScsiOut local = read10(*engine(1), 0, 64);
  const json listed = status_of(1);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(sense_of(local)[0], 0);
  EXPECT_EQ(local.data[63 * 2048u], 0x11);
  EXPECT_EQ(listed.value("drive", -1), 1) << listed;
  EXPECT_LT(took, std::chrono::milliseconds(500));
  slow.join();
  EXPECT_EQ(down_sense[0], 3) << "medium error expected, got sense key " << down_sense[0];
  ASSERT_TRUE(nginx_->start()) << nginx_->error();
  ScsiOut back = read10(*engine(2), 3000, 16);
  EXPECT_EQ(sense_of(back)[0], 0);
  EXPECT_EQ(back.data[15 * 2048u], 0x77);
  EXPECT_EQ(status_of(2)["image"].value("version", ""), big_version) << "a server that was down is no new version";
  RecordProperty("medium_errors_before_the_new_medium", medium_errors);
}

TEST_F(DaemonUrlTest, ASlowServerCostsItsCallerTheDeadlineOnly) {
  // A listener that accepts and never answers: the mount is refused after
  // probe_timeout, and another user is served meanwhile.
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string stalled = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/disc.iso";
  DaemonOptions opt = options();
  opt.probe_timeout = std::chrono::milliseconds(500);
  start(opt);
  Client c = client();
  const auto t0 = std::chrono::steady_clock::now();
  Reply r = mount_url(c, stalled);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("did not answer within 500 ms"), std::string::npos) << r.message;
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_EQ(daemon_->controller().drive_count(), 0u);
  // The next request of the same uid is refused while the first still hangs,
  // others' requests are answered at once.
  Reply again = mount_url(c, nginx_->url("/disc.iso"));
  EXPECT_FALSE(again.ok);
  EXPECT_NE(again.message.find("still being read"), std::string::npos) << again.message;
  const std::string other = run_as(kOtherUid, kOtherGid, [&]() -> std::string {
    auto uc = Client::connect(socket_);
    if (!uc.ok()) return "connect";
    auto spec = url_image_spec(nginx_->url("/disc.iso"), "", "");
    auto m = uc->call({{"op", "mount"}, {"image", *spec}});
    return m.ok() && m->ok ? "ok" : m.ok() ? m->message : m.status().message();
  });
  EXPECT_EQ(other, "ok");
  ::close(listener);  // the hanging fetch fails now; stop() waits for nothing
}

}  // namespace
}  // namespace udisc::daemon

// ---- a slow image does not stall the daemon (issue 11, D1)

namespace udisc::daemon {
namespace {

TEST_F(DaemonTest, ASlowImageStallsNeitherOtherClientsNorItsOwnConnectionForever) {
  DaemonOptions o = options();
  o.probe_timeout = std::chrono::milliseconds(800);
  // Stands for a FUSE/NFS file that answers after 3 s: reading "slow.iso"
  // waits first, any other image is read at once.
  o.read_image = [](const ImageSpec& spec, std::vector<UniqueFd> fds) {
    if (spec.path.find("slow.iso") != std::string::npos) std::this_thread::sleep_for(std::chrono::seconds(3));
    return open_received_image(spec, std::move(fds));
  };
  start(o);
  const std::string slow = make_iso("slow.iso", 20);
  const std::string fast = make_iso("fast.iso", 21);
  std::atomic<int> slow_ms{-1};
  std::string slow_message;
  std::thread slow_client([&] {
    Client c = client();
    const auto t0 = std::chrono::steady_clock::now();
    Reply r = mount(c, slow);
    slow_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
    slow_message = r.ok ? "ok" : r.message;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Meanwhile everyone else is answered at once.
  Client other = client();
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(call(other, {{"op", "list"}}).ok);
    EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count(),
              300);
  }
  slow_client.join();
  EXPECT_GE(slow_ms.load(), 700);
  EXPECT_LT(slow_ms.load(), 2500) << "the slow read is given up after probe_timeout";
  EXPECT_NE(slow_message.find("did not answer within 800 ms"), std::string::npos) << slow_message;
  // While the abandoned read still runs, the same user's next image is refused ...
  Reply refused = mount(other, fast);
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.message.find("still being read"), std::string::npos) << refused.message;
  // ... and accepted once it has finished.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_TRUE(mount(other, fast).ok);
  EXPECT_EQ(call(other, {{"op", "list"}}).result["drives"].size(), 1u);
}

}  // namespace
}  // namespace udisc::daemon
