#include "disc/ecma130.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>
#include <string>
#include <vector>

namespace udisc::disc {
namespace {

using Sector = std::array<uint8_t, 2352>;

std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// Bit-at-a-time EDC straight from the polynomial definition (no table).
uint32_t edc_bitwise(const uint8_t* p, size_t n) {
  uint32_t crc = 0;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0xD8018001u : crc >> 1;
  }
  return crc;
}

TEST(Ecma130Header, BcdMsfOfKnownLbas) {
  struct Case {
    int32_t lba;
    uint8_t m, s, f;
  };
  const Case cases[] = {{-150, 0x00, 0x00, 0x00}, {-1, 0x00, 0x01, 0x74}, {0, 0x00, 0x02, 0x00},
                        {16, 0x00, 0x02, 0x16},  {4350, 0x01, 0x00, 0x00}, {269849, 0x59, 0x59, 0x74},
                        {449849, 0x99, 0x59, 0x74}};
  for (const Case& c : cases) {
    Sector s{};
    write_sync_and_header(c.lba, 1, s);
    EXPECT_EQ(s[12], c.m) << c.lba;
    EXPECT_EQ(s[13], c.s) << c.lba;
    EXPECT_EQ(s[14], c.f) << c.lba;
    EXPECT_EQ(s[15], 1);
    EXPECT_TRUE(std::equal(ecma130::kSync.begin(), ecma130::kSync.end(), s.begin()));
  }
  const uint8_t sync[12] = {0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00};
  EXPECT_TRUE(std::equal(std::begin(sync), std::end(sync), ecma130::kSync.begin()));
}

TEST(Ecma130Edc, CatalogueCheckValue) {
  // CRC-32/CD-ROM-EDC check value (CRC catalogue: poly 0x8001801B reflected,
  // init 0, xorout 0); confirmed with python3-crcmod.
  const std::string s = "123456789";
  EXPECT_EQ(edc(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size())), 0x6EC2EDC4u);
  EXPECT_EQ(edc({}), 0u);
}

TEST(Ecma130Edc, TableMatchesBitwiseDefinition) {
  std::mt19937 rng(7);
  for (size_t n : {1u, 3u, 4u, 17u, 2064u, 2332u}) {
    auto v = random_bytes(rng, n);
    EXPECT_EQ(edc(v), edc_bitwise(v.data(), v.size())) << n;
    // Running update equals one pass.
    const size_t half = n / 2;
    EXPECT_EQ(edc_update(edc(std::span<const uint8_t>(v.data(), half)), std::span<const uint8_t>(v.data() + half, n - half)),
              edc(v));
  }
}

TEST(Ecma130Edc, EmptyMode1SectorAtLba0) {
  // EDC over sync + header 00 02 00 01 + 2048 zero bytes, computed
  // independently with python3-crcmod: c5 13 68 2b (little-endian 0x2B6813C5).
  Sector s{};
  build_empty_sector(TrackMode::mode1, 0, s);
  EXPECT_EQ(s[2064], 0xC5);
  EXPECT_EQ(s[2065], 0x13);
  EXPECT_EQ(s[2066], 0x68);
  EXPECT_EQ(s[2067], 0x2B);
  EXPECT_EQ(edc_bitwise(s.data(), 2064), 0x2B6813C5u);
  for (size_t i = 2068; i < 2076; ++i) EXPECT_EQ(s[i], 0) << i;
}

TEST(Ecma130Ecc, AllZeroRegionHasZeroParity) {
  // A linear code: all-zero data (header included, as for XA form 1) gives zero parity.
  Sector s{};
  compute_ecc(s);
  for (size_t i = 2076; i < 2352; ++i) ASSERT_EQ(s[i], 0) << i;
}

TEST(Ecma130Ecc, ParityIsLinear) {
  // ECC(a ^ b) == ECC(a) ^ ECC(b) for the parity fields.
  std::mt19937 rng(11);
  Sector a{}, b{}, c{};
  auto ra = random_bytes(rng, 2064), rb = random_bytes(rng, 2064);
  std::copy(ra.begin(), ra.end(), a.begin() + 12);
  std::copy(rb.begin(), rb.end(), b.begin() + 12);
  for (size_t i = 12; i < 2076; ++i) c[i] = a[i] ^ b[i];
  compute_ecc(a);
  compute_ecc(b);
  compute_ecc(c);
  for (size_t i = 2076; i < 2352; ++i) ASSERT_EQ(c[i], a[i] ^ b[i]) << i;
}

