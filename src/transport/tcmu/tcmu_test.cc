// Host-side tests of the parts of TcmuDrive that need no kernel: argument
// checks, scan_configfs over a fake configfs tree, the support report.
#include "transport/tcmu/tcmu.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace udisc::tcmu {
namespace {

class FakeConfigfs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/udisc-tcmu-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + root_ + "'").c_str()); }
  void mkdirs(const std::string& rel) { std::system(("mkdir -p '" + root_ + "/" + rel + "'").c_str()); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(root_ + "/" + rel) << text; }
  std::string root_;
};

TEST_F(FakeConfigfs, ScanFindsOurDevicesAndTheirLuns) {
  mkdirs("target/core/user_0/udisc_1/attrib");
  mkdirs("target/core/user_0/udisc_2/attrib");
  mkdirs("target/core/user_0/other_dev");
  mkdirs("target/core/iblock_0/udisc_9");  // not a TCMU hba
  mkdirs("target/core/user_3/udisc_7/attrib");
  write("target/core/user_0/udisc_1/attrib/dev_config", "udisc/udisc_1\n");
  write("target/core/user_0/udisc_1/attrib/cmd_time_out", "20\n");
  write("target/core/user_0/udisc_2/attrib/cmd_time_out", "0\n");
  mkdirs("target/loopback/naa.5001405abcdef012/tpgt_1/lun/lun_0");
  ASSERT_EQ(::symlink("../../../../../core/user_0/udisc_1",
                      (root_ + "/target/loopback/naa.5001405abcdef012/tpgt_1/lun/lun_0/udisc_1").c_str()),
            0);
  auto list = scan_configfs(root_);
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 3u);
  const auto& a = (*list)[0];
  EXPECT_EQ(a.name, "udisc_1");
  EXPECT_EQ(a.hba_index, 0u);
  EXPECT_EQ(a.core_path, root_ + "/target/core/user_0/udisc_1");
  EXPECT_EQ(a.dev_config, "udisc/udisc_1");
  EXPECT_EQ(a.cmd_time_out, 20u);
  EXPECT_TRUE(a.lun_linked);
  EXPECT_EQ(a.wwn, "naa.5001405abcdef012");
  const auto& b = (*list)[1];
  EXPECT_EQ(b.name, "udisc_2");
  EXPECT_FALSE(b.lun_linked);
  EXPECT_EQ(b.cmd_time_out, 0u);
  const auto& c = (*list)[2];
  EXPECT_EQ(c.name, "udisc_7");
  EXPECT_EQ(c.hba_index, 3u);
  EXPECT_FALSE(c.lun_linked);
}

TEST_F(FakeConfigfs, ScanOfMissingTreeIsEmpty) {
  auto list = scan_configfs(root_ + "/nothing");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(FakeConfigfs, CreateRejectsBadArguments) {
  TcmuConfig cfg;
  cfg.configfs_root = root_;
  cfg.load_modules = false;
  auto handler = [](const device::Request&) { return device::Response{}; };
  for (const char* bad : {"", "udisc_", "disk_1", "udisc_a/b", "udisc_ 1", "udisc_../x"}) {
    cfg.name = bad;
    auto d = TcmuDrive::create_with_handler(cfg, handler);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), Status::Code::invalid_argument) << bad;
  }
  cfg.name = "udisc_1";
  EXPECT_EQ(TcmuDrive::create_with_handler(cfg, nullptr).status().code(), Status::Code::invalid_argument);
  cfg.cmd_time_out = 0;
  EXPECT_EQ(TcmuDrive::create_with_handler(cfg, handler).status().code(), Status::Code::invalid_argument);
  // No target_core_user in this tree: a plain explanation, not a crash.
  cfg.cmd_time_out = 20;
  auto d = TcmuDrive::create_with_handler(cfg, handler);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("target"), std::string::npos) << d.status().message();
}

TEST_F(FakeConfigfs, AdoptOfMissingDeviceIsNotFound) {
  ExistingTcmuDevice e;
  e.name = "udisc_5";
  e.core_path = root_ + "/target/core/user_0/udisc_5";
  TcmuConfig cfg;
  cfg.configfs_root = root_;
  auto d = TcmuDrive::adopt_with_handler(
      e, [](const device::Request&) { return device::Response{}; }, cfg);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::not_found);
}

TEST(KernelSupport, ReportsEveryItem) {
  const KernelSupport ks = check_kernel_support("/nonexistent-configfs");
  ASSERT_GE(ks.items.size(), 5u);
  bool all_ok = true;
  for (const auto& it : ks.items) {
    EXPECT_FALSE(it.what.empty());
    EXPECT_FALSE(it.detail.empty());
    all_ok = all_ok && it.ok;
  }
  EXPECT_EQ(ks.usable, all_ok);
  EXPECT_FALSE(ks.summary.empty());
  if (!ks.usable) {
    EXPECT_NE(ks.summary.find("udisc serve"), std::string::npos);
  }
}

}  // namespace
}  // namespace udisc::tcmu
