// Block reads of an MM device: READ CAPACITY (MMC-6 6.23), READ(10) (MMC-6
// 6.19), READ(12) (MMC-6 6.20). User data of 2048-byte sectors (mode 1 and
// mode 2 form 1) goes straight from the image into the initiator's buffers.
#include <algorithm>

#include "device/drive_core.h"
#include "device/mmc_audio.h"
#include "device/spc_handlers.h"
#include "device/wire.h"

namespace udisc::device {

namespace {

constexpr uint32_t kBlockLength = 2048;

CommandResult read_blocks(CommandContext& ctx, uint32_t lba, uint32_t count) {
  const disc::Image* image = ctx.image();
  const disc::Disc& disc = image->disc();
  const int64_t leadout = disc.leadout_lba();
  const ScsiError out_of_range = ScsiError::lba_out_of_range(lba);
  if (count == 0) {
    if (lba > static_cast<uint64_t>(leadout)) return out_of_range;
    return kGood;
  }
  if (uint64_t{lba} + count > static_cast<uint64_t>(leadout)) return out_of_range;
  // One transfer per track run, so the sectors before a failing one are
  // transferred and counted (MMC-6 6.19.2: the failing LBA is reported in
  // INFORMATION and the initiator keeps what came before it).
  uint32_t done = 0;
  while (done < count) {
    const int32_t at = static_cast<int32_t>(lba + done);
    const disc::Track* track = disc.track_at(at);
    if (track == nullptr) return ScsiError::lba_out_of_range(static_cast<uint32_t>(at));  // between sessions
    if (track->mode == disc::TrackMode::audio || disc::user_data_size(track->mode) != kBlockLength) {
      // Audio (or Mode 2 formless / Form 2) sector: ILLEGAL MODE FOR THIS TRACK.
      return ScsiError::illegal_mode(static_cast<uint32_t>(at));
    }
    const uint32_t run = static_cast<uint32_t>(std::min<int64_t>(count - done, track->end_lba - at));
    CommandResult err = ctx.send_sectors(kBlockLength, run, [&](uint32_t first, uint32_t n, std::span<uint8_t> out) -> CommandResult {
      const int32_t from = at + static_cast<int32_t>(first);
      Status s = image->read_user(from, n, out);
      if (s.ok()) return kGood;
      if (s.code() == Status::Code::out_of_range) return ScsiError::lba_out_of_range(static_cast<uint32_t>(from));
      // Find the failing sector so the initiator learns which one it was.
      uint32_t good = 0;
      while (good + 1 < n && image->read_user(from + static_cast<int32_t>(good), 1, out.subspan(size_t{good} * kBlockLength, kBlockLength)).ok()) {
        ++good;
      }
      return ScsiError::read_error(static_cast<uint32_t>(from) + good);
    });
    if (err) return err;
    done += run;
  }
  // The optical head now sits at the last sector read (READ SUB-CHANNEL and
  // MECHANISM STATUS report it when no audio is playing).
  if (ctx.audio() != nullptr) ctx.audio()->note_read(static_cast<int32_t>(lba + count - 1));
  return kGood;
}

}  // namespace

// MMC-6 6.23 READ CAPACITY: last LBA = lead-out - 1, block length 2048.
CommandResult mmc_read_capacity(CommandContext& ctx) {
  const int32_t leadout = ctx.disc()->leadout_lba();
  wire::ResponseBuffer<8> buf;
  buf.w.u32(static_cast<uint32_t>(std::max(leadout - 1, 0))).u32(kBlockLength);
  ctx.send(buf.bytes(), 8);
  return kGood;
}

// MMC-6 6.19 READ(10): LOGICAL BLOCK ADDRESS (bytes 2-5), TRANSFER LENGTH (bytes 7-8).
CommandResult mmc_read10(CommandContext& ctx) {
  return read_blocks(ctx, wire::get_u32(ctx.cdb(), 2), wire::get_u16(ctx.cdb(), 7));
}

// MMC-6 6.20 READ(12): LOGICAL BLOCK ADDRESS (bytes 2-5), TRANSFER LENGTH (bytes 6-9).
CommandResult mmc_read12(CommandContext& ctx) {
  return read_blocks(ctx, wire::get_u32(ctx.cdb(), 2), wire::get_u32(ctx.cdb(), 6));
}

}  // namespace udisc::device
