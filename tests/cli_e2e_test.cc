// End-to-end tests of the udisc binary on fixtures made at test time by real
// tools (xorriso, mkudffs), checked against facts those tools and this file
// establish independently (isoinfo, xorriso -toc, udfinfo, md5sum, sha1sum,
// byte-by-byte decoding of the written BIN here).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "formats/open.h"
#include "run_command.h"

#ifndef UDISC_BIN
#error "UDISC_BIN (path of the udisc binary) must be defined"
#endif

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using udisc::testing::quote;
using udisc::testing::Ran;
using udisc::testing::slurp;

class CliTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TMPDIR");
    std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/udisc_e2e_XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    dir_ = dir;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs a shell command line; captures stdout and stderr.
  static Ran sh(const std::string& command) { return udisc::testing::run_shell(command, dir_); }
  static Ran udisc(const std::string& args) { return sh(quote(UDISC_BIN) + " " + args); }

  // A bootable ISO 9660 image with Rock Ridge, Joliet and an El Torito boot image.
  static fs::path make_iso(const std::string& name) {
    const fs::path tree = dir_ / (name + ".tree");
    fs::create_directories(tree / "docs");
    std::ofstream(tree / "readme.txt") << "uDiscMounter test disc\n";
    std::ofstream(tree / "docs" / "A long file name with spaces.txt") << std::string(100000, 'x');
    std::string boot(8192, '\0');
    for (size_t i = 0; i < boot.size(); ++i) boot[i] = static_cast<char>(i * 7 + 3);
    std::ofstream(tree / "boot.img", std::ios::binary) << boot;
    std::string big(3 * 1024 * 1024, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 24);
    std::ofstream(tree / "data.bin", std::ios::binary) << big;
    const fs::path iso = dir_ / (name + ".iso");
    Ran r = sh("xorriso -as mkisofs -quiet -R -J -V UDISC_E2E -b boot.img -no-emul-boot -boot-load-size 4 -o " +
               quote(iso.string()) + " " + quote(tree.string()));
    EXPECT_EQ(r.status, 0) << r.err;
    return iso;
  }

  static inline fs::path dir_;
};

json info_json(const fs::path& image) {
  Ran r = CliTest::udisc("info --json " + quote(image.string()));
  EXPECT_EQ(r.status, 0) << r.err;
  return json::parse(r.out, nullptr, /*allow_exceptions=*/false);
}

uint8_t bcd(int v) { return static_cast<uint8_t>(((v / 10) << 4) | (v % 10)); }

// Decodes a MODE1/2352 BIN here (not with the project's code): sync, BCD
// header and mode byte of every sector, and returns the user data.
std::string user_data_of_mode1_bin(const std::string& bin, int32_t first_lba) {
  static const std::string sync("\x00\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x00", 12);
  std::string user;
  for (size_t i = 0; i * 2352 < bin.size(); ++i) {
    const char* s = bin.data() + i * 2352;
    const int frames = first_lba + static_cast<int>(i) + 150;
    EXPECT_EQ(std::string(s, 12), sync) << "sector " << i;
    EXPECT_EQ(static_cast<uint8_t>(s[12]), bcd(frames / 4500)) << "sector " << i;
    EXPECT_EQ(static_cast<uint8_t>(s[13]), bcd(frames / 75 % 60)) << "sector " << i;
    EXPECT_EQ(static_cast<uint8_t>(s[14]), bcd(frames % 75)) << "sector " << i;
    EXPECT_EQ(s[15], 1) << "sector " << i;
    if (::testing::Test::HasFailure()) break;
    user.append(s + 16, 2048);
  }
  return user;
}

std::string first_word(const std::string& s) { return s.substr(0, s.find_first_of(" \t\n")); }