struct ModeCase {
  TrackMode mode;
  size_t user;
  SectorKind kind;
};

TEST(Ecma130, EveryGeneratedSectorPassesTheChecker) {
  const ModeCase cases[] = {{TrackMode::mode1, 2048, SectorKind::mode1},
                            {TrackMode::mode2, 2336, SectorKind::mode2_formless},
                            {TrackMode::mode2_form1, 2048, SectorKind::mode2_form1},
                            {TrackMode::mode2_form2, 2324, SectorKind::mode2_form2}};
  std::mt19937 rng(3);
  std::vector<int32_t> lbas;
  for (int32_t l = -150; l < 2000; l += 7) lbas.push_back(l);
  for (int32_t l : {4349, 4350, 269999, 333000, 449849}) lbas.push_back(l);
  for (const ModeCase& mc : cases) {
    for (int32_t lba : lbas) {
      auto user = random_bytes(rng, mc.user);
      Sector s{};
      ASSERT_TRUE(build_raw_sector(mc.mode, lba, user, s).ok());
      for (const std::optional<TrackMode> expected : {std::optional<TrackMode>{}, std::optional<TrackMode>{mc.mode}}) {
        const SectorCheck c = check_raw_sector(s, lba, expected);
        ASSERT_TRUE(c.ok()) << to_string(mc.mode) << " lba " << lba << " bad " << to_string(c.first_bad());
        // Formless mode 2 with random data is recognised as formless.
        ASSERT_EQ(c.kind, mc.kind) << to_string(mc.mode) << " lba " << lba;
        ASSERT_EQ(c.header_lba, lba);
      }
      // User data in place.
      const size_t off = (mc.mode == TrackMode::mode2_form1 || mc.mode == TrackMode::mode2_form2) ? 24 : 16;
      ASSERT_TRUE(std::equal(user.begin(), user.end(), s.begin() + static_cast<long>(off)));
      // Wrong address is reported as a header error only.
      const SectorCheck w = check_raw_sector(s, lba + 1, mc.mode);
      EXPECT_EQ(w.first_bad(), SectorPart::header);
    }
  }
}

TEST(Ecma130, EmptySectorsAreWellFormed) {
  for (TrackMode m : {TrackMode::mode1, TrackMode::mode2, TrackMode::mode2_form1, TrackMode::mode2_form2}) {
    for (int32_t lba : {-150, -1, 0, 1000, 300000}) {
      Sector s;
      s.fill(0xAB);
      build_empty_sector(m, lba, s);
      const SectorCheck c = check_raw_sector(s, lba, m);
      EXPECT_TRUE(c.ok()) << to_string(m) << " " << lba << " " << to_string(c.first_bad());
      if (m == TrackMode::mode2_form1 || m == TrackMode::mode2_form2) {
        EXPECT_EQ(c.kind, SectorKind::mode2_form2);
        EXPECT_TRUE(c.edc_present);
        EXPECT_EQ(s[18], ecma130::submode::kForm2);
        EXPECT_EQ(s[22], ecma130::submode::kForm2);
      }
      if (m == TrackMode::mode1) {
        EXPECT_EQ(c.kind, SectorKind::mode1);
      }
      if (m == TrackMode::mode2) {
        EXPECT_EQ(s[15], 2);
      }
    }
  }
  Sector a;
  a.fill(0x55);
  build_empty_sector(TrackMode::audio, 10, a);
  for (uint8_t b : a) ASSERT_EQ(b, 0);
}

TEST(Ecma130, EverySingleByteErrorInMode1IsDetected) {
  std::mt19937 rng(5);
  auto user = random_bytes(rng, 2048);
  Sector good{};
  ASSERT_TRUE(build_raw_sector(TrackMode::mode1, 1234, user, good).ok());
  ASSERT_TRUE(check_raw_sector(good, 1234).ok());
  for (size_t i = 0; i < 2352; ++i) {
    for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
      Sector s = good;
      s[i] ^= flip;
      const SectorCheck c = check_raw_sector(s, 1234, TrackMode::mode1);
      ASSERT_FALSE(c.ok()) << "byte " << i;
      SectorPart want;
      if (i < 12) want = SectorPart::sync;
      else if (i < 15) want = SectorPart::header;
      else if (i == 15) want = SectorPart::mode;
      else if (i < 2068) want = SectorPart::edc;
      else if (i < 2076) want = SectorPart::zero_fill;
      else if (i < 2248) want = SectorPart::ecc_p;
      else want = SectorPart::ecc_q;
      ASSERT_EQ(c.first_bad(), want) << "byte " << i << " flip " << int(flip);
      if (i >= 16 && i < 2248) {
        // Data, EDC, zero fill and P parity all lie in P and Q codewords.
        ASSERT_FALSE(c.ecc_p_ok) << i;
        ASSERT_FALSE(c.ecc_q_ok) << i;
      }
      if (i >= 16 && i < 2068) {
        ASSERT_FALSE(c.edc_ok) << i;
      }
      if (i >= 2248) {
        ASSERT_TRUE(c.ecc_p_ok) << i;
      }
    }
  }
}

