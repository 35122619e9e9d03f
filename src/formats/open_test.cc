#include "formats/open.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace udisc::formats {
namespace {

// A temporary directory removed (with its files) when the test ends.
class OpenImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    dir_ = std::string(tmp && *tmp ? tmp : "/tmp") + "/udisc_open_test_XXXXXX";
    ASSERT_NE(::mkdtemp(dir_.data()), nullptr);
  }
  void TearDown() override {
    for (const std::string& f : files_) ::unlink(f.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    files_.push_back(path);
    return path;
  }
  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(OpenImageTest, PlainIsoIsChosenByContentWhateverTheExtension) {
  for (const char* name : {"disc.iso", "disc.img", "disc.dat", "disc"}) {
    auto r = open_image(write(name, std::string(8 * 2048, '\x01')));
    ASSERT_TRUE(r.ok()) << name << ": " << r.status().to_string();
    EXPECT_EQ((*r)->format_name(), "iso") << name;
  }
}

TEST_F(OpenImageTest, RawSyncMakesARawImage) {
  std::string sector(2352, '\0');
  const char sync[12] = {0, '\xFF', '\xFF', '\xFF', '\xFF', '\xFF', '\xFF', '\xFF', '\xFF', '\xFF', '\xFF', 0};
  sector.replace(0, 12, sync, 12);
  sector[12] = 0x00;
  sector[13] = 0x02;
  sector[14] = 0x00;
  sector[15] = 0x01;
  std::string image;
  for (int i = 0; i < 4; ++i) image += sector;
  auto r = open_image(write("track.bin", image));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ((*r)->format_name(), "iso-raw");
}

TEST_F(OpenImageTest, UnknownAndUnsupportedFormatsAreNamed) {
  auto chd = open_image(write("game.chd", "MComprHD" + std::string(200, '\0')));
  ASSERT_FALSE(chd.ok());
  EXPECT_EQ(chd.status().code(), Status::Code::not_supported);
  EXPECT_NE(chd.status().message().find("CHD"), std::string::npos) << chd.status().message();

  auto text = open_image(write("notes.txt", "hello, this is not a disc\n"));
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("notes.txt"), std::string::npos) << text.status().message();
  EXPECT_NE(text.status().message().find("unknown image format"), std::string::npos) << text.status().message();

  auto bin = open_image(write("audio.bin", std::string(2352 * 3, '\x05')));
  ASSERT_FALSE(bin.ok());
  EXPECT_NE(bin.status().message().find(".cue"), std::string::npos) << bin.status().message();

  auto missing = open_image(dir_ + "/missing.iso");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::not_found);

  auto directory = open_image(dir_);
  EXPECT_FALSE(directory.ok());

  auto empty = open_image(write("empty.iso", ""));
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("empty"), std::string::npos);
}

TEST_F(OpenImageTest, CueSheetTextGoesToTheCueReader) {
  // The sheet names a missing BIN: the error must come from the cue reader
  // (naming the BIN), not from the ISO reader (which would complain about size).
  for (const char* text :
       {"FILE \"gone.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n",
        "\xEF\xBB\xBFrem comment\r\nfile gone.bin binary\r\n track 01 mode1/2352\r\n  index 01 00:00:00\r\n"}) {
    auto r = open_image(write("sheet.txt", text));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message().find("multiple of 2048"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("sheet.txt"), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace udisc::formats