TEST_F(CliTest, InfoOfXorrisoIsoMatchesIsoinfoAndXorriso) {
  const fs::path iso = make_iso("boot");
  ASSERT_TRUE(fs::exists(iso));
  const auto sectors = static_cast<int64_t>(fs::file_size(iso) / 2048);
  ASSERT_EQ(fs::file_size(iso) % 2048, 0u);

  // The fixture is what we meant to make.
  Ran isoinfo = sh("isoinfo -d -i " + quote(iso.string()));
  ASSERT_EQ(isoinfo.status, 0) << isoinfo.err;
  EXPECT_NE(isoinfo.out.find("El Torito"), std::string::npos) << isoinfo.out;
  EXPECT_NE(isoinfo.out.find("Joliet"), std::string::npos) << isoinfo.out;
  EXPECT_NE(isoinfo.out.find("Rock Ridge"), std::string::npos) << isoinfo.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(isoinfo.out, m, std::regex("Volume size is: ([0-9]+)")));
  const int64_t volume_size = std::stoll(m[1]);
  Ran toc = sh("xorriso -indev " + quote(iso.string()) + " -toc 2>&1");
  ASSERT_EQ(toc.status, 0) << toc.out;
  ASSERT_TRUE(std::regex_search(toc.out, m, std::regex("ISO session *: *1 *, *0 *, *([0-9]+)s")));
  const int64_t toc_size = std::stoll(m[1]);

  const json j = info_json(iso);
  ASSERT_TRUE(j.is_object()) << j;
  EXPECT_EQ(j["disc_class"], "cd-rom");
  EXPECT_TRUE(j["mcn"].is_null());
  EXPECT_EQ(j["leadout_lba"], sectors);
  EXPECT_EQ(j["leadout_lba"], volume_size);
  EXPECT_EQ(j["leadout_lba"], toc_size);
  ASSERT_EQ(j["sessions"].size(), 1u);
  EXPECT_EQ(j["sessions"][0], json({{"number", 1}, {"first_track", 1}, {"last_track", 1}}));
  ASSERT_EQ(j["tracks"].size(), 1u);
  const json& t = j["tracks"][0];
  EXPECT_EQ(t["number"], 1);
  EXPECT_EQ(t["session"], 1);
  EXPECT_EQ(t["mode"], "mode1");
  EXPECT_EQ(t["flags"], json::array());
  EXPECT_EQ(t["start_lba"], 0);
  EXPECT_EQ(t["length"], sectors);
  EXPECT_EQ(t["pregap"], 0);
  EXPECT_TRUE(t["isrc"].is_null());
  // Exactly the documented keys.
  std::vector<std::string> keys, track_keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  for (auto it = t.begin(); it != t.end(); ++it) track_keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"disc_class", "leadout_lba", "mcn", "sessions", "tracks"}));
  EXPECT_EQ(track_keys,
            (std::vector<std::string>{"flags", "isrc", "length", "mode", "number", "pregap", "session", "start_lba"}));

  // The text form is a table with MSF.
  Ran text = udisc("info " + quote(iso.string()));
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("cd-rom"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("mode1"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("00:02:00"), std::string::npos) << text.out;
  EXPECT_TRUE(text.err.empty()) << text.err;
}

