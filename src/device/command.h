// The internal command-handler interface of the drive engine.
//
// Drive::execute (drive.cc) looks the CDB's operation code up in one table
// made of the SPC/engine entries (drive.cc) and the MMC disc-content entries
// (mmc_command_table(), defined in mmc_commands.cc), runs the common checks
// once (CDB length, NACA, unit attention, medium present), then calls the
// entry's handler with a CommandContext.
//
// A handler:
//   - reads its CDB through ctx.cdb() (use wire::get_u16 & co.),
//   - returns kGood (std::nullopt) or a ScsiError, which becomes CHECK
//     CONDITION with fixed or descriptor sense (D_SENSE of control page),
//   - sends data-in with ctx.send(bytes, allocation_length) — the full
//     response, built with its data-length fields for the full size; send()
//     truncates it to the allocation length and the expected transfer length
//     and computes the SAM residual — or, for sector data, with
//     ctx.send_sectors(), which lets the handler fill the caller's buffers
//     directly (no staging, except a sector that straddles two data-in
//     segments or is cut by the expected transfer length).
//   - may call send / send_sectors once per command.
//
// Concurrency: handlers flagged `runs_locked` (engine state changes: MODE
// SELECT, START STOP UNIT, PREVENT ALLOW ...) run under the drive's state
// lock; all others (reads, every MMC entry) run concurrently with other
// commands on a snapshot of the medium (the image stays alive for the whole
// command). The AudioPlayer guards its own state.
//
// Build wiring for the MMC command code: src/device/CMakeLists.txt includes
// src/device/mmc.cmake after the udisc_device and udisc_device_testing
// targets exist; it adds its sources with target_sources(udisc_device
// PRIVATE mmc_commands.cc ...) and registers its tests with udisc_test().
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include "device/drive.h"
#include "device/sense.h"
#include "disc/image.h"

namespace udisc::device {

class AudioPlayer;  // MMC audio play state, defined in mmc_audio.h
class CommandContext;
class DriveCore;    // the engine's own state (drive_core.h), for engine handlers only

// Outcome of a handler: nothing (GOOD) or the error to report.
using CommandResult = std::optional<ScsiError>;
inline constexpr std::nullopt_t kGood = std::nullopt;

// A non-owning reference to a callable, cheaper than std::function on the
// read path (no allocation). The referenced callable must outlive the call.
template <typename Sig>
class FunctionRef;
template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& f)  // NOLINT(google-explicit-constructor)
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, Args... a) -> R { return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(a)...); }) {}
  R operator()(Args... a) const { return call_(obj_, std::forward<Args>(a)...); }

 private:
  void* obj_;
  R (*call_)(void*, Args...);
};

// Drive-wide settings that command handlers read and change concurrently.
struct DriveSettings {
  // Nominal maximum read speed in kB/s (page 2Ah bytes 8–9; 1x CD = 176 kB/s).
  static constexpr uint16_t kCdMaxReadSpeedKbps = 8467;  // 48x CD (176.4 kB/s per x)
  // Selected read speed in kB/s (SET CD SPEED; 0xFFFF = maximum). Reported
  // in page 2Ah bytes 14–15 clamped to the maximum.
  std::atomic<uint16_t> read_speed_kbps{0xFFFF};
};

// Handler: everything a command needs through ctx; returns GOOD or an error.
using Handler = CommandResult (*)(CommandContext& ctx);

// One opcode-table entry (SPC-5 6.35 REPORT SUPPORTED OPERATION CODES reports
// these). Designated initialisers are the intended way to write one.
struct CommandSpec {
  uint8_t opcode = 0;
  const char* name = "";
  Handler handler = nullptr;
  uint8_t cdb_length = 6;                      // 6, 10, 12 or 16; shorter CDBs are rejected
  bool needs_medium = false;                   // 02/3A/0x without a medium (after UA checks)
  bool allowed_during_unit_attention = false;  // INQUIRY, REQUEST SENSE, GET CONFIGURATION, GESN, REPORT LUNS
  bool runs_locked = false;                    // engine entries that change drive state
  // CDB USAGE DATA (SPC-5 6.35.3): the bits this command examines, byte 0 =
  // opcode. All zero: derived as opcode, FFh for every other byte, and the
  // control byte's NACA bit.
  std::array<uint8_t, 16> usage{};
};

// The MMC disc-content commands (READ TOC, READ CD, PLAY AUDIO ...).
// Defined in mmc_commands.cc. Entries are sorted by nothing in particular;
// an opcode must not also appear in the engine's own table.
std::span<const CommandSpec> mmc_command_table();

