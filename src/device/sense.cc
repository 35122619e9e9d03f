// Sense data builders: SPC-5 4.4.3 (fixed format) and 4.4.2 (descriptor
// format, with the information descriptor 4.4.2.2 and the sense-key
// specific descriptor 4.4.2.3). Field pointers follow SPC-5 4.4.2.4.2.
#include "device/sense.h"

#include <algorithm>
#include <array>

#include "device/wire.h"

namespace udisc::device {

namespace {

// Fixed format fields (SPC-5 Table 48).
constexpr uint8_t kResponseFixedCurrent = 0x70;
constexpr uint8_t kResponseDescriptorCurrent = 0x72;
constexpr uint8_t kValid = 0x80;                  // byte 0: INFORMATION is valid
constexpr size_t kFixedSenseKey = 2;
constexpr size_t kFixedInformation = 3;           // bytes 3..6
constexpr size_t kFixedAdditionalLength = 7;
constexpr uint8_t kFixedAdditionalLengthValue = kFixedSenseLength - 8;
constexpr size_t kFixedAsc = 12;
constexpr size_t kFixedAscq = 13;
constexpr size_t kFixedSenseKeySpecific = 15;     // bytes 15..17
static_assert(kFixedSenseLength == kFixedSenseKeySpecific + 3, "fixed sense ends with the sense-key specific bytes");

// Sense-key specific field pointer (SPC-5 Table 54).
constexpr uint8_t kSksv = 0x80;
constexpr uint8_t kCommandData = 0x40;  // C/D: 1 = error in the CDB
constexpr uint8_t kBpv = 0x08;

// Descriptor types (SPC-5 Table 29).
constexpr uint8_t kInformationDescriptor = 0x00;
constexpr uint8_t kInformationDescriptorLength = 0x0A;
constexpr uint8_t kSenseKeySpecificDescriptor = 0x02;
constexpr uint8_t kSenseKeySpecificDescriptorLength = 0x06;

// The three sense-key specific bytes, or nullopt when none apply.
std::optional<std::array<uint8_t, 3>> sense_key_specific(const ScsiError& e) {
  if (!e.field) return std::nullopt;
  const FieldPointer& f = *e.field;
  uint8_t b0 = kSksv;
  if (f.in_cdb) b0 |= kCommandData;
  if (f.bit) b0 |= static_cast<uint8_t>(kBpv | (*f.bit & 0x07));
  return std::array<uint8_t, 3>{b0, static_cast<uint8_t>(f.byte >> 8), static_cast<uint8_t>(f.byte)};
}

}  // namespace

size_t build_fixed_sense(const ScsiError& e, std::span<uint8_t> out) {
  if (out.size() < kFixedSenseLength) return 0;
  std::fill_n(out.begin(), kFixedSenseLength, uint8_t{0});
  wire::ByteWriter w(out.first(kFixedSenseLength));
  w.put_u8(0, static_cast<uint8_t>(kResponseFixedCurrent | (e.information ? kValid : 0)));
  w.put_u8(kFixedSenseKey, static_cast<uint8_t>(e.key));
  if (e.information) w.put_u32(kFixedInformation, *e.information);
  w.put_u8(kFixedAdditionalLength, kFixedAdditionalLengthValue);
  w.put_u8(kFixedAsc, e.code.asc);
  w.put_u8(kFixedAscq, e.code.ascq);
  if (auto sks = sense_key_specific(e)) {
    for (size_t i = 0; i < sks->size(); ++i) w.put_u8(kFixedSenseKeySpecific + i, (*sks)[i]);
  }
  return kFixedSenseLength;
}

size_t build_descriptor_sense(const ScsiError& e, std::span<uint8_t> out) {
  const auto sks = sense_key_specific(e);
  const size_t length = 8 + (e.information ? 12 : 0) + (sks ? 8 : 0);
  if (out.size() < length) return 0;
  std::fill_n(out.begin(), length, uint8_t{0});
  wire::ByteWriter w(out.first(length));
  w.u8(kResponseDescriptorCurrent).u8(static_cast<uint8_t>(e.key)).u8(e.code.asc).u8(e.code.ascq);
  w.zeros(3).u8(static_cast<uint8_t>(length - 8));  // byte 7: ADDITIONAL SENSE LENGTH
  if (e.information) {
    // Information descriptor: VALID, reserved, 8-byte INFORMATION.
    w.u8(kInformationDescriptor).u8(kInformationDescriptorLength).u8(kValid).u8(0).u64(*e.information);
  }
  if (sks) {
    w.u8(kSenseKeySpecificDescriptor).u8(kSenseKeySpecificDescriptorLength).zeros(2);
    w.u8((*sks)[0]).u8((*sks)[1]).u8((*sks)[2]).u8(0);
  }
  return length;
}

}  // namespace udisc::device