TEST_F(CliTest, ConvertWritesCompleteRawSectorsThatVerifyClean) {
  const fs::path iso = make_iso("conv");
  const std::string original = slurp(iso);
  const auto sectors = static_cast<int32_t>(original.size() / 2048);
  const fs::path out = dir_ / "conv-out";
  fs::create_directories(out);
  const fs::path cue = out / "Test Disc.cue";

  Ran c = udisc("convert " + quote(iso.string()) + " -o " + quote(cue.string()));
  ASSERT_EQ(c.status, 0) << c.err;
  const fs::path bin = out / "Test Disc.bin";
  ASSERT_TRUE(fs::exists(bin));
  ASSERT_EQ(fs::file_size(bin), static_cast<uintmax_t>(sectors) * 2352);
  const std::string sheet = slurp(cue);
  EXPECT_NE(sheet.find("FILE \"Test Disc.bin\" BINARY"), std::string::npos) << sheet;
  EXPECT_NE(sheet.find("TRACK 01 MODE1/2352"), std::string::npos) << sheet;
  EXPECT_NE(sheet.find("INDEX 01 00:00:00"), std::string::npos) << sheet;

  // User data of the converted image equals the original ISO, byte for byte,
  // decoded here independently of the project's readers.
  const std::string bin_bytes = slurp(bin);
  EXPECT_TRUE(user_data_of_mode1_bin(bin_bytes, 0) == original) << "user data differs from the ISO";

  // verify on the raw BIN: every sector stored, every sector good.
  Ran v = udisc("verify " + quote(bin.string()));
  EXPECT_EQ(v.status, 0) << v.out << v.err;
  EXPECT_NE(v.out.find(std::to_string(sectors) + " stored raw sectors checked, 0 bad"), std::string::npos) << v.out;
  // Its track hashes are those of the BIN file, computed by other programs.
  Ran md5 = sh("md5sum " + quote(bin.string()));
  Ran sha1 = sh("sha1sum " + quote(bin.string()));
  ASSERT_EQ(md5.status, 0);
  ASSERT_EQ(sha1.status, 0);
  EXPECT_NE(v.out.find(first_word(md5.out)), std::string::npos) << v.out << md5.out;
  EXPECT_NE(v.out.find(first_word(sha1.out)), std::string::npos) << v.out << sha1.out;
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08lx",
                crc32(0L, reinterpret_cast<const Bytef*>(bin_bytes.data()), static_cast<uInt>(bin_bytes.size())));
  EXPECT_NE(v.out.find(crc), std::string::npos) << v.out;

  // Corrupt one user byte of LBA 100: verify fails and names the LBA.
  {
    std::string bad = bin_bytes;
    bad[100 * 2352 + 500] ^= 0x40;
    std::ofstream(bin, std::ios::binary | std::ios::trunc) << bad;
    Ran b = udisc("verify " + quote(bin.string()));
    EXPECT_EQ(b.status, 1) << b.out << b.err;
    EXPECT_NE(b.err.find("LBA 100 "), std::string::npos) << b.err;
    EXPECT_NE(b.err.find("udisc: "), std::string::npos) << b.err;
    EXPECT_NE(b.out.find("1 bad"), std::string::npos) << b.out;
  }
  // A wrong header address is named as such.
  {
    std::string bad = bin_bytes;
    bad[42 * 2352 + 14] = 0x01;
    std::ofstream(bin, std::ios::binary | std::ios::trunc) << bad;
    Ran b = udisc("verify " + quote(bin.string()));
    EXPECT_EQ(b.status, 1) << b.out << b.err;
    EXPECT_NE(b.err.find("LBA 42 "), std::string::npos) << b.err;
    EXPECT_NE(b.err.find("header"), std::string::npos) << b.err;
  }
  std::ofstream(bin, std::ios::binary | std::ios::trunc) << bin_bytes;

  // The cue sheet re-opens with the cue reader: same TOC, verifies clean, same user data.
  const json from_iso = info_json(iso);
  const json from_cue = info_json(cue);
  EXPECT_EQ(from_cue, from_iso);
  Ran vc = udisc("verify " + quote(cue.string()));
  EXPECT_EQ(vc.status, 0) << vc.out << vc.err;
  EXPECT_NE(vc.out.find(std::to_string(sectors) + " stored raw sectors checked, 0 bad"), std::string::npos) << vc.out;
  EXPECT_NE(vc.out.find(first_word(md5.out)), std::string::npos) << vc.out;
  auto reopened = udisc::formats::open_image(cue.string());
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  EXPECT_EQ((*reopened)->format_name(), "cue");
  std::string user(original.size(), '\0');
  ASSERT_TRUE((*reopened)
                  ->read_user(0, static_cast<uint32_t>(sectors), {reinterpret_cast<uint8_t*>(user.data()), user.size()})
                  .ok());
  EXPECT_TRUE(user == original) << "user data read through the cue reader differs from the ISO";
  {
    std::string bad = bin_bytes;
    bad[150 * 2352 + 1000] ^= 0x01;
    std::ofstream(bin, std::ios::binary | std::ios::trunc) << bad;
    Ran b = udisc("verify " + quote(cue.string()));
    EXPECT_EQ(b.status, 1) << b.out << b.err;
    EXPECT_NE(b.err.find("LBA 150 "), std::string::npos) << b.err;
    std::ofstream(bin, std::ios::binary | std::ios::trunc) << bin_bytes;
  }
}

