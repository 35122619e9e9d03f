// Test helpers for the MMC command tests: run one CDB through the MMC
// opcode table with a CommandContext over an in-memory image, and look at
// the data-in bytes and the error.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <vector>

#include "device/command.h"
#include "device/mmc_audio.h"
#include "device/mmc_common.h"
#include "device/testing/memory_image.h"

namespace udisc::device::mmc::test {

inline constexpr uint8_t kGuard = 0xA5;

struct Run {
  CommandResult error;
  std::vector<uint8_t> data;  // the bytes written to data-in
  uint64_t transfer_length = 0;
  bool guard_intact = true;   // nothing written past the expected transfer length
};

inline const CommandSpec* find_spec(uint8_t opcode) {
  for (const CommandSpec& s : mmc_command_table()) {
    if (s.opcode == opcode) return &s;
  }
  return nullptr;
}

// A drive-side harness: medium, player and settings that persist across commands.
struct Harness {
  std::shared_ptr<const disc::Image> image;
  AudioPlayer player;
  DriveSettings settings;
  TrayState tray = TrayState::closed;

  explicit Harness(std::shared_ptr<const disc::Image> img = nullptr) : image(std::move(img)) {}

  // Runs `cdb` with a data-in buffer of `expected` bytes (split into
  // `segments` equal segments) followed by guard bytes.
  Run run(std::vector<uint8_t> cdb, uint32_t expected = 65536, int segments = 1) {
    Run r;
    const CommandSpec* spec = find_spec(cdb.at(0));
    EXPECT_NE(spec, nullptr) << "opcode " << int(cdb[0]) << " not in the MMC table";
    if (spec == nullptr) return r;
    if (cdb.size() < spec->cdb_length) cdb.resize(spec->cdb_length, 0);
    std::vector<uint8_t> buffer(expected + 64, kGuard);
    std::vector<std::span<uint8_t>> segs;
    const uint32_t per = segments > 0 ? expected / segments : expected;
    uint32_t off = 0;
    for (int i = 0; i < segments; ++i) {
      const uint32_t n = i + 1 == segments ? expected - off : per;
      segs.emplace_back(buffer.data() + off, n);
      off += n;
    }
    Request req;
    req.cdb = cdb;
    req.direction = DataDirection::from_device;
    req.expected_transfer_length = expected;
    req.data_in = segs;
    CommandContext ctx(req, image.get(), &player, settings, tray);
    r.error = spec->handler(ctx);
    r.data.assign(buffer.begin(), buffer.begin() + ctx.bytes_written());
    r.transfer_length = ctx.transfer_length();
    for (size_t i = expected; i < buffer.size(); ++i) r.guard_intact = r.guard_intact && buffer[i] == kGuard;
    for (size_t i = ctx.bytes_written(); i < expected; ++i) r.guard_intact = r.guard_intact && buffer[i] == kGuard;
    return r;
  }
};

inline std::vector<uint8_t> bytes(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(static_cast<uint8_t>(b));
  return out;
}

// Asserts an error with sense key / ASC / ASCQ and optional field pointer / information.
inline void expect_error(const CommandResult& e, SenseKey key, Asc code, std::optional<uint16_t> field_byte = std::nullopt,
                         std::optional<uint32_t> information = std::nullopt) {
  ASSERT_TRUE(e.has_value()) << "expected CHECK CONDITION";
  EXPECT_EQ(e->key, key);
  EXPECT_EQ(e->code.asc, code.asc);
  EXPECT_EQ(e->code.ascq, code.ascq);
  if (field_byte) {
    ASSERT_TRUE(e->field.has_value());
    EXPECT_TRUE(e->field->in_cdb);
    EXPECT_EQ(e->field->byte, *field_byte);
  }
  if (information) {
    ASSERT_TRUE(e->information.has_value());
    EXPECT_EQ(*e->information, *information);
  }
}
template <typename T>
void expect_error(const Outcome<T>& o, SenseKey key, Asc code, std::optional<uint16_t> field_byte = std::nullopt,
                  std::optional<uint32_t> information = std::nullopt) {
  ASSERT_FALSE(o.ok());
  expect_error(CommandResult(o.error()), key, code, field_byte, information);
}

}  // namespace udisc::device::mmc::test
