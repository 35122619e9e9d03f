#include "disc/subchannel.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace udisc::disc {
namespace {

QFrame frame(std::initializer_list<uint8_t> bytes) {
  QFrame q{};
  std::copy(bytes.begin(), bytes.end(), q.begin());
  return q;
}

TEST(QCrc, CatalogueCheckValue) {
  // CRC-16/GSM (poly 0x1021, init 0, xorout 0xFFFF) check value.
  const std::string s = "123456789";
  EXPECT_EQ(crc16_q(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size())), 0xCE3C);
}

TEST(QCrc, KnownFrames) {
  // Values computed independently with python3-crcmod.
  struct Case {
    QFrame q;
    uint8_t hi, lo;
  };
  const Case cases[] = {
      {frame({0x41, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00}), 0x28, 0x32},
      {frame({0x41, 0xAA, 0x01, 0x00, 0x00, 0x00, 0x00, 0x74, 0x12, 0x34}), 0x45, 0xAB},
  };
  for (Case c : cases) {
    set_q_crc(c.q);
    EXPECT_EQ(c.q[10], c.hi);
    EXPECT_EQ(c.q[11], c.lo);
    EXPECT_TRUE(q_crc_ok(c.q));
    for (int bit = 0; bit < 96; ++bit) {
      QFrame bad = c.q;
      bad[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
      EXPECT_FALSE(q_crc_ok(bad)) << bit;
    }
  }
}

TEST(QCrc, FramesReadFromAPressedDisc) {
  // Five consecutive Q frames of track 3 of an audio CD, as published bit by
  // bit in a discussion of the Q CRC (club.myce.com "Q's CRC calcs.").
  const QFrame frames[] = {
      frame({0x01, 0x03, 0x01, 0x00, 0x07, 0x43, 0x00, 0x08, 0x54, 0x68, 0x4b, 0xa2}),
      frame({0x01, 0x03, 0x01, 0x00, 0x07, 0x44, 0x00, 0x08, 0x54, 0x69, 0x3c, 0x57}),
      frame({0x01, 0x03, 0x01, 0x00, 0x07, 0x45, 0x00, 0x08, 0x54, 0x70, 0x15, 0x1e}),
      frame({0x01, 0x03, 0x01, 0x00, 0x07, 0x46, 0x00, 0x08, 0x54, 0x71, 0xeb, 0xed}),
      frame({0x01, 0x03, 0x01, 0x00, 0x07, 0x47, 0x00, 0x08, 0x54, 0x72, 0x71, 0xdf}),
  };
  for (const QFrame& q : frames) {
    EXPECT_TRUE(q_crc_ok(q));
    auto p = decode_position(q);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(encode_position(*p), q);
  }
}

TEST(Subchannel, InterleaveRoundTrip) {
  std::mt19937 rng(1);
  for (int n = 0; n < 50; ++n) {
    std::array<uint8_t, 96> raw;
    for (auto& b : raw) b = static_cast<uint8_t>(rng());
    const SubchannelChannels ch = deinterleave(raw);
    std::array<uint8_t, 96> back{};
    interleave(ch, back);
    EXPECT_EQ(back, raw);
    EXPECT_EQ(extract_q(raw), ch[1]);
  }
  // Bit placement: P all ones -> bit 7 of every byte; W byte 0 bit 7 -> raw[0] bit 0.
  SubchannelChannels ch{};
  ch[0].fill(0xFF);
  ch[7][0] = 0x80;
  ch[1][11] = 0x01;  // last bit of Q -> raw[95] bit 6
  std::array<uint8_t, 96> raw{};
  interleave(ch, raw);
  EXPECT_EQ(raw[0], 0x81);
  EXPECT_EQ(raw[95], 0xC0);
  for (int i = 1; i < 95; ++i) EXPECT_EQ(raw[i], 0x80) << i;
}

// Two sessions-free discs: data track 1 with the standard 150-sector
// pregap, audio track 2 with a 2 s pregap, an index 2 and an ISRC.
Disc sample_disc() {
  Disc d;
  d.disc_class = DiscClass::cd_rom;
  d.mcn = "0123456789012";
  Track t1;
  t1.number = 1;
  t1.mode = TrackMode::mode1;
  t1.control = control::kDataTrack;
  t1.pregap_lba = -150;
  t1.start_lba = 0;
  t1.end_lba = 1000;
  t1.indices = {{0, -150}, {1, 0}};
  Track t2;
  t2.number = 2;
  t2.mode = TrackMode::audio;
  t2.control = control::kCopyPermitted;
  t2.pregap_lba = 1000;
  t2.start_lba = 1150;
  t2.end_lba = 5000;
  t2.indices = {{0, 1000}, {1, 1150}, {2, 3000}};
  t2.isrc = "USABC9912345";
  d.tracks = {t1, t2};
  d.sessions = {Session{1, 1, 2, 5000}};
  return d;
}

TEST(SubchannelQ, PositionFramesAndPregapCountdown) {
  const Disc d = sample_disc();
  ASSERT_TRUE(validate(d).ok());
  struct Case {
    int32_t lba;
    uint8_t control, track, index;
    Msf rel, abs;
  };
  const Case cases[] = {
      {-150, 4, 1, 0, {0, 2, 0}, {0, 0, 0}},  {-1, 4, 1, 0, {0, 0, 1}, {0, 1, 74}},
      {0, 4, 1, 1, {0, 0, 0}, {0, 2, 0}},     {999, 4, 1, 1, {0, 13, 24}, {0, 15, 24}},
      {1000, 2, 2, 0, {0, 2, 0}, {0, 15, 25}}, {1149, 2, 2, 0, {0, 0, 1}, {0, 17, 24}},
      {1150, 2, 2, 1, {0, 0, 0}, {0, 17, 25}}, {3000, 2, 2, 2, {0, 24, 50}, {0, 42, 0}},
      {5000, 2, 0xAA, 1, {0, 0, 0}, {1, 8, 50}}, {5075, 2, 0xAA, 1, {0, 1, 0}, {1, 9, 50}},
  };
  for (const Case& c : cases) {
    const QFrame q = build_q(d, c.lba);
    ASSERT_TRUE(q_crc_ok(q)) << c.lba;
    auto p = decode_position(q);
    ASSERT_TRUE(p.has_value()) << c.lba;
    EXPECT_EQ(p->control, c.control) << c.lba;
    EXPECT_EQ(p->track, c.track) << c.lba;
    EXPECT_EQ(p->index, c.index) << c.lba;
    EXPECT_EQ(p->relative, c.rel) << c.lba;
    EXPECT_EQ(p->absolute, c.abs) << c.lba;
  }
  // Raw bytes of the first frame of track 1 (BCD, big-endian CRC).
  const QFrame q0 = build_q(d, 0);
  const QFrame want = frame({0x41, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x28, 0x32});
  EXPECT_EQ(q0, want);
  // Whole pregap of track 2 counts down by one each frame.
  for (int32_t lba = 1000; lba < 1150; ++lba) {
    const QFrame q = build_q(d, lba);
    if (q_adr(q) != qadr::kPosition) continue;
    auto p = decode_position(q);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(msf_to_frames(p->relative), 1150 - lba) << lba;
    EXPECT_EQ(p->index, 0);
  }
}

TEST(SubchannelQ, McnAndIsrcPlacement) {
  const Disc d = sample_disc();
  int mcn = 0, isrc = 0;
  for (int32_t lba = -150; lba < 5000; ++lba) {
    const QFrame q = build_q(d, lba);
    ASSERT_TRUE(q_crc_ok(q)) << lba;
    const Msf abs = lba_to_msf(lba);
    switch (q_adr(q)) {
      case qadr::kMcn:
        ++mcn;
        EXPECT_EQ(decode_mcn(q), d.mcn) << lba;
        EXPECT_EQ((lba + 150) % 100, 10) << lba;
        EXPECT_EQ(q[9], to_bcd(abs.frame)) << lba;
        break;
      case qadr::kIsrc:
        ++isrc;
        EXPECT_EQ(decode_isrc(q), std::string("USABC9912345")) << lba;
        EXPECT_EQ((lba + 150) % 100, 60) << lba;
        EXPECT_GE(lba, 1150) << "ISRC in a pregap or another track";
        EXPECT_EQ(q[9], to_bcd(abs.frame)) << lba;
        EXPECT_EQ(q[0] >> 4, control::kCopyPermitted);
        break;
      case qadr::kPosition:
        if ((lba + 150) % 100 == 10) {
          // Only edges keep position frames at the MCN phase.
          EXPECT_TRUE(lba == -150 || lba == 0 || lba == 999 || lba == 1000 || lba == 1149 || lba == 1150 ||
                      lba == 3000 || lba == 4999)
              << lba;
        }
        break;
      default:
        ADD_FAILURE() << "ADR " << int(q_adr(q)) << " at " << lba;
    }
  }
  EXPECT_EQ(mcn, 52);   // absolute frames 0..5149, phase 10: 52, none on an edge here
  EXPECT_EQ(isrc, 38);  // frames 1150..4999 with phase 60
  // Without MCN / ISRC only position frames.
  Disc plain = d;
  plain.mcn.clear();
  plain.tracks[1].isrc.clear();
  for (int32_t lba = -150; lba < 5000; ++lba) ASSERT_EQ(q_adr(build_q(plain, lba)), qadr::kPosition) << lba;
}

TEST(SubchannelQ, McnIsrcEncodingRoundTrip) {
  auto m = encode_mcn(0x4, "1234567890123", 0x05);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m.value(), frame({0x42, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x30, 0x00, 0x05, m.value()[10], m.value()[11]}));
  EXPECT_TRUE(q_crc_ok(m.value()));
  EXPECT_EQ(decode_mcn(m.value()), std::string("1234567890123"));
  EXPECT_FALSE(encode_mcn(0, "12345", 0).ok());
  EXPECT_FALSE(encode_mcn(0, "12345678901a3", 0).ok());

  // ISRC bits built independently: 5 x 6-bit codes, 2 zero bits, 7 x 4-bit
  // digits, 4 zero bits -> 64 bits in bytes 1..8.
  const std::string isrc = "JPX0Z0512345";
  uint64_t bits = 0;
  auto code = [](char c) -> uint64_t { return c <= '9' ? uint64_t(c - '0') : uint64_t(0x11 + (c - 'A')); };
  for (int i = 0; i < 5; ++i) bits = (bits << 6) | code(isrc[i]);
  bits <<= 2;
  for (int i = 5; i < 12; ++i) bits = (bits << 4) | uint64_t(isrc[i] - '0');
  bits <<= 4;
  auto q = encode_isrc(0x0, isrc, 74);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q.value()[0], 0x03);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(int(q.value()[1 + i]), int(uint8_t(bits >> (56 - 8 * i)))) << i;
  // Same bits written out by hand for this ISRC.
  const uint8_t hand[8] = {0x6A, 0x0A, 0x00, 0xA8, 0x05, 0x12, 0x34, 0x50};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(int(q.value()[1 + i]), int(hand[i])) << i;
  EXPECT_EQ(q.value()[9], 0x74);
  EXPECT_TRUE(q_crc_ok(q.value()));
  EXPECT_EQ(decode_isrc(q.value()), isrc);
  EXPECT_EQ(decode_isrc(encode_isrc(0, "gbaaa0000001", 0).value()), std::string("GBAAA0000001"));
  EXPECT_FALSE(encode_isrc(0, "US-AB-99-12345", 0).ok());
  EXPECT_FALSE(encode_isrc(0, "USABC99A2345", 0).ok());
  EXPECT_FALSE(encode_isrc(0, isrc, 75).ok());
  EXPECT_FALSE(encode_mcn(0, "1234567890123", 75).ok());
  EXPECT_FALSE(decode_mcn(q.value()).has_value());
  EXPECT_FALSE(decode_position(q.value()).has_value());
}