TEST(Ecma130, XaForm1EccExcludesTheHeader) {
  std::mt19937 rng(9);
  auto user = random_bytes(rng, 2048);
  Sector s{};
  ASSERT_TRUE(build_raw_sector(TrackMode::mode2_form1, 500, user, s).ok());
  // Recomputing the ECC over the sector with its real header gives different
  // parity: the XA ECC really is computed with a zero header.
  Sector with_header = s;
  compute_ecc(with_header);
  EXPECT_NE(std::vector<uint8_t>(s.begin() + 2076, s.end()), std::vector<uint8_t>(with_header.begin() + 2076, with_header.end()));
  // Header corruption is seen as a header error, EDC and ECC still hold.
  Sector h = s;
  h[14] ^= 0x01;
  SectorCheck c = check_raw_sector(h, 500, TrackMode::mode2_form1);
  EXPECT_EQ(c.first_bad(), SectorPart::header);
  EXPECT_TRUE(c.edc_ok && c.ecc_p_ok && c.ecc_q_ok);
  // Every byte from the subheader on is protected.
  for (size_t i = 16; i < 2352; i += 13) {
    Sector t = s;
    t[i] ^= 0x10;
    c = check_raw_sector(t, 500, TrackMode::mode2_form1);
    ASSERT_FALSE(c.ok()) << i;
  }
  // A subheader whose copies differ is reported when XA is expected.
  Sector u = s;
  u[16 + 4] ^= 0x01;
  EXPECT_EQ(check_raw_sector(u, 500, TrackMode::mode2_form1).first_bad(), SectorPart::subheader);
}

TEST(Ecma130, XaForm2Edc) {
  std::mt19937 rng(13);
  auto user = random_bytes(rng, 2324);
  Sector s{};
  const XaSubheader sub{1, 2, ecma130::submode::kAudio | ecma130::submode::kRealTime, 0x7F};
  ASSERT_TRUE(build_raw_sector(TrackMode::mode2_form2, 77, user, s, &sub).ok());
  EXPECT_EQ(s[16], 1);
  EXPECT_EQ(s[17], 2);
  EXPECT_EQ(s[18], ecma130::submode::kAudio | ecma130::submode::kRealTime | ecma130::submode::kForm2);
  EXPECT_EQ(s[19], 0x7F);
  EXPECT_TRUE(std::equal(s.begin() + 16, s.begin() + 20, s.begin() + 20));
  EXPECT_EQ(edc_bitwise(s.data() + 16, 2332),
            uint32_t{s[2348]} | uint32_t{s[2349]} << 8 | uint32_t{s[2350]} << 16 | uint32_t{s[2351]} << 24);
  SectorCheck c = check_raw_sector(s, 77);
  EXPECT_TRUE(c.ok());
  EXPECT_TRUE(c.edc_present);
  s[1000] ^= 1;
  EXPECT_EQ(check_raw_sector(s, 77).first_bad(), SectorPart::edc);
  // An absent (zero) EDC is accepted.
  s[2348] = s[2349] = s[2350] = s[2351] = 0;
  c = check_raw_sector(s, 77);
  EXPECT_TRUE(c.ok());
  EXPECT_FALSE(c.edc_present);
}

TEST(Ecma130, FormBitFollowsTheTrackMode) {
  std::vector<uint8_t> user(2048, 0x11);
  const XaSubheader form2_sub{0, 0, ecma130::submode::kForm2 | ecma130::submode::kData, 0};
  Sector s{};
  ASSERT_TRUE(build_raw_sector(TrackMode::mode2_form1, 3, user, s, &form2_sub).ok());
  EXPECT_EQ(s[18], ecma130::submode::kData);
  EXPECT_EQ(check_raw_sector(s, 3).kind, SectorKind::mode2_form1);
  EXPECT_TRUE(check_raw_sector(s, 3).ok());
}

