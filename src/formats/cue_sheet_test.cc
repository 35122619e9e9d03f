#include "formats/cue_sheet.h"

#include <gtest/gtest.h>

#include <string>

namespace udisc::formats::cue {
namespace {

CueSheet parse_ok(const std::string& text) {
  auto r = parse_cue_sheet(text, "t.cue");
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  if (!r.ok()) return {};
  return std::move(r).value();
}

// Parses text expected to fail; returns the message.
std::string parse_error(const std::string& text) {
  auto r = parse_cue_sheet(text, "t.cue");
  EXPECT_FALSE(r.ok()) << "parsed:\n" << text;
  return r.ok() ? std::string() : r.status().message();
}

TEST(CueSheet, MinimalSingleTrack) {
  CueSheet s = parse_ok("FILE \"game.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n");
  ASSERT_EQ(s.files.size(), 1u);
  EXPECT_EQ(s.files[0].name, "game.bin");
  EXPECT_EQ(s.files[0].type, FileType::binary);
  EXPECT_EQ(s.files[0].line, 1);
  ASSERT_EQ(s.tracks.size(), 1u);
  EXPECT_EQ(s.tracks[0].number, 1);
  EXPECT_EQ(s.tracks[0].type, TrackType::mode1_2352);
  EXPECT_EQ(s.tracks[0].line, 2);
  EXPECT_EQ(s.tracks[0].session, 1);
  ASSERT_EQ(s.tracks[0].indices.size(), 1u);
  EXPECT_EQ(s.tracks[0].indices[0].number, 1);
  EXPECT_EQ(s.tracks[0].indices[0].position, 0);
  EXPECT_TRUE(s.warnings.empty());
}

TEST(CueSheet, EveryTrackMode) {
  struct Case {
    const char* keyword;
    TrackType type;
    uint32_t size;
  } cases[] = {
      {"AUDIO", TrackType::audio, 2352},           {"CDG", TrackType::cdg, 2448},
      {"MODE1/2048", TrackType::mode1_2048, 2048}, {"MODE1/2352", TrackType::mode1_2352, 2352},
      {"MODE2/2336", TrackType::mode2_2336, 2336}, {"MODE2/2352", TrackType::mode2_2352, 2352},
      {"CDI/2336", TrackType::cdi_2336, 2336},     {"CDI/2352", TrackType::cdi_2352, 2352},
  };
  for (const Case& c : cases) {
    CueSheet s = parse_ok(std::string("FILE x.bin BINARY\nTRACK 01 ") + c.keyword + "\nINDEX 01 00:00:00\n");
    ASSERT_EQ(s.tracks.size(), 1u) << c.keyword;
    EXPECT_EQ(s.tracks[0].type, c.type) << c.keyword;
    EXPECT_EQ(stored_sector_size(c.type), c.size) << c.keyword;
    EXPECT_STREQ(to_string(c.type), c.keyword);
  }
  EXPECT_TRUE(is_mode2(TrackType::cdi_2352));
  EXPECT_FALSE(is_mode2(TrackType::mode1_2352));
  EXPECT_TRUE(is_audio(TrackType::cdg));
}

TEST(CueSheet, FileTypesAndNames) {
  CueSheet s = parse_ok(
      "FILE \"my disc (track 1).bin\" BINARY\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n"
      "FILE my disc track 2.bin MOTOROLA\nTRACK 02 AUDIO\nINDEX 01 00:00:00\n"
      "FILE \"song.flac\" wave\nTRACK 03 AUDIO\nINDEX 01 00:00:00\n");
  ASSERT_EQ(s.files.size(), 3u);
  EXPECT_EQ(s.files[0].name, "my disc (track 1).bin");
  EXPECT_EQ(s.files[1].name, "my disc track 2.bin");
  EXPECT_EQ(s.files[1].type, FileType::motorola);
  EXPECT_EQ(s.files[2].name, "song.flac");
  EXPECT_EQ(s.files[2].type, FileType::wave);
  EXPECT_EQ(s.tracks[2].file, 2u);
}

TEST(CueSheet, AiffAndMp3AreNotSupported) {
  for (const char* type : {"AIFF", "MP3"}) {
    auto r = parse_cue_sheet(std::string("REM x\nFILE \"a.x\" ") + type + "\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n", "t.cue");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::not_supported);
    EXPECT_NE(r.status().message().find("t.cue: line 2"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("not supported"), std::string::npos);
  }
}

TEST(CueSheet, CrlfBomAndKeywordCase) {
  CueSheet s = parse_ok("\xEF\xBB\xBF" "catalog 0123456789012\r\nfile \"a.bin\" binary\r\n  track 01 mode1/2048\r\n"
                        "    index 01 00:00:00\r\n  Track 02 Audio\r\n    Index 00 01:00:00\r\n    iNdEx 01 01:02:00\r\n");
  EXPECT_EQ(s.catalog, "0123456789012");
  ASSERT_EQ(s.tracks.size(), 2u);
  EXPECT_EQ(s.tracks[1].type, TrackType::audio);
  ASSERT_EQ(s.tracks[1].indices.size(), 2u);
  EXPECT_EQ(s.tracks[1].indices[0].position, 60 * 75);
  EXPECT_EQ(s.tracks[1].indices[1].position, 62 * 75);
  EXPECT_EQ(s.tracks[1].indices[1].line, 7);
  EXPECT_EQ(s.tracks[1].index1_position(), 62 * 75);
  EXPECT_EQ(s.tracks[1].first_position(), 60 * 75);
}

TEST(CueSheet, IndicesUpTo99AndMsf) {
  std::string text;
  text = "FILE a.bin BINARY\nTRACK 01 AUDIO\nINDEX 00 00:00:00\n";
  for (int i = 1; i <= 99; ++i) {
    const int frames = i * 77;  // crosses second and minute boundaries
    char line[64];
    std::snprintf(line, sizeof line, "INDEX %02d %02d:%02d:%02d\n", i, frames / 4500, frames / 75 % 60, frames % 75);
    text += line;
  }
  CueSheet s = parse_ok(text);
  ASSERT_EQ(s.tracks[0].indices.size(), 100u);
  EXPECT_EQ(s.tracks[0].indices[99].number, 99);
  EXPECT_EQ(s.tracks[0].indices[99].position, 99 * 77);
  // Three-digit minutes (long WAVE files).
  CueSheet l = parse_ok("FILE a.wav WAVE\nTRACK 01 AUDIO\nINDEX 01 100:00:74\n");
  EXPECT_EQ(l.tracks[0].indices[0].position, 100 * 60 * 75 + 74);
}

TEST(CueSheet, PregapPostgapFlagsIsrcCdText) {
  CueSheet s = parse_ok(
      "TITLE \"The Album\"\nPERFORMER \"Some Band\"\nSONGWRITER Someone Else\n"
      "FILE \"a.bin\" BINARY\n"
      "  TRACK 01 AUDIO\n    TITLE \"Intro\"\n    PERFORMER \"Band A\"\n    SONGWRITER \"W\"\n"
      "    FLAGS DCP 4CH PRE SCMS\n    ISRC usabc9912345\n    PREGAP 00:02:00\n    INDEX 01 00:00:00\n"
      "    POSTGAP 00:01:05\n"
      "  TRACK 02 AUDIO\n    FLAGS PRE\n    INDEX 01 00:10:00\n");
  EXPECT_EQ(s.cd_text.title, "The Album");
  EXPECT_EQ(s.cd_text.performer, "Some Band");
  EXPECT_EQ(s.cd_text.songwriter, "Someone Else");
  const CueTrack& t = s.tracks[0];
  EXPECT_EQ(t.cd_text.title, "Intro");
  EXPECT_EQ(t.cd_text.performer, "Band A");
  EXPECT_EQ(t.cd_text.songwriter, "W");
  EXPECT_EQ(t.flags, disc::control::kCopyPermitted | disc::control::kFourChannel | disc::control::kPreEmphasis);
  EXPECT_EQ(t.isrc, "USABC9912345");
  EXPECT_EQ(t.pregap, 150);
  EXPECT_EQ(t.postgap, 75 + 5);
  EXPECT_EQ(s.tracks[1].flags, disc::control::kPreEmphasis);
  EXPECT_EQ(s.tracks[1].pregap, 0);
  EXPECT_TRUE(s.warnings.empty()) << s.warnings[0];
}

TEST(CueSheet, RemSessionAndComments) {
  CueSheet s = parse_ok(
      "REM GENRE Rock\nREM DATE 1999\nREM COMMENT \"ExactAudioCopy\"\nREM SESSION 01\n"
      "FILE \"t1.bin\" BINARY\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n"
      "FILE \"t2.bin\" BINARY\n  TRACK 02 AUDIO\n    INDEX 00 00:00:00\n    INDEX 01 00:02:00\n"
      "REM LEAD-OUT 00:01:00\nREM SESSION 02\n"
      "FILE \"t3.bin\" BINARY\n  TRACK 03 MODE2/2352\n    INDEX 00 00:00:00\n    INDEX 01 00:02:00\n");
  ASSERT_EQ(s.tracks.size(), 3u);
  EXPECT_EQ(s.tracks[0].session, 1);
  EXPECT_EQ(s.tracks[1].session, 1);
  EXPECT_EQ(s.tracks[2].session, 2);
  EXPECT_TRUE(s.warnings.empty());
}

TEST(CueSheet, SeveralTracksPerFile) {
  CueSheet s = parse_ok(
      "FILE \"all.bin\" BINARY\nTRACK 01 MODE1/2352\nINDEX 01 00:00:00\n"
      "TRACK 02 AUDIO\nINDEX 00 10:00:00\nINDEX 01 10:02:00\nTRACK 03 AUDIO\nINDEX 01 12:00:00\n");
  ASSERT_EQ(s.tracks.size(), 3u);
  for (const CueTrack& t : s.tracks) EXPECT_EQ(t.file, 0u);
  EXPECT_EQ(s.tracks[2].index1_position(), 12 * 60 * 75);
}

// EAC's "gaps appended to previous track" sheets: a track's INDEX 00 is at the
// end of one file and its INDEX 01 at the start of the next.
TEST(CueSheet, TrackContinuesIntoNextFile) {
  CueSheet s = parse_ok(
      "FILE \"01.wav\" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    INDEX 00 04:35:50\n"
      "FILE \"02.wav\" WAVE\n    INDEX 01 00:00:00\n    INDEX 02 00:10:00\n  TRACK 03 AUDIO\n    INDEX 00 03:00:00\n"
      "FILE \"03.wav\" WAVE\n    INDEX 01 00:00:00\n");
  ASSERT_EQ(s.files.size(), 3u);
  ASSERT_EQ(s.tracks.size(), 3u);
  const CueTrack& t2 = s.tracks[1];
  EXPECT_EQ(t2.file, 0u);
  ASSERT_EQ(t2.indices.size(), 3u);
  EXPECT_EQ(t2.indices[0].file, 0u);
  EXPECT_EQ(t2.indices[0].position, (4 * 60 + 35) * 75 + 50);
  EXPECT_EQ(t2.indices[1].file, 1u);
  EXPECT_EQ(t2.indices[1].position, 0);
  EXPECT_EQ(t2.indices[2].file, 1u);
  EXPECT_EQ(t2.first_file(), 0u);
  EXPECT_EQ(s.tracks[2].indices[1].file, 2u);
  EXPECT_TRUE(s.warnings.empty());
  // Within the new file positions must still increase.
  const std::string msg = parse_error(
      "FILE a.bin BINARY\nTRACK 01 AUDIO\nINDEX 00 00:00:00\nFILE b.bin BINARY\nINDEX 01 00:05:00\nINDEX 02 00:04:00\n");
  EXPECT_NE(msg.find("t.cue: line 6: INDEX 02 at 00:04:00 is not after INDEX 1"), std::string::npos) << msg;
}

TEST(CueSheet, Index0EqualToIndex1MeansNoPregap) {
  CueSheet s = parse_ok("FILE a.bin BINARY\nTRACK 01 AUDIO\nINDEX 00 00:00:00\nINDEX 01 00:00:00\n");
  ASSERT_EQ(s.tracks[0].indices.size(), 1u);
  EXPECT_EQ(s.tracks[0].indices[0].number, 1);
}

TEST(CueSheet, WarningsAreCollected) {
  CueSheet s = parse_ok(
      "CDTEXTFILE \"disc.cdt\"\nCATALOG 12345\nFILE a.bin BINARY\nTRACK 01 AUDIO\nFLAGS XYZ\nISRC BAD\n"
      "ARRANGER x\nINDEX 01 00:00:00\n");
  ASSERT_EQ(s.warnings.size(), 5u);
  EXPECT_NE(s.warnings[0].find("t.cue: line 1: CDTEXTFILE 'disc.cdt' ignored"), std::string::npos) << s.warnings[0];
  EXPECT_NE(s.warnings[1].find("line 2: CATALOG"), std::string::npos) << s.warnings[1];
  EXPECT_NE(s.warnings[2].find("line 5: unknown flag 'XYZ'"), std::string::npos) << s.warnings[2];
  EXPECT_NE(s.warnings[3].find("line 6: ISRC"), std::string::npos) << s.warnings[3];
  EXPECT_NE(s.warnings[4].find("line 7: ARRANGER"), std::string::npos) << s.warnings[4];
  EXPECT_TRUE(s.catalog.empty());
  EXPECT_TRUE(s.tracks[0].isrc.empty());
}

TEST(CueSheet, FileWithoutTracksIsDroppedWithWarning) {
  CueSheet s = parse_ok("FILE unused.bin BINARY\nFILE a.bin BINARY\nTRACK 01 AUDIO\nINDEX 01 00:00:00\n");
  ASSERT_EQ(s.files.size(), 1u);
  EXPECT_EQ(s.files[0].name, "a.bin");
  EXPECT_EQ(s.tracks[0].file, 0u);
  ASSERT_EQ(s.warnings.size(), 1u);
}

// Every error names the sheet, the line and what is wrong.
struct ErrorCase {
  const char* text;
  int line;
  const char* what;
};

class CueSheetErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(CueSheetErrors, NamesFileLineAndProblem) {
  const ErrorCase& c = GetParam();
  const std::string msg = parse_error(c.text);
  EXPECT_NE(msg.find("t.cue: line " + std::to_string(c.line) + ": "), std::string::npos) << msg;
  EXPECT_NE(msg.find(c.what), std::string::npos) << msg;
}

#define F "FILE a.bin BINARY\n"
INSTANTIATE_TEST_SUITE_P(
    All, CueSheetErrors,
    ::testing::Values(
        ErrorCase{F "TRACK 01 MODE3/2352\nINDEX 01 00:00:00\n", 2, "unknown track mode 'MODE3/2352'"},
        ErrorCase{F "TRACK 01\n", 2, "TRACK needs a number and a mode"},
        ErrorCase{F "TRACK 00 AUDIO\n", 2, "bad track number '00'"},
        ErrorCase{F "TRACK 100 AUDIO\n", 2, "bad track number '100'"},
        ErrorCase{F "TRACK xx AUDIO\n", 2, "bad track number 'xx'"},
        ErrorCase{"TRACK 01 AUDIO\nINDEX 01 00:00:00\n", 1, "TRACK before any FILE"},
        ErrorCase{F "INDEX 01 00:00:00\n", 2, "INDEX before TRACK"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 02 00:00:00\n", 3, "it must be 00 or 01"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 00 00:00:00\nINDEX 02 00:02:00\n", 4, "out of order"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 00:00:00\nINDEX 01 00:02:00\n", 4, "duplicate INDEX 01"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 00 00:05:00\nINDEX 01 00:02:00\n", 4, "index out of order"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 00:05:00\nINDEX 02 00:05:00\n", 4, "index out of order"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 00:05:00\nTRACK 02 AUDIO\nINDEX 01 00:04:00\n", 5, "index out of order"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 00:00:75\n", 3, "frames must be below 75"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 00:60:00\n", 3, "seconds must be below 60"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 00:00\n", 3, "expected mm:ss:ff"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 0a:00:00\n", 3, "bad INDEX time"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 1000:00:00\n", 3, "bad INDEX time"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 1 \n", 3, "INDEX needs a number and a time"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 100 00:00:00\n", 3, "bad index number"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 00:00:00\nTRACK 03 AUDIO\nINDEX 01 00:10:00\n", 4,
                  "track numbers must increase by one"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 00:00:00\nTRACK 01 AUDIO\nINDEX 01 00:10:00\n", 4, "duplicate TRACK 1"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 00 00:00:00\nTRACK 02 AUDIO\nINDEX 01 00:10:00\n", 2,
                  "track 1 has no INDEX 01"},
        ErrorCase{F "TRACK 01 AUDIO\n", 2, "track 1 has no INDEX 01"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 00:00:00\nTRACK 02 AUDIO\n", 4, "track 2 has no INDEX 01"},
        ErrorCase{F, 2, "the sheet has no tracks"},
        ErrorCase{"", 1, "the sheet has no tracks"},
        ErrorCase{"FILE a.bin ISO\n", 1, "unknown FILE type 'ISO'"},
        ErrorCase{"FILE \"a.bin BINARY\n", 1, "missing closing quote"},
        ErrorCase{"FILE a.bin\n", 1, "FILE needs"},
        ErrorCase{"FILE \"\" BINARY\n", 1, "empty file name"},
        ErrorCase{"FILE \"a.bin\" BINARY extra\n", 1, "FILE needs a file name and one type"},
        ErrorCase{F "TRACK 01 AUDIO\nPREGAP 00:02:00\nPREGAP 00:02:00\nINDEX 01 00:00:00\n", 4, "duplicate PREGAP"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 00:00:00\nPREGAP 00:02:00\n", 4, "PREGAP after INDEX"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 00:00:00\nPOSTGAP 00:02:00\nPOSTGAP 00:02:00\n", 5, "duplicate POSTGAP"},
        ErrorCase{F "PREGAP 00:02:00\n", 2, "PREGAP before TRACK"},
        ErrorCase{F "TRACK 01 AUDIO\nPREGAP 00:02:80\n", 3, "frames must be below 75"},
        ErrorCase{F "TRACK 01 AUDIO\nPOSTGAP\n", 3, "POSTGAP needs one time"},
        ErrorCase{F "FLAGS DCP\n", 2, "FLAGS before TRACK"},
        ErrorCase{F "TRACK 01 AUDIO\nFLAGS DCP\nFLAGS PRE\n", 4, "duplicate FLAGS"},
        ErrorCase{F "ISRC USABC9912345\n", 2, "ISRC before TRACK"},
        ErrorCase{F "TRACK 01 AUDIO\nISRC USABC9912345\nISRC USABC9912345\n", 4, "duplicate ISRC"},
        ErrorCase{"CATALOG 0123456789012\nCATALOG 0123456789012\n", 2, "duplicate CATALOG"},
        ErrorCase{"TITLE \"abc\n", 1, "missing closing quote"},
        ErrorCase{"TITLE \"abc\" def\n", 1, "unexpected text after the closing quote"},
        ErrorCase{"BOGUS 1 2 3\n", 1, "unknown keyword 'BOGUS'"},
        ErrorCase{"REM SESSION 02\n" F "TRACK 01 AUDIO\nINDEX 01 00:00:00\n", 1, "it must be 01"},
        ErrorCase{"REM SESSION 1x\n", 1, "REM SESSION needs a session number"},
        ErrorCase{"REM SESSION 01\nREM SESSION 02\n" F "TRACK 01 AUDIO\nINDEX 01 00:00:00\n", 2,
                  "duplicate REM SESSION"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 00:00:00\nREM SESSION 03\n", 4, "follows session 1"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 00:00:00\nREM SESSION 02\nREM SESSION 03\n", 5, "session 2 has no tracks"},
        ErrorCase{F "TRACK 01 AUDIO\nINDEX 01 00:00:00\nREM SESSION 02\n", 4, "session 2 has no tracks"},
        ErrorCase{F "TRACK 01 AUDIO\nREM SESSION 02\n", 3, "before its INDEX"}));
#undef F

TEST(CueSheet, NulByteIsRejected) {
  const std::string text("REM\nFILE a.bin BINARY\0\n", 23);
  const std::string msg = parse_error(text);
  EXPECT_NE(msg.find("t.cue: line 2: NUL byte"), std::string::npos) << msg;
}

TEST(CueSheet, ErrorMessageUsesGivenName) {
  auto r = parse_cue_sheet("FILE a.bin BINARY\nTRACK 01 MODE9\n", "/some/dir/My Disc.cue");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("/some/dir/My Disc.cue: line 2: unknown track mode", 0), 0u)
      << r.status().message();
}

}  // namespace
}  // namespace udisc::formats::cue