TEST_F(CliTest, UdfImageFromMkudffs) {
  const fs::path udf = dir_ / "empty.udf";
  ASSERT_EQ(sh("truncate -s 16M " + quote(udf.string())).status, 0);
  Ran mk = sh("mkudffs --media-type=hd --blocksize=2048 --label=UDISC " + quote(udf.string()));
  ASSERT_EQ(mk.status, 0) << mk.err;
  Ran ui = sh("udfinfo " + quote(udf.string()));
  ASSERT_EQ(ui.status, 0) << ui.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(ui.out, m, std::regex("\nblocks=([0-9]+)"))) << ui.out;
  const json j = info_json(udf);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["leadout_lba"], std::stoll(m[1]));
  EXPECT_EQ(j["disc_class"], "cd-rom");
  EXPECT_EQ(j["tracks"][0]["mode"], "mode1");

  // Converted and decoded back, the UDF volume is unchanged.
  const fs::path cue = dir_ / "udf-out" / "udf.cue";
  fs::create_directories(cue.parent_path());
  Ran c = udisc("convert " + quote(udf.string()) + " -o " + quote(cue.string()));
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_TRUE(user_data_of_mode1_bin(slurp(cue.parent_path() / "udf.bin"), 0) == slurp(udf));
}

TEST_F(CliTest, LargeUdfImageIsADvdAndCannotBecomeBinCue) {
  const fs::path udf = dir_ / "dvd.udf";
  ASSERT_EQ(sh("truncate -s 6G " + quote(udf.string())).status, 0);
  Ran mk = sh("mkudffs --media-type=hd --blocksize=2048 " + quote(udf.string()));
  ASSERT_EQ(mk.status, 0) << mk.err;
  const json j = info_json(udf);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["disc_class"], "dvd-rom-dl");
  EXPECT_EQ(j["leadout_lba"], 3 * 1024 * 1024);
  Ran c = udisc("convert " + quote(udf.string()) + " -o " + quote((dir_ / "dvd.cue").string()));
  EXPECT_EQ(c.status, 1);
  EXPECT_NE(c.err.find("udisc: "), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("dvd-rom-dl"), std::string::npos) << c.err;
  fs::remove(udf);
}

struct ExpectedTrack {
  int number, session;
  std::string mode;
  int64_t pregap, start, length;
};

std::vector<ExpectedTrack> read_expected_toc(const fs::path& p) {
  std::vector<ExpectedTrack> v;
  std::ifstream in(p);
  std::string line;
  const std::regex re(
      "track ([0-9]+) session ([0-9]+) mode ([a-z0-9_]+) pregap ([0-9]+) start ([0-9]+) length ([0-9]+)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, re)) {
      v.push_back({std::stoi(m[1]), std::stoi(m[2]), m[3], std::stoll(m[4]), std::stoll(m[5]), std::stoll(m[6])});
    }
  }
  return v;
}

// Hash lines of `udisc verify`: track number -> "crc md5 sha1".
std::map<std::string, std::string> verify_hashes(const std::string& out) {
  std::map<std::string, std::string> h;
  const std::regex re("^ *([0-9]+|image) +[a-z0-9_ ]+? +[0-9]+  ([0-9a-f]{8})  ([0-9a-f]{32})  ([0-9a-f]{40})$");
  std::istringstream in(out);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, re)) h[m[1]] = std::string(m[2]) + " " + std::string(m[3]) + " " + std::string(m[4]);
  }
  return h;
}

