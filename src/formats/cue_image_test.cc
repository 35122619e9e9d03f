#include "formats/cue_image.h"

#include <FLAC/stream_encoder.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "disc/ecma130.h"
#include "disc/subchannel.h"
#include "formats/audio_source.h"
#include "formats/cue_test_util.h"

namespace udisc::formats {
namespace {

using disc::TrackMode;
using testing::TempDir;
using testing::test_pcm;

constexpr size_t kRaw = 2352;

// User data of sector `n` of a synthetic data track: bytes that identify it.
std::vector<uint8_t> user_pattern(uint32_t n, size_t size, uint8_t salt = 0) {
  std::vector<uint8_t> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>((i * 13 + n * 101 + salt) ^ (i >> 8));
  return out;
}

std::vector<uint8_t> raw_sector(TrackMode mode, int32_t lba, uint32_t n, const disc::XaSubheader* sub = nullptr) {
  std::vector<uint8_t> out(kRaw);
  auto user = user_pattern(n, disc::user_data_size(mode));
  Status s = disc::build_raw_sector(mode, lba, user, std::span<uint8_t, kRaw>(out.data(), kRaw), sub);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out;
}

void append(std::vector<uint8_t>& to, const std::vector<uint8_t>& bytes) { to.insert(to.end(), bytes.begin(), bytes.end()); }

ImagePtr open_ok(const TempDir& dir, const std::string& cue_text, std::vector<std::string>* warnings = nullptr) {
  dir.write_text("disc.cue", cue_text);
  auto r = open_cue_sheet(cue_text, dir.file("disc.cue"), folder_resolver(dir.path()), warnings);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? r.value() : nullptr;
}

std::string open_error(const TempDir& dir, const std::string& cue_text) {
  dir.write_text("disc.cue", cue_text);
  auto r = open_cue(dir.file("disc.cue"));
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

std::vector<uint8_t> read_user(const disc::Image& img, int32_t lba, uint32_t count = 1) {
  const disc::Track* t = img.disc().track_at(lba);
  EXPECT_NE(t, nullptr) << lba;
  std::vector<uint8_t> out(count * disc::user_data_size(t ? t->mode : TrackMode::mode1));
  Status s = img.read_user(lba, count, out);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out;
}

std::vector<uint8_t> read_raw(const disc::Image& img, int32_t lba, uint32_t count = 1) {
  std::vector<uint8_t> out(count * kRaw);
  Status s = img.read_raw(lba, count, out);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out;
}

void expect_good_sector(const std::vector<uint8_t>& raw, int32_t lba, TrackMode mode, size_t at = 0) {
  auto check = disc::check_raw_sector(std::span<const uint8_t, kRaw>(raw.data() + at, kRaw), lba, mode);
  EXPECT_TRUE(check.ok()) << "LBA " << lba << " bad " << disc::to_string(check.first_bad());
}

TEST(CueImage, Mode1_2048Track) {
  TempDir dir;
  std::vector<uint8_t> bin;
  for (uint32_t n = 0; n < 20; ++n) append(bin, user_pattern(n, 2048));
  dir.write("data.iso", bin);
  ImagePtr img = open_ok(dir, "FILE \"data.iso\" BINARY\n  TRACK 01 MODE1/2048\n    INDEX 01 00:00:00\n");
  ASSERT_TRUE(img);
  const disc::Disc& d = img->disc();
  EXPECT_EQ(img->format_name(), "cue");
  EXPECT_EQ(d.disc_class, disc::DiscClass::cd_rom);
  ASSERT_EQ(d.tracks.size(), 1u);
  EXPECT_EQ(d.tracks[0].mode, TrackMode::mode1);
  EXPECT_EQ(d.tracks[0].start_lba, 0);
  EXPECT_EQ(d.tracks[0].length(), 20);
  EXPECT_EQ(d.tracks[0].pregap(), 0);
  EXPECT_EQ(d.tracks[0].control, disc::control::kDataTrack);
  EXPECT_EQ(d.leadout_lba(), 20);
  ASSERT_EQ(d.sessions.size(), 1u);
  EXPECT_EQ(read_user(*img, 7), user_pattern(7, 2048));
  auto many = read_user(*img, 3, 5);
  for (uint32_t k = 0; k < 5; ++k) {
    EXPECT_TRUE(std::equal(many.begin() + k * 2048, many.begin() + (k + 1) * 2048, user_pattern(3 + k, 2048).begin()));
  }
  // Raw sectors are synthesised: sync, header with MSF of LBA + 150, EDC and ECC.
  auto raw = read_raw(*img, 19);
  EXPECT_EQ(raw, raw_sector(TrackMode::mode1, 19, 19));
  expect_good_sector(raw, 19, TrackMode::mode1);
  EXPECT_FALSE(img->stores_raw(0));
  // Out of range.
  std::vector<uint8_t> buf(2048);
  EXPECT_EQ(img->read_user(20, 1, buf).code(), Status::Code::out_of_range);
  EXPECT_EQ(img->read_user(-1, 1, buf).code(), Status::Code::out_of_range);
  std::vector<uint8_t> two(4096);
  EXPECT_EQ(img->read_user(19, 2, two).code(), Status::Code::out_of_range);
  std::vector<uint8_t> wrong(100);
  EXPECT_EQ(img->read_user(0, 1, wrong).code(), Status::Code::invalid_argument);
}

TEST(CueImage, Mode1_2352PassesRawThrough) {
  TempDir dir;
  std::vector<uint8_t> bin;
  for (int32_t n = 0; n < 10; ++n) append(bin, raw_sector(TrackMode::mode1, n, n));
  bin[5 * kRaw + 2100] ^= 0xFF;  // a damaged stored sector must come back unchanged
  dir.write("raw.bin", bin);
  ImagePtr img = open_ok(dir, "FILE raw.bin BINARY\nTRACK 01 MODE1/2352\nINDEX 01 00:00:00\n");
  ASSERT_TRUE(img);
  EXPECT_TRUE(img->stores_raw(0));
  auto raw = read_raw(*img, 0, 10);
  EXPECT_EQ(raw, bin);
  EXPECT_EQ(read_user(*img, 4), user_pattern(4, 2048));
}

// A mixed-mode disc in one file: data, then audio with INDEX 00 in the file,
// then audio with PREGAP and POSTGAP (not in the file), then two more files.
TEST(CueImage, MixedLayoutPregapsPostgapsSeveralFiles) {
  TempDir dir;
  std::vector<uint8_t> bin;
  for (int32_t n = 0; n < 300; ++n) append(bin, raw_sector(TrackMode::mode1, n, n));
  const std::vector<uint8_t> audio2 = test_pcm(0, 588 * 400);  // 400 sectors: 150 pregap + 250
  const std::vector<uint8_t> audio3 = test_pcm(1000000, 588 * 100);
  append(bin, audio2);
  append(bin, audio3);
  dir.write("one.bin", bin);
  const std::vector<uint8_t> audio4 = test_pcm(2000000, 588 * 50);
  dir.write("four.bin", audio4);
  std::vector<uint8_t> data5;
  for (uint32_t n = 0; n < 30; ++n) append(data5, user_pattern(n, 2048, 5));
  dir.write("five.iso", data5);
  std::vector<std::string> warnings;
  ImagePtr img = open_ok(dir,
                         "CATALOG 0724384960650\n"
                         "FILE \"one.bin\" BINARY\n"
                         "  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n"
                         "  TRACK 02 AUDIO\n    FLAGS DCP PRE\n    ISRC GBAYE0000351\n    INDEX 00 00:04:00\n    INDEX 01 00:06:00\n"
                         "    INDEX 02 00:07:00\n"
                         "  TRACK 03 AUDIO\n    PREGAP 00:01:00\n    INDEX 01 00:09:25\n    POSTGAP 00:00:10\n"
                         "FILE \"four.bin\" BINARY\n  TRACK 04 AUDIO\n    INDEX 01 00:00:00\n"
                         "FILE \"five.iso\" BINARY\n  TRACK 05 MODE1/2048\n    PREGAP 00:02:00\n    INDEX 01 00:00:00\n"
                         "    POSTGAP 00:02:00\n",
                         &warnings);
  ASSERT_TRUE(img);
  EXPECT_TRUE(warnings.empty()) << warnings[0];
  const disc::Disc& d = img->disc();
  EXPECT_EQ(d.disc_class, disc::DiscClass::cd_rom);
  EXPECT_EQ(d.mcn, "0724384960650");
  ASSERT_EQ(d.tracks.size(), 5u);
  const disc::Track& t1 = d.tracks[0];
  const disc::Track& t2 = d.tracks[1];
  const disc::Track& t3 = d.tracks[2];
  const disc::Track& t4 = d.tracks[3];
  const disc::Track& t5 = d.tracks[4];
  EXPECT_EQ(t1.start_lba, 0);
  EXPECT_EQ(t1.end_lba, 300);
  EXPECT_EQ(t2.mode, TrackMode::audio);
  EXPECT_EQ(t2.control, disc::control::kCopyPermitted | disc::control::kPreEmphasis);
  EXPECT_EQ(t2.isrc, "GBAYE0000351");
  EXPECT_EQ(t2.pregap_lba, 300);
  EXPECT_EQ(t2.start_lba, 450);
  EXPECT_EQ(t2.pregap(), 150);
  ASSERT_EQ(t2.indices.size(), 3u);
  EXPECT_EQ(t2.indices[0].number, 0);
  EXPECT_EQ(t2.indices[0].lba, 300);
  EXPECT_EQ(t2.indices[2].number, 2);
  EXPECT_EQ(t2.indices[2].lba, 525);
  EXPECT_EQ(t2.end_lba, 700);
  // Track 3: 75 sectors of PREGAP not in the file, 100 stored, 10 of POSTGAP.
  EXPECT_EQ(t3.pregap_lba, 700);
  EXPECT_EQ(t3.start_lba, 775);
  EXPECT_EQ(t3.postgap, 10);
  EXPECT_EQ(t3.end_lba, 885);
  EXPECT_EQ(t3.length(), 110);
  EXPECT_EQ(t4.start_lba, 885);
  EXPECT_EQ(t4.end_lba, 935);
  EXPECT_EQ(t5.pregap_lba, 935);
  EXPECT_EQ(t5.start_lba, 1085);
  EXPECT_EQ(t5.end_lba, 1085 + 30 + 150);
  EXPECT_EQ(d.leadout_lba(), 1265);
  EXPECT_EQ(d.index_at(520), 1);
  EXPECT_EQ(d.index_at(525), 2);

  // File offsets: audio sectors come from the right place.
  auto a = read_raw(*img, 300, 400);
  EXPECT_EQ(a, audio2);
  auto b = read_raw(*img, 775, 100);
  EXPECT_EQ(b, audio3);
  EXPECT_EQ(read_user(*img, 885, 50), audio4);
  EXPECT_EQ(read_user(*img, 1085 + 29), user_pattern(29, 2048, 5));
  // Not stored: PREGAP / POSTGAP of audio read as silence, of data as empty mode 1 sectors.
  auto silence = read_raw(*img, 700, 75);
  EXPECT_TRUE(std::all_of(silence.begin(), silence.end(), [](uint8_t v) { return v == 0; }));
  EXPECT_FALSE(img->stores_raw(700));
  EXPECT_TRUE(img->stores_raw(775));
  auto post = read_raw(*img, 875, 10);
  EXPECT_TRUE(std::all_of(post.begin(), post.end(), [](uint8_t v) { return v == 0; }));
  auto gap = read_raw(*img, 935);
  expect_good_sector(gap, 935, TrackMode::mode1);
  EXPECT_EQ(read_user(*img, 935), std::vector<uint8_t>(2048, 0));
  auto tail = read_raw(*img, 1264);
  expect_good_sector(tail, 1264, TrackMode::mode1);
  // A read that crosses from audio into data sizes differently.
  std::vector<uint8_t> cross(2 * kRaw);
  EXPECT_EQ(img->read_user(934, 2, cross).code(), Status::Code::invalid_argument);
  // Stored data sectors passed through.
  EXPECT_EQ(read_raw(*img, 299), raw_sector(TrackMode::mode1, 299, 299));
}

TEST(CueImage, Track1PregapIsBeforeLba0) {
  TempDir dir;
  dir.write("a.bin", test_pcm(0, 588 * 10));
  ImagePtr img = open_ok(dir, "FILE a.bin BINARY\nTRACK 01 AUDIO\nPREGAP 00:02:00\nINDEX 01 00:00:00\n");
  ASSERT_TRUE(img);
  const disc::Track& t = img->disc().tracks[0];
  EXPECT_EQ(t.pregap_lba, -150);
  EXPECT_EQ(t.start_lba, 0);
  EXPECT_EQ(t.pregap(), 150);
  EXPECT_EQ(img->disc().disc_class, disc::DiscClass::cd_da);
  auto s = read_raw(*img, -150);
  EXPECT_EQ(s, std::vector<uint8_t>(kRaw, 0));
  EXPECT_EQ(read_raw(*img, 0, 10), test_pcm(0, 588 * 10));
  std::vector<uint8_t> buf(kRaw);
  EXPECT_EQ(img->read_raw(-151, 1, buf).code(), Status::Code::out_of_range);
}

TEST(CueImage, HiddenTrackOneAudioStartsAtLba0) {
  TempDir dir;
  dir.write("a.bin", test_pcm(0, 588 * 500));
  ImagePtr img = open_ok(dir, "FILE a.bin BINARY\nTRACK 01 AUDIO\nINDEX 00 00:00:00\nINDEX 01 00:04:00\n");
  ASSERT_TRUE(img);
  const disc::Track& t = img->disc().tracks[0];
  EXPECT_EQ(t.pregap_lba, 0);
  EXPECT_EQ(t.start_lba, 300);
  EXPECT_EQ(read_raw(*img, 0, 500), test_pcm(0, 588 * 500));
}

TEST(CueImage, MotorolaIsByteSwappedAudio) {
  TempDir dir;
  auto pcm = test_pcm(0, 588 * 4);
  auto swapped = pcm;
  for (size_t i = 0; i < swapped.size(); i += 2) std::swap(swapped[i], swapped[i + 1]);
  dir.write("be.bin", swapped);
  ImagePtr img = open_ok(dir, "FILE be.bin MOTOROLA\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n");
  ASSERT_TRUE(img);
  EXPECT_EQ(read_raw(*img, 0, 4), pcm);
  EXPECT_EQ(read_user(*img, 1, 3), std::vector<uint8_t>(pcm.begin() + kRaw, pcm.end()));
}

TEST(CueImage, Mode2XaForm1AndForm2Tracks) {
  TempDir dir;
  std::vector<uint8_t> bin;
  const disc::XaSubheader form1{0, 0, disc::ecma130::submode::kData, 0};
  const disc::XaSubheader form2{1, 1, disc::ecma130::submode::kForm2 | disc::ecma130::submode::kVideo, 0x0F};
  for (int32_t n = 0; n < 20; ++n) append(bin, raw_sector(TrackMode::mode2_form1, n, n, &form1));
  dir.write("t1.bin", bin);
  std::vector<uint8_t> mpeg;
  for (int32_t n = 0; n < 20; ++n) append(mpeg, raw_sector(TrackMode::mode2_form2, 20 + 150 + n, n, &form2));
  dir.write("t2.bin", mpeg);
  ImagePtr img = open_ok(dir,
                         "FILE t1.bin BINARY\nTRACK 01 MODE2/2352\nINDEX 01 00:00:00\n"
                         "FILE t2.bin BINARY\nTRACK 02 MODE2/2352\nPREGAP 00:02:00\nINDEX 01 00:00:00\n");
  ASSERT_TRUE(img);
  const disc::Disc& d = img->disc();
  EXPECT_EQ(d.disc_class, disc::DiscClass::cd_rom_xa);
  EXPECT_EQ(d.tracks[0].mode, TrackMode::mode2_form1);
  EXPECT_EQ(d.tracks[1].mode, TrackMode::mode2_form2);
  EXPECT_EQ(read_user(*img, 5), user_pattern(5, 2048));
  EXPECT_EQ(read_user(*img, 170 + 3), user_pattern(3, 2324));
  EXPECT_EQ(read_raw(*img, 170 + 3), mpeg.size() ? std::vector<uint8_t>(mpeg.begin() + 3 * kRaw, mpeg.begin() + 4 * kRaw)
                                                 : std::vector<uint8_t>());
  // The PREGAP of the XA track is a well-formed form 2 sector.
  expect_good_sector(read_raw(*img, 20), 20, TrackMode::mode2_form2);
}

TEST(CueImage, Mode2_2336SynthesisesRaw) {
  TempDir dir;
  std::vector<uint8_t> bin;
  std::vector<std::vector<uint8_t>> expected;
  for (int32_t n = 0; n < 8; ++n) {
    auto raw = raw_sector(TrackMode::mode2_form1, n, n);
    expected.push_back(raw);
    bin.insert(bin.end(), raw.begin() + 16, raw.end());  // subheader + data + EDC/ECC
  }
  dir.write("m2.bin", bin);
  ImagePtr img = open_ok(dir, "FILE m2.bin BINARY\nTRACK 01 CDI/2336\nINDEX 01 00:00:00\n");
  ASSERT_TRUE(img);
  EXPECT_EQ(img->disc().tracks[0].mode, TrackMode::mode2_form1);
  for (int32_t n = 0; n < 8; ++n) {
    EXPECT_EQ(read_raw(*img, n), expected[n]) << n;
    EXPECT_EQ(read_user(*img, n), user_pattern(n, 2048));
  }
  EXPECT_FALSE(img->stores_raw(0));
}

TEST(CueImage, FormlessMode2) {
  TempDir dir;
  std::vector<uint8_t> bin;
  for (int32_t n = 0; n < 4; ++n) append(bin, raw_sector(TrackMode::mode2, n, n));
  // Make sure the "subheader" copies differ so the track is formless.
  for (int32_t n = 0; n < 4; ++n) {
    bin[n * kRaw + 16] = 1;
    bin[n * kRaw + 20] = 2;
  }
  dir.write("f.bin", bin);
  ImagePtr img = open_ok(dir, "FILE f.bin BINARY\nTRACK 01 MODE2/2352\nINDEX 01 00:00:00\n");
  ASSERT_TRUE(img);
  EXPECT_EQ(img->disc().tracks[0].mode, TrackMode::mode2);
  auto user = read_user(*img, 2);
  EXPECT_EQ(user, std::vector<uint8_t>(bin.begin() + 2 * kRaw + 16, bin.begin() + 3 * kRaw));
}

TEST(CueImage, CdgSubchannelPassedThrough) {
  TempDir dir;
  std::vector<uint8_t> bin;
  auto pcm = test_pcm(0, 588 * 3);
  for (int n = 0; n < 3; ++n) {
    bin.insert(bin.end(), pcm.begin() + n * kRaw, pcm.begin() + (n + 1) * kRaw);
    for (int i = 0; i < 96; ++i) bin.push_back(static_cast<uint8_t>(n * 96 + i));
  }
  dir.write("k.cdg.bin", bin);
  ImagePtr img = open_ok(dir, "FILE k.cdg.bin BINARY\nTRACK 01 CDG\nINDEX 01 00:00:00\n");
  ASSERT_TRUE(img);
  EXPECT_EQ(img->disc().tracks[0].mode, TrackMode::audio);
  EXPECT_EQ(read_raw(*img, 0, 3), pcm);
  EXPECT_EQ(read_user(*img, 0, 3), pcm);
  std::vector<uint8_t> sub(96);
  ASSERT_TRUE(img->read_subchannel(2, 1, sub).ok());
  EXPECT_EQ(sub[0], 2 * 96 % 256);
  EXPECT_EQ(sub[95], static_cast<uint8_t>(2 * 96 + 95));
}

TEST(CueImage, GeneratedSubchannelQ) {
  TempDir dir;
  std::vector<uint8_t> bin(588 * 4 * 300);
  dir.write("a.bin", bin);
  ImagePtr img = open_ok(dir,
                         "CATALOG 1234567890123\nFILE a.bin BINARY\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n"
                         "TRACK 02 AUDIO\nISRC USXYZ1234567\nINDEX 00 00:01:00\nINDEX 01 00:02:00\n");
  ASSERT_TRUE(img);
  std::vector<uint8_t> sub(96 * 300);
  ASSERT_TRUE(img->read_subchannel(0, 300, sub).ok());
  int positions = 0, mcn = 0, isrc = 0;
  for (int32_t lba = 0; lba < 300; ++lba) {
    auto q = disc::extract_q(std::span<const uint8_t, 96>(sub.data() + lba * 96, 96));
    ASSERT_TRUE(disc::q_crc_ok(q)) << lba;
    if (auto p = disc::decode_position(q)) {
      ++positions;
      EXPECT_EQ(p->track, lba < 75 ? 1 : 2) << lba;
      EXPECT_EQ(p->index, lba < 75 ? 1 : lba < 150 ? 0 : 1) << lba;
      EXPECT_EQ(p->absolute, disc::lba_to_msf(lba));
    } else if (disc::decode_mcn(q)) {
      ++mcn;
      EXPECT_EQ(*disc::decode_mcn(q), "1234567890123");
    } else if (auto i = disc::decode_isrc(q)) {
      ++isrc;
      EXPECT_EQ(*i, "USXYZ1234567");
    }
  }
  EXPECT_GT(positions, 250);
  EXPECT_GT(mcn, 0);
  EXPECT_GT(isrc, 0);
}

TEST(CueImage, Multisession) {
  TempDir dir;
  dir.write("audio.bin", test_pcm(0, 588 * 1000));
  std::vector<uint8_t> data;
  for (int32_t n = 0; n < 150; ++n) data.insert(data.end(), kRaw, 0);
  const int32_t s2_start = 1000 + 11400;
  for (int32_t n = 0; n < 40; ++n) append(data, raw_sector(TrackMode::mode2_form1, s2_start + n, n));
  dir.write("data.bin", data);
  dir.write("data3.bin", std::vector<uint8_t>(2048 * 10, 7));
  ImagePtr img = open_ok(dir,
                         "REM SESSION 01\nFILE \"audio.bin\" BINARY\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n"
                         "REM SESSION 02\nFILE \"data.bin\" BINARY\n  TRACK 02 MODE2/2352\n    INDEX 00 00:00:00\n"
                         "    INDEX 01 00:02:00\n"
                         "REM SESSION 03\nFILE \"data3.bin\" BINARY\n  TRACK 03 MODE1/2048\n    INDEX 01 00:00:00\n");
  ASSERT_TRUE(img);
  const disc::Disc& d = img->disc();
  ASSERT_EQ(d.sessions.size(), 3u);
  EXPECT_EQ(d.disc_class, disc::DiscClass::cd_rom_xa);
  EXPECT_EQ(d.sessions[0].leadout_lba, 1000);
  EXPECT_EQ(d.sessions[0].first_track, 1);
  EXPECT_EQ(d.sessions[0].last_track, 1);
  const disc::Track& t2 = d.tracks[1];
  EXPECT_EQ(t2.session, 2);
  EXPECT_EQ(t2.pregap_lba, 1000 + 11250);
  EXPECT_EQ(t2.start_lba, 1000 + 11400);
  EXPECT_EQ(t2.mode, TrackMode::mode2_form1);
  EXPECT_EQ(d.sessions[1].leadout_lba, s2_start + 40);
  // Third session: later lead-out (2250) + lead-in (4500) + implicit 150-sector pregap.
  const disc::Track& t3 = d.tracks[2];
  EXPECT_EQ(t3.session, 3);
  EXPECT_EQ(t3.pregap_lba, s2_start + 40 + 6750);
  EXPECT_EQ(t3.start_lba, s2_start + 40 + 6900);
  EXPECT_EQ(t3.pregap(), 150);
  EXPECT_EQ(d.leadout_lba(), t3.start_lba + 10);
  EXPECT_EQ(read_user(*img, s2_start + 7), user_pattern(7, 2048));
  EXPECT_EQ(read_user(*img, t3.start_lba + 9), std::vector<uint8_t>(2048, 7));
  std::vector<uint8_t> buf(kRaw);
  EXPECT_EQ(img->read_raw(1000, 1, buf).code(), Status::Code::out_of_range);  // lead-out of session 1
  EXPECT_EQ(img->read_raw(1000 + 11249, 1, buf).code(), Status::Code::out_of_range);
  EXPECT_TRUE(img->read_raw(1000 + 11250, 1, buf).ok());
}

// ---- WAVE and FLAC ------------------------------------------------------

std::vector<uint8_t> wav_file(const std::vector<uint8_t>& pcm, uint16_t channels = 2, uint32_t rate = 44100,
                              uint16_t bits = 16, bool extra_chunk = true) {
  std::vector<uint8_t> out;
  auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  auto put16 = [&](uint16_t v) {
    out.push_back(static_cast<uint8_t>(v));
    out.push_back(static_cast<uint8_t>(v >> 8));
  };
  auto tag = [&](const char* t) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(t[i]));
  };
  tag("RIFF");
  put32(0);
  tag("WAVE");
  if (extra_chunk) {  // a LIST chunk with an odd length (padded) before 'fmt '
    tag("LIST");
    put32(5);
    tag("INFO");
    out.push_back('x');
    out.push_back(0);
  }
  tag("fmt ");
  put32(16);
  put16(1);
  put16(channels);
  put32(rate);
  put32(rate * channels * bits / 8);
  put16(static_cast<uint16_t>(channels * bits / 8));
  put16(bits);
  tag("data");
  put32(static_cast<uint32_t>(pcm.size()));
  out.insert(out.end(), pcm.begin(), pcm.end());
  const uint32_t riff = static_cast<uint32_t>(out.size() - 8);
  for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<uint8_t>(riff >> (8 * i));
  return out;
}

TEST(CueImage, WaveFilesSampleExact) {
  TempDir dir;
  const auto pcm1 = test_pcm(0, 588 * 200 + 100);  // not whole sectors: padded
  const auto pcm2 = test_pcm(777, 588 * 50);
  dir.write("01.wav", wav_file(pcm1));
  dir.write("02.wav", wav_file(pcm2, 2, 44100, 16, false));
  std::vector<std::string> warnings;
  ImagePtr img = open_ok(dir,
                         "FILE \"01.wav\" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n"
                         "  TRACK 02 AUDIO\n    INDEX 00 00:02:00\n    INDEX 01 00:02:10\n"
                         "FILE \"02.wav\" WAVE\n  TRACK 03 AUDIO\n    INDEX 01 00:00:00\n",
                         &warnings);
  ASSERT_TRUE(img);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("padded with silence"), std::string::npos) << warnings[0];
  const disc::Disc& d = img->disc();
  EXPECT_EQ(d.tracks[0].length(), 150);
  EXPECT_EQ(d.tracks[1].pregap(), 10);
  EXPECT_EQ(d.tracks[1].end_lba, 201);
  EXPECT_EQ(d.tracks[2].length(), 50);
  auto all = read_raw(*img, 0, 201);
  EXPECT_TRUE(std::equal(pcm1.begin(), pcm1.end(), all.begin()));
  EXPECT_TRUE(std::all_of(all.begin() + static_cast<std::ptrdiff_t>(pcm1.size()), all.end(), [](uint8_t v) { return v == 0; }));
  EXPECT_EQ(read_user(*img, 201, 50), pcm2);
  EXPECT_TRUE(img->stores_raw(201));
}

