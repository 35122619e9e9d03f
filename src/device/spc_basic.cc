// SPC commands: TEST UNIT READY, REQUEST SENSE, INQUIRY, REPORT LUNS,
// REPORT SUPPORTED OPERATION CODES.
#include <algorithm>
#include <string>

#include "device/drive_core.h"
#include "device/spc_handlers.h"
#include "device/wire.h"

namespace udisc::device {

namespace {

constexpr uint8_t kPeripheralCdDvd = 0x05;  // PERIPHERAL DEVICE TYPE: CD/DVD device (SPC-5 Table 150)

// SPC-5 6.7.2 standard INQUIRY data fields.
constexpr uint8_t kRmb = 0x80;                      // byte 1: removable medium
constexpr uint8_t kVersionSpc3 = 0x05;              // byte 2: VERSION (SPC-3), so Linux asks for VPD
constexpr uint8_t kResponseDataFormat = 0x02;       // byte 3
constexpr uint8_t kCmdQue = 0x02;                   // byte 7
constexpr size_t kStandardInquiryLength = 96;       // additional length 5Bh
constexpr uint16_t kVersionDescriptorMmc6 = 0x04E0;          // version descriptors (SPC-5 Table 155)
constexpr uint16_t kVersionDescriptorSpc3 = 0x0300;
constexpr uint16_t kVersionDescriptorMmc3 = 0x02A0;
constexpr size_t kVendorLength = 8, kProductLength = 16, kRevisionLength = 4, kVendorSpecificLength = 20;

// VPD pages (SPC-5 7.7).
constexpr uint8_t kVpdSupportedPages = 0x00;
constexpr uint8_t kVpdUnitSerialNumber = 0x80;
constexpr uint8_t kVpdDeviceIdentification = 0x83;
// Designation descriptor (SPC-5 7.7.6.1).
constexpr uint8_t kCodeSetBinary = 0x1, kCodeSetAscii = 0x2;
constexpr uint8_t kDesignatorT10VendorId = 0x1, kDesignatorNaa = 0x3;
constexpr uint8_t kAssociationLogicalUnit = 0x0;

uint64_t naa_identifier(const Identity& id) {
  if (id.naa_id != 0) return id.naa_id;
  // NAA 3h: locally assigned (SPC-5 7.7.6.6.3), a stable hash of the serial.
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : id.serial) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  for (char c : id.vendor) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return (uint64_t{0x3} << 60) | (h & 0x0FFFFFFFFFFFFFFFull);
}

CommandResult vpd_page(const Identity& id, uint8_t page, wire::ByteWriter& w) {
  w.u8(kPeripheralCdDvd).u8(page).u16(0);  // PAGE LENGTH patched below
  switch (page) {
    case kVpdSupportedPages:  // SPC-5 7.7.17
      w.u8(kVpdSupportedPages).u8(kVpdUnitSerialNumber).u8(kVpdDeviceIdentification);
      break;
    case kVpdUnitSerialNumber:  // SPC-5 7.7.19
      w.ascii(id.serial, id.serial.size());
      break;
    case kVpdDeviceIdentification: {  // SPC-5 7.7.6
      // NAA designator, binary, 8 bytes.
      w.u8(kCodeSetBinary).u8(static_cast<uint8_t>((kAssociationLogicalUnit << 4) | kDesignatorNaa)).u8(0).u8(8);
      w.u64(naa_identifier(id));
      // T10 vendor ID designator: vendor (8) + product + serial, ASCII.
      const std::string specific = id.product + id.serial;
      w.u8(kCodeSetAscii).u8(static_cast<uint8_t>((kAssociationLogicalUnit << 4) | kDesignatorT10VendorId)).u8(0);
      w.u8(static_cast<uint8_t>(kVendorLength + specific.size()));
      w.ascii(id.vendor, kVendorLength).ascii(specific, specific.size());
      break;
    }
    default:
      return ScsiError::invalid_field(2);  // PAGE CODE
  }
  w.put_u16(2, static_cast<uint16_t>(w.size() - 4));
  return kGood;
}

}  // namespace

// SPC-5 6.47 TEST UNIT READY: GOOD with a medium, else NOT READY 3A/0x
// (the needs-medium check in the dispatcher produces that).
CommandResult spc_test_unit_ready(CommandContext& /*ctx*/) { return kGood; }

