// The Windows service's controller with the real loopback host (iSCSI
// targets on 127.0.0.1) and the fake initiator: mount → list → eject →
// unmount, two users, access denied, eject refused while a program holds
// the volume, no half-made drive, restore after a crash.
#include "daemon/windows/service_controller.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "formats/file.h"

namespace udisc::win {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A small plain ISO-sized image: 300 sectors of 2048 bytes, a pattern per sector.
std::vector<uint8_t> iso_bytes() {
  std::vector<uint8_t> b(300 * 2048);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i / 2048 + i);
  return b;
}

ReceivedImage received(const std::string& path) {
  ReceivedImage r;
  r.path = path;
  r.main = formats::memory_file(iso_bytes(), path);
  return r;
}

const Caller kAnn{"S-1-5-21-1-2-3-1001", "PC\\ann", false};
const Caller kBob{"S-1-5-21-1-2-3-1002", "PC\\bob", false};
const Caller kAdmin{"S-1-5-21-1-2-3-500", "PC\\admin", true};

class ServiceControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("udisc-win-ctl-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    initiator_ = make_fake_initiator();
    host_ = make_loopback_host(make_per_boot_chap());
    controller_ = make_controller();
  }
  void TearDown() override {
    controller_.reset();
    host_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<ServiceController> make_controller() {
    ServiceOptions o;
    o.state_path = (dir_ / "udisc" / "state.json").string();
    o.attach.device_wait_ms = 200;
    o.attach.poll_interval_ms = 10;
    o.attach.sleep = [](int) {};
    ImageReopener reopen = [this](const RecordedImage& rec, const std::string&) -> Result<ReceivedImage> {
      ++reopened_;
      if (rec.path.find("gone") != std::string::npos) return Status::NotFound("'" + rec.path + "': no such file");
      return received(rec.path);
    };
    return std::make_unique<ServiceController>(o, *initiator_, *host_, reopen);
  }

  json call(const Caller& who, const std::string& line, std::optional<ReceivedImage> image = std::nullopt) {
    std::string reply = controller_->handle_line(line, who, std::move(image));
    EXPECT_FALSE(reply.empty());
    EXPECT_EQ(reply.back(), '\n');
    return json::parse(reply);
  }

  json mount(const Caller& who, const std::string& path) {
    json req = {{"v", 1}, {"id", 1}, {"op", "mount"}, {"image", {{"path", path}}}, {"fds", 1}};
    return call(who, req.dump(), received(path));
  }

  fs::path dir_;
  std::unique_ptr<Initiator> initiator_;
  std::unique_ptr<DriveHost> host_;
  std::unique_ptr<ServiceController> controller_;
  int reopened_ = 0;
};

TEST_F(ServiceControllerTest, MountListEjectUnmount) {
  json m = mount(kAnn, "C:\\discs\\a.iso");
  ASSERT_TRUE(m["ok"].get<bool>()) << m.dump();
  const json& d = m["result"]["drive"];
  EXPECT_EQ(d["letter"], "E:");
  EXPECT_EQ(d["device"], "\\\\.\\CdRom1");
  EXPECT_EQ(d["medium"], true);
  EXPECT_EQ(d["image"]["path"], "C:\\discs\\a.iso");
  EXPECT_EQ(d["image"]["sectors"], 300);
  // The loopback target: 127.0.0.1 only, a port the system picked.
  const std::string portal = d["backend"]["portal"];
  EXPECT_EQ(portal.rfind("127.0.0.1:", 0), 0u) << portal;
  EXPECT_NE(portal, "127.0.0.1:0");
  EXPECT_EQ(d["backend"]["target"], "iqn.2026-12.org.udisc:drive-0");

  json l = call(kAnn, R"({"v":1,"id":2,"op":"list"})");
  ASSERT_EQ(l["result"]["drives"].size(), 1u);

  json e = call(kAnn, R"({"v":1,"id":3,"op":"eject","drive":0})");
  ASSERT_TRUE(e["ok"].get<bool>()) << e.dump();
  EXPECT_EQ(e["result"]["drive"]["medium"], false);
  EXPECT_EQ(e["result"]["drive"]["tray"], "open");

  json u = call(kAnn, R"({"v":1,"id":4,"op":"remove","drive":0})");
  ASSERT_TRUE(u["ok"].get<bool>()) << u.dump();
  EXPECT_TRUE(initiator_->sessions()->empty());
  EXPECT_EQ(controller_->drive_count(), 0u);
}