// EAC "gaps appended to previous track": the pregap of track N+1 is at the
// end of file N, its INDEX 01 at the start of file N+1.
TEST(CueImage, TrackSpanningTwoFilesWavAndFlac) {
  TempDir dir;
  const auto pcm1 = test_pcm(0, 588 * 300);
  const auto pcm2 = test_pcm(588 * 300, 588 * 200);
  const auto pcm3 = test_pcm(588 * 500, 588 * 100);
  dir.write("01.wav", wav_file(pcm1));
  dir.write("02.bin", pcm2);
  dir.write("03.wav", wav_file(pcm3));
  ImagePtr img = open_ok(dir,
                         "FILE \"01.wav\" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n"
                         "  TRACK 02 AUDIO\n    INDEX 00 00:03:25\n"
                         "FILE \"02.bin\" BINARY\n    INDEX 01 00:00:00\n    INDEX 02 00:01:00\n"
                         "  TRACK 03 AUDIO\n    INDEX 00 00:02:00\n"
                         "FILE \"03.wav\" WAVE\n    INDEX 01 00:00:00\n");
  ASSERT_TRUE(img);
  const disc::Disc& d = img->disc();
  ASSERT_EQ(d.tracks.size(), 3u);
  EXPECT_EQ(d.tracks[0].end_lba, 250);
  EXPECT_EQ(d.tracks[1].pregap_lba, 250);
  EXPECT_EQ(d.tracks[1].start_lba, 300);
  EXPECT_EQ(d.tracks[1].indices.back().number, 2);
  EXPECT_EQ(d.tracks[1].indices.back().lba, 375);
  EXPECT_EQ(d.tracks[1].end_lba, 450);
  EXPECT_EQ(d.tracks[2].pregap_lba, 450);
  EXPECT_EQ(d.tracks[2].start_lba, 500);
  EXPECT_EQ(d.leadout_lba(), 600);
  std::vector<uint8_t> all = pcm1;
  append(all, pcm2);
  append(all, pcm3);
  EXPECT_EQ(read_raw(*img, 0, 600), all);
  // Runs that cross a file boundary inside one track.
  EXPECT_EQ(read_raw(*img, 290, 20), std::vector<uint8_t>(all.begin() + 290 * kRaw, all.begin() + 310 * kRaw));
  // An index past the end of its file.
  const std::string msg = open_error(dir,
                                     "FILE \"01.wav\" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n"
                                     "  TRACK 02 AUDIO\n    INDEX 00 00:05:00\n"
                                     "FILE \"02.bin\" BINARY\n    INDEX 01 00:00:00\n");
  EXPECT_NE(msg.find("line 5: '01.wav' is shorter than the sheet says"), std::string::npos) << msg;
}

