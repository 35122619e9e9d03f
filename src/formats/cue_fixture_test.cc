// The cue reader on discs written by the project's generator
// (tests/fixtures/make_mixed_cue), and cross-checked against an independent
// cue parser: chdman (MAME) converts the same sheet to CHD; its track
// metadata (TYPE, FRAMES, PREGAP, POSTGAP) must agree with our layout, and the
// sectors it extracts again must equal the sectors we read.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

#include "disc/ecma130.h"
#include "formats/cue_image.h"
#include "formats/cue_test_util.h"

#ifndef MAKE_MIXED_CUE
#error "MAKE_MIXED_CUE must name the generator executable"
#endif

namespace udisc::formats {
namespace {

using disc::TrackMode;
using testing::TempDir;

using testing::q;
using testing::run;

struct Expected {
  int track, session;
  std::string mode;
  int32_t pregap, start, length;
};

std::vector<Expected> read_expected(const std::string& path) {
  std::vector<Expected> out;
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return out;
  Expected e;
  char mode[32];
  while (std::fscanf(f, "track %d session %d mode %31s pregap %d start %d length %d\n", &e.track, &e.session, mode,
                     &e.pregap, &e.start, &e.length) == 6) {
    e.mode = mode;
    out.push_back(e);
  }
  std::fclose(f);
  return out;
}

// Runs the generator into dir; returns the cue path.
std::string generate(const TempDir& dir, const std::string& args) {
  int rc = 0;
  const std::string out = run(q(MAKE_MIXED_CUE) + " " + q(dir.path()) + " " + args, &rc);
  EXPECT_EQ(rc, 0) << out;
  return dir.file("mixed.cue");
}

ImagePtr open_or_fail(const std::string& cue) {
  auto r = open_cue(cue);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? r.value() : nullptr;
}

void check_against_generator(const TempDir& dir, const disc::Image& img, bool multisession) {
  const disc::Disc& d = img.disc();
  const auto expected = read_expected(dir.file("expected.toc"));
  ASSERT_EQ(d.tracks.size(), expected.size());
  ASSERT_GE(expected.size(), 3u);
  for (size_t i = 0; i < expected.size(); ++i) {
    const Expected& e = expected[i];
    const disc::Track& t = d.tracks[i];
    SCOPED_TRACE("track " + std::to_string(e.track));
    EXPECT_EQ(t.number, e.track);
    EXPECT_EQ(t.session, e.session);
    EXPECT_EQ(disc::to_string(t.mode), e.mode);
    EXPECT_EQ(t.pregap(), e.pregap);
    EXPECT_EQ(t.start_lba, e.start);
    EXPECT_EQ(t.length(), e.length);
    // Data tracks: stored sectors carry the generator's headers, so they check
    // out at the LBA our layout gives them (for session 2: lead-out + 11400).
    if (disc::is_data(t.mode)) {
      for (int32_t lba : {t.start_lba, t.start_lba + 1, t.end_lba - 1}) {
        std::vector<uint8_t> raw(2352);
        ASSERT_TRUE(img.read_raw(lba, 1, raw).ok());
        auto c = disc::check_raw_sector(std::span<const uint8_t, 2352>(raw.data(), 2352), lba, t.mode);
        EXPECT_TRUE(c.ok()) << "LBA " << lba << ": " << disc::to_string(c.first_bad());
        EXPECT_TRUE(img.stores_raw(lba));
        std::vector<uint8_t> user(2048);
        ASSERT_TRUE(img.read_user(lba, 1, user).ok());
        char want[32];
        std::snprintf(want, sizeof want, "UDISC SECTOR %08d", lba - t.start_lba);
        if (i == 0 || multisession) {
          EXPECT_EQ(std::string(reinterpret_cast<char*>(user.data())), want);
        }
      }
    }
  }
  EXPECT_EQ(d.mcn, "0000000012345");
  EXPECT_EQ(d.tracks[2].isrc, "ZZUDC0000003");
  EXPECT_EQ(d.tracks[2].control, disc::control::kPreEmphasis);
  EXPECT_EQ(d.tracks[0].control, disc::control::kDataTrack);
  ASSERT_GE(d.tracks[2].indices.size(), 3u);
  EXPECT_EQ(d.tracks[2].indices[2].number, 2);
  EXPECT_EQ(d.sessions.size(), multisession ? 2u : 1u);
  EXPECT_EQ(d.disc_class, multisession ? disc::DiscClass::cd_rom_xa : disc::DiscClass::cd_rom);
  EXPECT_EQ(d.cd_text.title, "Mixed-mode test disc");
}

std::vector<uint8_t> read_all_raw(const disc::Image& img, int32_t from, int32_t to) {
  std::vector<uint8_t> out(static_cast<size_t>(to - from) * 2352);
  Status s = img.read_raw(from, static_cast<uint32_t>(to - from), out);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out;
}

TEST(CueFixture, EveryLayoutMatchesTheGenerator) {
  std::vector<uint8_t> reference_audio;
  for (const char* args : {"", "--multisession", "--layout split", "--layout split --multisession --wave",
                           "--layout single", "--layout single --multisession --audio-tracks 6"}) {
    SCOPED_TRACE(args);
    TempDir dir;
    ImagePtr img = open_or_fail(generate(dir, args));
    ASSERT_TRUE(img);
    check_against_generator(dir, *img, std::strstr(args, "multisession") != nullptr);
    // The audio of track 4 is the same whatever the layout and container.
    const disc::Track* t4 = img->disc().track(4);
    ASSERT_NE(t4, nullptr);
    auto audio = read_all_raw(*img, t4->pregap_lba, t4->end_lba);
    if (reference_audio.empty()) reference_audio = audio;
    EXPECT_TRUE(audio == reference_audio);
  }
}

TEST(CueFixture, IsoContentInTheDataTrack) {
  if (run("command -v xorriso").empty()) GTEST_SKIP() << "xorriso not installed";
  TempDir dir;
  std::filesystem::create_directories(dir.file("root"));
  dir.write_text("root/hello.txt", "hello from the data track\n");
  int rc = 0;
  const std::string out = run("xorriso -as mkisofs -quiet -V UDISC_MIXED -o " + q(dir.file("in.iso")) + " " +
                              q(dir.file("root")), &rc);
  ASSERT_EQ(rc, 0) << out;
  ImagePtr img = open_or_fail(generate(dir, "--iso " + q(dir.file("in.iso"))));
  ASSERT_TRUE(img);
  std::vector<uint8_t> pvd(2048);
  ASSERT_TRUE(img->read_user(16, 1, pvd).ok());
  EXPECT_EQ(pvd[0], 1);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(pvd.data()) + 1, 5), "CD001");
  EXPECT_EQ(std::string(reinterpret_cast<char*>(pvd.data()) + 40, 11), "UDISC_MIXED");
}

