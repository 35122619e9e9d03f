// AudioPlayer: the CD audio play state behind PLAY AUDIO(10/12/MSF),
// PAUSE/RESUME, STOP PLAY/SCAN, READ SUB-CHANNEL and MECHANISM STATUS
// (MMC-6 6.15-6.17, 6.11, 6.24, 6.27).
//
// Nothing is sent to a sound device: the player only keeps the position a
// real drive would report, advancing at 75 sectors per second of wall time
// (the CD-DA frame rate, ECMA-130 / IEC 60908) while playing. The clock is
// injectable so tests can advance time by hand.
//
// The player also keeps the optical head position the drive reports when
// not playing: the last sector read (READ CD, READ(10) ...) or sought.
//
// Thread safety: every method may be called from any thread; the state is
// guarded by an internal mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

#include "device/command.h"
#include "device/sense.h"

namespace udisc::device {

class AudioPlayer {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr int kSectorsPerSecond = 75;

  enum class State : uint8_t {
    idle,       // no play operation (never started, or stopped)
    playing,
    paused,
    completed,  // reached its end; reported once, then idle
    error,      // stopped by an error (medium removed); reported once, then idle
  };

  // MMC-6 Table 516 (READ SUB-CHANNEL) Audio Status codes.
  static constexpr uint8_t kStatusPlaying = 0x11;
  static constexpr uint8_t kStatusPaused = 0x12;
  static constexpr uint8_t kStatusCompleted = 0x13;
  static constexpr uint8_t kStatusError = 0x14;
  static constexpr uint8_t kStatusNone = 0x15;

  struct Snapshot {
    State state = State::idle;
    int32_t position = 0;  // current sector (play position, or last read/seek)
    int32_t end = 0;       // one past the last sector of the play (when playing/paused)
  };

  explicit AudioPlayer(Clock clock = {});

  // Starts playing sectors [start, end) (end > start) from the beginning,
  // replacing any play operation.
  void play(int32_t start, int32_t end);
  // PAUSE: false when no play is in progress or paused (MMC-6 6.15.2: the
  // caller reports 05/2C/00 only for a resume that cannot be done).
  bool pause();
  bool resume();
  // STOP PLAY/SCAN: ends any play; the position stays where it was.
  void stop();
  // SEEK: stops any play and moves the head.
  void seek(int32_t lba);
  // A read of `lba` (last sector of a READ command) when not playing.
  void note_read(int32_t lba);
  // Tray opened or medium replaced: a play in progress ends with an error
  // status; the position returns to 0.
  void medium_changed();

  // The state now (advancing the position). Does not consume a completion.
  Snapshot snapshot();
  // The audio status byte for READ SUB-CHANNEL; a completed or error status
  // is reported once, then 15h (MMC-6 6.27.3.1).
  uint8_t take_audio_status();
  // The same for REQUEST SENSE, as ASC 00h / ASCQ 11h..15h.
  Asc take_sense_status();

  void set_clock(Clock clock);

 private:
  void advance_locked();
  std::chrono::steady_clock::time_point now() const;

  std::mutex mu_;
  Clock clock_;
  State state_ = State::idle;
  int32_t position_ = 0;
  int32_t start_ = 0;  // position when play (re)started
  int32_t end_ = 0;
  std::chrono::steady_clock::time_point since_{};
};

}  // namespace udisc::device
