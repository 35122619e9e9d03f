// The medium-removal lock record: round trip, bad records named, and the lock
// surviving an engine's replacement (a daemon restart) as the host left it.
#include "daemon/prevent_record.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>

namespace udisc::daemon {
namespace {

namespace fs = std::filesystem;

constexpr device::InitiatorId kHost = 1;

class PreventRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("udisc-prevent-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "udisc_0.prevent").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& text) { std::ofstream(path_) << text; }

  // What the host (Linux's sr driver) sends: PREVENT ALLOW MEDIUM REMOVAL
  // with PREVENT = `prevent`, or TEST UNIT READY.
  static device::Response send(PreventKeeper& keeper, std::array<uint8_t, 6> cdb) {
    device::Request r;
    r.cdb = cdb;
    r.initiator = kHost;
    return keeper.execute(r);
  }
  static device::Response prevent(PreventKeeper& k, bool on) {
    return send(k, {0x1E, 0, 0, 0, on ? uint8_t{1} : uint8_t{0}, 0});
  }
  // TEST UNIT READY until the new engine's power-on unit attention is consumed
  // (the drive is empty: it then answers NOT READY).
  static void settle(PreventKeeper& k, const device::Drive& drive) {
    for (int i = 0; i < 4 && drive.has_unit_attention(kHost); ++i) send(k, {0x00, 0, 0, 0, 0, 0});
    ASSERT_FALSE(drive.has_unit_attention(kHost));
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(PreventRecordTest, MissingRecordHoldsNoLock) {
  auto h = load_prevent_record(path_);
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_TRUE(h->empty());
}

TEST_F(PreventRecordTest, RoundTripAndEmptyRemovesTheFile) {
  ASSERT_TRUE(save_prevent_record(path_, {1, 7}).ok());
  auto h = load_prevent_record(path_);
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(*h, (PreventHolders{1, 7}));
  ASSERT_TRUE(save_prevent_record(path_, {}).ok());
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_TRUE(save_prevent_record(path_, {}).ok());  // nothing to remove
}

TEST_F(PreventRecordTest, BadRecordsAreNamed) {
  for (const char* text : {"not json", "[1]", "{\"prevent\": 1}", "{\"prevent\": [\"one\"]}", "{\"prevent\": [-1]}"}) {
    write(text);
    auto h = load_prevent_record(path_);
    ASSERT_FALSE(h.ok()) << text;
    EXPECT_NE(h.status().message().find(path_), std::string::npos) << h.status().message();
  }
  write(std::string(5000, ' ') + "{\"prevent\": [1]}");
  auto big = load_prevent_record(path_);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("larger than 4 KiB"), std::string::npos) << big.status().message();
}

TEST_F(PreventRecordTest, SymlinkIsNotFollowed) {
  const std::string target = (dir_ / "elsewhere").string();
  std::ofstream(target) << "{\"prevent\": [1]}";
  fs::create_symlink(target, path_);
  auto h = load_prevent_record(path_);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("symbolic link"), std::string::npos) << h.status().message();
}

// The host locks, the daemon dies (nothing but the record survives), a new
// engine takes over: it refuses eject until the host allows removal again.
TEST_F(PreventRecordTest, LockSurvivesTheEnginesReplacement) {
  {
    auto old_engine = std::make_shared<device::Drive>();
    PreventKeeper before(old_engine, path_, {}, nullptr);
    settle(before, *old_engine);
    EXPECT_FALSE(fs::exists(path_));
    ASSERT_EQ(prevent(before, true).status, device::ScsiStatus::good);
    EXPECT_EQ(before.holders(), PreventHolders{kHost});
    ASSERT_TRUE(fs::exists(path_));  // written before the host hears GOOD
  }
  auto drive = std::make_shared<device::Drive>();
  auto holders = load_prevent_record(path_);
  ASSERT_TRUE(holders.ok()) << holders.status().message();
  ASSERT_EQ(*holders, PreventHolders{kHost});
  for (auto id : *holders) ASSERT_TRUE(replay_prevent(*drive, id).ok());
  EXPECT_FALSE(drive->has_unit_attention(kHost));  // the replay consumed the power-on attention
  EXPECT_TRUE(drive->status().locked);
  Status refused = drive->eject();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("prevented by initiator 1"), std::string::npos) << refused.message();

  PreventKeeper after(drive, path_, *holders, nullptr);
  ASSERT_EQ(prevent(after, false).status, device::ScsiStatus::good);  // the host unmounts
  EXPECT_TRUE(after.holders().empty());
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_TRUE(drive->eject().ok());
}

// A lock the engine drops by itself (a logical unit reset) leaves the record too.
TEST_F(PreventRecordTest, ResetDropsTheRecord) {
  auto drive = std::make_shared<device::Drive>();
  PreventKeeper keeper(drive, path_, {}, nullptr);
  settle(keeper, *drive);
  ASSERT_EQ(prevent(keeper, true).status, device::ScsiStatus::good);
  ASSERT_TRUE(fs::exists(path_));
  drive->logical_unit_reset();
  send(keeper, {0x00, 0, 0, 0, 0, 0});
  EXPECT_TRUE(keeper.holders().empty());
  EXPECT_FALSE(fs::exists(path_));
}

// A record that cannot be written is reported; the command still completes.
TEST_F(PreventRecordTest, UnwritableRecordIsReported) {
  std::string said;
  auto drive = std::make_shared<device::Drive>();
  PreventKeeper keeper(drive, (dir_ / "missing" / "udisc_0.prevent").string(), {},
                       [&](const std::string& line) { said = line; });
  settle(keeper, *drive);
  EXPECT_EQ(prevent(keeper, true).status, device::ScsiStatus::good);
  EXPECT_NE(said.find("may not survive a restart"), std::string::npos) << said;
}

TEST_F(PreventRecordTest, ReplayOnANewEngineSucceedsFirstTimeOrAfterAttentions) {
  device::Drive fresh;
  EXPECT_TRUE(fresh.has_unit_attention(kHost));
  ASSERT_TRUE(replay_prevent(fresh, kHost).ok());
  EXPECT_TRUE(fresh.status().locked);
  ASSERT_TRUE(replay_prevent(fresh, kHost).ok());  // already locked: a no-op
  EXPECT_TRUE(fresh.status().locked);
}

}  // namespace
}  // namespace udisc::daemon