// ---- chdman cross-check ------------------------------------------------

struct ChdTrack {
  int track = 0;
  std::string type, pgtype;
  int32_t frames = 0, pregap = 0, postgap = 0;
};

std::vector<ChdTrack> parse_chdman_info(const std::string& text) {
  std::vector<ChdTrack> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t at = line.find("TRACK:");
    if (at == std::string::npos) continue;
    std::istringstream words(line.substr(at));
    std::map<std::string, std::string> kv;
    std::string w;
    while (words >> w) {
      const size_t colon = w.find(':');
      if (colon == std::string::npos) continue;
      std::string v = w.substr(colon + 1);
      if (!v.empty() && v.back() == '.') v.pop_back();
      kv[w.substr(0, colon)] = v;
    }
    ChdTrack t;
    t.track = std::atoi(kv["TRACK"].c_str());
    t.type = kv["TYPE"];
    t.pgtype = kv["PGTYPE"];
    t.frames = std::atoi(kv["FRAMES"].c_str());
    t.pregap = std::atoi(kv["PREGAP"].c_str());
    t.postgap = std::atoi(kv["POSTGAP"].c_str());
    out.push_back(t);
  }
  return out;
}

// chdman's TYPE for each of our modes as stored by the generator.
std::string chd_type(TrackMode m) {
  switch (m) {
    case TrackMode::audio: return "AUDIO";
    case TrackMode::mode1: return "MODE1_RAW";
    default: return "MODE2_RAW";
  }
}

TEST(CueFixture, ChdmanAgreesOnModesLengthsPregapsAndSectors) {
  if (run("command -v chdman").empty()) GTEST_SKIP() << "chdman (mame-tools) not installed";
  // chdman reads a track that shares its file only when every track is in
  // that file, so the shared layout (tracks 1-2 in one file) is left out.
  for (const char* args : {"--layout split --multisession", "--layout single --audio-tracks 5",
                           "--layout split --wave --audio-tracks 3"}) {
    SCOPED_TRACE(args);
    TempDir dir;
    const std::string cue = generate(dir, args);
    ImagePtr ours = open_or_fail(cue);
    ASSERT_TRUE(ours);
    int rc = 0;
    std::string out = run("chdman createcd -f -i " + q(cue) + " -o " + q(dir.file("x.chd")), &rc);
    ASSERT_EQ(rc, 0) << out;
    out = run("chdman info -v -i " + q(dir.file("x.chd")), &rc);
    ASSERT_EQ(rc, 0) << out;
    const auto chd = parse_chdman_info(out);
    const disc::Disc& d = ours->disc();
    ASSERT_EQ(chd.size(), d.tracks.size()) << out;
    for (size_t i = 0; i < chd.size(); ++i) {
      const disc::Track& t = d.tracks[i];
      const ChdTrack& c = chd[i];
      SCOPED_TRACE("track " + std::to_string(t.number));
      EXPECT_EQ(c.track, t.number);
      EXPECT_EQ(c.type, chd_type(t.mode));
      EXPECT_EQ(c.pregap, t.pregap());
      EXPECT_EQ(c.postgap, t.postgap);
      // FRAMES counts what the file holds: the pregap too when it is stored ("V" pregap type).
      const bool pregap_in_file = !c.pgtype.empty() && c.pgtype[0] == 'V';
      EXPECT_EQ(c.frames - (pregap_in_file ? c.pregap : 0), t.length() - t.postgap);
    }
    // Sectors: chdman extracts a single BIN; ours and chdman's must hold the same bytes per track.
    out = run("chdman extractcd -f -i " + q(dir.file("x.chd")) + " -o " + q(dir.file("back.cue")) + " -ob " +
                  q(dir.file("back.bin")),
              &rc);
    ASSERT_EQ(rc, 0) << out;
    ImagePtr back = open_or_fail(dir.file("back.cue"));
    ASSERT_TRUE(back);
    ASSERT_EQ(back->disc().tracks.size(), d.tracks.size());
    for (size_t i = 0; i < d.tracks.size(); ++i) {
      const disc::Track& a = d.tracks[i];
      const disc::Track& b = back->disc().tracks[i];
      SCOPED_TRACE("track " + std::to_string(a.number));
      EXPECT_EQ(a.pregap(), b.pregap());
      EXPECT_EQ(a.length(), b.length());
      if (a.session == 1) {
        EXPECT_EQ(a.start_lba, b.start_lba);  // chdman keeps no sessions
      }
      EXPECT_TRUE(read_all_raw(*ours, a.start_lba, a.end_lba) == read_all_raw(*back, b.start_lba, b.end_lba));
    }
  }
}

}  // namespace
}  // namespace udisc::formats
