// SPC-5 6.11-6.14 MODE SELECT(6/10), MODE SENSE(6/10) for the pages of
// mode_pages.h. MMC drives return no block descriptors and no
// device-specific parameter (MMC-6 7.2), whatever DBD says.
#include <algorithm>

#include "device/drive_core.h"
#include "device/spc_handlers.h"
#include "device/wire.h"

namespace udisc::device {

namespace {

constexpr size_t kHeader6 = 4;
constexpr size_t kHeader10 = 8;
constexpr size_t kBlockDescriptorLength = 8;
constexpr uint32_t kBlockLength = 2048;

CommandResult mode_sense(CommandContext& ctx, bool ten) {
  DriveCore& core = core_of(ctx);
  const auto cdb = ctx.cdb();
  const uint8_t pc = wire::get_bits(cdb, 2, 6, 2);
  const uint8_t page = wire::get_bits(cdb, 2, 0, 6);
  const uint8_t subpage = wire::get_u8(cdb, 3);
  const uint32_t alloc = ten ? wire::get_u16(cdb, 7) : wire::get_u8(cdb, 4);
  if (static_cast<PageControl>(pc) == PageControl::saved) {
    return ScsiError{SenseKey::illegal_request, asc::kSavingParametersNotSupported, FieldPointer{true, 2, 7}, std::nullopt};
  }
  // No subpages: only subpage 0, or FFh with page 3Fh.
  if (subpage != 0 && !(page == mode_page::kAllPages && subpage == mode_page::kAllSubpages)) {
    return ScsiError::invalid_field(3);
  }
  wire::ResponseBuffer<512> buf;
  wire::ByteWriter& w = buf.w;
  // Header: MODE DATA LENGTH (patched), MEDIUM TYPE 0, DEVICE-SPECIFIC 0, BLOCK DESCRIPTOR LENGTH 0.
  if (ten) {
    w.u16(0).u8(0).u8(0).u16(0).u16(0);
  } else {
    w.u8(0).u8(0).u8(0).u8(0);
  }
  if (CommandResult err = core.mode_pages.append(page, static_cast<PageControl>(pc), core.mode_env(), w)) return err;
  if (ten) {
    w.put_u16(0, static_cast<uint16_t>(w.size() - 2));
  } else {
    if (w.size() > 256) return ScsiError::invalid_field(2);  // cannot be expressed in MODE SENSE(6)
    w.put_u8(0, static_cast<uint8_t>(w.size() - 1));
  }
  ctx.send(buf.bytes(), alloc);
  return kGood;
}

CommandResult mode_select(CommandContext& ctx, bool ten) {
  DriveCore& core = core_of(ctx);
  const auto cdb = ctx.cdb();
  const bool pf = wire::get_bit(cdb, 1, 4);
  const bool sp = wire::get_bit(cdb, 1, 0);
  const uint32_t length = ten ? wire::get_u16(cdb, 7) : wire::get_u8(cdb, 4);
  // SPC-5 6.11: PF=0 asks for vendor-specific (SCSI-1) page formats, which we
  // do not have; SP=1 asks to save pages, which we cannot.
  if (!pf) return ScsiError::invalid_field(1, 4);
  if (sp) return ScsiError::invalid_field(1, 0);
  const std::span<const uint8_t> params = ctx.receive(length);
  if (length == 0) return kGood;  // SPC-5: zero length is not an error
  const ScsiError kLengthError{SenseKey::illegal_request, asc::kParameterListLengthError, std::nullopt, std::nullopt};
  const size_t header = ten ? kHeader10 : kHeader6;
  if (params.size() < length || params.size() < header) return kLengthError;
  const size_t bd_length = ten ? wire::get_u16(params, 6) : wire::get_u8(params, 3);
  const size_t bd_field = ten ? 6 : 3;
  if (bd_length != 0 && bd_length != kBlockDescriptorLength) {
    return ScsiError::invalid_parameter(static_cast<uint16_t>(bd_field));
  }
  if (params.size() < header + bd_length) return kLengthError;
  if (bd_length == kBlockDescriptorLength) {
    // Block descriptor (SPC-5 7.5.5): only the 2048-byte block length is accepted.
    const uint32_t block = wire::get_u24(params, header + 5);
    if (block != kBlockLength) return ScsiError::invalid_parameter(static_cast<uint16_t>(header + 5));
  }
  const size_t pages_at = header + bd_length;
  bool changed = false;
  if (CommandResult err = core.mode_pages.select(params.subspan(pages_at), pages_at, core.mode_env(), changed)) {
    return err;
  }
  // SPC-5 7.5.3: other I_T nexuses see MODE PARAMETERS CHANGED.
  if (changed) core.queue_unit_attention(asc::kModeParametersChanged, ctx.initiator());
  return kGood;
}

}  // namespace

// SPC-5 6.13 MODE SENSE(6): DBD (byte 1 bit 3), PC / PAGE CODE (byte 2), SUBPAGE (3), ALLOCATION (4).
CommandResult spc_mode_sense6(CommandContext& ctx) { return mode_sense(ctx, false); }
// SPC-5 6.14 MODE SENSE(10): LLBAA/DBD (byte 1), PC / PAGE CODE (2), SUBPAGE (3), ALLOCATION (7-8).
CommandResult spc_mode_sense10(CommandContext& ctx) { return mode_sense(ctx, true); }
// SPC-5 6.11 MODE SELECT(6): PF / SP (byte 1), PARAMETER LIST LENGTH (4).
CommandResult spc_mode_select6(CommandContext& ctx) { return mode_select(ctx, false); }
// SPC-5 6.12 MODE SELECT(10): PF / SP (byte 1), PARAMETER LIST LENGTH (7-8).
CommandResult spc_mode_select10(CommandContext& ctx) { return mode_select(ctx, true); }

}  // namespace udisc::device
