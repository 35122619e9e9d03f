// CloneCD, Alcohol MDS and Nero NRG readers.
//
// Sameness: the project's mixed-mode disc (make_mixed_cue, two sessions,
// pregaps stored and not stored, ISRC, MCN, INDEX 02) is written in each
// format by tests/fixtures/write_image (CloneCD, MDS, NRG v1/v2, cdrdao TOC,
// DiscJuggler CDI v2/v3/v3.5); each must open as the same disc as the
// BIN/CUE it came from — the same Disc model and the same user, raw and
// sub-channel bytes at every LBA. Independent readers check the writer:
// libcdio's cd-info --nrg-file lists the NRG's tracks and MCN, mdf2iso
// converts the MDF, iat converts the CDI's data track. Corruption: malformed and truncated descriptors give
// errors naming the file and field.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <fstream>
#include <regex>
#include <sstream>

#include "disc/subchannel.h"
#include "formats/cue_test_util.h"
#include "formats/descriptor_images.h"
#include "formats/mds_chunks.h"
#include "formats/mds_crypto.h"
#include "formats/mds_v2.h"
#include "formats/open.h"

#ifndef MAKE_MIXED_CUE
#error "MAKE_MIXED_CUE must name the generator executable"
#endif
#ifndef WRITE_IMAGE
#error "WRITE_IMAGE must name the writer executable"
#endif

