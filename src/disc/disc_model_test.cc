#include <gtest/gtest.h>

#include "disc/disc.h"
#include "disc/msf.h"

namespace udisc::disc {
namespace {

TEST(Msf, TableOfConversions) {
  struct Case { int32_t lba; Msf msf; };
  const Case cases[] = {{-150, {0, 0, 0}}, {0, {0, 2, 0}}, {74, {0, 2, 74}}, {75, {0, 3, 0}},
                        {4350, {1, 0, 0}}, {449849, {99, 59, 74}}};
  for (const Case& c : cases) {
    EXPECT_EQ(lba_to_msf(c.lba), c.msf) << c.lba;
    EXPECT_EQ(msf_to_lba(c.msf), c.lba) << c.lba;
  }
}

TEST(Bcd, RoundTrip) {
  for (uint8_t v = 0; v < 100; ++v) EXPECT_EQ(from_bcd(to_bcd(v)), v);
}

TEST(Classify, PlainImageBySize) {
  EXPECT_EQ(classify_plain_image(1), DiscClass::cd_rom);
  EXPECT_EQ(classify_plain_image(405000), DiscClass::cd_rom);
  EXPECT_EQ(classify_plain_image(405001), DiscClass::dvd_rom_single_layer);
  EXPECT_EQ(classify_plain_image(2295104), DiscClass::dvd_rom_single_layer);
  EXPECT_EQ(classify_plain_image(2295105), DiscClass::dvd_rom_dual_layer);
  EXPECT_EQ(classify_plain_image(4173825), DiscClass::bd_rom);
}

Disc two_track_disc() {
  Disc d;
  d.sessions.push_back({1, 1, 2, 1000});
  Track t1;
  t1.number = 1; t1.start_lba = 0; t1.pregap_lba = 0; t1.end_lba = 500; t1.indices = {{1, 0}};
  Track t2;
  t2.number = 2; t2.mode = TrackMode::audio; t2.pregap_lba = 500; t2.start_lba = 650; t2.end_lba = 1000;
  t2.indices = {{0, 500}, {1, 650}, {2, 800}};
  d.tracks = {t1, t2};
  return d;
}

TEST(Disc, LookupByLba) {
  Disc d = two_track_disc();
  ASSERT_TRUE(validate(d).ok()) << validate(d).to_string();
  EXPECT_EQ(d.track_at(0)->number, 1);
  EXPECT_EQ(d.track_at(499)->number, 1);
  EXPECT_EQ(d.track_at(500)->number, 2);
  EXPECT_EQ(d.track_at(1000), nullptr);
  EXPECT_EQ(d.index_at(600), 0);
  EXPECT_EQ(d.index_at(650), 1);
  EXPECT_EQ(d.index_at(900), 2);
}

TEST(Disc, ValidateRejectsOverlap) {
  Disc d = two_track_disc();
  d.tracks[1].pregap_lba = 400;
  Status s = validate(d);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("track 2"), std::string::npos);
}

}  // namespace
}  // namespace udisc::disc