TEST(CueImage, WaveFormatErrors) {
  TempDir dir;
  dir.write("mono.wav", wav_file(test_pcm(0, 588), 1));
  std::string msg = open_error(dir, "FILE \"mono.wav\" WAVE\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n");
  EXPECT_NE(msg.find("line 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("mono.wav"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1-channel"), std::string::npos) << msg;
  dir.write("hi.wav", wav_file(test_pcm(0, 588), 2, 48000));
  msg = open_error(dir, "FILE \"hi.wav\" WAVE\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n");
  EXPECT_NE(msg.find("48000 Hz"), std::string::npos) << msg;
  auto cut = wav_file(test_pcm(0, 588 * 10));
  cut.resize(cut.size() - 1000);
  dir.write("cut.wav", cut);
  msg = open_error(dir, "FILE \"cut.wav\" WAVE\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n");
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  dir.write("x.aiff", std::vector<uint8_t>{'F', 'O', 'R', 'M', 0, 0, 0, 4, 'A', 'I', 'F', 'F'});
  msg = open_error(dir, "FILE \"x.aiff\" WAVE\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n");
  EXPECT_NE(msg.find("AIFF audio is not supported"), std::string::npos) << msg;
  dir.write("w.wav", wav_file(test_pcm(0, 588 * 10)));
  msg = open_error(dir, "FILE \"w.wav\" WAVE\nTRACK 01 MODE1/2352\nINDEX 01 00:00:00\n");
  EXPECT_NE(msg.find("line 2: track 1 is MODE1/2352 but its file 'w.wav' is WAVE"), std::string::npos) << msg;
}

