// DriveCore: the engine's state behind Drive (drive.h) and the engine's own
// command handlers (spc_*.cc, features.cc, events.cc, block_commands.cc).
// Internal to src/device; the MMC command code sees only CommandContext.
//
// Locking: `mu` guards everything except `identity`, `settings` and the
// counters. Handlers with CommandSpec::runs_locked run with `mu` held.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "device/command.h"
#include "device/drive.h"
#include "device/events.h"
#include "device/mode_pages.h"
#include "device/sense.h"

namespace udisc::device {

// MMC-6 Table 91 profiles a ROM drive reports.
namespace profile {
inline constexpr uint16_t kNone = 0x0000;
inline constexpr uint16_t kCdRom = 0x0008;
inline constexpr uint16_t kDvdRom = 0x0010;
inline constexpr uint16_t kBdRom = 0x0040;
}  // namespace profile

// The current profile for a medium (kNone for none).
uint16_t profile_of(const disc::Image* image);

struct InitiatorState {
  std::deque<Asc> unit_attentions;  // oldest first
  bool prevent = false;             // PREVENT ALLOW MEDIUM REMOVAL prevent bit
};

class DriveCore {
 public:
  explicit DriveCore(Identity id);

  // Constant after construction.
  Identity identity;
  DriveSettings settings;

  mutable std::mutex mu;
  // ---- guarded by mu ----
  std::shared_ptr<const disc::Image> medium;  // the disc in the drive (also while the tray is open)
  TrayState tray = TrayState::closed;
  std::map<InitiatorId, InitiatorState> initiators;
  ModePages mode_pages;
  EventState events;
  AudioPlayerPtr audio;

  // ---- counters (atomic, no lock) ----
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> bytes_read{0};
  std::atomic<uint64_t> errors{0};

  // The medium the host can read: a disc with the tray closed.
  const disc::Image* loaded() const { return tray == TrayState::closed ? medium.get() : nullptr; }
  bool locked() const;
  // NOT READY, MEDIUM NOT PRESENT - TRAY CLOSED / TRAY OPEN (MMC-6 Annex F).
  ScsiError not_ready() const;
  ModeEnv mode_env() const;

  // The initiator's state; a new initiator starts with 29/00 pending (SAM-5 6.3.1).
  InitiatorState& initiator(InitiatorId id);
  // Queues a unit attention for every known initiator except `except`.
  // A power-on/reset UA (29h) replaces whatever is pending; others are not
  // queued twice.
  void queue_unit_attention(Asc code, std::optional<InitiatorId> except = std::nullopt);

  // Tray and medium transitions, producing events and unit attentions.
  // open_tray: tray opens (medium stays in it); MediaRemoval if a disc was loaded.
  void open_tray();
  // close_tray: tray closes; with a disc: NewMedia + 28/00 to every
  // initiator except `loaded_by` (the one whose START STOP UNIT loaded the
  // medium: it knows the medium may have changed, SPC-5 4.5 "except the
  // I_T nexus on which the command was received").
  void close_tray(std::optional<InitiatorId> loaded_by = std::nullopt);
  // Replaces the disc: a visible removal (if one was loaded) then a load.
  void change_medium(std::shared_ptr<const disc::Image> image);
};

// The engine state of a command (engine handlers only).
inline DriveCore& core_of(CommandContext& ctx) { return *ctx.core(); }

}  // namespace udisc::device