TEST(Subchannel, RawFormCarriesPAndQ) {
  const Disc d = sample_disc();
  for (int32_t lba : {-150, -1, 0, 500, 1000, 1149, 1150, 1210, 4999, 5000, 5018, 5019, 5038}) {
    std::array<uint8_t, 96> raw;
    build_subchannel(d, lba, raw);
    const SubchannelChannels ch = deinterleave(raw);
    EXPECT_EQ(ch[1], build_q(d, lba)) << lba;
    const bool p = build_p(d, lba);
    for (uint8_t b : ch[0]) EXPECT_EQ(b, p ? 0xFF : 0x00) << lba;
    for (int c = 2; c < 8; ++c) {
      for (uint8_t b : ch[c]) EXPECT_EQ(b, 0) << lba;
    }
  }
  EXPECT_TRUE(build_p(d, -150));
  EXPECT_TRUE(build_p(d, 1149));
  EXPECT_FALSE(build_p(d, 0));
  EXPECT_FALSE(build_p(d, 1150));
  EXPECT_TRUE(build_p(d, 5000));   // lead-out: 2 Hz, first half of each period
  EXPECT_TRUE(build_p(d, 5018));
  EXPECT_FALSE(build_p(d, 5019));
  EXPECT_TRUE(build_p(d, 5038));
}

