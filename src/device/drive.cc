// Drive: state, the opcode table, the common checks and dispatch
// (SAM-5 5.3 / SPC-5 4.5 unit attention, MMC-6 4.1.6 for the MMC exemptions).
#include "device/drive.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <random>
#include <vector>

#include "device/command.h"
#include "device/drive_core.h"
#include "device/spc_handlers.h"

namespace udisc::device {

// ---- opcode table ------------------------------------------------------------

namespace opcode {
inline constexpr uint8_t kTestUnitReady = 0x00;
inline constexpr uint8_t kRequestSense = 0x03;
inline constexpr uint8_t kInquiry = 0x12;
inline constexpr uint8_t kModeSelect6 = 0x15;
inline constexpr uint8_t kModeSense6 = 0x1A;
inline constexpr uint8_t kStartStopUnit = 0x1B;
inline constexpr uint8_t kPreventAllowMediumRemoval = 0x1E;
inline constexpr uint8_t kReadCapacity = 0x25;
inline constexpr uint8_t kRead10 = 0x28;
inline constexpr uint8_t kSynchronizeCache = 0x35;
inline constexpr uint8_t kGetConfiguration = 0x46;
inline constexpr uint8_t kGetEventStatusNotification = 0x4A;
inline constexpr uint8_t kModeSelect10 = 0x55;
inline constexpr uint8_t kModeSense10 = 0x5A;
inline constexpr uint8_t kReportLuns = 0xA0;
inline constexpr uint8_t kMaintenanceIn = 0xA3;  // REPORT SUPPORTED OPERATION CODES (service action 0Ch)
inline constexpr uint8_t kRead12 = 0xA8;
inline constexpr uint8_t kSetStreaming = 0xB6;
}  // namespace opcode

namespace {

// MAINTENANCE IN shares opcode A3h with MMC's SEND KEY; service action 0Ch
// in byte 1 (reserved in SEND KEY) selects REPORT SUPPORTED OPERATION CODES.
// SEND KEY itself (CSS authentication) is not implemented: no medium we
// present is CSS protected, so REPORT KEY never grants an AGID to use it with.
CommandResult maintenance_in(CommandContext& ctx) {
  constexpr uint8_t kReportSupportedOperationCodes = 0x0C;
  if (wire::get_bits(ctx.cdb(), 1, 0, 5) != kReportSupportedOperationCodes) return ScsiError::invalid_field(1, 4);
  return spc_report_supported_operation_codes(ctx);
}

constexpr CommandSpec kEngineCommands[] = {
    {.opcode = opcode::kTestUnitReady, .name = "TEST UNIT READY", .handler = spc_test_unit_ready, .cdb_length = 6,
     .needs_medium = true, .runs_locked = true},
    {.opcode = opcode::kRequestSense, .name = "REQUEST SENSE", .handler = spc_request_sense, .cdb_length = 6,
     .allowed_during_unit_attention = true, .runs_locked = true},
    {.opcode = opcode::kInquiry, .name = "INQUIRY", .handler = spc_inquiry, .cdb_length = 6,
     .allowed_during_unit_attention = true, .runs_locked = true},
    {.opcode = opcode::kModeSelect6, .name = "MODE SELECT(6)", .handler = spc_mode_select6, .cdb_length = 6,
     .runs_locked = true},
    {.opcode = opcode::kModeSense6, .name = "MODE SENSE(6)", .handler = spc_mode_sense6, .cdb_length = 6,
     .runs_locked = true},
    {.opcode = opcode::kStartStopUnit, .name = "START STOP UNIT", .handler = spc_start_stop_unit, .cdb_length = 6,
     .runs_locked = true},
    {.opcode = opcode::kPreventAllowMediumRemoval, .name = "PREVENT ALLOW MEDIUM REMOVAL",
     .handler = spc_prevent_allow_medium_removal, .cdb_length = 6, .runs_locked = true},
    {.opcode = opcode::kReadCapacity, .name = "READ CAPACITY", .handler = mmc_read_capacity, .cdb_length = 10,
     .needs_medium = true},
    {.opcode = opcode::kRead10, .name = "READ(10)", .handler = mmc_read10, .cdb_length = 10, .needs_medium = true},
    {.opcode = opcode::kSynchronizeCache, .name = "SYNCHRONIZE CACHE", .handler = spc_synchronize_cache,
     .cdb_length = 10},
    {.opcode = opcode::kGetConfiguration, .name = "GET CONFIGURATION", .handler = mmc_get_configuration,
     .cdb_length = 10, .allowed_during_unit_attention = true, .runs_locked = true},
    {.opcode = opcode::kGetEventStatusNotification, .name = "GET EVENT STATUS NOTIFICATION",
     .handler = mmc_get_event_status_notification, .cdb_length = 10, .allowed_during_unit_attention = true,
     .runs_locked = true},
    {.opcode = opcode::kModeSelect10, .name = "MODE SELECT(10)", .handler = spc_mode_select10, .cdb_length = 10,
     .runs_locked = true},
    {.opcode = opcode::kModeSense10, .name = "MODE SENSE(10)", .handler = spc_mode_sense10, .cdb_length = 10,
     .runs_locked = true},
    {.opcode = opcode::kReportLuns, .name = "REPORT LUNS", .handler = spc_report_luns, .cdb_length = 12,
     .allowed_during_unit_attention = true},
    {.opcode = opcode::kMaintenanceIn, .name = "REPORT SUPPORTED OPERATION CODES", .handler = maintenance_in,
     .cdb_length = 12},
    {.opcode = opcode::kRead12, .name = "READ(12)", .handler = mmc_read12, .cdb_length = 12, .needs_medium = true},
    {.opcode = opcode::kSetStreaming, .name = "SET STREAMING", .handler = mmc_set_streaming, .cdb_length = 12},
};

// Commands of writers that a ROM drive does not have. None is in the table,
// so each gets ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE (05/20/00)
// from the one unknown-opcode path: SPC-4 4.3.1 "If a device server receives
// a CDB containing an operation code that is invalid or not supported, the
// command shall be terminated with CHECK CONDITION status, with the sense key
// set to ILLEGAL REQUEST, and the additional sense code set to INVALID
// COMMAND OPERATION CODE" (quoted on the T10 reflector,
// https://www.t10.org/pipermail/t10/2008-May/013552.html). The
// write-protect (07/27/00) and CANNOT WRITE MEDIUM (05/30/05) answers belong
// to drives that implement these commands and hold an unwritable medium
// (MMC-6 Annex F); a ROM drive reports none of the writing features
// (Random Writable, Incremental Streaming Writable, CD Mastering ...), so it
// implements none of these commands. Listed for tests and documentation.
struct Unsupported {
  uint8_t opcode;
  const char* name;
};
constexpr Unsupported kRomDriveLacks[] = {
    {0x04, "FORMAT UNIT"},          {0x0A, "WRITE(6)"},           {0x23, "READ FORMAT CAPACITIES"},
    {0x2A, "WRITE(10)"},            {0x2E, "WRITE AND VERIFY(10)"}, {0x2F, "VERIFY(10)"},
    {0x3B, "WRITE BUFFER"},         {0x53, "RESERVE TRACK"},      {0x54, "SEND OPC INFORMATION"},
    {0x58, "REPAIR TRACK"},         {0x5B, "CLOSE TRACK/SESSION"}, {0x5C, "READ BUFFER CAPACITY"},
    {0x5D, "SEND CUE SHEET"},       {0xA1, "BLANK"},              {0xAA, "WRITE(12)"},
    {0xBF, "SEND DVD STRUCTURE"},   {0xA6, "LOAD/UNLOAD MEDIUM"}, {0xA7, "SET READ AHEAD"},
};

struct Table {
  std::vector<CommandSpec> all;
  std::array<const CommandSpec*, 256> by_opcode{};
};

const Table& table() {
  static const Table t = [] {
    Table tab;
    for (const CommandSpec& c : kEngineCommands) tab.all.push_back(c);
    for (const CommandSpec& c : mmc_command_table()) {
      const bool taken = std::any_of(tab.all.begin(), tab.all.end(), [&](const CommandSpec& e) { return e.opcode == c.opcode; });
      if (!taken && c.handler != nullptr) tab.all.push_back(c);
    }
    std::sort(tab.all.begin(), tab.all.end(), [](const CommandSpec& a, const CommandSpec& b) { return a.opcode < b.opcode; });
    for (const CommandSpec& c : tab.all) tab.by_opcode[c.opcode] = &c;
    return tab;
  }();
  return t;
}

constexpr size_t kMaxSerialLength = 64;

std::string random_serial() {
  std::random_device rd;
  const uint64_t v = (uint64_t{rd()} << 32) ^ rd();
  char buf[16];
  std::snprintf(buf, sizeof buf, "UD%010llX", static_cast<unsigned long long>(v & 0xFFFFFFFFFFull));
  return buf;
}

}  // namespace

std::span<const CommandSpec> command_table() { return table().all; }
const CommandSpec* find_command(uint8_t op) { return table().by_opcode[op]; }

// Exposed for tests: the writer commands a ROM drive rejects.
std::vector<std::pair<uint8_t, const char*>> rom_drive_lacks() {
  std::vector<std::pair<uint8_t, const char*>> v;
  for (const Unsupported& u : kRomDriveLacks) v.emplace_back(u.opcode, u.name);
  return v;
}

// ---- DriveCore -----------------------------------------------------------------

DriveCore::DriveCore(Identity id) : identity(std::move(id)), audio(make_audio_player()) {
  if (identity.serial.empty()) identity.serial = random_serial();
  // VPD 80h, the T10 vendor ID designator and feature 0108h carry the serial
  // in one-byte length fields; real serials are far shorter than this.
  if (identity.serial.size() > kMaxSerialLength) identity.serial.resize(kMaxSerialLength);
}

bool DriveCore::locked() const {
  return std::any_of(initiators.begin(), initiators.end(), [](const auto& kv) { return kv.second.prevent; });
}

ScsiError DriveCore::not_ready() const {
  return {SenseKey::not_ready, tray == TrayState::open ? asc::kMediumNotPresentTrayOpen : asc::kMediumNotPresentTrayClosed,
          std::nullopt, std::nullopt};
}

ModeEnv DriveCore::mode_env() const {
  return ModeEnv{identity.kind, locked(), settings.read_speed_kbps.load(std::memory_order_relaxed),
                 identity.apple_vendor_page};
}

InitiatorState& DriveCore::initiator(InitiatorId id) {
  auto [it, inserted] = initiators.try_emplace(id);
  if (inserted) it->second.unit_attentions.push_back(asc::kPowerOnResetOrBusDeviceReset);
  return it->second;
}

void DriveCore::queue_unit_attention(Asc code, std::optional<InitiatorId> except) {
  constexpr uint8_t kPowerOnOrReset = 0x29;
  for (auto& [id, st] : initiators) {
    if (except && *except == id) continue;
    auto& q = st.unit_attentions;
    if (code.asc == kPowerOnOrReset) {
      q.clear();
      q.push_back(code);
    } else if (std::find(q.begin(), q.end(), code) == q.end()) {
      q.push_back(code);
    }
  }
}

void DriveCore::open_tray() {
  if (tray == TrayState::open) return;
  tray = TrayState::open;
  if (medium) {
    events.media(MediaEvent::media_removal, false, true);
    if (audio) audio_medium_changed(*audio);
  }
}

void DriveCore::close_tray(std::optional<InitiatorId> loaded_by) {
  if (tray == TrayState::closed) return;
  tray = TrayState::closed;
  if (medium) {
    events.media(MediaEvent::new_media, true, false);
    queue_unit_attention(asc::kNotReadyToReadyChange, loaded_by);
  }
}

void DriveCore::change_medium(std::shared_ptr<const disc::Image> image) {
  open_tray();  // a visible removal of the old disc, if there was one
  medium = std::move(image);
  close_tray();
}

// ---- Drive ---------------------------------------------------------------------

struct Drive::State {
  explicit State(Identity id) : core(std::move(id)) {}
  DriveCore core;
};

Drive::Drive(Identity identity) : state_(std::make_unique<State>(std::move(identity))) {}
Drive::~Drive() = default;

Response Drive::execute(const Request& request) {
  DriveCore& core = state_->core;
  core.commands.fetch_add(1, std::memory_order_relaxed);
  Response response;
  CommandResult error;
  uint64_t wanted = 0;
  uint32_t written = 0;
  const CommandSpec* spec = request.cdb.empty() ? nullptr : find_command(request.cdb[0]);
  bool descriptor_sense = false;
  {
    std::unique_lock lock(core.mu);
    // SPC-5 7.5.10 control mode page D_SENSE, as it was when the command arrived.
    descriptor_sense = core.mode_pages.descriptor_sense();
    InitiatorState& st = core.initiator(request.initiator);
    if (!(spec != nullptr && spec->allowed_during_unit_attention) && !st.unit_attentions.empty()) {
      // SAM-5 5.14 / SPC-5 4.5: report the oldest unit attention, once.
      error = ScsiError{SenseKey::unit_attention, st.unit_attentions.front(), std::nullopt, std::nullopt};
      st.unit_attentions.pop_front();
    } else if (spec == nullptr) {
      error = ScsiError{SenseKey::illegal_request, asc::kInvalidCommandOperationCode, std::nullopt, std::nullopt};
    } else if (request.cdb.size() < spec->cdb_length) {
      error = ScsiError::invalid_field(0);
    } else if (const uint8_t control = request.cdb[spec->cdb_length - 1]; control & 0x05) {
      // CONTROL byte (SAM-5 5.2): NACA (bit 2) is not supported, LINK (bit 0) is obsolete.
      error = ScsiError::invalid_field(static_cast<uint16_t>(spec->cdb_length - 1), (control & 0x04) ? 2 : 0);
    } else if (spec->needs_medium && core.loaded() == nullptr) {
      error = core.not_ready();
    } else {
      // The image stays alive for the whole command, even if swapped meanwhile.
      std::shared_ptr<const disc::Image> image = core.loaded() != nullptr ? core.medium : nullptr;
      CommandContext ctx(request, image.get(), core.audio.get(), core.settings, core.tray);
      ctx.set_core(&core);
      if (!spec->runs_locked) lock.unlock();
      error = spec->handler(ctx);
      wanted = ctx.transfer_length();
      written = ctx.bytes_written();
    }
  }
  response.data_in_length = written;
  response.residual = static_cast<int64_t>(request.expected_transfer_length) - static_cast<int64_t>(wanted);
  // Data read from the medium (READ, READ CD, READ TOC ...), not identity or mode data.
  if (spec != nullptr && spec->needs_medium) core.bytes_read.fetch_add(written, std::memory_order_relaxed);
  if (error) {
    core.errors.fetch_add(1, std::memory_order_relaxed);
    response.status = ScsiStatus::check_condition;
    response.sense_length = static_cast<uint8_t>(descriptor_sense ? build_descriptor_sense(*error, response.sense)
                                                                   : build_fixed_sense(*error, response.sense));
  }
  return response;
}

Status Drive::insert(std::shared_ptr<const disc::Image> image) {
  if (!image) return Status::InvalidArgument("insert: no image given (use eject to remove the medium)");
  DriveCore& core = state_->core;
  std::lock_guard lock(core.mu);
  core.change_medium(std::move(image));
  return Status::Ok();
}

Status Drive::eject(bool force) {
  DriveCore& core = state_->core;
  std::lock_guard lock(core.mu);
  if (core.locked() && !force) {
    // The eject button on a locked drive: the host hears an eject request.
    core.events.media(MediaEvent::eject_request, core.loaded() != nullptr, core.tray == TrayState::open);
    for (const auto& [id, st] : core.initiators) {
      if (st.prevent) {
        return Status::InvalidArgument("eject: medium removal prevented by initiator " + std::to_string(id) +
                                       " (an eject request was sent to the host)");
      }
    }
  }
  core.open_tray();
  core.medium.reset();
  return Status::Ok();
}

void Drive::logical_unit_reset() {
  DriveCore& core = state_->core;
  std::lock_guard lock(core.mu);
  core.queue_unit_attention(asc::kPowerOnResetOrBusDeviceReset);
  for (auto& [id, st] : core.initiators) st.prevent = false;
  core.mode_pages.reset();
  if (core.audio) audio_medium_changed(*core.audio);
}

void Drive::initiator_gone(InitiatorId id) {
  DriveCore& core = state_->core;
  std::lock_guard lock(core.mu);
  core.initiators.erase(id);
}

std::optional<Asc> Drive::pending_unit_attention(InitiatorId id) const {
  const DriveCore& core = state_->core;
  std::lock_guard lock(core.mu);
  auto it = core.initiators.find(id);
  if (it == core.initiators.end()) return asc::kPowerOnResetOrBusDeviceReset;  // DriveCore::initiator() queues it
  if (it->second.unit_attentions.empty()) return std::nullopt;
  return it->second.unit_attentions.front();
}

DriveStatus Drive::status() const {
  const DriveCore& core = state_->core;
  std::lock_guard lock(core.mu);
  DriveStatus s;
  s.tray = core.tray;
  s.medium_present = core.loaded() != nullptr;
  s.locked = core.locked();
  s.commands = core.commands.load(std::memory_order_relaxed);
  s.bytes_read = core.bytes_read.load(std::memory_order_relaxed);
  s.errors = core.errors.load(std::memory_order_relaxed);
  return s;
}

const Identity& Drive::identity() const { return state_->core.identity; }

std::shared_ptr<const disc::Image> Drive::image() const {
  const DriveCore& core = state_->core;
  std::lock_guard lock(core.mu);
  return core.medium;
}

}  // namespace udisc::device
