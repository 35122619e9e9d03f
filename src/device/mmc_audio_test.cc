// AudioPlayer: position advancing at 75 sectors per second of an injected
// clock, pause/resume/stop, and the once-only completion status
// (MMC-6 6.27.3.1 audio status 11h-15h).
#include "device/mmc_audio.h"

#include <gtest/gtest.h>

namespace udisc::device {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::steady_clock::time_point t{std::chrono::seconds(1000)};
  AudioPlayer::Clock fn() {
    return [this] { return t; };
  }
};

TEST(AudioPlayer, AdvancesAt75SectorsPerSecond) {
  FakeClock clock;
  AudioPlayer p(clock.fn());
  p.play(20000, 20750);
  EXPECT_EQ(p.snapshot().position, 20000);
  EXPECT_EQ(p.snapshot().state, AudioPlayer::State::playing);
  clock.t += 1s;
  EXPECT_EQ(p.snapshot().position, 20075);
  clock.t += 500ms;
  EXPECT_EQ(p.snapshot().position, 20112);  // 1.5 s -> 112.5 sectors
  clock.t += 13ms;                          // 1.513 s -> 113.475
  EXPECT_EQ(p.snapshot().position, 20113);
  EXPECT_EQ(p.take_audio_status(), AudioPlayer::kStatusPlaying);
}

TEST(AudioPlayer, PauseHoldsAndResumeContinues) {
  FakeClock clock;
  AudioPlayer p(clock.fn());
  EXPECT_FALSE(p.pause());   // nothing playing
  EXPECT_FALSE(p.resume());
  p.play(100, 1000);
  clock.t += 2s;
  EXPECT_TRUE(p.pause());
  EXPECT_TRUE(p.pause());  // pausing while paused is not an error
  clock.t += 10s;
  EXPECT_EQ(p.snapshot().position, 250);
  EXPECT_EQ(p.take_audio_status(), AudioPlayer::kStatusPaused);
  EXPECT_TRUE(p.resume());
  clock.t += 1s;
  EXPECT_EQ(p.snapshot().position, 325);
  EXPECT_TRUE(p.resume());  // resuming while playing is not an error
}

TEST(AudioPlayer, CompletionIsReportedOnce) {
  FakeClock clock;
  AudioPlayer p(clock.fn());
  p.play(0, 150);
  clock.t += 3s;
  const AudioPlayer::Snapshot s = p.snapshot();
  EXPECT_EQ(s.state, AudioPlayer::State::completed);
  EXPECT_EQ(s.position, 149);
  EXPECT_EQ(p.take_audio_status(), AudioPlayer::kStatusCompleted);
  EXPECT_EQ(p.take_audio_status(), AudioPlayer::kStatusNone);
  EXPECT_FALSE(p.resume());
}

TEST(AudioPlayer, StopSeekReadAndMediumChange) {
  FakeClock clock;
  AudioPlayer p(clock.fn());
  EXPECT_EQ(p.take_audio_status(), AudioPlayer::kStatusNone);
  p.play(0, 1000);
  clock.t += 1s;
  p.note_read(500);  // reads do not move the play position
  EXPECT_EQ(p.snapshot().position, 75);
  p.stop();
  EXPECT_EQ(p.take_audio_status(), AudioPlayer::kStatusNone);
  EXPECT_EQ(p.snapshot().position, 75);
  p.note_read(500);
  EXPECT_EQ(p.snapshot().position, 500);
  p.seek(42);
  EXPECT_EQ(p.snapshot().position, 42);
  p.play(0, 1000);
  p.medium_changed();
  EXPECT_EQ(p.take_audio_status(), AudioPlayer::kStatusError);
  EXPECT_EQ(p.take_audio_status(), AudioPlayer::kStatusNone);
  EXPECT_EQ(p.snapshot().position, 0);
}

TEST(AudioPlayer, SenseStatusHook) {
  FakeClock clock;
  AudioPlayerPtr p = make_audio_player();
  p->set_clock(clock.fn());
  EXPECT_EQ(audio_sense_status(*p), asc::kNoAdditionalSense);
  p->play(0, 75);
  EXPECT_EQ(audio_sense_status(*p), asc::kAudioPlayInProgress);
  ASSERT_TRUE(p->pause());
  EXPECT_EQ(audio_sense_status(*p), asc::kAudioPlayPaused);
  ASSERT_TRUE(p->resume());
  clock.t += 2s;
  EXPECT_EQ(audio_sense_status(*p), asc::kAudioPlayCompleted);
  EXPECT_EQ(audio_sense_status(*p), asc::kNoAdditionalSense);
  p->play(0, 75);
  audio_medium_changed(*p);
  EXPECT_EQ(audio_sense_status(*p), asc::kAudioPlayStoppedError);
}

}  // namespace
}  // namespace udisc::device
