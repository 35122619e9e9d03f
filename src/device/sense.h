// Sense keys, additional sense codes and the ScsiError value that command
// code returns instead of throwing (SPC-5 4.4, MMC-6 Annex F).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace udisc::device {

enum class SenseKey : uint8_t {
  no_sense = 0x0,
  recovered_error = 0x1,
  not_ready = 0x2,
  medium_error = 0x3,
  hardware_error = 0x4,
  illegal_request = 0x5,
  unit_attention = 0x6,
  data_protect = 0x7,
  aborted_command = 0xB,
};

// ASC/ASCQ pairs we report, named as in SPC-5 Annex F / MMC-6 Annex F.
struct Asc {
  uint8_t asc;
  uint8_t ascq;
  friend constexpr bool operator==(const Asc&, const Asc&) = default;
};
namespace asc {
inline constexpr Asc kNoAdditionalSense{0x00, 0x00};
inline constexpr Asc kAudioPlayInProgress{0x00, 0x11};
inline constexpr Asc kAudioPlayPaused{0x00, 0x12};
inline constexpr Asc kAudioPlayCompleted{0x00, 0x13};
inline constexpr Asc kAudioPlayStoppedError{0x00, 0x14};
inline constexpr Asc kNoCurrentAudioStatus{0x00, 0x15};
inline constexpr Asc kBecomingReady{0x04, 0x01};
inline constexpr Asc kUnrecoveredReadError{0x11, 0x00};
inline constexpr Asc kParameterListLengthError{0x1A, 0x00};
inline constexpr Asc kInvalidCommandOperationCode{0x20, 0x00};
inline constexpr Asc kLbaOutOfRange{0x21, 0x00};
inline constexpr Asc kInvalidFieldInCdb{0x24, 0x00};
inline constexpr Asc kLogicalUnitNotSupported{0x25, 0x00};
inline constexpr Asc kInvalidFieldInParameterList{0x26, 0x00};
inline constexpr Asc kParameterNotSupported{0x26, 0x01};
inline constexpr Asc kWriteProtected{0x27, 0x00};
inline constexpr Asc kNotReadyToReadyChange{0x28, 0x00};  // medium may have changed
inline constexpr Asc kPowerOnResetOrBusDeviceReset{0x29, 0x00};
inline constexpr Asc kPowerOnOccurred{0x29, 0x01};
inline constexpr Asc kModeParametersChanged{0x2A, 0x01};
inline constexpr Asc kSavingParametersNotSupported{0x39, 0x00};
inline constexpr Asc kMediumNotPresent{0x3A, 0x00};
inline constexpr Asc kMediumNotPresentTrayClosed{0x3A, 0x01};
inline constexpr Asc kMediumNotPresentTrayOpen{0x3A, 0x02};
inline constexpr Asc kInvalidMessageError{0x49, 0x00};
inline constexpr Asc kMediumRemovalPrevented{0x53, 0x02};
inline constexpr Asc kIllegalModeForThisTrack{0x64, 0x00};
inline constexpr Asc kCannotReadMediumIncompatibleFormat{0x30, 0x02};
inline constexpr Asc kCopyProtectionKeyExchangeFailureKeyNotPresent{0x6F, 0x01};
inline constexpr Asc kReadOfScrambledSectorWithoutAuthentication{0x6F, 0x03};
inline constexpr Asc kInvalidFieldInCommandInformationUnit{0x0E, 0x03};
}  // namespace asc

// SPC-5 4.4.2.4.2 sense-key-specific field pointer: which CDB (or parameter
// list) byte and, optionally, bit is wrong.
struct FieldPointer {
  bool in_cdb = true;        // C/D bit
  uint16_t byte = 0;         // FIELD POINTER
  std::optional<uint8_t> bit;  // BIT POINTER (BPV set when present)
};

// A SCSI error outcome: becomes CHECK CONDITION with this sense data.
struct ScsiError {
  SenseKey key = SenseKey::illegal_request;
  Asc code = asc::kInvalidFieldInCdb;
  std::optional<FieldPointer> field;
  std::optional<uint32_t> information;  // e.g. the failing LBA (VALID bit set)

  static ScsiError invalid_field(uint16_t byte, std::optional<uint8_t> bit = std::nullopt) {
    return {SenseKey::illegal_request, asc::kInvalidFieldInCdb, FieldPointer{true, byte, bit}, std::nullopt};
  }
  static ScsiError invalid_parameter(uint16_t byte, std::optional<uint8_t> bit = std::nullopt) {
    return {SenseKey::illegal_request, asc::kInvalidFieldInParameterList, FieldPointer{false, byte, bit}, std::nullopt};
  }
  static ScsiError lba_out_of_range(uint32_t lba) {
    return {SenseKey::illegal_request, asc::kLbaOutOfRange, std::nullopt, lba};
  }
  static ScsiError illegal_mode(uint32_t lba) {
    return {SenseKey::illegal_request, asc::kIllegalModeForThisTrack, std::nullopt, lba};
  }
  static ScsiError read_error(uint32_t lba) {
    return {SenseKey::medium_error, asc::kUnrecoveredReadError, std::nullopt, lba};
  }
};

// Sense data formats (SPC-5 4.4). Fixed format is what MMC drives report;
// descriptor format only when the initiator asks for it (REQUEST SENSE DESC=1,
// or D_SENSE=1 in the control mode page for CHECK CONDITION sense).
inline constexpr size_t kFixedSenseLength = 18;       // 70h/71h, additional length 0Ah
inline constexpr size_t kDescriptorSenseMaxLength = 8 + 12 + 8;  // header + information + sense-key specific

// Writes sense data for `error` into `out` and returns its length (0 if `out`
// is too small for the chosen format). Response code 70h / 72h (current).
size_t build_fixed_sense(const ScsiError& error, std::span<uint8_t> out);
size_t build_descriptor_sense(const ScsiError& error, std::span<uint8_t> out);

}  // namespace udisc::device
