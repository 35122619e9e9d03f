// The same disc in every format reads as the same disc through the udisc
// binary: `udisc info --json` prints the same document, and `udisc convert`
// writes the same raw sector stream (the same BIN files, byte for byte), for
// the project's mixed-mode disc written as CloneCD, NRG v1/v2, cdrdao TOC,
// DiscJuggler CDI v2/v3.5 and an ECM-compressed BIN/CUE (issue 10,
// "Sameness"); the converted cue sheet, CD-TEXT included, is the same for
// every format that keeps CD-TEXT. MDS v1 cannot hold the MCN/ISRC/INDEX 02
// (docs/formats/mds.md): its converted sectors are compared, not its TOC.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef UDISC_BIN
#error "UDISC_BIN must name the udisc binary"
#endif

namespace {

namespace fs = std::filesystem;

std::string quote(const std::string& s) { return "'" + s + "'"; }
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class FormatsE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string d = (fs::temp_directory_path() / "udisc_formats_e2e_XXXXXX").string();
    ASSERT_NE(::mkdtemp(d.data()), nullptr);
    dir_ = d;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string run(const std::string& cmd, int* status) {
    const std::string line = "(" + cmd + ") >" + quote((dir_ / "out.txt").string()) + " 2>&1 </dev/null";
    const int raw = std::system(line.c_str());
    *status = raw != -1 && WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return slurp(dir_ / "out.txt");
  }
  std::string ok(const std::string& cmd) {
    int status = 0;
    std::string out = run(cmd, &status);
    EXPECT_EQ(status, 0) << cmd << "\n" << out;
    return out;
  }
  // `udisc convert IMAGE -o OUT/disc.cue`; returns the BIN files' bytes in name order.
  // `options`: more options for convert (e.g. " --password-file FILE").
  std::string converted(const fs::path& image, const std::string& name, const std::string& options = "") {
    const fs::path out = dir_ / ("conv-" + name);
    fs::create_directories(out);
    ok(quote(UDISC_BIN) + " convert " + quote(image.string()) + options + " -o " + quote((out / "disc.cue").string()));
    std::vector<fs::path> bins;
    for (const auto& e : fs::directory_iterator(out)) {
      if (e.path().extension() == ".bin") bins.push_back(e.path());
    }
    std::sort(bins.begin(), bins.end());
    std::string all;
    for (const auto& b : bins) all += b.filename().string() + "\n" + slurp(b);
    return all;
  }
  fs::path dir_;
};