TEST_F(CliTest, MixedModeMultisessionCueRoundTrips) {
  const fs::path iso = make_iso("mixed-src");
  const fs::path dir = dir_ / "mixed";
  fs::create_directories(dir);
  Ran gen = sh(quote(MAKE_MIXED_CUE) + " " + quote(dir.string()) + " --iso " + quote(iso.string()) +
               " --multisession --audio-tracks 3 --name mixed");
  ASSERT_EQ(gen.status, 0) << gen.err;
  const fs::path cue = dir / "mixed.cue";
  const std::vector<ExpectedTrack> expected = read_expected_toc(dir / "expected.toc");
  ASSERT_GE(expected.size(), 4u);

  // info against the generator's own record of what it laid out.
  const json j = info_json(cue);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["mcn"], "0000000012345");
  ASSERT_EQ(j["sessions"].size(), 2u);
  ASSERT_EQ(j["tracks"].size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const json& t = j["tracks"][i];
    const ExpectedTrack& e = expected[i];
    EXPECT_EQ(t["number"], e.number);
    EXPECT_EQ(t["session"], e.session) << "track " << e.number;
    EXPECT_EQ(t["mode"], e.mode) << "track " << e.number;
    EXPECT_EQ(t["pregap"], e.pregap) << "track " << e.number;
    EXPECT_EQ(t["start_lba"], e.start) << "track " << e.number;
    EXPECT_EQ(t["length"], e.length) << "track " << e.number;
  }
  EXPECT_EQ(j["tracks"][2]["flags"], json::array({"PRE"}));
  EXPECT_EQ(j["tracks"][2]["isrc"], "ZZUDC0000003");
  Ran text = udisc("info " + quote(cue.string()));
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("audio"), std::string::npos) << text.out;

  // The generated image verifies clean.
  Ran v1 = udisc("verify " + quote(cue.string()));
  EXPECT_EQ(v1.status, 0) << v1.out << v1.err;
  EXPECT_NE(v1.out.find(", 0 bad"), std::string::npos) << v1.out;

  // Converted redump style: one BIN per track, same TOC, clean, same hashes.
  const fs::path out = dir_ / "mixed-conv" / "Mixed Disc.cue";
  fs::create_directories(out.parent_path());
  Ran c = udisc("convert " + quote(cue.string()) + " -o " + quote(out.string()));
  ASSERT_EQ(c.status, 0) << c.err;
  const std::string sheet = slurp(out);
  EXPECT_NE(sheet.find("CATALOG 0000000012345"), std::string::npos) << sheet;
  EXPECT_NE(sheet.find("ISRC ZZUDC0000003"), std::string::npos) << sheet;
  EXPECT_NE(sheet.find("FLAGS PRE"), std::string::npos) << sheet;
  EXPECT_NE(sheet.find("REM SESSION 02"), std::string::npos) << sheet;
  EXPECT_NE(sheet.find("FILE \"Mixed Disc (Track 1).bin\" BINARY"), std::string::npos) << sheet;
  EXPECT_EQ(info_json(out), j);
  Ran v2 = udisc("verify " + quote(out.string()));
  EXPECT_EQ(v2.status, 0) << v2.out << v2.err;
  const auto h1 = verify_hashes(v1.out), h2 = verify_hashes(v2.out);
  EXPECT_EQ(h1.size(), expected.size() + 1) << v1.out;
  EXPECT_EQ(h1, h2);
  // Each track's hash is that of its BIN file (md5sum, independently).
  for (const ExpectedTrack& e : expected) {
    const fs::path bin = out.parent_path() / ("Mixed Disc (Track " + std::to_string(e.number) + ").bin");
    ASSERT_TRUE(fs::exists(bin)) << bin;
    EXPECT_EQ(fs::file_size(bin) % 2352, 0u);
    Ran md5 = sh("md5sum " + quote(bin.string()));
    EXPECT_NE(h2.at(std::to_string(e.number)).find(first_word(md5.out)), std::string::npos) << e.number;
  }

  // User data of every track equals the original's, read through both images.
  auto a = udisc::formats::open_image(cue.string());
  auto b = udisc::formats::open_image(out.string());
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  for (const auto& t : (*a)->disc().tracks) {
    const uint32_t size = udisc::disc::user_data_size(t.mode);
    const uint32_t n = static_cast<uint32_t>(t.end_lba - t.start_lba);
    std::vector<uint8_t> ua(static_cast<size_t>(n) * size), ub(ua.size());
    ASSERT_TRUE((*a)->read_user(t.start_lba, n, ua).ok()) << "track " << int(t.number);
    ASSERT_TRUE((*b)->read_user(t.start_lba, n, ub).ok()) << "track " << int(t.number);
    EXPECT_TRUE(ua == ub) << "track " << int(t.number);
  }
  // Track 1 holds the ISO.
  const std::string original = slurp(iso);
  std::string track1(original.size(), '\0');
  ASSERT_TRUE((*b)->read_user(0, static_cast<uint32_t>(original.size() / 2048),
                              {reinterpret_cast<uint8_t*>(track1.data()), track1.size()})
                  .ok());
  EXPECT_TRUE(track1 == original);

  // Converting an image onto its own file names rewrites it safely (same hashes).
  a = udisc::formats::ImagePtr();
  b = udisc::formats::ImagePtr();
  Ran self = udisc("convert " + quote(out.string()) + " -o " + quote(out.string()));
  ASSERT_EQ(self.status, 0) << self.err;
  Ran v3 = udisc("verify " + quote(out.string()));
  EXPECT_EQ(v3.status, 0) << v3.out << v3.err;
  EXPECT_EQ(verify_hashes(v3.out), h2);
  for (const auto& entry : fs::directory_iterator(out.parent_path())) {
    EXPECT_NE(entry.path().extension(), ".part") << entry.path();
  }
}

