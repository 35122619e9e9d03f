// State file: round trip, atomic replacement, corrupt files named precisely.
#include "daemon/state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace udisc::daemon {
namespace {

namespace fs = std::filesystem;

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("udisc-state-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "sub" / "state.json").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static DaemonState sample() {
    DaemonState s;
    DriveRecord a;
    a.number = 0;
    a.owner_uid = 1000;
    a.owner_gid = 100;
    a.identity.vendor = "PIONEER";
    a.identity.product = "DVD-RW DVR-112";
    a.identity.revision = "1.21";
    a.identity.serial = "UD0011223344";
    a.identity.kind = device::DriveKind::dvd_rom;
    ImageRecord img;
    img.image = {"", "/home/u/game.cue", 2049, 77, 512};
    img.files.push_back({"track 01.bin", "/home/u/track 01.bin", 2049, 78, 2352 * 300});
    img.format = "cue";
    img.reopenable = true;
    a.image = img;
    DriveRecord b;
    b.number = 5;
    b.owner_uid = 0;
    b.tray_open = true;
    DriveRecord c;  // an image the daemon fetches: URL, credentials and CA kept for the restart
    c.number = 7;
    c.owner_uid = 1001;
    ImageRecord web;
    web.url = "https://mirror.example/private/disc.iso?sig=abc";
    web.auth = "bearer s3cret";
    web.ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    web.format = "iso";
    web.reopenable = true;
    c.image = web;
    s.drives = {a, b, c};
    return s;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(StateTest, MissingFileIsEmptyState) {
  auto s = load_state(path_);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->drives.empty());
}

TEST_F(StateTest, RoundTrip) {
  const DaemonState s = sample();
  ASSERT_TRUE(save_state(s, path_).ok());
  auto back = load_state(path_);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, s);
  // No temporary left behind; the file is private to root.
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
  EXPECT_EQ(fs::status(path_).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(StateTest, SaveReplacesAtomically) {
  DaemonState s = sample();
  ASSERT_TRUE(save_state(s, path_).ok());
  const auto inode_before = fs::hard_link_count(path_);
  // A stale temporary from a crash mid-write does not disturb the next save.
  { std::ofstream(path_ + ".tmp") << "{ torn"; }
  s.drives.pop_back();
  ASSERT_TRUE(save_state(s, path_).ok());
  auto back = load_state(path_);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->drives.size(), 2u);
  EXPECT_EQ(inode_before, 1u);
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
}

TEST_F(StateTest, CorruptFilesAreErrorsNamingTheField) {
  struct Case {
    const char* text;
    const char* needle;
  };
  const Case cases[] = {
      {"{ not json", "not valid JSON"},
      {"[]", "(top level)"},
      {R"({"format":"other","version":1,"drives":[]})", "'format'"},
      {R"({"format":"udisc-state","version":9,"drives":[]})", "'version'"},
      {R"({"format":"udisc-state","version":1})", "'drives'"},
      {R"({"format":"udisc-state","version":1,"drives":[{"number":0}]})", "drives[0].owner_uid"},
      {R"({"format":"udisc-state","version":1,"drives":[{"number":"0"}]})", "drives[0].number"},
      {R"({"format":"udisc-state","version":1,"drives":[{"number":0,"owner_uid":0,"owner_gid":0,"identity":{"vendor":"a","product":"b","revision":"c","serial":"d"},"tray":"ajar"}]})",
       "drives[0].tray"},
      {R"({"format":"udisc-state","version":1,"drives":[{"number":1,"owner_uid":0,"owner_gid":0,"identity":{"vendor":"a","product":"b","revision":"c","serial":"d"},"tray":"open"},{"number":1,"owner_uid":0,"owner_gid":0,"identity":{"vendor":"a","product":"b","revision":"c","serial":"d"},"tray":"open"}]})",
       "repeats drive 1"},
      {R"({"format":"udisc-state","version":1,"drives":[{"number":0,"owner_uid":0,"owner_gid":0,"identity":{"vendor":"a","product":"b","revision":"c","serial":"d"},"tray":"open","image":{"file":{"path":"/x","dev":1,"ino":-2,"size":0}}}]})",
       "drives[0].image.file.ino"},
  };
  fs::create_directories(fs::path(path_).parent_path());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    { std::ofstream(path_, std::ios::trunc) << c.text; }
    auto s = load_state(path_);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find(c.needle), std::string::npos) << s.status().message();
    EXPECT_NE(s.status().message().find(path_), std::string::npos) << s.status().message();
  }
}

}  // namespace
}  // namespace udisc::daemon