// SPC-5 6.39 REQUEST SENSE: DESC (byte 1 bit 0), ALLOCATION LENGTH (byte 4).
// Reports (and clears) a pending unit attention, else the current
// condition: no medium -> NOT READY 3A/0x, else the audio status, else NO SENSE.
// REQUEST SENSE never fails because of a unit attention; with no other
// pending sense it returns the unit attention's sense and clears it (SAM-5
// 5.14; as drive manuals state it, e.g. HGST Ultrastar C15K600 spec:
// "the sense data associated with the highest priority unit attention
// condition is returned and the highest priority unit attention condition
// is cleared for this initiator").
CommandResult spc_request_sense(CommandContext& ctx) {
  DriveCore& core = core_of(ctx);
  const auto cdb = ctx.cdb();
  const bool descriptor = wire::get_bit(cdb, 1, 0);
  const uint8_t alloc = wire::get_u8(cdb, 4);
  ScsiError sense{SenseKey::no_sense, asc::kNoAdditionalSense, std::nullopt, std::nullopt};
  InitiatorState& st = core.initiator(ctx.initiator());
  if (!st.unit_attentions.empty()) {
    sense = {SenseKey::unit_attention, st.unit_attentions.front(), std::nullopt, std::nullopt};
    st.unit_attentions.pop_front();
  } else if (core.loaded() == nullptr) {
    sense = core.not_ready();
  } else if (core.audio) {
    sense.code = audio_sense_status(*core.audio);
  }
  std::array<uint8_t, kDescriptorSenseMaxLength> buf{};
  const size_t n = descriptor ? build_descriptor_sense(sense, buf) : build_fixed_sense(sense, buf);
  ctx.send(std::span<const uint8_t>(buf.data(), n), alloc);
  return kGood;
}

// SPC-5 6.7 INQUIRY: EVPD (byte 1 bit 0), CMDDT (obsolete, byte 1 bit 1),
// PAGE CODE (byte 2), ALLOCATION LENGTH (bytes 3-4).
CommandResult spc_inquiry(CommandContext& ctx) {
  DriveCore& core = core_of(ctx);
  const Identity& id = core.identity;
  const auto cdb = ctx.cdb();
  const bool evpd = wire::get_bit(cdb, 1, 0);
  const uint8_t page = wire::get_u8(cdb, 2);
  const uint16_t alloc = wire::get_u16(cdb, 3);
  if (wire::get_bit(cdb, 1, 1)) return ScsiError::invalid_field(1, 1);  // CMDDT
  wire::ResponseBuffer<256> buf;
  if (evpd) {
    if (CommandResult err = vpd_page(id, page, buf.w)) return err;
    ctx.send(buf.bytes(), alloc);
    return kGood;
  }
  if (page != 0) return ScsiError::invalid_field(2);
  wire::ByteWriter& w = buf.w;
  w.u8(kPeripheralCdDvd).u8(kRmb).u8(kVersionSpc3).u8(kResponseDataFormat);
  w.u8(static_cast<uint8_t>(kStandardInquiryLength - 5));  // ADDITIONAL LENGTH
  w.u8(0).u8(0).u8(kCmdQue);
  w.ascii(id.vendor, kVendorLength).ascii(id.product, kProductLength).ascii(id.revision, kRevisionLength);
  w.ascii(id.serial, kVendorSpecificLength);  // bytes 36-55 vendor specific
  w.u8(0).u8(0);                              // 56 clocking/QAS/IUS, 57 reserved
  w.u16(kVersionDescriptorMmc6).u16(kVersionDescriptorSpc3).u16(kVersionDescriptorMmc3);  // 58.. version descriptors
  w.zeros(kStandardInquiryLength - w.size());
  static_assert(kStandardInquiryLength == 0x5B + 5);
  ctx.send(buf.bytes(), alloc);
  return kGood;
}