namespace udisc::formats {
namespace {

using testing::TempDir;
using testing::q;
using testing::run;
using testing::slurp;

// A generated disc and the same disc written in `format`.
struct Pair {
  TempDir dir;
  ImagePtr cue;
  ImagePtr other;
  std::string other_path;
};

// `extra`: the files the user names when opening the written image (--password-file).
std::unique_ptr<Pair> make_pair(const std::string& gen_args, const std::string& format, const std::string& ext,
                                const std::string& write_args = "", const ExtraCompanions& extra = {}) {
  auto p = std::make_unique<Pair>();
  int rc = 0;
  std::string out = run(q(MAKE_MIXED_CUE) + " " + q(p->dir.path()) + " " + gen_args, &rc);
  EXPECT_EQ(rc, 0) << out;
  out = run(q(WRITE_IMAGE) + " " + q(p->dir.file("mixed.cue")) + " " + q(p->dir.path()) + " disc --format " + format +
                " " + write_args,
            &rc);
  EXPECT_EQ(rc, 0) << out;
  auto cue = open_image(p->dir.file("mixed.cue"));
  EXPECT_TRUE(cue.ok()) << cue.status().to_string();
  p->other_path = p->dir.file("disc." + ext);
  auto other = open_image(p->other_path, extra);
  EXPECT_TRUE(other.ok()) << other.status().to_string();
  if (cue.ok()) p->cue = *cue;
  if (other.ok()) p->other = *other;
  return p;
}

std::string describe(const disc::Disc& d) {
  std::ostringstream s;
  s << "class " << disc::to_string(d.disc_class) << " mcn '" << d.mcn << "'\n";
  for (const auto& ses : d.sessions) {
    s << "session " << int(ses.number) << " tracks " << int(ses.first_track) << ".." << int(ses.last_track)
      << " leadout " << ses.leadout_lba << "\n";
  }
  for (const auto& t : d.tracks) {
    s << "track " << int(t.number) << " session " << int(t.session) << " " << disc::to_string(t.mode) << " control "
      << int(t.control) << " pregap " << t.pregap_lba << " start " << t.start_lba << " end " << t.end_lba << " postgap "
      << t.postgap << " isrc '" << t.isrc << "' indices";
    for (const auto& ix : t.indices) s << " " << int(ix.number) << "@" << ix.lba;
    s << "\n";
  }
  return s.str();
}

// Every LBA of every track (pregap to end) reads the same in both images.
void expect_same_sectors(const disc::Image& a, const disc::Image& b, bool compare_sub = true) {
  std::vector<uint8_t> ra(2352), rb(2352), sa(96), sb(96), ua, ub;
  int mismatches = 0;
  for (const auto& t : a.disc().tracks) {
    for (int32_t lba = t.pregap_lba; lba < t.end_lba && mismatches < 5; ++lba) {
      ASSERT_TRUE(a.read_raw(lba, 1, ra).ok()) << lba;
      const Status s = b.read_raw(lba, 1, rb);
      ASSERT_TRUE(s.ok()) << lba << ": " << s.to_string();
      ASSERT_TRUE(a.read_subchannel(lba, 1, sa).ok()) << lba;
      ASSERT_TRUE(b.read_subchannel(lba, 1, sb).ok()) << lba;
      const uint32_t user = disc::user_data_size(t.mode);
      ua.resize(user);
      ub.resize(user);
      ASSERT_TRUE(a.read_user(lba, 1, ua).ok()) << lba;
      ASSERT_TRUE(b.read_user(lba, 1, ub).ok()) << lba;
      if (!compare_sub) sb = sa;
      if (ra != rb || sa != sb || ua != ub) {
        ADD_FAILURE() << "LBA " << lba << " (track " << int(t.number) << ") differs: raw " << (ra != rb) << " sub "
                      << (sa != sb) << " user " << (ua != ub);
        ++mismatches;
      }
    }
  }
  // Multi-sector reads across a track boundary agree too.
  const auto& t2 = a.disc().tracks.at(1);
  std::vector<uint8_t> many_a(2352 * 40), many_b(2352 * 40);
  ASSERT_TRUE(a.read_raw(t2.start_lba - 20, 40, many_a).ok());
  ASSERT_TRUE(b.read_raw(t2.start_lba - 20, 40, many_b).ok());
  EXPECT_EQ(many_a, many_b);
}

void expect_same_cd_text(const disc::Disc& a, const disc::Disc& b) {
  auto text = [](const disc::CdText& t) { return t.title + "|" + t.performer + "|" + t.songwriter; };
  EXPECT_EQ(text(a.cd_text), text(b.cd_text));
  ASSERT_EQ(a.tracks.size(), b.tracks.size());
  for (size_t i = 0; i < a.tracks.size(); ++i) EXPECT_EQ(text(a.tracks[i].cd_text), text(b.tracks[i].cd_text)) << i;
}

void expect_same_disc(const Pair& p) {
  ASSERT_NE(p.cue, nullptr);
  ASSERT_NE(p.other, nullptr);
  EXPECT_EQ(describe(p.cue->disc()), describe(p.other->disc()));
  expect_same_sectors(*p.cue, *p.other);
}

// What an Alcohol MDS v1 descriptor cannot hold (docs/formats/mds.md): indices
// after 1, and, without stored sub-channel, the MCN and ISRCs.
disc::Disc without_mds_losses(disc::Disc d, bool keep_codes) {
  if (!keep_codes) d.mcn.clear();
  for (auto& t : d.tracks) {
    if (!keep_codes) t.isrc.clear();
    std::erase_if(t.indices, [](const disc::Index& ix) { return ix.number >= 2; });
  }
  return d;
}

TEST(DescriptorImages, CloneCdIsTheSameDiscAsItsCue) {
  auto p = make_pair("--multisession", "ccd", "ccd");
  EXPECT_EQ(p->other->format_name(), "ccd");
  expect_same_disc(*p);
  // The [CDText] entries come back as the cue sheet's TITLE / PERFORMER.
  EXPECT_FALSE(p->other->disc().cd_text.empty());
  expect_same_cd_text(p->cue->disc(), p->other->disc());
}

// Flips `mask` in byte `at` of the image's file `name`, reopens the image and
// reads LBA 0's sub-channel into `read`, and the BIN/CUE's into `generated`:
// stored sub-channel is what is served.
void sub_after_flip(Pair& p, const std::string& name, size_t at, uint8_t mask, std::vector<uint8_t>& read,
                    std::vector<uint8_t>& generated) {
  std::vector<uint8_t> bytes = slurp(p.dir.file(name));
  ASSERT_GT(bytes.size(), at);
  bytes[at] ^= mask;
  p.dir.write(name, bytes);
  auto reopened = open_image(p.other_path);
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  read.resize(96);
  generated.resize(96);
  ASSERT_TRUE((*reopened)->read_subchannel(0, 1, read).ok());
  ASSERT_TRUE(p.cue->read_subchannel(0, 1, generated).ok());
}

TEST(DescriptorImages, CloneCdWithSubFilePassesTheSubChannelThrough) {
  auto p = make_pair("--multisession", "ccd", "ccd", "--sub");
  expect_same_disc(*p);
  // The .sub is what is read: change one Q byte of sector 0 and it shows
  // (deinterleaved: P = 0..11, Q = 12..23).
  std::vector<uint8_t> raw, generated;
  ASSERT_NO_FATAL_FAILURE(sub_after_flip(*p, "disc.sub", 12, 0xFF, raw, generated));
  const auto q_read = disc::extract_q(std::span<const uint8_t, 96>(raw.data(), 96));
  const auto q_gen = disc::extract_q(std::span<const uint8_t, 96>(generated.data(), 96));
  EXPECT_EQ(q_read[0], q_gen[0] ^ 0xFF);
}

TEST(DescriptorImages, CloneCdWithoutSubFileGeneratesSubChannel) {
  auto p = make_pair("--multisession", "ccd", "ccd");
  EXPECT_EQ(run("ls " + q(p->dir.path())).find("disc.sub"), std::string::npos);
  expect_same_disc(*p);
}

TEST(DescriptorImages, MdsIsTheSameDiscAsItsCueBarTheFieldsMdsLacks) {
  auto p = make_pair("--multisession", "mds", "mds");
  ASSERT_NE(p->other, nullptr);
  EXPECT_EQ(p->other->format_name(), "mds");
  EXPECT_EQ(describe(without_mds_losses(p->cue->disc(), false)), describe(p->other->disc()));
  // Main channel identical; the generated sub-channel lacks the MCN/ISRC frames.
  expect_same_sectors(*p->cue, *p->other, /*compare_sub=*/false);
}

TEST(DescriptorImages, MdsWith96ByteSubChannelKeepsMcnAndIsrc) {
  auto p = make_pair("--multisession", "mds", "mds", "--sub");
  ASSERT_NE(p->other, nullptr);
  EXPECT_EQ(describe(without_mds_losses(p->cue->disc(), true)), describe(p->other->disc()));
  expect_same_sectors(*p->cue, *p->other);
}

// MDS version 2 and MDX hold what version 1 holds; with 96-byte sub-channel,
// LRW-encrypted track data and tracks stored in compressed chunks (raw,
// deflated and filled groups; encrypted or not), every sector reads back as the cue's.
TEST(DescriptorImages, MdsVersion2AndMdxWithEncryptedDataAreTheSameDiscAsTheCue) {
  for (const char* options : {"--sub --encrypt-data", "--sub --compress-data", "--sub --compress-data --encrypt-data"})
  for (const char* format : {"mds2", "mdx"}) {
    SCOPED_TRACE(std::string(format) + " " + options);
    auto p = make_pair("--multisession", format, std::string(format) == "mdx" ? "mdx" : "mds", options);
    ASSERT_NE(p->other, nullptr) << format;
    EXPECT_EQ(p->other->format_name(), std::string(format) == "mdx" ? "mdx" : "mds");
    EXPECT_EQ(describe(without_mds_losses(p->cue->disc(), true)), describe(p->other->disc())) << format;
    expect_same_sectors(*p->cue, *p->other);
    // Companions: the .mdf beside a version 2 .mds; none for an MDX (its data is in itself).
    auto f = open_file(p->other_path);
    ASSERT_TRUE(f.ok());
    auto names = companion_names(**f);
    ASSERT_TRUE(names.ok()) << names.status().to_string();
    EXPECT_EQ(*names, std::string(format) == "mdx" ? std::vector<std::string>{} : std::vector<std::string>{"disc.mdf"});
  }
}

TEST(DescriptorImages, NrgVersion2IsTheSameDiscAsItsCue) {
  auto p = make_pair("--multisession", "nrg2", "nrg");
  EXPECT_EQ(p->other->format_name(), "nrg");
  expect_same_disc(*p);
  // The CDTX chunk's packs come back as the cue sheet's TITLE / PERFORMER.
  EXPECT_FALSE(p->other->disc().cd_text.empty());
  expect_same_cd_text(p->cue->disc(), p->other->disc());
}

TEST(DescriptorImages, NrgVersion1IsTheSameDiscAsItsCue) {
  auto p = make_pair("--multisession", "nrg1", "nrg");
  expect_same_disc(*p);
  expect_same_cd_text(p->cue->disc(), p->other->disc());
}

TEST(DescriptorImages, NrgWithSubChannel) {
  auto p = make_pair("--multisession", "nrg2", "nrg", "--sub");
  expect_same_disc(*p);
}

TEST(DescriptorImages, CdrdaoTocIsTheSameDiscAsItsCue) {
  auto p = make_pair("", "toc", "toc");
  EXPECT_EQ(p->other->format_name(), "toc");
  expect_same_disc(*p);
}

TEST(DescriptorImages, DiscJugglerEveryVersionIsTheSameDiscAsItsCue) {
  for (const char* format : {"cdi2", "cdi3", "cdi35"}) {
    SCOPED_TRACE(format);
    auto p = make_pair("--multisession", format, "cdi");
    ASSERT_NE(p->other, nullptr);
    EXPECT_EQ(p->other->format_name(), "cdi");
    expect_same_disc(*p);
    // The disc block's raw CD-TEXT packs come back as the cue sheet's TITLE / PERFORMER.
    EXPECT_FALSE(p->cue->disc().cd_text.empty());
    expect_same_cd_text(p->cue->disc(), p->other->disc());
  }
}

TEST(DescriptorImages, DiscJugglerWithCookedDataTracksIsTheSameDisc) {
  // Data tracks stored as 2048-byte (mode 1, read mode 0) and 2336-byte
  // (mode 2, read mode 1) sectors: raw sectors are synthesised, and equal the
  // BIN/CUE's (whose data sectors are well-formed).
  auto p = make_pair("--multisession", "cdi35", "cdi", "--cooked");
  ASSERT_NE(p->other, nullptr);
  expect_same_disc(*p);
  EXPECT_FALSE(p->other->stores_raw(p->other->disc().tracks.front().start_lba));
  EXPECT_TRUE(p->other->stores_raw(p->other->disc().tracks.at(1).start_lba));
}

TEST(DescriptorImages, DiscJugglerWith16BytePqSubChannelIsTheSameDisc) {
  // Read mode 3: 2352 + 16 bytes per sector. The 16 P/Q bytes are stepped
  // over; the sub-channel served is generated, as for the BIN/CUE.
  auto p = make_pair("--multisession", "cdi3", "cdi", "--pq16");
  ASSERT_NE(p->other, nullptr);
  expect_same_disc(*p);
}

TEST(DescriptorImages, DiscJugglerWith96ByteSubChannelPassesItThrough) {
  auto p = make_pair("--multisession", "cdi35", "cdi", "--sub");
  expect_same_disc(*p);
  // Read mode 4 stores 96 interleaved bytes after each sector: change the Q
  // bit (bit 6) of LBA 0's first byte (after the 150 lead-in sectors) and it shows.
  std::vector<uint8_t> raw, generated;
  ASSERT_NO_FATAL_FAILURE(sub_after_flip(*p, "disc.cdi", 150 * 2448 + 2352, 0x40, raw, generated));
  EXPECT_EQ(raw[0], generated[0] ^ 0x40);
}

TEST(DescriptorImages, DiscJugglerDreamcastStyleAudioSessionThenDataSession) {
  // A Dreamcast-style layout: session 1 audio only, session 2 one mode 2
  // (XA) data track with its stored pregap. Built from the multisession
  // disc's files so that session 1 ends where it did there and the data
  // sectors' headers carry the LBAs they are read at (track 1 is the first
  // file's bytes declared as audio).
  TempDir dir;
  int rc = 0;
  std::string out = run(q(MAKE_MIXED_CUE) + " " + q(dir.path()) + " --multisession --audio-tracks 2", &rc);
  ASSERT_EQ(rc, 0) << out;
  dir.write_text("dc.cue",
                 "REM SESSION 01\nFILE \"mixed (Track 01).bin\" BINARY\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n"
                 "FILE \"mixed (Track 03).bin\" BINARY\n  TRACK 02 AUDIO\n    PREGAP 00:01:00\n    INDEX 01 00:00:00\n"
                 "REM SESSION 02\nFILE \"mixed (Track 04).bin\" BINARY\n  TRACK 03 MODE2/2352\n"
                 "    INDEX 00 00:00:00\n    INDEX 01 00:02:00\n");
  auto cue = open_image(dir.file("dc.cue"));
  ASSERT_TRUE(cue.ok()) << cue.status().to_string();
  ASSERT_EQ((*cue)->disc().sessions.size(), 2u);
  for (const char* format : {"cdi2", "cdi35"}) {
    SCOPED_TRACE(format);
    out = run(q(WRITE_IMAGE) + " " + q(dir.file("dc.cue")) + " " + q(dir.path()) + " dc --format " + format, &rc);
    ASSERT_EQ(rc, 0) << out;
    auto cdi = open_image(dir.file("dc.cdi"));
    ASSERT_TRUE(cdi.ok()) << cdi.status().to_string();
    const disc::Disc& d = (*cdi)->disc();
    EXPECT_EQ(describe((*cue)->disc()), describe(d));
    ASSERT_EQ(d.tracks.size(), 3u);
    EXPECT_EQ(d.tracks[1].mode, disc::TrackMode::audio);
    EXPECT_EQ(d.tracks[2].session, 2);
    EXPECT_EQ(d.tracks[2].mode, disc::TrackMode::mode2_form1);
    EXPECT_EQ(d.tracks[2].start_lba, d.sessions[0].leadout_lba + 11400);
    expect_same_sectors(**cue, **cdi);
  }
}

// ---- Independent readers ----

TEST(DescriptorImages, IatExtractsTheSameDataTrackFromOurCdi) {
  // iat finds the ISO 9660 volume in the .cdi by itself (it does not read the
  // descriptor) and writes 2048 bytes of each sector from there: its first
  // track-1-length sectors must be our track 1's user data, and the ISO the
  // disc was made from.
  if (run("command -v iat").empty() || run("command -v xorriso").empty()) GTEST_SKIP() << "iat or xorriso not installed";
  TempDir dir;
  int rc = 0;
  run("mkdir -p " + q(dir.file("root")) + " && echo udisc > " + q(dir.file("root/readme.txt")));
  std::string out = run("xorriso -as mkisofs -quiet -V UDISC_CDI -o " + q(dir.file("in.iso")) + " " + q(dir.file("root")), &rc);
  ASSERT_EQ(rc, 0) << out;
  out = run(q(MAKE_MIXED_CUE) + " " + q(dir.path()) + " --multisession --iso " + q(dir.file("in.iso")), &rc);
  ASSERT_EQ(rc, 0) << out;
  for (const char* format : {"cdi2", "cdi35"}) {
    SCOPED_TRACE(format);
    out = run(q(WRITE_IMAGE) + " " + q(dir.file("mixed.cue")) + " " + q(dir.path()) + " disc --format " + format, &rc);
    ASSERT_EQ(rc, 0) << out;
    out = run("iat " + q(dir.file("disc.cdi")) + " " + q(dir.file("iat.iso")), &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("Block 2352"), std::string::npos) << out;
    auto ours = open_image(dir.file("disc.cdi"));
    ASSERT_TRUE(ours.ok()) << ours.status().to_string();
    const disc::Track& t1 = (*ours)->disc().tracks.at(0);
    std::vector<uint8_t> user(static_cast<size_t>(t1.length()) * 2048);
    ASSERT_TRUE((*ours)->read_user(t1.start_lba, static_cast<uint32_t>(t1.length()), user).ok());
    const std::vector<uint8_t> theirs = slurp(dir.file("iat.iso"));
    ASSERT_GE(theirs.size(), user.size());
    EXPECT_TRUE(std::equal(user.begin(), user.end(), theirs.begin())) << "iat's data track differs from ours";
    const std::vector<uint8_t> iso = slurp(dir.file("in.iso"));
    ASSERT_LE(iso.size(), user.size());
    EXPECT_TRUE(std::equal(iso.begin(), iso.end(), user.begin())) << "track 1 is not the ISO it was made from";
  }
}

TEST(DescriptorImages, Toc2cueAgreesWithOurTocLayoutAndSectors) {
  // cdrdao's own TOC parser (toc2cue) turns the TOC into a cue sheet over the
  // same .bin; our CUE reader of that sheet must see our TOC's layout, the
  // same data sectors, and the audio byte-swapped (the .bin holds big-endian
  // audio, which a cue sheet's BINARY file reads as little-endian).
  auto p = make_pair("", "toc", "toc");
  ASSERT_NE(p->other, nullptr);
  int rc = 0;
  const std::string out = run("toc2cue " + q(p->other_path) + " " + q(p->dir.file("toc2cue.cue")), &rc);
  ASSERT_EQ(rc, 0) << out;
  auto theirs = open_image(p->dir.file("toc2cue.cue"));
  ASSERT_TRUE(theirs.ok()) << theirs.status().to_string();
  const disc::Disc& a = p->other->disc();
  const disc::Disc& b = (*theirs)->disc();
  ASSERT_EQ(a.tracks.size(), b.tracks.size());
  for (size_t i = 0; i < a.tracks.size(); ++i) {
    EXPECT_EQ(a.tracks[i].mode, b.tracks[i].mode) << i;
    EXPECT_EQ(a.tracks[i].pregap_lba, b.tracks[i].pregap_lba) << i;
    EXPECT_EQ(a.tracks[i].start_lba, b.tracks[i].start_lba) << i;
    EXPECT_EQ(a.tracks[i].end_lba, b.tracks[i].end_lba) << i;
  }
  std::vector<uint8_t> ra(2352), rb(2352);
  for (const auto& t : a.tracks) {
    for (int32_t lba : {t.pregap_lba, t.start_lba, (t.start_lba + t.end_lba) / 2, t.end_lba - 1}) {
      ASSERT_TRUE(p->other->read_raw(lba, 1, ra).ok());
      ASSERT_TRUE((*theirs)->read_raw(lba, 1, rb).ok());
      if (t.mode == disc::TrackMode::audio) {
        for (size_t k = 0; k + 1 < rb.size(); k += 2) std::swap(rb[k], rb[k + 1]);
      }
      EXPECT_EQ(ra, rb) << "LBA " << lba;
    }
  }
}

TEST(DescriptorImages, CdInfoReadsOurTocAudioTracksFlagsAndMcn) {
  // libcdio's TOC reader places the first data track and the lead-out
  // differently from cdrdao's own (docs/formats/toc.md); the audio tracks'
  // starts, their pre-emphasis flags and the MCN are compared.
  auto p = make_pair("", "toc", "toc");
  ASSERT_NE(p->other, nullptr);
  int rc = 0;
  const std::string out = run("cd " + q(p->dir.path()) + " && cd-info --no-device-info --no-disc-mode --toc-file disc.toc", &rc);
  ASSERT_EQ(rc, 0) << out;
  std::regex line(R"(^\s*(\d+): \d\d:\d\d:\d\d\s+(\d+) audio\s+\S+\s+\S+\s+\d+\s+(yes|no))");
  int seen = 0;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (!std::regex_search(l, m, line)) continue;
    const disc::Track* t = p->other->disc().track(static_cast<uint8_t>(std::stoi(m[1])));
    ASSERT_NE(t, nullptr) << l;
    EXPECT_EQ(t->start_lba, std::stoi(m[2])) << l;
    EXPECT_EQ((t->control & disc::control::kPreEmphasis) != 0, m[3] == "yes") << l;
    ++seen;
  }
  EXPECT_EQ(seen, static_cast<int>(p->other->disc().tracks.size()) - 1) << out;
  EXPECT_NE(out.find("Media Catalog Number (MCN): " + p->other->disc().mcn), std::string::npos) << out;
}

TEST(DescriptorImages, CdInfoReadsOurNrgTrackListMcnAndCdText) {
  // libcdio's NRG reader wants exactly INDEX 0 and 1 per track and one session.
  auto p = make_pair("", "nrg2", "nrg", "--index1-only");
  ASSERT_NE(p->other, nullptr);
  int rc = 0;
  const std::string out = run("cd-info --no-device-info --no-disc-mode --nrg-file " + q(p->other_path), &rc);
  ASSERT_EQ(rc, 0) << out;
  const disc::Disc& d = p->other->disc();
  std::regex line(R"(^\s*(\d+): \d\d:\d\d:\d\d\s+(\d+) )");
  std::map<int, int32_t> starts;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, line)) starts[std::stoi(m[1])] = std::stoi(m[2]);
  }
  ASSERT_EQ(starts.size(), d.tracks.size() + 1) << out;
  for (const auto& t : d.tracks) EXPECT_EQ(starts[t.number], t.start_lba) << "track " << int(t.number) << "\n" << out;
  EXPECT_EQ(starts[170], d.leadout_lba()) << out;
  EXPECT_NE(out.find("Media Catalog Number (MCN): " + d.mcn), std::string::npos) << out;

  // CD-TEXT: libcdio reads our CDTX chunk; what it lists is the cue sheet's
  // TITLE / PERFORMER / SONGWRITER, and what our NRG reader has.
  auto listing = [](const disc::Disc& disc) {
    std::string s;
    auto fields = [&](const std::string& who, const disc::CdText& t) {
      s += "CD-TEXT for " + who + ":\n";
      if (!t.title.empty()) s += "\tTITLE: " + t.title + "\n";
      if (!t.performer.empty()) s += "\tPERFORMER: " + t.performer + "\n";
      if (!t.songwriter.empty()) s += "\tSONGWRITER: " + t.songwriter + "\n";
    };
    fields("Disc", disc.cd_text);
    for (const auto& t : disc.tracks) {
      char who[16];
      std::snprintf(who, sizeof who, "Track %2d", t.number);
      fields(who, t.cd_text);
    }
    return s;
  };
  const size_t from = out.find("CD-TEXT for Disc:");
  ASSERT_NE(from, std::string::npos) << out;
  std::string theirs;
  std::istringstream text(out.substr(from));
  for (std::string l; std::getline(text, l);) {
    if (l.rfind("CD-TEXT for", 0) == 0 || l.rfind("\t", 0) == 0) theirs += l + "\n";
  }
  EXPECT_EQ(theirs, listing(p->cue->disc()));
  EXPECT_EQ(theirs, listing(d));
  EXPECT_NE(theirs.find("TITLE: Mixed-mode test disc"), std::string::npos) << theirs;
}

