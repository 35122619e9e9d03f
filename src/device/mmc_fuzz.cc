// libFuzzer target: random CDB sequences through the MMC command handlers
// (mmc_command_table) on CD, DVD and BD media and with no medium, with the
// audio clock advanced between commands. Checks that no handler writes
// past the expected transfer length or the data-in segments, that the
// reported transfer never exceeds what was written plus the residual, that
// every error is a well-formed sense, and that the audio state stays sane.
//
// Input: byte 0 selects the medium; then records of 16 bytes:
//   [0] opcode index into the MMC table, [1..11] CDB bytes 1..11,
//   [12..13] expected transfer length, [14] data-in segment count,
//   [15] clock advance in 1/75 s units.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "device/command.h"
#include "device/mmc_audio.h"
#include "device/sense.h"
#include "device/testing/memory_image.h"

namespace {

using udisc::device::testing::MemoryImage;
namespace device = udisc::device;

std::shared_ptr<const udisc::disc::Image> medium(uint8_t which) {
  static const auto mixed = MemoryImage::cd_mixed_mode();
  static const auto audio = MemoryImage::cd_audio();
  static const auto multi = MemoryImage::cd_multisession();
  static const auto dvd = MemoryImage::dvd(40000);
  static const auto bd = MemoryImage::bd(40000);
  switch (which % 6) {
    case 0: return mixed;
    case 1: return audio;
    case 2: return multi;
    case 3: return dvd;
    case 4: return bd;
    default: return nullptr;
  }
}

constexpr size_t kRecord = 16;
constexpr uint8_t kGuard = 0x5A;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto table = device::mmc_command_table();
  if (table.empty()) return 0;
  const auto image = medium(data[0]);
  auto now = std::make_shared<std::chrono::steady_clock::time_point>();
  device::AudioPlayer player([now] { return *now; });
  device::DriveSettings settings;
  const device::TrayState tray = (data[0] & 0x80) != 0 ? device::TrayState::open : device::TrayState::closed;

  for (size_t off = 1; off + kRecord <= size; off += kRecord) {
    const uint8_t* rec = data + off;
    const device::CommandSpec& spec = table[rec[0] % table.size()];
    std::vector<uint8_t> cdb(spec.cdb_length, 0);
    cdb[0] = spec.opcode;
    for (size_t i = 1; i < cdb.size() && i < 12; ++i) cdb[i] = rec[i];
    const uint32_t expected = (uint32_t{rec[12]} << 8 | rec[13]) * 4;  // up to 256 KiB
    const int segments = 1 + rec[14] % 5;

    std::vector<uint8_t> buffer(size_t{expected} + 32, kGuard);
    std::vector<std::span<uint8_t>> segs;
    uint32_t placed = 0;
    for (int i = 0; i < segments; ++i) {
      const uint32_t n = i + 1 == segments ? expected - placed : expected / segments;
      segs.emplace_back(buffer.data() + placed, n);
      placed += n;
    }
    device::Request req;
    req.cdb = cdb;
    req.direction = device::DataDirection::from_device;
    req.expected_transfer_length = expected;
    req.data_in = segs;
    if (spec.needs_medium && image == nullptr) continue;  // the engine answers NOT READY before dispatch
    device::CommandContext ctx(req, image.get(), &player, settings, tray);
    const device::CommandResult err = spec.handler(ctx);

    if (ctx.bytes_written() > expected) std::abort();
    // Nothing past the expected transfer length; on success nothing past what was reported.
    for (size_t i = err ? expected : ctx.bytes_written(); i < buffer.size(); ++i) {
      if (buffer[i] != kGuard) std::abort();
    }
    if (err) {
      std::array<uint8_t, device::kFixedSenseLength> sense{};
      if (device::build_fixed_sense(*err, sense) != device::kFixedSenseLength) std::abort();
      if ((sense[0] & 0x7F) != 0x70 || sense[7] != 0x0A) std::abort();
      const uint8_t key = sense[2] & 0x0F;
      if (key != 0x02 && key != 0x03 && key != 0x05) std::abort();  // not ready, medium error, illegal request
    }
    const device::AudioPlayer::Snapshot s = player.snapshot();
    if (s.state == device::AudioPlayer::State::playing || s.state == device::AudioPlayer::State::paused) {
      if (s.position >= s.end || image == nullptr) std::abort();
    }
    *now += std::chrono::milliseconds(rec[15] * 1000 / 75);
  }
  return 0;
}