// The same disc as BIN/CUE and as a CHD that chdman made of it: identical
// `info --json` except the fields a CHD cannot keep (MCN, ISRC, flags),
// identical per-track hashes from `verify` (so the same raw sector stream),
// the CHD's recorded SHA-1 checked, and `convert` writing the same BINs.
TEST_F(CliTest, ChdReadsAsTheCueItWasMadeFrom) {
  if (sh("command -v chdman").status != 0) GTEST_SKIP() << "chdman (mame-tools) not installed";
  const fs::path dir = dir_ / "chd";
  fs::create_directories(dir);
  Ran gen = sh(quote(MAKE_MIXED_CUE) + " " + quote(dir.string()) + " --audio-tracks 2 --layout split --name disc");
  ASSERT_EQ(gen.status, 0) << gen.err;
  const fs::path cue = dir / "disc.cue", chd = dir / "disc.chd";
  Ran mk = sh("timeout 120 chdman createcd -i " + quote(cue.string()) + " -o " + quote(chd.string()));
  ASSERT_EQ(mk.status, 0) << mk.err;
  json a = info_json(cue), b = info_json(chd);
  ASSERT_TRUE(a.is_object() && b.is_object());
  a["mcn"] = nullptr;
  for (auto& t : a["tracks"]) {
    t["isrc"] = nullptr;
    t["flags"] = json::array();
  }
  EXPECT_EQ(a, b);
  Ran vc = udisc("verify " + quote(cue.string())), vd = udisc("verify " + quote(chd.string()));
  EXPECT_EQ(vd.status, 0) << vd.out << vd.err;
  EXPECT_EQ(verify_hashes(vd.out), verify_hashes(vc.out));
  EXPECT_NE(vd.out.find("CHD data SHA-1: matches the header"), std::string::npos) << vd.out;
  const fs::path from_cue = dir / "a" / "x.cue", from_chd = dir / "b" / "x.cue";
  fs::create_directories(from_cue.parent_path());
  fs::create_directories(from_chd.parent_path());
  ASSERT_EQ(udisc("convert " + quote(cue.string()) + " -o " + quote(from_cue.string())).status, 0);
  ASSERT_EQ(udisc("convert " + quote(chd.string()) + " -o " + quote(from_chd.string())).status, 0);
  for (const char* bin : {"x (Track 1).bin", "x (Track 2).bin", "x (Track 3).bin"}) {
    EXPECT_EQ(slurp(from_cue.parent_path() / bin), slurp(from_chd.parent_path() / bin)) << bin;
    EXPECT_FALSE(slurp(from_chd.parent_path() / bin).empty()) << bin;
  }
}