TEST(DescriptorImages, Mdf2isoExtractsTheSameDataTrack) {
  auto p = make_pair("", "mds", "mds");
  ASSERT_NE(p->other, nullptr);
  int rc = 0;
  const std::string iso = p->dir.file("mdf2iso.iso");
  const std::string out = run("mdf2iso " + q(p->dir.file("disc.mdf")) + " " + q(iso) + " >/dev/null", &rc);
  ASSERT_EQ(rc, 0) << out;
  const std::vector<uint8_t> theirs = slurp(iso);
  const disc::Track& t1 = p->other->disc().tracks.at(0);
  std::vector<uint8_t> ours(static_cast<size_t>(t1.length()) * 2048);
  ASSERT_TRUE(p->other->read_user(t1.start_lba, static_cast<uint32_t>(t1.length()), ours).ok());
  ASSERT_GE(theirs.size(), ours.size());
  EXPECT_TRUE(std::equal(ours.begin(), ours.end(), theirs.begin())) << "mdf2iso's data track differs from ours";
}

TEST(DescriptorImages, FuzzSeedsOfEachReaderOpen) {
  // The seeds in fuzz/corpus/fuzz_descriptor_images are valid images (the
  // NRGs written by hand, byte by byte, not by write_image): each must open,
  // so the fuzzer starts from inputs that reach the readers' deep paths.
  const char* src = std::getenv("UDISC_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  const std::string dir = std::string(src) + "/fuzz/corpus/fuzz_descriptor_images/";
  FileResolver none = [](const std::string& n) -> Result<std::shared_ptr<RandomAccessFile>> {
    return memory_file(std::vector<uint8_t>(64 * 2448, 0), n);
  };
  for (const char* seed : {"nrg_v1_audio", "nrg_v2_audio", "cdi_v2_audio", "cdi_v35_audio"}) {
    std::vector<uint8_t> bytes = slurp(dir + seed);
    ASSERT_FALSE(bytes.empty()) << seed;
    auto file = memory_file(std::vector<uint8_t>(bytes.begin() + 1, bytes.end()), seed);
    auto img = bytes[0] == 2 ? open_nrg(file) : open_cdi(file);
    ASSERT_TRUE(img.ok()) << seed << ": " << img.status().to_string();
    EXPECT_EQ((*img)->disc().tracks.size(), 1u);
    EXPECT_EQ((*img)->disc().leadout_lba(), 4);
    EXPECT_EQ((*img)->disc().tracks[0].mode, disc::TrackMode::audio);
  }
  // MDS version 2 / MDX seeds (write_image from a 24-sector ISO): whole files
  // (reader 4: encrypted data, tracks in compressed chunks with and without
  // encryption) and decrypted descriptors (5: .mds, 6: MDX).
  for (const char* seed : {"mds_v2_encrypted_data", "mdx_encrypted_data", "mdx_compressed_data", "mdx_compressed_encrypted_data",
                           "mds_v2_descriptor", "mdx_descriptor"}) {
    std::vector<uint8_t> bytes = slurp(dir + seed);
    ASSERT_FALSE(bytes.empty()) << seed;
    std::vector<uint8_t> body(bytes.begin() + 1, bytes.end());
    auto img = bytes[0] == 4 ? open_mds(memory_file(std::move(body), "fuzz.mdx"), none)
                             : open_mds_v2_descriptor(std::move(body), *memory_file({}, "fuzz.mds"), bytes[0] == 6, none);
    ASSERT_TRUE(img.ok()) << seed << ": " << img.status().to_string();
    EXPECT_EQ((*img)->disc().tracks.size(), 1u) << seed;
    EXPECT_EQ((*img)->disc().leadout_lba(), 24) << seed;
  }
  // Track data under a user's password ("pazz", the password file the fuzzer's resolver gives).
  std::vector<uint8_t> bytes = slurp(dir + "mds_v2_user_password");
  ASSERT_FALSE(bytes.empty());
  ASSERT_EQ(bytes[0], 4);
  const std::vector<uint8_t> body(bytes.begin() + 1, bytes.end());
  auto without = open_mds(memory_file(body, "fuzz.mds"), none);
  ASSERT_FALSE(without.ok());
  EXPECT_NE(without.status().to_string().find("the track data is protected by a password"), std::string::npos)
      << without.status().to_string();
  FileResolver with_password = [&none](const std::string& n) -> Result<std::shared_ptr<RandomAccessFile>> {
    if (is_password_ref(n)) return memory_file({'p', 'a', 'z', 'z', '\n'}, "password");
    return none(n);
  };
  auto img = open_mds(memory_file(body, "fuzz.mds"), with_password);
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  EXPECT_EQ((*img)->disc().leadout_lba(), 24);
}

// ---- Companions and detection ----

TEST(DescriptorImages, CompanionNamesComeFromTheDescriptor) {
  auto ccd = memory_file(std::vector<uint8_t>{'[', 'C', 'l', 'o', 'n', 'e', 'C', 'D', ']', '\n'}, "/x/Game.ccd");
  auto names = companion_names(*ccd);
  ASSERT_TRUE(names.ok()) << names.status().to_string();
  EXPECT_EQ(*names, (std::vector<std::string>{"Game.img", "Game.sub"}));

  auto p = make_pair("", "mds", "mds");
  auto mds = open_file(p->other_path);
  ASSERT_TRUE(mds.ok());
  auto mnames = companion_names(**mds);
  ASSERT_TRUE(mnames.ok()) << mnames.status().to_string();
  EXPECT_EQ(*mnames, (std::vector<std::string>{"disc.mdf"}));
}

TEST(DescriptorImages, DiscJugglerFooterIsRecognisedByContent) {
  // The footer, not the extension, makes a file a DiscJuggler image; a broken
  // descriptor behind a valid footer is an error naming the DiscJuggler version.
  TempDir dir;
  std::vector<uint8_t> cdi(2352 * 4, 0);
  cdi[cdi.size() + 8 - 4096] = 1;  // one session
  const uint8_t tail[8] = {0x06, 0x00, 0x00, 0x80, 0x00, 0x10, 0x00, 0x00};  // v3.5, descriptor of 4096 bytes
  cdi.insert(cdi.end(), std::begin(tail), std::end(tail));
  dir.write("game.bin", cdi);
  auto r = open_image(dir.file("game.bin"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::corruption);
  EXPECT_NE(r.status().to_string().find("DiscJuggler v3.5 descriptor"), std::string::npos) << r.status().to_string();
  auto direct = open_cdi(memory_file(std::vector<uint8_t>(4096, 0), "plain.iso"));
  ASSERT_FALSE(direct.ok());
  EXPECT_NE(direct.status().to_string().find("no DiscJuggler footer"), std::string::npos) << direct.status().to_string();
}

// ---- Corruption ----

// Writes `bytes` as the pair's image file (named `name` in its folder) and opens it.
std::function<Result<ImagePtr>(std::vector<uint8_t>)> rewriting(Pair& p, const std::string& name) {
  return [&p, name](std::vector<uint8_t> bytes) {
    p.dir.write(name, bytes);
    return open_image(p.other_path);
  };
}

void expect_error(const Result<ImagePtr>& r, const std::string& needle) {
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().to_string().find(needle), std::string::npos) << r.status().to_string();
}

// DAEMON Tools' "protect with password": the track data's key header is
// keyed with the user's password (docs/formats/mds.md). With the password
// file the disc reads as the cue; without it, or with another password, the
// error says what to give. The password ref is a companion only for these.
TEST(DescriptorImages, MdsVersion2AndMdxUnderAUsersPassword) {
  TempDir secrets;
  secrets.write_text("right", "pazz\n");
  secrets.write_text("right-crlf", "pazz\r\nsecond line ignored\n");
  secrets.write_text("wrong", "pass\n");
  secrets.write_text("empty", "\n");
  secrets.write_text("huge", std::string(5000, 'x'));
  // Longer than TrueCrypt's 64 bytes: libMirage passes it whole (mdsx would cut it).
  const std::string long_password(70, 'x');
  secrets.write_text("long", long_password);
  struct Case {
    const char* format;
    std::string options;
    std::string password_file;
  };
  for (const Case& c : {Case{"mds2", "--sub --encrypt-data --password pazz", secrets.file("right")},
                        Case{"mdx", "--sub --encrypt-data --password pazz", secrets.file("right-crlf")},
                        Case{"mdx", "--compress-data --encrypt-data --password pazz", secrets.file("right")},
                        Case{"mdx", "--encrypt-data --password " + long_password, secrets.file("long")}}) {
    SCOPED_TRACE(std::string(c.format) + " " + c.options);
    const bool sub = c.options.find("--sub") != std::string::npos;
    const std::string ext = std::string(c.format) == "mdx" ? "mdx" : "mds";
    auto p = make_pair("--multisession", c.format, ext, c.options, {.password_file = c.password_file});
    ASSERT_NE(p->other, nullptr);
    EXPECT_EQ(describe(without_mds_losses(p->cue->disc(), sub)), describe(p->other->disc()));
    expect_same_sectors(*p->cue, *p->other, sub);

    auto f = open_file(p->other_path);
    ASSERT_TRUE(f.ok());
    auto names = companion_names(**f);
    ASSERT_TRUE(names.ok()) << names.status().to_string();
    const std::vector<std::string> expected =
        ext == "mdx" ? std::vector<std::string>{password_ref()} : std::vector<std::string>{"disc.mdf", password_ref()};
    EXPECT_EQ(*names, expected);

    expect_error(open_image(p->other_path), "'" + p->other_path + "': the track data is protected by a password");
    expect_error(open_image(p->other_path), "--password-file FILE");
    expect_error(open_image(p->other_path, {.password_file = secrets.file("wrong")}),
                 "the password in '" + secrets.file("wrong") + "' does not open the track data of '" +
                     p->other_path + "'");
    expect_error(open_image(p->other_path, {.password_file = secrets.file("empty")}), "its first line is empty");
    expect_error(open_image(p->other_path, {.password_file = secrets.file("huge")}), "longer than 4096 bytes");
    expect_error(open_image(p->other_path, {.password_file = secrets.file("missing")}), "--password-file");
  }
  // An image whose data needs no password does not ask for one, and ignores a file given.
  auto plain = make_pair("", "mdx", "mdx", "--encrypt-data", {.password_file = secrets.file("wrong")});
  ASSERT_NE(plain->other, nullptr);
  auto f = open_file(plain->other_path);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(companion_names(**f).value(), std::vector<std::string>{});
}

TEST(DescriptorImagesCorruption, CloneCd) {
  auto p = make_pair("", "ccd", "ccd");
  const std::string good = [&] {
    auto b = slurp(p->other_path);
    return std::string(b.begin(), b.end());
  }();
  auto with = [&](const std::string& text) {
    p->dir.write_text("bad.ccd", text);
    p->dir.write("bad.img", slurp(p->dir.file("disc.img")));
    return open_image(p->dir.file("bad.ccd"));
  };
  expect_error(with(std::regex_replace(good, std::regex("PLBA=750"), "PLBA=x750")), "line");
  expect_error(with(std::regex_replace(good, std::regex("Point=0xa2"), "Point=0xa3")), "no lead-out entry");
  expect_error(with(std::regex_replace(good, std::regex("DataTracksScrambled=0"), "DataTracksScrambled=1")),
               "DataTracksScrambled");
  expect_error(with(good.substr(0, good.find("[Entry 3]"))), "no track entries");
  // [CDText] entries: the writer's section replaced by broken ones.
  const std::string no_text = std::regex_replace(good, std::regex("\\[CDText\\]\n(Entr[^\n]*\n)*"), "");
  ASSERT_EQ(no_text.find("[CDText]"), std::string::npos);
  expect_error(with(no_text + "[CDText]\nEntries=1\nEntry 0=80 00 00 zz\n"), "expected 16 hex bytes");
  expect_error(with(no_text + "[CDText]\nEntry 1=80 00 00 00 41 42 43 00 00 00 00 00 00 00 00 00\n"), "numbered 0, 1, 2");
  // A pack naming a track the disc does not have.
  expect_error(with(no_text + "[CDText]\nEntry 0=80 09 00 00 41 42 43 00 00 00 00 00 00 00 00 00\n"),
               "[CDText] at line");
  // The image file shorter than the TOC says.
  p->dir.write_text("bad.ccd", good);
  auto img = slurp(p->dir.file("disc.img"));
  img.resize(img.size() / 2);
  p->dir.write("bad.img", img);
  expect_error(open_image(p->dir.file("bad.ccd")), "bad.img");
  // No image file at all.
  std::remove(p->dir.file("bad.img").c_str());
  expect_error(open_image(p->dir.file("bad.ccd")), "bad.img");
}

TEST(DescriptorImagesCorruption, Mds) {
  auto p = make_pair("", "mds", "mds");
  const std::vector<uint8_t> good = slurp(p->other_path);
  auto with = rewriting(*p, "disc.mds");
  auto v3 = good;
  v3[16] = 3;
  expect_error(with(v3), "MDS version 3.3 is not supported: versions 1 (Alcohol 120% 1.x) and 2");
  // A version 1 descriptor marked version 2: its bytes are no key header.
  auto v2 = good;
  v2[16] = 2;
  expect_error(with(v2), "disc.mds");
  for (size_t cut : {size_t{20}, size_t{100}, size_t{200}, good.size() - 3}) {
    auto r = with(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)));
    EXPECT_FALSE(r.ok()) << "truncated at " << cut;
    if (!r.ok()) {
      EXPECT_NE(r.status().to_string().find("disc.mds"), std::string::npos) << r.status().to_string();
    }
  }
  auto bad_sessions = good;
  bad_sessions[80] = 0xF0;  // session blocks offset far beyond the file
  expect_error(with(bad_sessions), "offset");
  auto bad_sub = good;
  bad_sub[88 + 24 + 3 * 80 + 1] = 0x03;  // first track block: unknown sub-channel mode
  expect_error(with(bad_sub), "sub-channel mode");
  // A data file shorter than the tracks.
  p->dir.write("disc.mds", good);
  auto mdf = slurp(p->dir.file("disc.mdf"));
  mdf.resize(1000);
  p->dir.write("disc.mdf", mdf);
  expect_error(open_image(p->other_path), "disc.mdf");
}