// Audio play state hooks, defined in mmc_audio.cc alongside AudioPlayer.
struct AudioPlayerDeleter {
  void operator()(AudioPlayer* p) const;
};
using AudioPlayerPtr = std::unique_ptr<AudioPlayer, AudioPlayerDeleter>;
// One player per Drive, created with the drive.
AudioPlayerPtr make_audio_player();
// The medium was removed or replaced (tray opened, image swapped): playback
// stops and the position resets. Called with the drive's state lock held.
void audio_medium_changed(AudioPlayer& player);
// The audio status REQUEST SENSE reports when no other sense is pending
// (SPC-5 6.39 / MMC-6 6.30: 00/11 playing, 00/12 paused, 00/13 completed,
// 00/14 stopped by error, 00/15 no current audio status, or 00/00).
Asc audio_sense_status(AudioPlayer& player);

// Everything a handler sees of the request and the drive.
class CommandContext {
 public:
  // Data-in fill callback: write `n` sectors starting at sector index `first`
  // (0-based within the command) into `out` (exactly n * sector_size bytes).
  using SectorFill = FunctionRef<CommandResult(uint32_t first, uint32_t n, std::span<uint8_t> out)>;
  // Largest sector send_sectors() can stage (READ CD: 2352 + 296 C2 + 96 sub).
  static constexpr uint32_t kMaxStagedSector = 4096;

  CommandContext(const Request& request, const disc::Image* image, AudioPlayer* audio, DriveSettings& settings,
                 TrayState tray)
      : request_(request), image_(image), audio_(audio), settings_(settings), tray_(tray) {}

  const Request& request() const { return request_; }
  std::span<const uint8_t> cdb() const { return request_.cdb; }
  InitiatorId initiator() const { return request_.initiator; }
  std::span<const uint8_t> data_out() const { return request_.data_out; }
  // The medium, or null when none (only for entries with needs_medium=false).
  const disc::Image* image() const { return image_; }
  const disc::Disc* disc() const { return image_ != nullptr ? &image_->disc() : nullptr; }
  AudioPlayer* audio() const { return audio_; }  // may be null
  DriveSettings& settings() const { return settings_; }
  TrayState tray() const { return tray_; }

  // Sends a complete response, cut to min(bytes.size(), allocation_length)
  // (the command's transfer length), then to the expected transfer length
  // and the data-in buffers. allocation_length 0 transfers nothing.
  void send(std::span<const uint8_t> bytes, uint32_t allocation_length);

  // Transfers `count` sectors of `sector_size` bytes (the command's transfer
  // length is count * sector_size), calling `fill` with runs of whole
  // sectors placed directly in the data-in buffers. Sectors that straddle
  // two segments or are cut by the expected transfer length are filled into
  // a staging buffer and copied. Stops at the first error `fill` returns and
  // returns it; sectors before the failing call stay transferred. Sectors
  // beyond the expected transfer length are not filled at all.
  CommandResult send_sectors(uint32_t sector_size, uint32_t count, SectorFill fill);

  // Data-out: the first `parameter_list_length` bytes the initiator sent
  // (fewer if it sent fewer); records the command's transfer length.
  std::span<const uint8_t> receive(uint32_t parameter_list_length);

  // Engine handlers only: the drive's internal state (null in MMC handlers' tests).
  DriveCore* core() const { return core_; }
  void set_core(DriveCore* core) { core_ = core; }

  // Results, read by the drive after the handler returns.
  uint32_t bytes_written() const { return written_; }
  uint64_t transfer_length() const { return wanted_; }  // what the command wanted to transfer

 private:
  // Copies `bytes` at the current data-in position (clamped to the expected
  // transfer length and the segments). Returns bytes copied.
  size_t copy_out(std::span<const uint8_t> bytes);
  // The contiguous writable run at the current position, at most `max` bytes.
  std::span<uint8_t> contiguous(size_t max);
  void advance(size_t n);

  const Request& request_;
  const disc::Image* image_;
  AudioPlayer* audio_;
  DriveSettings& settings_;
  TrayState tray_;
  DriveCore* core_ = nullptr;

  uint32_t written_ = 0;   // bytes placed in data-in
  uint64_t wanted_ = 0;    // the command's transfer length
  size_t segment_ = 0;     // current data-in segment
  size_t seg_offset_ = 0;  // offset inside it
};

}  // namespace udisc::device