TEST_F(FormatsE2e, EveryFormatIsTheSameDiscForInfoAndConvert) {
  ok(quote(MAKE_MIXED_CUE) + " " + quote(dir_.string()));
  const fs::path cue = dir_ / "mixed.cue";
  const std::string w = quote(WRITE_IMAGE) + " " + quote(cue.string()) + " " + quote(dir_.string());
  ok(w + " ccd --format ccd --sub");
  ok(w + " nrg1 --format nrg1");
  ok(w + " nrg2 --format nrg2 --sub");
  ok(w + " toc --format toc");
  ok(w + " mds --format mds --sub");
  ok(w + " cdi2 --format cdi2");
  ok(w + " cdi35 --format cdi35 --sub");
  // An ECM-compressed BIN named by its cue sheet.
  ok(quote(WRITE_IMAGE) + " --ecm " + quote((dir_ / "mixed (Track 01).bin").string()) + " " +
     quote((dir_ / "mixed (Track 01).bin.ecm").string()));
  std::string sheet = slurp(cue);
  sheet.replace(sheet.find("(Track 01).bin\""), 15, "(Track 01).bin.ecm\"");
  std::ofstream(dir_ / "ecm.cue") << sheet;

  const std::string info = ok(quote(UDISC_BIN) + " info --json " + quote(cue.string()));
  const std::string reference = converted(cue, "cue");
  ASSERT_GT(reference.size(), 1000000u);
  for (const char* image : {"ccd.ccd", "nrg1.nrg", "nrg2.nrg", "toc.toc", "cdi2.cdi", "cdi35.cdi", "ecm.cue"}) {
    EXPECT_EQ(ok(quote(UDISC_BIN) + " info --json " + quote((dir_ / image).string())), info) << image;
    EXPECT_TRUE(converted(dir_ / image, image) == reference) << image << ": converted sectors differ";
  }
  EXPECT_TRUE(converted(dir_ / "mds.mds", "mds") == reference) << "mds: converted sectors differ";
  // The cue sheet convert writes carries the disc's CD-TEXT (TITLE, PERFORMER
  // of the disc and tracks): read from the CloneCD [CDText] entries, the Nero
  // CDTX chunk and the DiscJuggler disc block, it is the source cue's. (cdrdao
  // TOC CD_TEXT blocks and MDS v1 hold none here.)
  const std::string sheet_ref = slurp(dir_ / "conv-cue" / "disc.cue");
  ASSERT_NE(sheet_ref.find("TITLE \"Mixed-mode test disc\""), std::string::npos) << sheet_ref;
  for (const char* image : {"ccd.ccd", "nrg1.nrg", "nrg2.nrg", "cdi2.cdi", "cdi35.cdi", "ecm.cue"}) {
    EXPECT_EQ(slurp(dir_ / ("conv-" + std::string(image)) / "disc.cue"), sheet_ref) << image;
  }
}

// MDS version 2 and MDX (docs/formats/mds.md) hold what MDS version 1 holds:
// the same multisession disc written as version 1, version 2 (.mds + .mdf),
// MDX, and both with LRW-encrypted track data prints the same `udisc info
// --json` and converts to the same BIN files as the version 1 image. No
// Debian tool reads version 2 or MDX; the crypto is checked against published
// vectors (src/formats/mds_crypto_test.cc).
TEST_F(FormatsE2e, MdsVersion2AndMdxAreTheSameDiscAsVersion1) {
  ok(quote(MAKE_MIXED_CUE) + " " + quote(dir_.string()) + " --multisession");
  const fs::path cue = dir_ / "mixed.cue";
  const std::string w = quote(WRITE_IMAGE) + " " + quote(cue.string()) + " " + quote(dir_.string());
  ok(w + " v1 --format mds --sub");
  ok(w + " v2 --format mds2 --sub");
  ok(w + " mdx --format mdx --sub");
  ok(w + " v2enc --format mds2 --sub --encrypt-data");
  ok(w + " mdxenc --format mdx --sub --encrypt-data");
  // Tracks stored in compressed chunks (DAEMON Tools' "compress"), plain and encrypted.
  ok(w + " v2zip --format mds2 --sub --compress-data");
  ok(w + " mdxzip --format mdx --sub --compress-data");
  ok(w + " mdxzipenc --format mdx --sub --compress-data --encrypt-data");
  const std::string info = ok(quote(UDISC_BIN) + " info --json " + quote((dir_ / "v1.mds").string()));
  ASSERT_NE(info.find("\"tracks\""), std::string::npos) << info;
  const std::string reference = converted(dir_ / "v1.mds", "v1");
  ASSERT_GT(reference.size(), 1000000u);
  for (const char* image : {"v2.mds", "mdx.mdx", "v2enc.mds", "mdxenc.mdx", "v2zip.mds", "mdxzip.mdx", "mdxzipenc.mdx"}) {
    EXPECT_EQ(ok(quote(UDISC_BIN) + " info --json " + quote((dir_ / image).string())), info) << image;
    EXPECT_TRUE(converted(dir_ / image, image) == reference) << image << ": converted sectors differ";
  }
  // Under a user's password ("protect with password"): refused without it,
  // naming the option; with --password-file the same disc.
  ok(w + " v2pass --format mds2 --sub --encrypt-data --password pazz");
  ok(w + " mdxpass --format mdx --sub --compress-data --encrypt-data --password pazz");
  std::ofstream(dir_ / "password.txt") << "pazz\n";
  const std::string password = " --password-file " + quote((dir_ / "password.txt").string());
  for (const char* image : {"v2pass.mds", "mdxpass.mdx"}) {
    int status = 0;
    const std::string refused = run(quote(UDISC_BIN) + " info --json " + quote((dir_ / image).string()), &status);
    EXPECT_NE(status, 0) << image;
    EXPECT_NE(refused.find("protected by a password"), std::string::npos) << refused;
    EXPECT_NE(refused.find("--password-file FILE"), std::string::npos) << refused;
    EXPECT_EQ(ok(quote(UDISC_BIN) + " info --json " + quote((dir_ / image).string()) + password), info) << image;
    EXPECT_TRUE(converted(dir_ / image, image, password) == reference) << image << ": converted sectors differ";
  }
  // The encrypted data is not stored in the clear: the MDX's first sectors differ from the .mdf's.
  const std::string plain = slurp(dir_ / "v1.mdf"), mdx = slurp(dir_ / "mdxenc.mdx");
  ASSERT_GT(mdx.size(), 64 + 2448u);
  EXPECT_NE(mdx.substr(64, 2448), plain.substr(0, 2448));
  // Unencrypted, the data is version 1's .mdf byte for byte (what mdf2iso checks there).
  EXPECT_EQ(slurp(dir_ / "mdx.mdx").substr(64, plain.size()), plain);
  EXPECT_EQ(slurp(dir_ / "v2.mdf"), plain);
  // Compressed, the data is smaller than version 1's .mdf.
  EXPECT_LT(slurp(dir_ / "v2zip.mdf").size(), plain.size());
}