// An MDS version 2 file with `edit` applied to its decrypted descriptor,
// compressed and encrypted again under a fresh key header (write_image's
// layout: 48-byte header, encrypted descriptor, key header).
std::vector<uint8_t> resealed_v2(const std::vector<uint8_t>& file, const std::function<void(std::vector<uint8_t>&)>& edit) {
  auto c = mds_v2::read_container(*memory_file(file, "disc.mds"), 1 << 20);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  std::vector<uint8_t> d = c->descriptor;
  edit(d);
  std::vector<uint8_t> packed(compressBound(static_cast<uLong>(d.size())));
  uLongf n = static_cast<uLongf>(packed.size());
  EXPECT_EQ(compress2(packed.data(), &n, d.data() + 18, static_cast<uLong>(d.size() - 18), 6), Z_OK);
  packed.resize((n + 15) / 16 * 16, 0);
  namespace crypto = mds_crypto;
  crypto::KeyHeader key;
  for (size_t i = 0; i < key.key_data.size(); ++i) key.key_data[i] = static_cast<uint8_t>(i * 13 + 1);
  key.compressed_size = static_cast<uint32_t>(n);
  key.decompressed_size = static_cast<uint32_t>(d.size() - 18);
  crypto::descriptor_cipher(key).encrypt(packed);
  std::array<uint8_t, crypto::kSaltSize> salt{};
  salt.fill(0x33);
  const auto header = crypto::seal_key_header(key, salt, crypto::HeaderMode::cbc);
  // Sized once: GCC 12 warns (array-bounds) about inserting into a vector just resized.
  std::vector<uint8_t> out(48 + packed.size() + header.size(), ' ');
  std::memcpy(out.data(), d.data(), 18);
  const uint32_t key_at = static_cast<uint32_t>(48 + packed.size());
  for (int i = 0; i < 4; ++i) out[44 + static_cast<size_t>(i)] = static_cast<uint8_t>(key_at >> (8 * i));
  std::memcpy(out.data() + 48, packed.data(), packed.size());
  std::memcpy(out.data() + key_at, header.data(), header.size());
  return out;
}