// SPC-5 6.33 REPORT LUNS: SELECT REPORT (byte 2), ALLOCATION LENGTH (bytes 6-9).
// One logical unit, LUN 0.
CommandResult spc_report_luns(CommandContext& ctx) {
  const auto cdb = ctx.cdb();
  const uint8_t select = wire::get_u8(cdb, 2);
  const uint32_t alloc = wire::get_u32(cdb, 6);
  constexpr uint8_t kAllLogicalUnits = 0x00, kWellKnownOnly = 0x01, kAll = 0x02;
  constexpr uint8_t kAdministrative = 0x10, kSubsidiary = 0x11, kAdministrativeOrSubsidiary = 0x12;
  wire::ResponseBuffer<16> buf;
  switch (select) {
    case kAllLogicalUnits:
    case kAll:
    case kAdministrative:
    case kAdministrativeOrSubsidiary:
      buf.w.u32(8).u32(0).u64(0);  // LUN LIST LENGTH, reserved, LUN 0
      break;
    case kWellKnownOnly:
    case kSubsidiary:
      buf.w.u32(0).u32(0);
      break;
    default:
      return ScsiError::invalid_field(2);
  }
  ctx.send(buf.bytes(), alloc);
  return kGood;
}

// SPC-5 6.35 REPORT SUPPORTED OPERATION CODES (MAINTENANCE IN, service
// action 0Ch): RCTD (byte 2 bit 7), REPORTING OPTIONS (byte 2 bits 2-0),
// REQUESTED OPERATION CODE (byte 3), REQUESTED SERVICE ACTION (bytes 4-5),
// ALLOCATION LENGTH (bytes 6-9).
CommandResult spc_report_supported_operation_codes(CommandContext& ctx) {
  constexpr uint8_t kMaintenanceIn = 0xA3;
  constexpr uint16_t kServiceAction = 0x0C;
  constexpr uint8_t kCtdp = 0x02, kServactv = 0x01;  // command descriptor byte 5
  constexpr uint8_t kSupportStandard = 0x03, kSupportNone = 0x01;
  constexpr uint16_t kTimeoutsDescriptorLength = 0x0A;
  const auto cdb = ctx.cdb();
  const bool rctd = wire::get_bit(cdb, 2, 7);
  const uint8_t options = wire::get_bits(cdb, 2, 0, 3);
  const uint8_t opcode = wire::get_u8(cdb, 3);
  const uint16_t sa = wire::get_u16(cdb, 4);
  const uint32_t alloc = wire::get_u32(cdb, 6);
  auto timeouts = [&](wire::ByteWriter& w) {
    // Command timeouts descriptor (SPC-5 6.35.4): no timeouts advertised.
    w.u16(kTimeoutsDescriptorLength).u8(0).u8(0).u32(0).u32(0);
  };
  auto has_sa = [&](const CommandSpec& c) { return c.opcode == kMaintenanceIn; };
  wire::ResponseBuffer<8192> buf;
  wire::ByteWriter& w = buf.w;
  if (options == 0) {
    w.u32(0);
    for (const CommandSpec& c : command_table()) {
      w.u8(c.opcode).u8(0).u16(has_sa(c) ? kServiceAction : 0).u8(0);
      w.u8(static_cast<uint8_t>((rctd ? kCtdp : 0) | (has_sa(c) ? kServactv : 0)));
      w.u16(c.cdb_length);
      if (rctd) timeouts(w);
    }
    w.put_u32(0, static_cast<uint32_t>(w.size() - 4));
    ctx.send(buf.bytes(), alloc);
    return kGood;
  }
  if (options > 3) return ScsiError::invalid_field(2, 2);
  const CommandSpec* c = find_command(opcode);
  bool supported = c != nullptr;
  if (c != nullptr) {
    if (options == 1 && has_sa(*c)) return ScsiError::invalid_field(3);
    if (options == 2 && !has_sa(*c)) return ScsiError::invalid_field(3);
    if ((options == 2 || (options == 3 && has_sa(*c))) && sa != kServiceAction) supported = false;
  }
  w.u8(0).u8(static_cast<uint8_t>((rctd ? 0x80 : 0) | (supported ? kSupportStandard : kSupportNone)));
  if (!supported) {
    w.u16(0);
  } else {
    w.u16(c->cdb_length);
    std::array<uint8_t, 16> usage = c->usage;
    if (std::all_of(usage.begin(), usage.end(), [](uint8_t b) { return b == 0; })) {
      std::fill(usage.begin(), usage.end(), uint8_t{0xFF});
      usage[0] = c->opcode;
      usage[c->cdb_length - 1] = 0x04;  // CONTROL: NACA examined
    }
    w.bytes(std::span<const uint8_t>(usage.data(), c->cdb_length));
    if (rctd) timeouts(w);
  }
  ctx.send(buf.bytes(), alloc);
  return kGood;
}

}  // namespace udisc::device