// A child CHD through the CLI: without its parent beside it, `udisc info`
// says to name it with --parent; with --parent, info, verify and convert read
// the child's disc (converted: the same sectors as its own ISO).
TEST_F(FormatsE2e, ChildChdWithParentOption) {
  if (std::system("command -v chdman >/dev/null 2>&1") != 0) GTEST_SKIP() << "chdman (mame-tools) not installed";
  std::string a(2048 * 400, 'a'), b = a;
  b.replace(2048 * 200, 10, "0123456789");
  std::ofstream(dir_ / "a.iso", std::ios::binary) << a;
  std::ofstream(dir_ / "b.iso", std::ios::binary) << b;
  fs::create_directories(dir_ / "p");
  const std::string parent = (dir_ / "p" / "parent.chd").string(), child = (dir_ / "child.chd").string();
  ok("chdman createraw -hs 4096 -us 2048 -i " + quote((dir_ / "a.iso").string()) + " -o " + quote(parent));
  ok("chdman createraw -hs 4096 -us 2048 -i " + quote((dir_ / "b.iso").string()) + " -o " + quote(child) + " -op " +
     quote(parent));
  int status = 0;
  const std::string refused = run(quote(UDISC_BIN) + " info " + quote(child), &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(refused.find("--parent FILE"), std::string::npos) << refused;
  const std::string with = " --parent " + quote(parent);
  EXPECT_NE(ok(quote(UDISC_BIN) + " info " + quote(child) + with).find("chd"), std::string::npos);
  ok(quote(UDISC_BIN) + " verify " + quote(child) + with);
  const fs::path out = dir_ / "conv";
  fs::create_directories(out);
  ok(quote(UDISC_BIN) + " convert " + quote(child) + with + " -o " + quote((out / "disc.cue").string()));
  EXPECT_TRUE(converted(dir_ / "b.iso", "iso") == [&] {
    std::string all;
    for (const auto& e : fs::directory_iterator(out)) {
      if (e.path().extension() == ".bin") all += e.path().filename().string() + "\n" + slurp(e.path());
    }
    return all;
  }()) << "the child converts to other sectors than its ISO";
}

}  // namespace