TEST(DescriptorImagesCorruption, MdsVersion2AndMdx) {
  auto p = make_pair("", "mds2", "mds", "--encrypt-data");
  ASSERT_NE(p->other, nullptr);
  EXPECT_EQ(p->other->format_name(), "mds");
  const std::vector<uint8_t> good = slurp(p->other_path);
  auto with = rewriting(*p, "disc.mds");
  // Truncated anywhere: header, encrypted descriptor, key header.
  for (size_t cut : {size_t{10}, size_t{47}, size_t{60}, good.size() - 512, good.size() - 1}) {
    auto r = with(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)));
    ASSERT_FALSE(r.ok()) << "truncated at " << cut;
    EXPECT_NE(r.status().to_string().find("disc.mds"), std::string::npos) << r.status().to_string();
  }
  const size_t key_at = good.size() - 512;
  // The salt changed: the derived key no longer opens the header (wrong key / unknown derivation).
  auto salt = good;
  salt[key_at + 5] ^= 0x40;
  expect_error(with(salt), "does not decrypt to the magic \"TRUE\"");
  expect_error(with(salt), "damaged, or its key is derived in a way this reader does not know");
  // A ciphertext bit in the key data: magic intact, CRC-32 of the key data wrong.
  auto crc = good;
  crc[key_at + 64 + 16 * 5 + 3] ^= 0x01;
  expect_error(with(crc), "CRC-32 of the key data does not match");
  // The encrypted descriptor changed: not a zlib stream any more.
  auto body = good;
  body[48 + 20] ^= 0xFF;
  expect_error(with(body), "offset 48");
  // Key header offset beyond the file.
  auto far = good;
  far[46] = 0x7F;
  expect_error(with(far), "key header offset");
  // Inside the (re-encrypted) descriptor: session blocks beyond it, a compressed track, a bad data key header.
  expect_error(with(resealed_v2(good, [](std::vector<uint8_t>& d) { d[81] = 0x70; })),
               "(decrypted descriptor): offset");
  const std::vector<uint8_t> good_descriptor = mds_v2::read_container(*memory_file(good, "disc.mds"), 1 << 20)->descriptor;
  const uint32_t data_key = good_descriptor[0x58] | good_descriptor[0x59] << 8;
  ASSERT_EQ(data_key + 512u, good_descriptor.size());
  expect_error(with(resealed_v2(good, [&](std::vector<uint8_t>& d) { d[data_key + 100] ^= 1; })),
               "the track data is protected by a password");
  expect_error(with(resealed_v2(good, [](std::vector<uint8_t>& d) { d[0x58] += 16; })),
               "is not the descriptor's last 512 bytes");
  // The first track's footer (version 2, 32 bytes): flag 0x01 = compressed chunks.
  const uint32_t tracks = good_descriptor[96 + 20] | good_descriptor[96 + 21] << 8;
  const size_t track1 = tracks + 3 * 80;
  const uint32_t footer = good_descriptor[track1 + 52] | good_descriptor[track1 + 53] << 8;
  // Flag 0x01 (compressed chunks) on a track whose footer has no chunk fields: group size 0.
  expect_error(with(resealed_v2(good, [&](std::vector<uint8_t>& d) { d[footer + 4] |= 1; })),
               "track 1 (footer at descriptor offset " + std::to_string(footer) + ")");
  expect_error(with(resealed_v2(good, [&](std::vector<uint8_t>& d) { d[footer + 4] |= 1; })),
               "0 sectors of 2352 bytes per compression group (footer offset 12)");
  // The resealed, unchanged descriptor still opens: the edits above are what fail.
  auto same = with(resealed_v2(good, [](std::vector<uint8_t>&) {}));
  ASSERT_TRUE(same.ok()) << same.status().to_string();

  // MDX: descriptor area beyond the file, and truncated.
  auto m = make_pair("", "mdx", "mdx");
  ASSERT_NE(m->other, nullptr);
  const std::vector<uint8_t> mdx = slurp(m->other_path);
  auto with_mdx = rewriting(*m, "disc.mdx");
  auto area = mdx;
  area[54] = 0x01;
  expect_error(with_mdx(area), "MDX descriptor area at");
  expect_error(with_mdx(std::vector<uint8_t>(mdx.begin(), mdx.end() - 100)), "disc.mdx");
}