// Encodes PCM (little-endian stereo 16-bit) to FLAC with libFLAC.
void write_flac(const std::string& path, const std::vector<uint8_t>& pcm, unsigned blocksize = 0) {
  FLAC__StreamEncoder* enc = FLAC__stream_encoder_new();
  ASSERT_NE(enc, nullptr);
  FLAC__stream_encoder_set_channels(enc, 2);
  FLAC__stream_encoder_set_bits_per_sample(enc, 16);
  FLAC__stream_encoder_set_sample_rate(enc, 44100);
  FLAC__stream_encoder_set_compression_level(enc, 5);
  if (blocksize != 0) FLAC__stream_encoder_set_blocksize(enc, blocksize);
  const size_t frames = pcm.size() / 4;
  FLAC__stream_encoder_set_total_samples_estimate(enc, frames);
  ASSERT_EQ(FLAC__stream_encoder_init_file(enc, path.c_str(), nullptr, nullptr), FLAC__STREAM_ENCODER_INIT_STATUS_OK);
  std::vector<FLAC__int32> buf(frames * 2);
  for (size_t i = 0; i < frames * 2; ++i) {
    buf[i] = static_cast<int16_t>(static_cast<uint16_t>(pcm[2 * i] | pcm[2 * i + 1] << 8));
  }
  ASSERT_TRUE(FLAC__stream_encoder_process_interleaved(enc, buf.data(), static_cast<unsigned>(frames)));
  ASSERT_TRUE(FLAC__stream_encoder_finish(enc));
  FLAC__stream_encoder_delete(enc);
}

