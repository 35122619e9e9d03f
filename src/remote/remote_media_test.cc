// RemoteMedia against a real web server (nginx on 127.0.0.1): a replaced
// object — the main file or a companion a cue sheet names — is offered once
// as a new version; a forgotten medium is not; a new version that cannot be
// opened, or that its owner cannot insert, is reported once and tried again;
// a slow server delays only its own medium.
#include "remote/remote_media.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>
#include <fstream>

#include "remote/testing/nginx.h"

namespace udisc::remote {
namespace {

namespace fs = std::filesystem;

class RemoteMediaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Nginx::available()) GTEST_SKIP() << "nginx is not installed (tools/install-deps.sh installs it)";
    server_ = std::make_unique<Nginx>();
    ASSERT_TRUE(server_->start()) << server_->error();
    replace("disc.iso", sectors(32, 1));
    replace("track.bin", sectors(32, 2));
    replace("disc.cue", "FILE \"track.bin\" BINARY\n  TRACK 01 MODE1/2048\n    INDEX 01 00:00:00\n");
  }

  static std::string sectors(int count, char tag) {
    std::string data(static_cast<size_t>(count) * 2048, '\0');
    for (int s = 0; s < count; ++s) data[static_cast<size_t>(s) * 2048] = tag;
    return data;
  }
  // Puts `bytes` at `name` as a new object: written aside and renamed, with
  // a later date (nginx's ETag is date and size).
  void replace(const std::string& name, const std::string& bytes) {
    const fs::path at = server_->root() / name;
    const fs::path aside = server_->root() / (".new-" + name);
    std::ofstream(aside, std::ios::binary) << bytes;
    if (fs::exists(at)) fs::last_write_time(aside, fs::last_write_time(at) + std::chrono::seconds(10 * ++generation_));
    fs::rename(aside, at);
  }
  RemoteMedia::Reopen reopen(const std::string& name) {
    return [url = server_->url("/" + name)] { return open_location(url, HttpOptions{}); };
  }
  static char first_byte(const OpenedLocation& opened) {
    std::vector<uint8_t> sector(2048);
    EXPECT_TRUE(opened.image->read_user(0, 1, sector).ok());
    return static_cast<char>(sector[0]);
  }

  std::unique_ptr<Nginx> server_;
  int generation_ = 0;
};

TEST_F(RemoteMediaTest, AReplacedObjectOrCompanionIsOfferedOnceAsANewVersion) {
  std::vector<RemoteMedia::NewVersion> offered;
  std::vector<std::string> logged;
  RemoteMedia media([&](const RemoteMedia::NewVersion& v) { offered.push_back(v); return Status::Ok(); },
                    [&](const std::string& line) { logged.push_back(line); }, std::chrono::milliseconds(0),
                    std::chrono::hours(1));
  auto iso = open_location(server_->url("/disc.iso"), HttpOptions{});
  auto cue = open_location(server_->url("/disc.cue"), HttpOptions{});
  ASSERT_TRUE(iso.ok() && cue.ok());
  ASSERT_EQ(cue->companions.size(), 1u);
  media.watch(1, "disc.iso", *iso, reopen("disc.iso"));
  media.watch(2, "disc.cue", *cue, reopen("disc.cue"));
  media.check();
  EXPECT_TRUE(offered.empty());

  replace("disc.iso", sectors(32, 3));
  replace("track.bin", sectors(32, 4));  // the cue sheet itself is unchanged
  media.check();
  ASSERT_EQ(offered.size(), 2u);
  std::sort(offered.begin(), offered.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  EXPECT_EQ(offered[0].key, 1u);
  EXPECT_EQ(offered[0].replaced, iso->http);
  EXPECT_NE(offered[0].old_version, offered[0].new_version);
  EXPECT_EQ(first_byte(offered[0].opened), 3);
  EXPECT_EQ(offered[1].key, 2u);
  EXPECT_EQ(first_byte(offered[1].opened), 4);
  EXPECT_TRUE(iso->http->changed());
  // The new versions are watched now: nothing more to offer.
  media.check();
  EXPECT_EQ(offered.size(), 2u);
  ASSERT_EQ(media.traffic().size(), 2u);
  EXPECT_EQ(media.traffic()[0].version, offered[0].new_version);

  // A forgotten medium is not watched.
  media.forget(2);
  replace("track.bin", sectors(32, 5));
  media.check();
  EXPECT_EQ(offered.size(), 2u);
  EXPECT_TRUE(logged.empty());
}

TEST_F(RemoteMediaTest, ANewVersionThatCannotBeOpenedOrInsertedIsReportedOnceAndTriedAgain) {
  int offers = 0;
  Status answer = Status::IoError("the drive refused");
  std::vector<std::string> logged;
  RemoteMedia media([&](const RemoteMedia::NewVersion&) { ++offers; return answer; },
                    [&](const std::string& line) { logged.push_back(line); }, std::chrono::milliseconds(0),
                    std::chrono::hours(1));
  auto iso = open_location(server_->url("/disc.iso"), HttpOptions{});
  ASSERT_TRUE(iso.ok());
  media.watch(7, "disc.iso", *iso, reopen("disc.iso"));

  replace("disc.iso", "not a disc");  // 10 bytes: no format opens it
  media.check();
  media.check();
  EXPECT_EQ(offers, 0);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("cannot be opened yet"), std::string::npos) << logged[0];

  replace("disc.iso", sectors(16, 6));
  media.check();
  media.check();
  EXPECT_EQ(offers, 2);  // offered on every pass until it is in the drive
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_NE(logged[1].find("the drive refused"), std::string::npos) << logged[1];
  answer = Status::Ok();
  media.check();
  media.check();
  EXPECT_EQ(offers, 3);
}

TEST_F(RemoteMediaTest, ASlowServerDelaysOnlyItsOwnMedium) {
  std::mutex mu;
  std::vector<RemoteMedia::Key> offered;
  std::atomic<bool> slow_done{false};  // before `media`, whose end waits for the slow task
  RemoteMedia media(
      [&](const RemoteMedia::NewVersion& v) {
        std::lock_guard lock(mu);
        offered.push_back(v.key);
        return Status::Ok();
      },
      [](const std::string&) {}, std::chrono::milliseconds(0), std::chrono::milliseconds(100));
  auto slow = open_location(server_->url("/disc.iso"), HttpOptions{});
  auto fast = open_location(server_->url("/disc.cue"), HttpOptions{});
  ASSERT_TRUE(slow.ok() && fast.ok());
  // Stands for a server that takes 3 s to answer (its time-outs and retries).
  media.watch(1, "slow", *slow, [&]() -> Result<OpenedLocation> {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    slow_done = true;
    return Status::IoError("timed out");
  });
  media.watch(2, "fast", *fast, reopen("disc.cue"));
  replace("disc.iso", sectors(32, 7));
  replace("track.bin", sectors(32, 8));
  const auto t0 = std::chrono::steady_clock::now();
  bool fast_offered = false;
  while (!fast_offered && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard lock(mu);
    fast_offered = std::find(offered.begin(), offered.end(), 2u) != offered.end();
  }
  EXPECT_TRUE(fast_offered);
  EXPECT_FALSE(slow_done) << "the fast medium waited for the slow one";
}

}  // namespace
}  // namespace udisc::remote