TEST(Ecma130, Mode2_2336InputIsPlacedUnchanged) {
  std::mt19937 rng(17);
  auto user = random_bytes(rng, 2048);
  Sector ref{};
  ASSERT_TRUE(build_raw_sector(TrackMode::mode2_form1, 42, user, ref).ok());
  std::vector<uint8_t> stored(ref.begin() + 16, ref.end());
  for (TrackMode m : {TrackMode::mode2_form1, TrackMode::mode2_form2, TrackMode::mode2}) {
    Sector s{};
    ASSERT_TRUE(build_raw_sector(m, 42, stored, s).ok());
    EXPECT_EQ(s, ref) << to_string(m);
  }
}

TEST(Ecma130, CompleteSectorRestoresEdcAndEcc) {
  std::mt19937 rng(19);
  for (TrackMode m : {TrackMode::mode1, TrackMode::mode2_form1, TrackMode::mode2_form2}) {
    auto user = random_bytes(rng, user_data_size(m));
    Sector ref{};
    ASSERT_TRUE(build_raw_sector(m, 900, user, ref).ok());
    Sector s = ref;
    std::fill(s.begin() + 2064, s.end(), uint8_t{0xEE});
    if (m == TrackMode::mode2_form1 || m == TrackMode::mode2_form2) {
      // Put the user data back where corrupted.
      std::copy(user.begin(), user.end(), s.begin() + 24);
    }
    complete_sector(s);
    EXPECT_EQ(s, ref) << to_string(m);
  }
}

TEST(Ecma130, BadInputsAreRejected) {
  std::vector<uint8_t> user(100);
  Sector s{};
  for (TrackMode m : {TrackMode::audio, TrackMode::mode1, TrackMode::mode2, TrackMode::mode2_form1, TrackMode::mode2_form2}) {
    Status st = build_raw_sector(m, 0, user, s);
    EXPECT_EQ(st.code(), Status::Code::invalid_argument) << to_string(m);
    EXPECT_NE(st.message().find("LBA 0"), std::string::npos);
  }
  // Checker on garbage: no crash, reported bad.
  std::mt19937 rng(23);
  for (int i = 0; i < 200; ++i) {
    auto v = random_bytes(rng, 2352);
    Sector g;
    std::copy(v.begin(), v.end(), g.begin());
    if (i % 2) std::copy(ecma130::kSync.begin(), ecma130::kSync.end(), g.begin());
    g[15] = static_cast<uint8_t>(i % 4);
    EXPECT_FALSE(check_raw_sector(g, 0).ok());
  }
}

TEST(Ecma130, ExtremeAddressesWrap) {
  for (int32_t lba : {INT32_MIN, -450151, -151, 449850, INT32_MAX}) {
    Sector s{};
    build_empty_sector(TrackMode::mode1, lba, s);
    EXPECT_TRUE(check_raw_sector(s, lba).ok()) << lba;
  }
  Sector s{};
  build_empty_sector(TrackMode::mode1, -151, s);  // lead-in: 99:59:74
  EXPECT_EQ(s[12], 0x99);
  EXPECT_EQ(s[13], 0x59);
  EXPECT_EQ(s[14], 0x74);
}

TEST(Ecma130, Mode0AndAudio) {
  Sector s{};
  write_sync_and_header(10, 0, s);
  SectorCheck c = check_raw_sector(s, 10);
  EXPECT_TRUE(c.ok());
  EXPECT_EQ(c.kind, SectorKind::mode0);
  s[100] = 1;
  EXPECT_EQ(check_raw_sector(s, 10).first_bad(), SectorPart::zero_fill);
  Sector audio;
  audio.fill(0x3C);
  EXPECT_TRUE(check_raw_sector(audio, 10, TrackMode::audio).ok());
  EXPECT_EQ(check_raw_sector(audio, 10).first_bad(), SectorPart::sync);
  Sector out{};
  std::vector<uint8_t> samples(audio.begin(), audio.end());
  ASSERT_TRUE(build_raw_sector(TrackMode::audio, 10, samples, out).ok());
  EXPECT_EQ(out, audio);
}