TEST(CueImage, FlacSampleExactWithRandomSeeks) {
  TempDir dir;
  const uint64_t frames = 588 * 600 + 37;
  const auto pcm = test_pcm(0, frames);
  write_flac(dir.file("CDImage.flac"), pcm, 4096);
  ImagePtr img = open_ok(dir,
                         "FILE \"CDImage.flac\" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n"
                         "  TRACK 02 AUDIO\n    INDEX 00 00:03:00\n    INDEX 01 00:04:00\n");
  ASSERT_TRUE(img);
  const disc::Disc& d = img->disc();
  EXPECT_EQ(d.tracks[1].pregap_lba, 225);
  EXPECT_EQ(d.tracks[1].start_lba, 300);
  EXPECT_EQ(d.leadout_lba(), 601);
  // Whole disc, sequentially.
  auto all = read_raw(*img, 0, 601);
  ASSERT_TRUE(std::equal(pcm.begin(), pcm.end(), all.begin()));
  EXPECT_TRUE(std::all_of(all.begin() + static_cast<std::ptrdiff_t>(pcm.size()), all.end(), [](uint8_t v) { return v == 0; }));
  // Random single sectors and short runs, backwards and forwards.
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    const int32_t lba = static_cast<int32_t>(rng() % 590);
    const uint32_t n = 1 + rng() % 10;
    auto got = read_raw(*img, lba, n);
    ASSERT_TRUE(std::equal(got.begin(), got.end(), pcm.begin() + lba * kRaw)) << "LBA " << lba << " count " << n;
  }
}