TEST_F(ServiceControllerTest, OtherUsersGetAccessDeniedAndNoPaths) {
  ASSERT_TRUE(mount(kAnn, "C:\\Users\\ann\\secret.iso")["ok"].get<bool>());
  json l = call(kBob, R"({"v":1,"id":2,"op":"list"})");
  ASSERT_EQ(l["result"]["drives"].size(), 1u);
  EXPECT_EQ(l["result"]["drives"][0]["owner"], "PC\\ann");
  EXPECT_FALSE(l["result"]["drives"][0]["image"].contains("path"));
  for (const char* op : {"eject", "remove"}) {
    json r = call(kBob, std::string(R"({"v":1,"id":3,"op":")") + op + R"(","drive":0})");
    ASSERT_FALSE(r["ok"].get<bool>()) << op;
    EXPECT_EQ(r["error"]["code"], "permission_denied");
    EXPECT_NE(r["error"]["message"].get<std::string>().find("access denied"), std::string::npos);
  }
  json ins = call(kBob, R"({"v":1,"id":4,"op":"insert","drive":0,"image":{"path":"b.iso"},"fds":1})", received("b.iso"));
  EXPECT_EQ(ins["error"]["code"], "permission_denied");
  // An administrator may.
  json a = call(kAdmin, R"({"v":1,"id":5,"op":"eject","drive":0})");
  EXPECT_TRUE(a["ok"].get<bool>()) << a.dump();
  EXPECT_TRUE(call(kAdmin, R"({"v":1,"id":5,"op":"list"})")["result"]["drives"][0]["image"].is_null());
}

TEST_F(ServiceControllerTest, EjectAndUnmountRefusedWhileAProgramHoldsTheVolume) {
  ASSERT_TRUE(mount(kAnn, "a.iso")["ok"].get<bool>());
  fake_initiator_hold_volume(*initiator_, "E:", true);
  json e = call(kAnn, R"({"v":1,"id":2,"op":"eject","drive":0})");
  ASSERT_FALSE(e["ok"].get<bool>());
  EXPECT_EQ(e["error"]["code"], "locked");
  EXPECT_NE(e["error"]["message"].get<std::string>().find("E:"), std::string::npos);
  json r = call(kAnn, R"({"v":1,"id":3,"op":"remove","drive":0})");
  EXPECT_EQ(r["error"]["code"], "locked");
  EXPECT_EQ(controller_->drive_count(), 1u);
  EXPECT_EQ(initiator_->sessions()->size(), 1u);
  fake_initiator_hold_volume(*initiator_, "E:", false);
  EXPECT_TRUE(call(kAnn, R"({"v":1,"id":4,"op":"remove","drive":0})")["ok"].get<bool>());
}

TEST_F(ServiceControllerTest, InsertChangesTheMedium) {
  ASSERT_TRUE(mount(kAnn, "a.iso")["ok"].get<bool>());
  auto smaller = received("b.iso");
  smaller.main = formats::memory_file(std::vector<uint8_t>(100 * 2048, 7), "b.iso");
  json i = call(kAnn, R"({"v":1,"id":2,"op":"insert","drive":0,"image":{"path":"b.iso"},"fds":1})", smaller);
  ASSERT_TRUE(i["ok"].get<bool>()) << i.dump();
  EXPECT_EQ(i["result"]["drive"]["image"]["sectors"], 100);
  EXPECT_EQ(i["result"]["drive"]["image"]["path"], "b.iso");
}

TEST_F(ServiceControllerTest, IdentityChangeReattachesTheDriveWithItsMedium) {
  ASSERT_TRUE(mount(kAnn, "a.iso")["ok"].get<bool>());
  const std::string target = initiator_->sessions()->at(0).target_name;
  json bob = call(kBob, R"({"v":1,"id":2,"op":"set_identity","drive":0,"identity":{"vendor":"BOB"}})");
  EXPECT_EQ(bob["error"]["code"], "permission_denied");

  // A program holds the volume: the logout is refused and nothing changes.
  fake_initiator_hold_volume(*initiator_, "E:", true);
  json held = call(kAnn, R"({"v":1,"id":3,"op":"set_identity","drive":0,"identity":{"vendor":"PLEXTOR"}})");
  EXPECT_EQ(held["error"]["code"], "locked") << held.dump();
  json st = call(kAnn, R"({"v":1,"id":4,"op":"status","drive":0})");
  EXPECT_NE(st["result"]["drive"]["identity"]["vendor"], "PLEXTOR");
  fake_initiator_hold_volume(*initiator_, "E:", false);

  json id = call(kAnn, R"({"v":1,"id":5,"op":"set_identity","drive":0,"identity":{"vendor":"PLEXTOR","serial":"S123"}})");
  ASSERT_TRUE(id["ok"].get<bool>()) << id.dump();
  const json& d = id["result"]["drive"];
  EXPECT_EQ(d["identity"]["vendor"], "PLEXTOR");
  EXPECT_EQ(d["identity"]["serial"], "S123");
  EXPECT_EQ(d["medium"], true);
  EXPECT_EQ(d["image"]["sectors"], 300);
  EXPECT_FALSE(d["letter"].is_null());
  // Logged out and in again: one session, to the drive's target.
  ASSERT_EQ(initiator_->sessions()->size(), 1u);
  EXPECT_EQ(initiator_->sessions()->at(0).target_name, target);

  // The new identity is in the state file: a restarted service keeps it.
  controller_.reset();
  host_ = make_loopback_host(make_per_boot_chap());
  controller_ = make_controller();
  ASSERT_TRUE(controller_->restore().ok());
  json after = call(kAnn, R"({"v":1,"id":6,"op":"status","drive":0})");
  EXPECT_EQ(after["result"]["drive"]["identity"]["vendor"], "PLEXTOR");
}

TEST_F(ServiceControllerTest, BadImageLeavesNoDrive) {
  ReceivedImage bad = received("empty.iso");
  bad.main = formats::memory_file({}, "empty.iso");
  json m = call(kAnn, R"({"v":1,"id":1,"op":"mount","image":{"path":"empty.iso"},"fds":1})", bad);
  ASSERT_FALSE(m["ok"].get<bool>());
  EXPECT_EQ(m["error"]["code"], "bad_image");
  EXPECT_NE(m["error"]["message"].get<std::string>().find("empty.iso"), std::string::npos);
  EXPECT_EQ(controller_->drive_count(), 0u);
  EXPECT_TRUE(initiator_->sessions()->empty());
}

TEST_F(ServiceControllerTest, RefusedLoginLeavesNoHalfMadeDrive) {
  FakeInitiatorOptions fo;
  fo.refuse_loopback = true;
  initiator_ = make_fake_initiator(fo);
  controller_ = make_controller();
  json m = mount(kAnn, "a.iso");
  ASSERT_FALSE(m["ok"].get<bool>());
  EXPECT_EQ(m["error"]["code"], "unavailable");
  EXPECT_NE(m["error"]["message"].get<std::string>().find("127.0.0.1"), std::string::npos) << m.dump();
  EXPECT_EQ(controller_->drive_count(), 0u);
  EXPECT_TRUE(initiator_->sessions()->empty());
}

TEST_F(ServiceControllerTest, HandlesWithoutImageAndImageWithoutHandlesAreRefused) {
  json a = call(kAnn, R"({"v":1,"id":1,"op":"mount","image":{"path":"a.iso"},"fds":1})");
  EXPECT_EQ(a["error"]["code"], "bad_request");
  json b = call(kAnn, R"({"v":1,"id":2,"op":"list"})", received("a.iso"));
  EXPECT_EQ(b["error"]["code"], "bad_request");
  json c = call(kAnn, "not json");
  EXPECT_EQ(c["error"]["code"], "bad_request");
}

TEST_F(ServiceControllerTest, RestoresDrivesAfterACrash) {
  ASSERT_TRUE(mount(kAnn, "C:\\a.iso")["ok"].get<bool>());
  ASSERT_TRUE(mount(kBob, "C:\\gone.iso")["ok"].get<bool>());
  ASSERT_TRUE(call(kBob, R"({"v":1,"id":2,"op":"eject","drive":1})")["ok"].get<bool>());
  ASSERT_TRUE(mount(kBob, "C:\\gone.iso")["ok"].get<bool>());  // drive 2: its file will be gone
  // Crash: no shutdown; the initiator keeps its sessions, the targets die.
  controller_.reset();
  host_ = make_loopback_host(make_per_boot_chap());  // a new boot: a new secret
  ASSERT_EQ(initiator_->sessions()->size(), 3u);
  controller_ = make_controller();
  ASSERT_TRUE(controller_->restore().ok());
  EXPECT_EQ(controller_->drive_count(), 3u);
  EXPECT_EQ(reopened_, 2);  // drive 1 had no disc
  json l = call(kAdmin, R"({"v":1,"id":3,"op":"list"})");
  const json& drives = l["result"]["drives"];
  ASSERT_EQ(drives.size(), 3u);
  EXPECT_EQ(drives[0]["medium"], true);
  EXPECT_EQ(drives[0]["image"]["path"], "C:\\a.iso");
  EXPECT_EQ(drives[0]["owner"], "PC\\ann");
  EXPECT_EQ(drives[1]["medium"], false);
  EXPECT_EQ(drives[1]["tray"], "open");
  EXPECT_EQ(drives[2]["medium"], false);  // its image could not be reopened: the drive comes back empty
  for (const json& d : drives) EXPECT_EQ(d["attached"], true) << d.dump();
  // The old sessions were logged out; one new session per drive.
  EXPECT_EQ(initiator_->sessions()->size(), 3u);
  // Ownership survived the restart.
  EXPECT_EQ(call(kBob, R"({"v":1,"id":4,"op":"eject","drive":0})")["error"]["code"], "permission_denied");
}

TEST_F(ServiceControllerTest, CorruptStateFileIsNamed) {
  fs::create_directories(dir_ / "udisc");
  std::ofstream(dir_ / "udisc" / "state.json") << "{\"version\":1,\"drives\":[{\"drive\":\"x\"}]}";
  Status s = controller_->restore();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("state.json"), std::string::npos) << s.message();
}

TEST(PerBootChapTest, SixteenRandomCharacters) {
  ChapSecret a = make_per_boot_chap();
  ChapSecret b = make_per_boot_chap();
  EXPECT_EQ(a.secret.size(), 16u);
  EXPECT_NE(a.secret, b.secret);
  for (char c : a.secret) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)));
}

}  // namespace
}  // namespace udisc::win
