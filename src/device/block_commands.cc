// Block reads of an MM device: READ CAPACITY (MMC-6 6.23), READ(10) (MMC-6
// 6.19), READ(12) (MMC-6 6.20). User data of 2048-byte sectors (mode 1 and
// mode 2 form 1) goes straight from the image into the initiator's buffers.
#include <algorithm>

#include "device/drive_core.h"
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
  return ctx.send_sectors(kBlockLength, count, [&](uint32_t first, uint32_t n, std::span<uint8_t> out) -> CommandResult {
    int32_t at = static_cast<int32_t>(lba + first);
    size_t offset = 0;
    while (n > 0) {
      const disc::Track* track = disc.track_at(at);
      if (track == nullptr) return ScsiError::lba_out_of_range(static_cast<uint32_t>(at));  // between sessions
      if (disc::user_data_size(track->mode) != kBlockLength || track->mode == disc::TrackMode::audio) {
        // Audio (or Mode 2 formless / Form 2) sector: MMC-6 6.19.2.
        return ScsiError::illegal_mode(static_cast<uint32_t>(at));
      }
      const uint32_t run = static_cast<uint32_t>(std::min<int64_t>(n, track->end_lba - at));
      std::span<uint8_t> dst = out.subspan(offset, size_t{run} * kBlockLength);
      Status s = image->read_user(at, run, dst);
      if (!s.ok()) {
        if (s.code() == Status::Code::out_of_range) return ScsiError::lba_out_of_range(static_cast<uint32_t>(at));
        // Find the failing sector so the initiator can keep the good ones.
        uint32_t bad = 0;
        while (bad < run && image->read_user(at + static_cast<int32_t>(bad), 1, dst.subspan(size_t{bad} * kBlockLength, kBlockLength)).ok()) {
          ++bad;
        }
        return ScsiError::read_error(static_cast<uint32_t>(at) + std::min(bad, run - 1));
      }
      at += static_cast<int32_t>(run);
      offset += dst.size();
      n -= run;
    }
    return kGood;
  });
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