TEST(SubchannelQ, MultisessionLeadoutAndEmptyDisc) {
  Disc d = sample_disc();
  d.sessions = {Session{1, 1, 1, 1000}, Session{2, 2, 2, 5000}};
  d.tracks[0].end_lba = 900;
  d.tracks[1].session = 2;
  d.tracks[1].pregap_lba = 1000;
  ASSERT_TRUE(validate(d).ok());
  auto p = decode_position(build_q(d, 950));  // after track 1, before session 2: lead-out of session 1
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->track, kLeadoutTrack);
  EXPECT_EQ(p->control, control::kDataTrack);
  p = decode_position(build_q(d, 6000));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->track, kLeadoutTrack);
  EXPECT_EQ(msf_to_frames(p->relative), 1000);
  const Disc empty;
  EXPECT_TRUE(q_crc_ok(build_q(empty, 0)));
  // Extreme addresses do not overflow (UBSan would report it).
  for (int32_t lba : {INT32_MIN, INT32_MIN + 1, -151, INT32_MAX - 1, INT32_MAX}) {
    EXPECT_TRUE(q_crc_ok(build_q(d, lba))) << lba;
    EXPECT_TRUE(q_crc_ok(build_q(empty, lba))) << lba;
    std::array<uint8_t, 96> raw;
    build_subchannel(d, lba, raw);
  }
}