TEST_F(CliTest, TenTrackWaveDiscConvertsWithTwoDigitTrackNames) {
  const fs::path dir = dir_ / "ten";
  fs::create_directories(dir);
  Ran gen = sh(quote(MAKE_MIXED_CUE) + " " + quote(dir.string()) +
               " --audio-tracks 9 --layout split --wave --name ten");
  ASSERT_EQ(gen.status, 0) << gen.err;
  const json j = info_json(dir / "ten.cue");
  ASSERT_TRUE(j.is_object());
  ASSERT_EQ(j["tracks"].size(), 10u);
  const fs::path out = dir_ / "ten-conv" / "Ten.cue";
  fs::create_directories(out.parent_path());
  Ran c = udisc("convert " + quote((dir / "ten.cue").string()) + " -o " + quote(out.string()));
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_TRUE(fs::exists(out.parent_path() / "Ten (Track 01).bin"));
  EXPECT_TRUE(fs::exists(out.parent_path() / "Ten (Track 10).bin"));
  EXPECT_EQ(info_json(out), j);
  Ran v = udisc("verify " + quote(out.string()));
  EXPECT_EQ(v.status, 0) << v.out << v.err;
  EXPECT_EQ(verify_hashes(v.out), verify_hashes(udisc("verify " + quote((dir / "ten.cue").string())).out));
}

TEST_F(CliTest, ErrorsAreMessagesNotCrashes) {
  Ran missing = udisc("info " + quote((dir_ / "missing.iso").string()));
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.err.rfind("udisc: ", 0), 0u) << missing.err;
  EXPECT_NE(missing.err.find("missing.iso"), std::string::npos) << missing.err;

  const fs::path odd = dir_ / "odd.iso";
  std::ofstream(odd, std::ios::binary) << std::string(2048 * 3 + 5, '\x11');
  for (const char* cmd : {"info ", "info --json ", "verify "}) {
    Ran r = udisc(cmd + quote(odd.string()));
    EXPECT_EQ(r.status, 1) << cmd;
    EXPECT_NE(r.err.find("multiple of 2048"), std::string::npos) << cmd << r.err;
    EXPECT_NE(r.err.find("odd.iso"), std::string::npos) << cmd << r.err;
  }
  const fs::path iso = make_iso("err");
  Ran not_cue = udisc("convert " + quote(iso.string()) + " -o " + quote((dir_ / "out.txt").string()));
  EXPECT_EQ(not_cue.status, 1);
  EXPECT_NE(not_cue.err.find(".cue"), std::string::npos) << not_cue.err;
  Ran unwritable = udisc("convert " + quote(iso.string()) + " -o " + quote((dir_ / "no/such/dir/x.cue").string()));
  EXPECT_EQ(unwritable.status, 1);
  EXPECT_EQ(unwritable.err.rfind("udisc: ", 0), 0u) << unwritable.err;
  Ran usage = udisc("info");
  EXPECT_NE(usage.status, 0);
  EXPECT_LT(usage.status, 128);
  EXPECT_EQ(usage.err.rfind("udisc: ", 0), 0u) << usage.err;
}

}  // namespace
