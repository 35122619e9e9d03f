// attach_drive / detach_drive against the fake initiator: the order of the
// initiator calls, the local-address fallback, waiting for Plug and Play,
// and that a failure leaves no target or session behind.
#include "daemon/windows/attach.h"

#include <gtest/gtest.h>

namespace udisc::win {
namespace {

TargetSpec loopback_target(const std::string& name = "iqn.2026-12.org.udisc:drive-0") {
  TargetSpec t;
  t.name = name;
  t.address = "127.0.0.1";
  t.port = 3260;
  t.chap_user = "udisc";
  t.chap_secret = "0123456789abcdef";
  return t;
}

AttachOptions quick_options(int* slept_ms = nullptr) {
  AttachOptions o;
  o.device_wait_ms = 1000;
  o.poll_interval_ms = 100;
  o.sleep = [slept_ms](int ms) {
    if (slept_ms) *slept_ms += ms;
  };
  return o;
}

TEST(AttachTest, LogsInWaitsForTheDeviceAndFindsTheLetter) {
  FakeInitiatorOptions fo;
  fo.devices_after_polls = 3;
  auto initiator = make_fake_initiator(fo);
  int slept = 0;
  Result<Attachment> a = attach_drive(*initiator, loopback_target(), quick_options(&slept));
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->drive_letter, "E:");
  EXPECT_EQ(a->device_path, "\\\\.\\CdRom1");
  EXPECT_EQ(a->address, "127.0.0.1");
  EXPECT_FALSE(a->local_address_fallback);
  EXPECT_EQ(slept, 300);  // three empty polls before Plug and Play "started" the device
  auto sessions = initiator->sessions();
  ASSERT_TRUE(sessions.ok());
  ASSERT_EQ(sessions->size(), 1u);
  EXPECT_EQ((*sessions)[0].target_name, "iqn.2026-12.org.udisc:drive-0");
}

TEST(AttachTest, SecondDriveGetsTheNextLetter) {
  auto initiator = make_fake_initiator();
  auto a = attach_drive(*initiator, loopback_target("iqn.x:drive-0"), quick_options());
  auto b = attach_drive(*initiator, loopback_target("iqn.x:drive-1"), quick_options());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->drive_letter, "E:");
  EXPECT_EQ(b->drive_letter, "F:");
  EXPECT_NE(a->device_path, b->device_path);
}

TEST(AttachTest, StoppedInitiatorServiceIsNamed) {
  FakeInitiatorOptions fo;
  fo.service_running = false;
  auto initiator = make_fake_initiator(fo);
  auto a = attach_drive(*initiator, loopback_target(), quick_options());
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("MSiSCSI"), std::string::npos) << a.status().message();
  EXPECT_NE(a.status().message().find("stopped"), std::string::npos) << a.status().message();
}

TEST(AttachTest, RefusedLoopbackLoginFallsBackToALocalAddress) {
  FakeInitiatorOptions fo;
  fo.refuse_loopback = true;
  auto initiator = make_fake_initiator(fo);
  AttachOptions o = quick_options();
  std::vector<std::string> listened;
  o.local_addresses = {"127.0.1.1", "192.168.7.20"};
  o.listen_on = [&](const std::string& address) -> Result<uint16_t> {
    listened.push_back(address);
    return uint16_t{40000};
  };
  std::vector<std::string> log;
  o.log = [&](const std::string& line) { log.push_back(line); };
  auto a = attach_drive(*initiator, loopback_target(), o);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_TRUE(a->local_address_fallback);
  EXPECT_EQ(a->address, "192.168.7.20");
  EXPECT_EQ(a->port, 40000);
  EXPECT_EQ(listened, std::vector<std::string>{"192.168.7.20"});  // loopback addresses are skipped
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log[0].find("refused"), std::string::npos);
}

TEST(AttachTest, RefusedLoopbackWithoutFallbackLeavesNothingBehind) {
  FakeInitiatorOptions fo;
  fo.refuse_loopback = true;
  auto initiator = make_fake_initiator(fo);
  auto a = attach_drive(*initiator, loopback_target(), quick_options());
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("127.0.0.1"), std::string::npos) << a.status().message();
  EXPECT_TRUE(initiator->sessions()->empty());
  // The static target was removed again: removing it once more finds nothing.
  EXPECT_EQ(initiator->remove_target("iqn.2026-12.org.udisc:drive-0").code(), Status::Code::not_found);
}

TEST(AttachTest, WrongChapSecretIsRefusedAndCleanedUp) {
  auto initiator = make_fake_initiator();
  TargetSpec t = loopback_target();
  ASSERT_TRUE(initiator->add_target(t).ok());
  t.chap_secret = "short";  // below the initiator's 96-bit minimum
  auto s = initiator->login(t);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("authentication"), std::string::npos);
}

TEST(AttachTest, NoDeviceInTimeUndoesTheLogin) {
  FakeInitiatorOptions fo;
  fo.devices_after_polls = 1000;  // Plug and Play never starts it
  auto initiator = make_fake_initiator(fo);
  auto a = attach_drive(*initiator, loopback_target(), quick_options());
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("no CD-ROM device"), std::string::npos) << a.status().message();
  EXPECT_TRUE(initiator->sessions()->empty());
  EXPECT_EQ(initiator->remove_target("iqn.2026-12.org.udisc:drive-0").code(), Status::Code::not_found);
}

TEST(AttachTest, DetachIsRefusedWhileAProgramHoldsTheVolume) {
  auto initiator = make_fake_initiator();
  auto a = attach_drive(*initiator, loopback_target(), quick_options());
  ASSERT_TRUE(a.ok());
  fake_initiator_hold_volume(*initiator, "E:", true);
  Status s = detach_drive(*initiator, *a, /*force=*/false);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("E:"), std::string::npos) << s.message();
  EXPECT_EQ(initiator->sessions()->size(), 1u);  // still attached
  // Forced: the initiator itself still refuses while the device is in use.
  EXPECT_FALSE(detach_drive(*initiator, *a, /*force=*/true).ok());
  fake_initiator_hold_volume(*initiator, "E:", false);
  EXPECT_TRUE(detach_drive(*initiator, *a, /*force=*/false).ok());
  EXPECT_TRUE(initiator->sessions()->empty());
}

TEST(AttachTest, LeftoverSessionsAreOnlyOurs) {
  auto initiator = make_fake_initiator();
  ASSERT_TRUE(attach_drive(*initiator, loopback_target("iqn.2026-12.org.udisc:drive-3"), quick_options()).ok());
  ASSERT_TRUE(attach_drive(*initiator, loopback_target("iqn.1991-05.com.microsoft:other"), quick_options()).ok());
  auto ours = leftover_sessions(*initiator, "iqn.2026-12.org.udisc:");
  ASSERT_TRUE(ours.ok());
  ASSERT_EQ(ours->size(), 1u);
  EXPECT_EQ((*ours)[0].target_name, "iqn.2026-12.org.udisc:drive-3");
}

TEST(AttachTest, LoopbackAddresses) {
  EXPECT_TRUE(is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(is_loopback_address("127.1.2.3"));
  EXPECT_TRUE(is_loopback_address("::1"));
  EXPECT_FALSE(is_loopback_address("10.0.0.1"));
  EXPECT_FALSE(is_loopback_address("1270.0.0.1"));
}

}  // namespace
}  // namespace udisc::win