// Real peer: python3-crcmod's CRC-16 (poly 0x1021, register init 0, output
// inverted) over bytes 0..9 of every generated Q frame equals bytes 10..11.
TEST(SubchannelPeer, CrcmodAgreesWithEveryQCrc) {
  if (std::system("/usr/bin/python3 -c 'import crcmod' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-crcmod not installed";
  }
  namespace fs = std::filesystem;
  const fs::path file = fs::temp_directory_path() / ("udisc_q_" + std::to_string(::getpid()) + ".bin");
  const Disc d = sample_disc();
  int frames = 0;
  {
    std::ofstream out(file, std::ios::binary);
    for (int32_t lba = -150; lba < 5200; lba += 3) {
      const QFrame q = build_q(d, lba);
      out.write(reinterpret_cast<const char*>(q.data()), q.size());
      ++frames;
    }
  }
  // crcmod's initCrc is the register value XORed with xorOut: 0xFFFF here
  // gives a register starting at 0.
  const fs::path py = file.string() + ".py";
  std::ofstream(py) << "import crcmod,sys\n"
                       "g=crcmod.mkCrcFun(0x11021,initCrc=0xFFFF,rev=False,xorOut=0xFFFF)\n"
                       "d=open(sys.argv[1],'rb').read()\n"
                       "q=[d[i:i+12] for i in range(0,len(d),12)]\n"
                       "print(sum(g(x[:10])==int.from_bytes(x[10:],'big') for x in q),len(q))\n";
  const std::string cmd = "/usr/bin/python3 '" + py.string() + "' '" + file.string() + "'";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char line[64] = {};
  const bool got = std::fgets(line, sizeof line, pipe) != nullptr;
  ::pclose(pipe);
  fs::remove(file);
  fs::remove(py);
  ASSERT_TRUE(got);
  EXPECT_EQ(std::string(line), std::to_string(frames) + " " + std::to_string(frames) + "\n");
}

}  // namespace
}  // namespace udisc::disc