TEST(CueImage, FlacConcurrentReaders) {
  TempDir dir;
  const uint64_t frames = 588 * 300;
  const auto pcm = test_pcm(5, frames);
  write_flac(dir.file("c.flac"), pcm);
  ImagePtr img = open_ok(dir, "FILE c.flac WAVE\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n");
  ASSERT_TRUE(img);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::vector<uint8_t> buf(kRaw * 4);
      for (int i = 0; i < 150; ++i) {
        const int32_t lba = static_cast<int32_t>(rng() % 296);
        if (!img->read_raw(lba, 4, buf).ok() || !std::equal(buf.begin(), buf.end(), pcm.begin() + lba * kRaw)) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(CueImage, FlacFromCommandLineEncoder) {
  if (std::system("command -v flac >/dev/null 2>&1") != 0) GTEST_SKIP() << "flac command not installed";
  TempDir dir;
  const auto pcm = test_pcm(99, 588 * 120);
  dir.write("in.raw", pcm);
  const std::string cmd = "flac -s --force-raw-format --endian=little --sign=signed --channels=2 --bps=16 "
                          "--sample-rate=44100 -o '" + dir.file("t.flac") + "' '" + dir.file("in.raw") + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ImagePtr img = open_ok(dir, "FILE \"t.flac\" WAVE\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n");
  ASSERT_TRUE(img);
  EXPECT_EQ(read_raw(*img, 0, 120), pcm);
  EXPECT_EQ(read_raw(*img, 77, 3), std::vector<uint8_t>(pcm.begin() + 77 * kRaw, pcm.begin() + 80 * kRaw));
}

TEST(CueImage, DamagedFlacIsCorruptionNotCrash) {
  TempDir dir;
  const auto pcm = test_pcm(0, 588 * 100);
  write_flac(dir.file("d.flac"), pcm);
  auto r = open_file(dir.file("d.flac"));
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> bytes((*r)->size());
  ASSERT_TRUE((*r)->read_at(0, bytes).ok());
  bytes.resize(bytes.size() / 2);  // truncated
  dir.write("d.flac", bytes);
  ImagePtr img = open_ok(dir, "FILE d.flac WAVE\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n");
  ASSERT_TRUE(img);
  std::vector<uint8_t> buf(kRaw);
  EXPECT_TRUE(img->read_raw(1, 1, buf).ok());
  Status s = img->read_raw(99, 1, buf);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("d.flac"), std::string::npos) << s.message();
  // After an error the decoder still serves good sectors.
  EXPECT_TRUE(img->read_raw(2, 1, buf).ok());
  EXPECT_TRUE(std::equal(buf.begin(), buf.end(), pcm.begin() + 2 * kRaw));
}

// ---- Corruption and missing files --------------------------------------

TEST(CueImage, TruncatedBinNamesFileAndSizes) {
  TempDir dir;
  dir.write("short.bin", std::vector<uint8_t>(2352 * 100));
  const std::string msg = open_error(dir,
                                     "FILE short.bin BINARY\nTRACK 01 MODE1/2352\nINDEX 01 00:00:00\n"
                                     "TRACK 02 AUDIO\nINDEX 00 00:01:00\nINDEX 01 00:02:00\n");
  EXPECT_NE(msg.find("disc.cue: line 6: 'short.bin' is shorter than the sheet says: 235200 bytes"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("track 2"), std::string::npos) << msg;
}

TEST(CueImage, MissingFileNamesLineAndPath) {
  TempDir dir;
  const std::string msg = open_error(dir, "REM x\nFILE \"gone.bin\" BINARY\nTRACK 01 MODE1/2352\nINDEX 01 00:00:00\n");
  EXPECT_NE(msg.find("disc.cue: line 2: FILE 'gone.bin'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing file"), std::string::npos) << msg;
  EXPECT_NE(msg.find(dir.file("gone.bin")), std::string::npos) << msg;
}

TEST(CueImage, MissingCueSheet) {
  auto r = open_cue("/nonexistent/dir/x.cue");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/dir/x.cue"), std::string::npos);
}

TEST(CueImage, TrailingPartialSectorIsAWarning) {
  TempDir dir;
  dir.write("p.bin", std::vector<uint8_t>(2352 * 3 + 100));
  std::vector<std::string> warnings;
  ImagePtr img = open_ok(dir, "FILE p.bin BINARY\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n", &warnings);
  ASSERT_TRUE(img);
  EXPECT_EQ(img->disc().leadout_lba(), 3);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("100 bytes"), std::string::npos) << warnings[0];
}

TEST(CueImage, ResolverFindsCaseAndBackslashVariants) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("sub"));
  dir.write("sub/Track 01.BIN", std::vector<uint8_t>(2352 * 2));
  dir.write_text("disc.cue", "FILE \"sub\\track 01.bin\" BINARY\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n");
  auto r = open_cue(dir.file("disc.cue"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ((*r)->disc().leadout_lba(), 2);
  // A Windows absolute path: the bare name is looked up beside the sheet.
  dir.write("x.bin", std::vector<uint8_t>(2352));
  dir.write_text("w.cue", "FILE \"C:\\rips\\x.bin\" BINARY\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n");
  auto w = open_cue(dir.file("w.cue"));
  ASSERT_TRUE(w.ok()) << w.status().to_string();
}

TEST(CueImage, ParserErrorsTravelUp) {
  TempDir dir;
  const std::string msg = open_error(dir, "FILE a.bin BINARY\nTRACK 01 MODE7\n");
  EXPECT_NE(msg.find(dir.file("disc.cue") + ": line 2: unknown track mode"), std::string::npos) << msg;
}

// Opening reads metadata only: a few bytes, however large the files.
class CountingFile final : public RandomAccessFile {
 public:
  CountingFile(std::shared_ptr<RandomAccessFile> base, std::atomic<uint64_t>* bytes) : base_(std::move(base)), bytes_(bytes) {}
  uint64_t size() const override { return base_->size(); }
  const std::string& name() const override { return base_->name(); }
  Status read_at(uint64_t offset, std::span<uint8_t> out) const override {
    *bytes_ += out.size();
    return base_->read_at(offset, out);
  }

 private:
  std::shared_ptr<RandomAccessFile> base_;
  std::atomic<uint64_t>* bytes_;
};

TEST(CueImage, OpeningReadsOnlyMetadata) {
  TempDir dir;
  // 200 MB of BIN (sparse) and a FLAC file.
  {
    std::ofstream big(dir.file("big.bin"), std::ios::binary);
    big.seekp(static_cast<std::streamoff>(2352) * 85000 - 1);
    big.put(0);
  }
  write_flac(dir.file("t.flac"), test_pcm(0, 588 * 200));
  std::atomic<uint64_t> bytes{0};
  auto base = folder_resolver(dir.path());
  auto resolve = [&](const std::string& name) -> Result<std::shared_ptr<RandomAccessFile>> {
    auto f = base(name);
    if (!f.ok()) return f;
    return std::shared_ptr<RandomAccessFile>(std::make_shared<CountingFile>(f.value(), &bytes));
  };
  auto r = open_cue_sheet("FILE big.bin BINARY\nTRACK 01 MODE2/2352\nINDEX 01 00:00:00\nTRACK 02 AUDIO\n"
                          "INDEX 01 10:00:00\nFILE t.flac WAVE\nTRACK 03 AUDIO\nINDEX 01 00:00:00\n",
                          "big.cue", resolve);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ((*r)->disc().leadout_lba(), 85000 + 200);
  EXPECT_LT(bytes.load(), 64u * 1024) << "opening read " << bytes.load() << " bytes";
}

TEST(CueImage, ConcurrentBinReaders) {
  TempDir dir;
  std::vector<uint8_t> bin;
  for (int32_t n = 0; n < 200; ++n) append(bin, raw_sector(TrackMode::mode1, n, n));
  dir.write("c.bin", bin);
  ImagePtr img = open_ok(dir, "FILE c.bin BINARY\nTRACK 01 MODE1/2352\nINDEX 01 00:00:00\n");
  ASSERT_TRUE(img);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t) + 100);
      std::vector<uint8_t> user(2048 * 40);
      for (int i = 0; i < 300; ++i) {
        const int32_t lba = static_cast<int32_t>(rng() % 160);
        const uint32_t n = 1 + rng() % 40;
        std::span<uint8_t> out(user.data(), n * 2048);
        if (!img->read_user(lba, n, out).ok()) ++bad;
        for (uint32_t k = 0; k < n; ++k) {
          if (!std::equal(out.begin() + k * 2048, out.begin() + (k + 1) * 2048, user_pattern(lba + k, 2048).begin())) ++bad;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// Fuzzer find: an empty WAVE file made a zero-length read from an empty
// buffer (memcpy from a null pointer under UBSan). It must be a clean error.
TEST(CueImage, EmptyFilesAreCleanErrors) {
  for (const char* type : {"WAVE", "BINARY", "MOTOROLA"}) {
    auto resolve = [](const std::string& name) -> Result<std::shared_ptr<RandomAccessFile>> {
      return memory_file({}, name);
    };
    auto r = open_cue_sheet(std::string("FILE e.x ") + type + "\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n", "e.cue", resolve);
    ASSERT_FALSE(r.ok()) << type;
    EXPECT_NE(r.status().message().find("e.cue: line 3: 'e.x' is shorter than the sheet says: 0 bytes"),
              std::string::npos)
        << r.status().message();
  }
  TempDir dir;
  dir.write_text("empty.cue", "");
  auto r = open_cue(dir.file("empty.cue"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the sheet has no tracks"), std::string::npos) << r.status().message();
}

TEST(CueImage, InMemoryResolver) {
  std::vector<uint8_t> bin;
  for (int32_t n = 0; n < 5; ++n) append(bin, raw_sector(TrackMode::mode1, n, n));
  auto resolve = [&](const std::string& name) -> Result<std::shared_ptr<RandomAccessFile>> {
    if (name != "mem.bin") return Status::NotFound("no " + name);
    return memory_file(bin, name);
  };
  auto r = open_cue_sheet("FILE mem.bin BINARY\nTRACK 01 MODE1/2352\nINDEX 01 00:00:00\n", "mem.cue", resolve);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(read_raw(**r, 0, 5), bin);
}

}  // namespace
}  // namespace udisc::formats
