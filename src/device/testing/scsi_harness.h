// ScsiHarness: runs CDBs through a whole Drive (common checks, unit
// attentions, dispatch) the way a transport does, with guard bytes after the
// data-in buffer so tests can assert nothing is written past it.
// Header-only; for engine and MMC tests.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "device/drive.h"
#include "device/sense.h"

namespace udisc::device::testing {

inline constexpr uint8_t kGuardByte = 0xA5;
inline constexpr size_t kGuardLength = 64;

struct ScsiResult {
  Response response;
  std::vector<uint8_t> data;  // data-in bytes the drive reported written
  bool guard_intact = true;   // nothing written past the expected transfer length

  bool good() const { return response.status == ScsiStatus::good; }
  bool check() const { return response.status == ScsiStatus::check_condition; }
  // Fixed-format sense fields (SPC-5 4.4.3).
  uint8_t key() const { return response.sense_length >= 18 ? (response.sense[2] & 0x0F) : 0xFF; }
  Asc asc() const { return response.sense_length >= 18 ? Asc{response.sense[12], response.sense[13]} : Asc{0xFF, 0xFF}; }
  bool info_valid() const { return response.sense_length >= 18 && (response.sense[0] & 0x80) != 0; }
  uint32_t info() const {
    return (uint32_t{response.sense[3]} << 24) | (uint32_t{response.sense[4]} << 16) | (uint32_t{response.sense[5]} << 8) |
           response.sense[6];
  }
  bool sksv() const { return (response.sense[15] & 0x80) != 0; }
  bool sks_in_cdb() const { return (response.sense[15] & 0x40) != 0; }
  std::optional<uint8_t> sks_bit() const {
    if ((response.sense[15] & 0x08) == 0) return std::nullopt;
    return response.sense[15] & 0x07;
  }
  uint16_t sks_field() const { return static_cast<uint16_t>((response.sense[16] << 8) | response.sense[17]); }
  bool is(SenseKey k, Asc a) const { return check() && key() == static_cast<uint8_t>(k) && asc() == a; }
};

class ScsiHarness {
 public:
  explicit ScsiHarness(Identity id = {}) : drive_(std::make_unique<Drive>(std::move(id))) {}

  Drive& drive() { return *drive_; }

  // Runs `cdb` (zero-padded to at least 6 bytes) with `expected` bytes of
  // data-in buffer, split into segments of the given sizes if any (their
  // sum must be `expected`).
  ScsiResult run(std::vector<uint8_t> cdb, uint32_t expected, InitiatorId initiator = 1,
                 std::span<const uint8_t> data_out = {}, std::vector<uint32_t> segment_sizes = {}) {
    ScsiResult r;
    std::vector<uint8_t> buffer(size_t{expected} + kGuardLength, kGuardByte);
    std::vector<std::span<uint8_t>> segments;
    if (segment_sizes.empty()) segment_sizes.push_back(expected);
    size_t off = 0;
    for (uint32_t n : segment_sizes) {
      segments.emplace_back(buffer.data() + off, n);
      off += n;
    }
    Request req;
    req.cdb = cdb;
    req.direction = data_out.empty() ? (expected ? DataDirection::from_device : DataDirection::none) : DataDirection::to_device;
    req.expected_transfer_length = data_out.empty() ? expected : static_cast<uint32_t>(data_out.size());
    req.data_out = data_out;
    if (data_out.empty()) req.data_in = segments;
    req.initiator = initiator;
    r.response = drive_->execute(req);
    r.data.assign(buffer.begin(), buffer.begin() + std::min<size_t>(r.response.data_in_length, buffer.size()));
    for (size_t i = expected; i < buffer.size(); ++i) {
      if (buffer[i] != kGuardByte) r.guard_intact = false;
    }
    return r;
  }

  // Consumes every pending unit attention of `initiator` with TEST UNIT READY.
  void clear_unit_attentions(InitiatorId initiator = 1) {
    for (int i = 0; i < 16 && drive_->has_unit_attention(initiator); ++i) run({0x00, 0, 0, 0, 0, 0}, 0, initiator);
  }

 private:
  std::unique_ptr<Drive> drive_;
};

}  // namespace udisc::device::testing