// ---- Tracks stored in compressed chunks (mds_chunks, docs/formats/mds.md) ----

namespace chunks_test {

constexpr uint32_t kSector = 2448;  // 2352 + 96 sub-channel
constexpr uint32_t kGroup = 3;
constexpr uint64_t kSectors = 7 * kGroup + 2;  // the last group holds 2 sectors
constexpr uint64_t kLead = 100;                // bytes before the track in its data file

// Groups 0 and 4 zero, group 2 all 0xA5 (filled groups); the others a
// compressible pattern with pseudo-random bytes (deflated or raw).
std::vector<uint8_t> plain_track() {
  std::vector<uint8_t> out(kSectors * kSector);
  uint32_t x = 12345;
  for (size_t i = 0; i < out.size(); ++i) {
    const uint64_t g = i / (kGroup * kSector);
    x = x * 1103515245u + 12345u;
    out[i] = g == 0 || g == 4 ? 0 : g == 2 ? 0xA5 : (i % 7 == 0 ? static_cast<uint8_t>(x >> 16) : static_cast<uint8_t>(i / 64));
  }
  return out;
}

std::shared_ptr<const mds_crypto::Lrw> test_cipher() {
  std::array<uint8_t, 32> key{};
  std::array<uint8_t, 16> tweak{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(3 * i + 1);
  for (size_t i = 0; i < tweak.size(); ++i) tweak[i] = static_cast<uint8_t>(7 * i + 5);
  return std::make_shared<const mds_crypto::Lrw>(key, tweak);
}

mds_chunks::Track track_at(uint64_t table_offset) {
  return mds_chunks::Track{.offset = kLead, .sector_size = kSector, .group_sectors = kGroup, .sectors = kSectors,
                           .table_offset = table_offset, .what = "track 1"};
}

// The data file: kLead bytes, then the packed track.
std::vector<uint8_t> data_file(const mds_chunks::Packed& p) {
  std::vector<uint8_t> out(kLead + p.bytes.size(), 0xEE);
  std::copy(p.bytes.begin(), p.bytes.end(), out.begin() + kLead);
  return out;
}

std::string read_error(const RandomAccessFile& f, uint64_t at, size_t n) {
  std::vector<uint8_t> out(n);
  Status s = f.read_at(at, out);
  return s.ok() ? "" : s.to_string();
}

}  // namespace chunks_test

TEST(MdsChunks, FilledRawAndDeflatedGroupsReadBackWithAndWithoutEncryption) {
  using namespace chunks_test;
  const std::vector<uint8_t> plain = plain_track();
  for (const bool encrypted : {false, true}) {
    for (const uint32_t raw_every : {0u, 2u}) {
      SCOPED_TRACE(std::string(encrypted ? "encrypted" : "plain") + ", raw every " + std::to_string(raw_every));
      const auto cipher = encrypted ? test_cipher() : nullptr;
      const auto packed = mds_chunks::pack_track(plain, kSector, kGroup, cipher.get(), raw_every);
      // Filled groups store nothing: the groups are smaller than the sectors.
      EXPECT_LT(packed.table_offset, plain.size() - 3 * kGroup * kSector);
      auto f = mds_chunks::open_track(memory_file(data_file(packed), "disc.mdx"), track_at(packed.table_offset), cipher);
      ASSERT_TRUE(f.ok()) << f.status().to_string();
      ASSERT_EQ((*f)->size(), plain.size());
      std::vector<uint8_t> all(plain.size());
      ASSERT_TRUE((*f)->read_at(0, all).ok());
      EXPECT_EQ(all, plain);
      // Backwards sector by sector (past the cache), and a read across groups at odd offsets.
      std::vector<uint8_t> one(kSector);
      for (uint64_t k = kSectors; k-- > 0;) {
        ASSERT_TRUE((*f)->read_at(k * kSector, one).ok());
        EXPECT_TRUE(std::equal(one.begin(), one.end(), plain.begin() + static_cast<std::ptrdiff_t>(k * kSector))) << k;
      }
      std::vector<uint8_t> across(3 * kGroup * kSector + 3);
      ASSERT_TRUE((*f)->read_at(kGroup * kSector - 7, across).ok());
      EXPECT_TRUE(std::equal(across.begin(), across.end(), plain.begin() + (kGroup * kSector - 7)));
      EXPECT_FALSE((*f)->read_at(plain.size() - 1, std::span<uint8_t>(one.data(), 2)).ok());
    }
  }
}

TEST(MdsChunksCorruption, TableGroupsAndLimitsAreErrorsNamingTrackGroupAndOffset) {
  using namespace chunks_test;
  const auto packed = mds_chunks::pack_track(plain_track(), kSector, kGroup, nullptr, 2);
  const std::vector<uint8_t> good = data_file(packed);
  const uint64_t table_at = kLead + packed.table_offset;
  auto open = [&](std::vector<uint8_t> bytes, mds_chunks::Track t) {
    return mds_chunks::open_track(memory_file(std::move(bytes), "disc.mdf"), t, nullptr);
  };
  auto expect_open_error = [&](std::vector<uint8_t> bytes, mds_chunks::Track t, const std::string& needle) {
    auto r = open(std::move(bytes), t);
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_NE(r.status().to_string().find(needle), std::string::npos) << r.status().to_string();
    EXPECT_NE(r.status().to_string().find("'disc.mdf': track 1"), std::string::npos) << r.status().to_string();
  };
  ASSERT_TRUE(open(good, track_at(packed.table_offset)).ok());
  // The table: damaged, cut off, elsewhere, or of fewer entries than the footer's sectors need.
  auto damaged = good;
  damaged[table_at + 3] ^= 0xFF;
  expect_open_error(damaged, track_at(packed.table_offset), "offset " + std::to_string(table_at) +
                    ": the compression table is not a zlib stream of 8 16-bit entries");
  expect_open_error(std::vector<uint8_t>(good.begin(), good.end() - 4), track_at(packed.table_offset), "is cut off");
  expect_open_error(good, track_at(good.size()), "(footer offset 24) is not inside the data file");
  auto more = track_at(packed.table_offset);
  more.sectors += kGroup;
  expect_open_error(good, more, "not a zlib stream of 9 16-bit entries (it ends after 16 bytes)");
  auto fewer = track_at(packed.table_offset);
  fewer.sectors -= 2 * kGroup;
  expect_open_error(good, fewer, "(it holds more than that)");
  // Limits: group size, group count.
  auto no_group = track_at(packed.table_offset);
  no_group.group_sectors = 0;
  expect_open_error(good, no_group, "0 sectors of 2448 bytes per compression group (footer offset 12) is not 1..4194304");
  auto big_group = track_at(packed.table_offset);
  big_group.group_sectors = 2000;
  expect_open_error(good, big_group, "per compression group");
  auto many = track_at(packed.table_offset);
  many.sectors = uint64_t{1} << 40;
  expect_open_error(good, many, "compression groups (1..16777216)");
  // A table whose raw group runs past the end of the file.
  {
    std::vector<uint8_t> entries{0x00, 0x00};  // one raw group of 3 sectors
    std::vector<uint8_t> z(64);
    uLongf n = z.size();
    ASSERT_EQ(compress2(z.data(), &n, entries.data(), entries.size(), 9), Z_OK);
    std::vector<uint8_t> short_file(kLead + 10 + n, 0);
    std::copy(z.begin(), z.begin() + static_cast<std::ptrdiff_t>(n), short_file.begin() + kLead + 10);
    auto t = track_at(10);
    t.sectors = kGroup;
    expect_open_error(short_file, t, "compression group 0 (table entry 0x0000) at offset 100, 7344 bytes, runs past the end of the data file");
  }
  // A deflated group's bytes damaged: the read names the group and its offset.
  // Packed without raw groups, group 0 filled (stores nothing): group 1's deflate stream starts at kLead; block type 3 is invalid.
  const auto deflated = mds_chunks::pack_track(plain_track(), kSector, kGroup, nullptr, 0);
  auto bad_group = data_file(deflated);
  bad_group[kLead] = 0x07;
  auto f = open(bad_group, track_at(deflated.table_offset));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  const std::string e = read_error(**f, kGroup * kSector + 5, 10);
  EXPECT_NE(e.find("'disc.mdf': track 1: compression group 1 at offset 100"), std::string::npos) << e;
  EXPECT_NE(e.find("do not inflate to the 7344 bytes of its 3 sectors"), std::string::npos) << e;
  // The other groups still read.
  EXPECT_EQ(read_error(**f, 0, 10), "");
}

TEST(DescriptorImagesCorruption, Nrg) {
  auto p = make_pair("", "nrg2", "nrg");
  const std::vector<uint8_t> good = slurp(p->other_path);
  auto with = [&](std::vector<uint8_t> bytes) {
    p->dir.write("bad.nrg", bytes);
    return open_image(p->dir.file("bad.nrg"));
  };
  const size_t n = good.size();
  auto far = good;
  far[n - 8] = 0x7F;  // footer offset beyond the file
  expect_error(with(far), "footer");
  auto no_end = good;
  std::memcpy(no_end.data() + n - 12 - 8, "XND!", 4);
  expect_error(with(no_end), "END!");
  // A chunk size running past the footer.
  uint64_t chunks = 0;
  for (int i = 0; i < 8; ++i) chunks = (chunks << 8) | good[n - 8 + static_cast<size_t>(i)];
  auto big = good;
  big[chunks + 4] = 0x7F;
  expect_error(with(big), "runs past the footer");
  // Unknown mode code in the first DAO block (after CUEX).
  const uint32_t cuex = (uint32_t{good[chunks + 4]} << 24) | (uint32_t{good[chunks + 5]} << 16) |
                        (uint32_t{good[chunks + 6]} << 8) | good[chunks + 7];
  auto mode = good;
  mode[chunks + 8 + cuex + 8 + 22 + 14] = 0x42;
  expect_error(with(mode), "mode code");
  // Data truncated: the tracks' offsets run into the chunks.
  auto cut = std::vector<uint8_t>(good.begin() + 2352 * 100, good.end());
  for (int i = 0; i < 8; ++i) cut[cut.size() - 8 + static_cast<size_t>(i)] = static_cast<uint8_t>((chunks - 2352 * 100) >> (56 - 8 * i));
  expect_error(with(cut), "run into the chunks");
}

TEST(DescriptorImagesCorruption, Toc) {
  auto p = make_pair("", "toc", "toc");
  const std::string good = [&] {
    auto b = slurp(p->other_path);
    return std::string(b.begin(), b.end());
  }();
  auto with = [&](const std::string& text) {
    p->dir.write_text("bad.toc", text);
    return open_image(p->dir.file("bad.toc"));
  };
  expect_error(with(std::regex_replace(good, std::regex("TRACK AUDIO"), "TRACK BOGUS")), "line 10: unknown track mode 'BOGUS'");
  expect_error(with(std::regex_replace(good, std::regex("START 00:02:00"), "START 00:02:99")), "MM:SS:FF");
  expect_error(with(std::regex_replace(good, std::regex("\"disc.bin\""), "\"missing.bin\"")), "missing.bin");
  expect_error(with(std::regex_replace(good, std::regex("ISRC \""), "ISRC \"\n")), "not closed");
  expect_error(with(good + "TRACK MODE2_FORM2\n"), "MODE2_FORM2");
  expect_error(with(good + "TRACK AUDIO RW\n"), "RW");
  expect_error(with(good + "FIFO \"x\" 10\n"), "FIFO");
  // The data file shorter than the TOC says.
  p->dir.write_text("bad.toc", good);
  auto bin = slurp(p->dir.file("disc.bin"));
  bin.resize(bin.size() / 2);
  p->dir.write("disc.bin", bin);
  expect_error(open_image(p->dir.file("bad.toc")), "disc.bin");
}

TEST(DescriptorImagesCorruption, DiscJuggler) {
  auto p = make_pair("", "cdi35", "cdi");
  const std::vector<uint8_t> good = slurp(p->other_path);
  const size_t n = good.size();
  const size_t desc = n - (size_t{good[n - 4]} | size_t{good[n - 3]} << 8 | size_t{good[n - 2]} << 16 | size_t{good[n - 1]} << 24);
  auto with = [&](std::vector<uint8_t> bytes) {
    p->dir.write("bad.cdi", bytes);
    return open_image(p->dir.file("bad.cdi"));
  };
  auto set32 = [](std::vector<uint8_t>& b, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  };
  // Field offsets of track 1's record (file name "disc.cdi"; docs/formats/cdi.md).
  const size_t mark = desc + 8, indices = desc + 72, mode = desc + 88, length = desc + 108, read_mode = desc + 128;
  auto no_sessions = good;
  no_sessions[desc] = 0;
  expect_error(open_cdi(memory_file(no_sessions, "bad.cdi")), "0 sessions");
  // Not recognised as DiscJuggler by content: the descriptor must start with 1..99 sessions.
  EXPECT_FALSE(looks_like_cdi(*memory_file(no_sessions, "bad.cdi")));
  auto no_mark = good;
  no_mark[mark + 2] = 0x07;
  expect_error(with(no_mark), "track 1: no start mark");
  auto bad_mode = good;
  set32(bad_mode, mode, 5);
  expect_error(with(bad_mode), "unknown track mode 5");
  auto bad_read = good;
  set32(bad_read, read_mode, 9);
  expect_error(with(bad_read), "unknown read mode 9");
  auto bad_index = good;
  set32(bad_index, indices + 2 + 4, 1);
  expect_error(with(bad_index), "index lengths add up to");
  auto too_long = good;
  set32(too_long, length, 3000000);
  set32(too_long, indices + 2 + 4, 3000000 - 150);
  expect_error(with(too_long), "run into the descriptor");
  auto many_indices = good;
  many_indices[indices] = 0xFF;
  expect_error(with(many_indices), "index lengths (2..100)");
  // The descriptor cut short: every field read names the offset it wanted.
  for (size_t keep : {size_t{10}, size_t{100}, size_t{300}}) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(desc + keep));
    const uint32_t size = static_cast<uint32_t>(keep + 8);
    cut.insert(cut.end(), {0x06, 0x00, 0x00, 0x80});
    cut.insert(cut.end(), {static_cast<uint8_t>(size), static_cast<uint8_t>(size >> 8), 0, 0});
    auto r = with(cut);
    ASSERT_FALSE(r.ok()) << "cut at " << keep;
    EXPECT_NE(r.status().to_string().find("bad.cdi"), std::string::npos) << r.status().to_string();
    EXPECT_NE(r.status().to_string().find("offset"), std::string::npos) << r.status().to_string();
  }
  // The sectors truncated: the tracks run into the descriptor.
  std::vector<uint8_t> short_data(good.begin() + 2352 * 100, good.end());
  expect_error(with(short_data), "run into the descriptor");
  // A v3 footer's absolute offset pointing into the sectors.
  auto v3 = good;
  set32(v3, n - 8, 0x80000005u);
  set32(v3, n - 4, 2352);
  expect_error(open_cdi(memory_file(v3, "bad.cdi")), "DiscJuggler v3 descriptor");
}

}  // namespace
}  // namespace udisc::formats