// Real peer: MAME's chdman verifies the ECC of each MODE1/2352 and MODE2/2352
// sector and stores only the user data when the ECC is right. Random user
// data does not compress, so a CHD of sectors with valid ECC is ~2048 bytes a
// sector and one whose ECC is broken ~2352.
TEST(Ecma130Peer, ChdmanAcceptsGeneratedEcc) {
  if (std::system("command -v chdman >/dev/null 2>&1") != 0) GTEST_SKIP() << "chdman (mame-tools) not installed";
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("udisc_ecma130_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  constexpr int kSectors = 600;
  std::mt19937 rng(29);
  auto make = [&](const std::string& name, TrackMode mode, const char* cue_mode, bool corrupt) -> uintmax_t {
    {
      std::ofstream bin(dir / (name + ".bin"), std::ios::binary);
      for (int lba = 0; lba < kSectors; ++lba) {
        auto user = random_bytes(rng, 2048);
        Sector s{};
        EXPECT_TRUE(build_raw_sector(mode, lba, user, s).ok());
        if (corrupt) s[2300] ^= 0x01;
        bin.write(reinterpret_cast<const char*>(s.data()), s.size());
      }
      std::ofstream cue(dir / (name + ".cue"));
      cue << "FILE \"" << name << ".bin\" BINARY\n  TRACK 01 " << cue_mode << "\n    INDEX 01 00:00:00\n";
    }
    const std::string cmd = "chdman createcd -f -i '" + (dir / (name + ".cue")).string() + "' -o '" +
                            (dir / (name + ".chd")).string() + "' >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::error_code ec;
    return fs::file_size(dir / (name + ".chd"), ec);
  };
  const uintmax_t mode1 = make("mode1", TrackMode::mode1, "MODE1/2352", false);
  const uintmax_t mode1_bad = make("mode1_bad", TrackMode::mode1, "MODE1/2352", true);
  const uintmax_t form1 = make("form1", TrackMode::mode2_form1, "MODE2/2352", false);
  const uintmax_t form1_bad = make("form1_bad", TrackMode::mode2_form1, "MODE2/2352", true);
  fs::remove_all(dir);
  EXPECT_LT(mode1, uintmax_t{kSectors} * 2150);
  EXPECT_GT(mode1_bad, uintmax_t{kSectors} * 2300);
  EXPECT_LT(form1, uintmax_t{kSectors} * 2150);
  EXPECT_GT(form1_bad, uintmax_t{kSectors} * 2300);
}

// Real peer: python3-crcmod computes CRC-32/CD-ROM-EDC on its own over every
// generated sector's covered bytes and compares with the stored field.
TEST(Ecma130Peer, CrcmodAgreesWithEveryEdc) {
  if (std::system("/usr/bin/python3 -c 'import crcmod' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-crcmod not installed";
  }
  namespace fs = std::filesystem;
  const fs::path file = fs::temp_directory_path() / ("udisc_edc_" + std::to_string(::getpid()) + ".bin");
  std::mt19937 rng(31);
  constexpr int kPerMode = 100;
  {
    std::ofstream out(file, std::ios::binary);
    for (TrackMode m : {TrackMode::mode1, TrackMode::mode2_form1, TrackMode::mode2_form2}) {
      for (int i = 0; i < kPerMode; ++i) {
        auto user = random_bytes(rng, user_data_size(m));
        Sector s{};
        ASSERT_TRUE(build_raw_sector(m, i * 997 - 150, user, s).ok());
        out.write(reinterpret_cast<const char*>(s.data()), s.size());
      }
    }
  }
  // Covered range and EDC offset by mode byte / submode form bit.
  const std::string script =
      "import crcmod,sys\n"
      "f=crcmod.mkCrcFun(0x18001801B,initCrc=0,rev=True,xorOut=0)\n"
      "d=open(sys.argv[1],'rb').read()\n"
      "good=bad=0\n"
      "for i in range(len(d)//2352):\n"
      "  s=d[i*2352:(i+1)*2352]\n"
      "  if s[15]==1: a,b=0,2064\n"
      "  elif s[18]&0x20: a,b=16,2348\n"
      "  else: a,b=16,2072\n"
      "  if f(s[a:b])==int.from_bytes(s[b:b+4],'little'): good+=1\n"
      "  else: bad+=1\n"
      "print(good,bad)\n";
  const fs::path py = file.string() + ".py";
  std::ofstream(py) << script;
  const std::string cmd = "/usr/bin/python3 '" + py.string() + "' '" + file.string() + "'";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char line[64] = {};
  const bool got = std::fgets(line, sizeof line, pipe) != nullptr;
  ::pclose(pipe);
  fs::remove(file);
  fs::remove(py);
  ASSERT_TRUE(got);
  EXPECT_EQ(std::string(line), std::to_string(3 * kPerMode) + " 0\n");
}

}  // namespace
}  // namespace udisc::disc
