// The MMC disc-content command handlers and their opcode-table entries.
//
// Each handler decodes its CDB (field offsets as in MMC-6), calls a pure
// renderer (mmc_toc.h, mmc_info.h, mmc_read_cd.h) and sends the response
// truncated to the allocation length. The engine has already checked the
// CDB length, unit attentions and (needs_medium) the medium's presence.
#include <algorithm>
#include <array>

#include "device/command.h"
#include "device/mmc_audio.h"
#include "device/mmc_info.h"
#include "device/mmc_read_cd.h"
#include "device/mmc_toc.h"
#include "device/wire.h"

namespace udisc::device {
namespace {

using mmc::Bytes;
using mmc::Outcome;

// Sends a rendered response or returns its error.
CommandResult reply(CommandContext& ctx, const Outcome<Bytes>& r, uint32_t allocation_length) {
  if (!r.ok()) return r.error();
  ctx.send(r.value(), allocation_length);
  return kGood;
}

ScsiError no_medium(const CommandContext& ctx) {
  return ScsiError{SenseKey::not_ready,
                   ctx.tray() == TrayState::open ? asc::kMediumNotPresentTrayOpen : asc::kMediumNotPresentTrayClosed,
                   std::nullopt, std::nullopt};
}

// The engine guarantees a medium for needs_medium entries; stay safe anyway.
#define UDISC_REQUIRE_MEDIUM(ctx)                              \
  if ((ctx).image() == nullptr) return no_medium(ctx);        \
  const disc::Image& image = *(ctx).image();                 \
  const disc::Disc& disc = image.disc();                     \
  (void)disc

ScsiError incompatible_medium() {
  return ScsiError{SenseKey::illegal_request, asc::kCannotReadMediumIncompatibleFormat, std::nullopt, std::nullopt};
}

// ---- MMC-6 6.26 READ TOC/PMA/ATIP (43h) -----------------------------------------
CommandResult read_toc(CommandContext& ctx) {
  UDISC_REQUIRE_MEDIUM(ctx);
  Outcome<mmc::TocRequest> req = mmc::decode_read_toc(ctx.cdb());
  if (!req.ok()) return req.error();
  return reply(ctx, mmc::render_toc(disc, req->format, req->msf, req->track_or_session), req->allocation_length);
}

// ---- MMC-6 6.27 READ SUB-CHANNEL (42h) ------------------------------------------
CommandResult read_sub_channel(CommandContext& ctx) {
  UDISC_REQUIRE_MEDIUM(ctx);
  const auto cdb = ctx.cdb();
  mmc::SubChannelRequest req;
  req.msf = wire::get_bit(cdb, 1, 1);
  req.subq = wire::get_bit(cdb, 2, 6);
  req.format = wire::get_u8(cdb, 3);
  req.track = wire::get_u8(cdb, 6);
  const uint16_t allocation = wire::get_u16(cdb, 7);
  if (req.subq && (req.format == 0x00 || req.format > 0x03)) return ScsiError::invalid_field(3);
  uint8_t status = AudioPlayer::kStatusNone;
  int32_t position = 0;
  if (AudioPlayer* player = ctx.audio()) {
    position = player->snapshot().position;
    status = player->take_audio_status();
  }
  return reply(ctx, mmc::render_sub_channel(disc, req, status, position), allocation);
}

// ---- MMC-6 6.21 READ HEADER (44h) -----------------------------------------------
CommandResult read_header(CommandContext& ctx) {
  UDISC_REQUIRE_MEDIUM(ctx);
  const auto cdb = ctx.cdb();
  return reply(ctx, mmc::render_header(image, wire::get_u32(cdb, 2), wire::get_bit(cdb, 1, 1)), wire::get_u16(cdb, 7));
}

// ---- MMC-6 6.22 READ DISC INFORMATION (51h) -------------------------------------
CommandResult read_disc_information(CommandContext& ctx) {
  UDISC_REQUIRE_MEDIUM(ctx);
  const auto cdb = ctx.cdb();
  return reply(ctx, mmc::render_disc_information(disc, wire::get_bits(cdb, 1, 0, 3)), wire::get_u16(cdb, 7));
}

// ---- MMC-6 6.28 READ TRACK INFORMATION (52h) ------------------------------------
CommandResult read_track_information(CommandContext& ctx) {
  UDISC_REQUIRE_MEDIUM(ctx);
  const auto cdb = ctx.cdb();
  return reply(ctx, mmc::render_track_information(disc, wire::get_bits(cdb, 1, 0, 2), wire::get_u32(cdb, 2)),
               wire::get_u16(cdb, 7));
}

// ---- MMC-6 6.23 READ DVD STRUCTURE (ADh) ----------------------------------------
CommandResult read_dvd_structure(CommandContext& ctx) {
  UDISC_REQUIRE_MEDIUM(ctx);
  const auto cdb = ctx.cdb();
  mmc::DvdStructureRequest req;
  req.media_type = wire::get_bits(cdb, 1, 0, 4);
  req.address = wire::get_u32(cdb, 2);
  req.layer = wire::get_u8(cdb, 6);
  req.format = wire::get_u8(cdb, 7);
  req.agid = wire::get_bits(cdb, 10, 6, 2);
  return reply(ctx, mmc::render_dvd_structure(disc, req), wire::get_u16(cdb, 8));
}

// ---- MMC-6 6.31 REPORT KEY (A4h) ------------------------------------------------
CommandResult report_key(CommandContext& ctx) {
  const auto cdb = ctx.cdb();
  const uint8_t key_format = wire::get_bits(cdb, 10, 0, 6);
  if (ctx.image() == nullptr && mmc::report_key_needs_medium(key_format) && wire::get_u8(cdb, 7) == 0) {
    return no_medium(ctx);
  }
  return reply(ctx,
               mmc::render_report_key(ctx.disc(), wire::get_u8(cdb, 7), key_format, wire::get_bits(cdb, 10, 6, 2)),
               wire::get_u16(cdb, 8));
}

// ---- MMC-6 6.14 MECHANISM STATUS (BDh) ------------------------------------------
CommandResult mechanism_status(CommandContext& ctx) {
  bool playing = false;
  int32_t position = 0;
  if (AudioPlayer* player = ctx.audio()) {
    const AudioPlayer::Snapshot s = player->snapshot();
    playing = s.state == AudioPlayer::State::playing;
    position = s.position;
  }
  ctx.send(mmc::render_mechanism_status(ctx.tray() == TrayState::open, playing, position), wire::get_u16(ctx.cdb(), 8));
  return kGood;
}

// ---- MMC-6 6.37 SET CD SPEED (BBh) ----------------------------------------------
CommandResult set_cd_speed(CommandContext& ctx) {
  const auto cdb = ctx.cdb();
  // Rotational Control: 00b CLV and non-pure CAV, 01b pure CAV; 1xb reserved.
  if (wire::get_bit(cdb, 1, 1)) return ScsiError::invalid_field(1, 1);
  // Logical Unit Read Speed in kB/s; FFFFh = maximum. The drive picks the
  // nearest speed it has: values above the maximum select the maximum (page
  // 2Ah reports the clamped value), values below 1x (176 kB/s) select 1x.
  constexpr uint16_t kOneX = 176;
  ctx.settings().read_speed_kbps.store(std::max(wire::get_u16(cdb, 2), kOneX), std::memory_order_relaxed);
  return kGood;
}

// ---- MMC-6 6.8 GET PERFORMANCE (ACh) --------------------------------------------
CommandResult get_performance(CommandContext& ctx) {
  UDISC_REQUIRE_MEDIUM(ctx);
  const auto cdb = ctx.cdb();
  const uint16_t nominal = mmc::nominal_read_speed_kbps(disc.disc_class);
  const uint16_t selected = ctx.settings().read_speed_kbps.load(std::memory_order_relaxed);
  const uint16_t speed = std::min(nominal, selected);
  Outcome<Bytes> r = mmc::render_performance(disc, wire::get_u8(cdb, 1), wire::get_u8(cdb, 10),
                                             wire::get_u16(cdb, 8), wire::get_u32(cdb, 2), speed);
  if (!r.ok()) return r.error();
  // The transfer length is the response itself (Maximum Number of Descriptors bounds it).
  ctx.send(r.value(), static_cast<uint32_t>(r.value().size()));
  return kGood;
}

// ---- MMC-6 6.36 SEEK(10) (2Bh) --------------------------------------------------
CommandResult seek10(CommandContext& ctx) {
  UDISC_REQUIRE_MEDIUM(ctx);
  const uint32_t lba = wire::get_u32(ctx.cdb(), 2);
  if (lba >= static_cast<uint32_t>(disc.leadout_lba())) return ScsiError::lba_out_of_range(lba);
  if (AudioPlayer* player = ctx.audio()) player->seek(static_cast<int32_t>(lba));
  return kGood;
}

// ---- PLAY AUDIO(10) 6.16, PLAY AUDIO(12) 6.17, PLAY AUDIO MSF 6.18 ---------------
// Starts playing [start, start + count). The start must be an audio sector
// (05/64/00 otherwise, MMC-6 6.16.2); play ends at the end of the range, the
// session's lead-out or the first data sector, whichever comes first.
// count 0: no play, GOOD.
CommandResult start_play(CommandContext& ctx, const disc::Disc& disc, int64_t start, int64_t count) {
  if (!mmc::is_cd_media(disc)) return incompatible_medium();
  const int32_t first = disc.tracks.empty() ? 0 : disc.tracks.front().pregap_lba;
  if (start < first || start > disc.leadout_lba()) return ScsiError::lba_out_of_range(static_cast<uint32_t>(start));
  if (start + count > disc.leadout_lba()) return ScsiError::lba_out_of_range(static_cast<uint32_t>(disc.leadout_lba()));
  if (count == 0) return kGood;
  const disc::Track* t = disc.track_at(static_cast<int32_t>(start));
  if (t == nullptr) return ScsiError::lba_out_of_range(static_cast<uint32_t>(start));
  if (disc::is_data(t->mode)) return ScsiError::illegal_mode(static_cast<uint32_t>(start));
  int64_t end = start + count;
  // Play stops at the end of the session (its lead-out) ...
  if (const disc::Session* s = disc.session(t->session)) end = std::min<int64_t>(end, s->leadout_lba);
  // ... and at the first data track.
  for (const disc::Track& next : disc.tracks) {
    if (next.pregap_lba > start && disc::is_data(next.mode)) {
      end = std::min<int64_t>(end, next.pregap_lba);
      break;
    }
  }
  if (AudioPlayer* player = ctx.audio()) player->play(static_cast<int32_t>(start), static_cast<int32_t>(end));
  return kGood;
}

int64_t current_position(const CommandContext& ctx) {
  return ctx.audio() != nullptr ? ctx.audio()->snapshot().position : 0;
}

CommandResult play_audio10(CommandContext& ctx) {
  UDISC_REQUIRE_MEDIUM(ctx);
  const uint32_t lba = wire::get_u32(ctx.cdb(), 2);
  // FFFFFFFFh: start at the current position (MMC-6 6.16.2).
  const int64_t start = lba == 0xFFFFFFFF ? current_position(ctx) : static_cast<int32_t>(lba);
  return start_play(ctx, disc, start, wire::get_u16(ctx.cdb(), 7));
}

CommandResult play_audio12(CommandContext& ctx) {
  UDISC_REQUIRE_MEDIUM(ctx);
  const uint32_t lba = wire::get_u32(ctx.cdb(), 2);
  const int64_t start = lba == 0xFFFFFFFF ? current_position(ctx) : static_cast<int32_t>(lba);
  return start_play(ctx, disc, start, wire::get_u32(ctx.cdb(), 6));
}

CommandResult play_audio_msf(CommandContext& ctx) {
  UDISC_REQUIRE_MEDIUM(ctx);
  const auto cdb = ctx.cdb();
  const disc::Msf s{wire::get_u8(cdb, 3), wire::get_u8(cdb, 4), wire::get_u8(cdb, 5)};
  const disc::Msf e{wire::get_u8(cdb, 6), wire::get_u8(cdb, 7), wire::get_u8(cdb, 8)};
  int64_t start = 0;
  if (s.minute == 0xFF && s.second == 0xFF && s.frame == 0xFF) {
    start = current_position(ctx);  // FF:FF:FF = current position
  } else {
    if (s.second >= 60 || s.frame >= 75) return ScsiError::invalid_field(4);
    start = disc::msf_to_lba(s);
  }
  if (e.second >= 60 || e.frame >= 75) return ScsiError::invalid_field(7);
  const int64_t end = disc::msf_to_lba(e);
  // Starting MSF beyond the ending MSF: invalid field (MMC-6 6.18.2); equal: no play.
  if (start > end) return ScsiError::invalid_field(3);
  return start_play(ctx, disc, start, end - start);
}

// ---- MMC-6 6.15 PAUSE/RESUME (4Bh) ----------------------------------------------
CommandResult pause_resume(CommandContext& ctx) {
  UDISC_REQUIRE_MEDIUM(ctx);
  const bool resume = wire::get_bit(ctx.cdb(), 8, 0);
  AudioPlayer* player = ctx.audio();
  const bool ok = player != nullptr && (resume ? player->resume() : player->pause());
  // No play operation to pause or resume: COMMAND SEQUENCE ERROR.
  if (!ok) return ScsiError{SenseKey::illegal_request, mmc::kCommandSequenceError, std::nullopt, std::nullopt};
  return kGood;
}

// ---- MMC-6 6.38 STOP PLAY/SCAN (4Eh) --------------------------------------------
CommandResult stop_play_scan(CommandContext& ctx) {
  UDISC_REQUIRE_MEDIUM(ctx);
  if (AudioPlayer* player = ctx.audio()) player->stop();
  return kGood;
}

// ---- MMC-6 6.19 READ CD (BEh), 6.20 READ CD MSF (B9h) ---------------------------
CommandResult run_read_cd(CommandContext& ctx, const Outcome<mmc::ReadCdRequest>& req) {
  UDISC_REQUIRE_MEDIUM(ctx);
  if (!req.ok()) return req.error();
  CommandResult r = mmc::execute_read_cd(ctx, image, req.value());
  if (!r && req->count > 0) {
    if (AudioPlayer* player = ctx.audio()) player->note_read(req->lba + static_cast<int32_t>(req->count) - 1);
  }
  return r;
}
CommandResult read_cd(CommandContext& ctx) { return run_read_cd(ctx, mmc::decode_read_cd(ctx.cdb())); }
CommandResult read_cd_msf(CommandContext& ctx) { return run_read_cd(ctx, mmc::decode_read_cd_msf(ctx.cdb())); }

#undef UDISC_REQUIRE_MEDIUM

constexpr CommandSpec kMmcCommands[] = {
    {.opcode = 0x2B, .name = "SEEK(10)", .handler = seek10, .cdb_length = 10, .needs_medium = true},
    {.opcode = 0x42, .name = "READ SUB-CHANNEL", .handler = read_sub_channel, .cdb_length = 10, .needs_medium = true},
    {.opcode = 0x43, .name = "READ TOC/PMA/ATIP", .handler = read_toc, .cdb_length = 10, .needs_medium = true},
    {.opcode = 0x44, .name = "READ HEADER", .handler = read_header, .cdb_length = 10, .needs_medium = true},
    {.opcode = 0x45, .name = "PLAY AUDIO(10)", .handler = play_audio10, .cdb_length = 10, .needs_medium = true},
    {.opcode = 0x47, .name = "PLAY AUDIO MSF", .handler = play_audio_msf, .cdb_length = 10, .needs_medium = true},
    {.opcode = 0x4B, .name = "PAUSE/RESUME", .handler = pause_resume, .cdb_length = 10, .needs_medium = true},
    {.opcode = 0x4E, .name = "STOP PLAY/SCAN", .handler = stop_play_scan, .cdb_length = 10, .needs_medium = true},
    {.opcode = 0x51, .name = "READ DISC INFORMATION", .handler = read_disc_information, .cdb_length = 10, .needs_medium = true},
    {.opcode = 0x52, .name = "READ TRACK INFORMATION", .handler = read_track_information, .cdb_length = 10, .needs_medium = true},
    {.opcode = 0xA4, .name = "REPORT KEY", .handler = report_key, .cdb_length = 12, .needs_medium = false},
    {.opcode = 0xA5, .name = "PLAY AUDIO(12)", .handler = play_audio12, .cdb_length = 12, .needs_medium = true},
    {.opcode = 0xAC, .name = "GET PERFORMANCE", .handler = get_performance, .cdb_length = 12, .needs_medium = true},
    {.opcode = 0xAD, .name = "READ DVD STRUCTURE", .handler = read_dvd_structure, .cdb_length = 12, .needs_medium = true},
    {.opcode = 0xB9, .name = "READ CD MSF", .handler = read_cd_msf, .cdb_length = 12, .needs_medium = true},
    {.opcode = 0xBB, .name = "SET CD SPEED", .handler = set_cd_speed, .cdb_length = 12, .needs_medium = false},
    {.opcode = 0xBD, .name = "MECHANISM STATUS", .handler = mechanism_status, .cdb_length = 12, .needs_medium = false},
    {.opcode = 0xBE, .name = "READ CD", .handler = read_cd, .cdb_length = 12, .needs_medium = true},
};

}  // namespace

std::span<const CommandSpec> mmc_command_table() { return kMmcCommands; }

}  // namespace udisc::device
