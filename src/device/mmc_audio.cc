// CD audio play state (MMC-6 6.15 PAUSE/RESUME, 6.16/6.17 PLAY AUDIO,
// 6.27 READ SUB-CHANNEL audio status, 6.38 STOP PLAY/SCAN).
#include "device/mmc_audio.h"

#include <algorithm>
#include <utility>

namespace udisc::device {

AudioPlayer::AudioPlayer(Clock clock) : clock_(std::move(clock)) {}

std::chrono::steady_clock::time_point AudioPlayer::now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

void AudioPlayer::set_clock(Clock clock) {
  std::lock_guard lock(mu_);
  advance_locked();
  clock_ = std::move(clock);
  since_ = now();
}

void AudioPlayer::advance_locked() {
  if (state_ != State::playing) return;
  const auto elapsed = now() - since_;
  const int64_t sectors =
      std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count() * kSectorsPerSecond / 1'000'000'000;
  const int64_t pos = int64_t{start_} + std::max<int64_t>(sectors, 0);
  if (pos >= end_) {
    position_ = end_ - 1;  // the last sector played
    state_ = State::completed;
  } else {
    position_ = static_cast<int32_t>(pos);
  }
}

void AudioPlayer::play(int32_t start, int32_t end) {
  std::lock_guard lock(mu_);
  if (end <= start) return;
  state_ = State::playing;
  start_ = start;
  position_ = start;
  end_ = end;
  since_ = now();
}

bool AudioPlayer::pause() {
  std::lock_guard lock(mu_);
  advance_locked();
  if (state_ == State::paused) return true;
  if (state_ != State::playing) return false;
  state_ = State::paused;
  return true;
}

bool AudioPlayer::resume() {
  std::lock_guard lock(mu_);
  advance_locked();
  if (state_ == State::playing) return true;
  if (state_ != State::paused) return false;
  state_ = State::playing;
  start_ = position_;
  since_ = now();
  return true;
}

void AudioPlayer::stop() {
  std::lock_guard lock(mu_);
  advance_locked();
  state_ = State::idle;
}

void AudioPlayer::seek(int32_t lba) {
  std::lock_guard lock(mu_);
  state_ = State::idle;
  position_ = lba;
}

void AudioPlayer::note_read(int32_t lba) {
  std::lock_guard lock(mu_);
  advance_locked();
  if (state_ == State::playing || state_ == State::paused) return;
  position_ = lba;
}

void AudioPlayer::medium_changed() {
  std::lock_guard lock(mu_);
  advance_locked();
  if (state_ == State::playing || state_ == State::paused) {
    state_ = State::error;
  } else {
    state_ = State::idle;
  }
  position_ = 0;
}

AudioPlayer::Snapshot AudioPlayer::snapshot() {
  std::lock_guard lock(mu_);
  advance_locked();
  return Snapshot{state_, position_, end_};
}

uint8_t AudioPlayer::take_audio_status() {
  std::lock_guard lock(mu_);
  advance_locked();
  switch (state_) {
    case State::playing: return kStatusPlaying;
    case State::paused: return kStatusPaused;
    case State::completed:
      state_ = State::idle;
      return kStatusCompleted;
    case State::error:
      state_ = State::idle;
      return kStatusError;
    case State::idle: return kStatusNone;
  }
  return kStatusNone;
}

Asc AudioPlayer::take_sense_status() {
  return Asc{0x00, take_audio_status()};
}

// ---- hooks declared in command.h ----------------------------------------------

void AudioPlayerDeleter::operator()(AudioPlayer* p) const { delete p; }
AudioPlayerPtr make_audio_player() { return AudioPlayerPtr(new AudioPlayer); }
void audio_medium_changed(AudioPlayer& player) { player.medium_changed(); }
Asc audio_sense_status(AudioPlayer& player) {
  // Only a play state is worth reporting; otherwise REQUEST SENSE says NO SENSE.
  const AudioPlayer::State s = player.snapshot().state;
  if (s == AudioPlayer::State::idle) return asc::kNoAdditionalSense;
  return player.take_sense_status();
}

}  // namespace udisc::device
