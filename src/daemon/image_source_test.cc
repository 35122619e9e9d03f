// Images from descriptors: descriptor checks, recorded paths, cue companion
// files found as the cue reader finds them, reopening as another user.
#include "daemon/image_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace udisc::daemon {
namespace {

namespace fs = std::filesystem;

class ImageSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path("/tmp") / ("udisc-image-source-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "sub");
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec |
                              fs::perms::group_read | fs::perms::group_exec);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  fs::path dir_;
};

TEST_F(ImageSourceTest, CompanionFilesResolvedLikeTheCueReader) {
  write("sub/Track 1.BIN", std::string(2048 * 4, 'a'));
  write("audio.bin", std::string(2352 * 10, 'b'));
  const std::string cue = write("disc.cue",
                                "FILE \"sub\\track 1.bin\" BINARY\n  TRACK 01 MODE1/2048\n    INDEX 01 00:00:00\n"
                                "FILE \"/elsewhere/AUDIO.BIN\" BINARY\n  TRACK 02 AUDIO\n    INDEX 01 00:00:00\n");
  std::vector<std::string> refs, paths;
  ASSERT_TRUE(companion_files(cue, &refs, &paths).ok());
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0], "sub\\track 1.bin");                    // as written: the daemon's resolver matches this string
  EXPECT_EQ(paths[0], (dir_ / "sub/Track 1.BIN").string());  // backslash read as "/", last component without case
  EXPECT_EQ(paths[1], (dir_ / "audio.bin").string());        // bare file name next to the sheet, without case

  // A plain image has no companions; a sheet with a syntax error names its line.
  std::vector<std::string> none_refs, none_paths;
  ASSERT_TRUE(companion_files(write("x.iso", std::string(2048, '\0')), &none_refs, &none_paths).ok());
  EXPECT_TRUE(none_refs.empty());
  Status bad = companion_files(write("bad.cue", "FILE \"a.bin\" BINARY\n  TRACK 01 MODE9/2048\n"), &refs, &paths);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("line 2"), std::string::npos) << bad.message();
}

TEST_F(ImageSourceTest, DescriptorsAreCheckedAndRecorded) {
  const std::string iso = write("a.iso", std::string(2048 * 8, 'x'));
  UniqueFd fd(::open(iso.c_str(), O_RDONLY | O_CLOEXEC));
  auto rec = describe_fd(fd.get(), "a.iso");
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_EQ(rec->path, iso);
  EXPECT_EQ(rec->size, 2048u * 8);

  std::vector<UniqueFd> fds;
  fds.push_back(std::move(fd));
  auto opened = open_received_image(ImageSpec{iso, {}}, std::move(fds));
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_TRUE(opened->record.reopenable);
  EXPECT_EQ(opened->record.format, "iso");
  EXPECT_EQ(opened->image->disc().leadout_lba(), 8);

  // A memfd works now but cannot be reopened after a restart.
  UniqueFd mem(::memfd_create("disc", MFD_CLOEXEC));
  ASSERT_EQ(::write(mem.get(), std::string(2048 * 2, 'm').data(), 4096), 4096);
  std::vector<UniqueFd> mfds;
  mfds.push_back(std::move(mem));
  auto m = open_received_image(ImageSpec{"disc", {}}, std::move(mfds));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_FALSE(m->record.reopenable);
  EXPECT_FALSE(reopen_image(m->record, 0, 0).ok());

  // A companion sent with an image that is no cue sheet is refused.
  std::vector<UniqueFd> two;
  two.emplace_back(::open(iso.c_str(), O_RDONLY | O_CLOEXEC));
  two.emplace_back(::open(iso.c_str(), O_RDONLY | O_CLOEXEC));
  auto r = open_received_image(ImageSpec{iso, {"a.bin"}}, std::move(two));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("is an image of one file"), std::string::npos) << r.status().message();
}

TEST_F(ImageSourceTest, OpenAsUserUsesThatUsersRights) {
  const std::string open_file = write("open.iso", std::string(2048, 'o'));
  const std::string closed_file = write("closed.iso", std::string(2048, 'c'));
  fs::permissions(open_file, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(closed_file, fs::perms::owner_read);
  auto as_nobody = open_as_user({open_file, closed_file, (dir_ / "missing.iso").string()}, 65534, 65534);
  ASSERT_EQ(as_nobody.size(), 3u);
  EXPECT_TRUE(as_nobody[0].ok()) << as_nobody[0].status().message();
  ASSERT_FALSE(as_nobody[1].ok());
  EXPECT_NE(as_nobody[1].status().message().find("Permission denied"), std::string::npos)
      << as_nobody[1].status().message();
  ASSERT_FALSE(as_nobody[2].ok());
  EXPECT_EQ(as_nobody[2].status().code(), Status::Code::not_found);
  if (::geteuid() == 0) {
    auto as_root = open_as_user({closed_file}, 0, 0);
    EXPECT_TRUE(as_root[0].ok());
  }
}

}  // namespace
}  // namespace udisc::daemon
