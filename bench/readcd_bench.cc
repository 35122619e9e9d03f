// READ CD (BEh) raw-sector commands per second through Drive::execute, in
// process, against a memcpy of the same bytes. Results: bench/RESULTS.md,
// "Engine (issue 4)".
//
// The image stores its raw 2352-byte sectors in memory (as a page-cached
// BIN file would be), so read_raw is one memcpy per run of sectors and the
// difference to the memcpy baseline is the engine's per-command cost: CDB
// decoding, opcode lookup, unit-attention and medium checks, the range and
// sector-type plan, and the data-in transfer.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <vector>

#include "device/drive.h"
#include "device/testing/memory_image.h"

namespace {

using udisc::Status;
namespace disc = udisc::disc;
namespace device = udisc::device;

constexpr int32_t kWindow = 4096;  // sectors kept in memory (9.6 MB), reused cyclically

// A mode 1 CD whose raw sectors are stored, not synthesised.
class StoredRawImage : public disc::Image {
 public:
  StoredRawImage() : base_(device::testing::MemoryImage::cd_mixed_mode()), raw_(size_t{kWindow} * 2352) {
    if (!base_->read_raw(0, kWindow, raw_).ok()) std::abort();
  }
  const disc::Disc& disc() const override { return base_->disc(); }
  std::string format_name() const override { return "stored-raw"; }
  Status read_user(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    return base_->read_user(lba, count, out);
  }
  Status read_raw(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    const size_t first = static_cast<size_t>(lba % kWindow);
    if (first + count > static_cast<size_t>(kWindow)) return base_->read_raw(lba, count, out);
    std::memcpy(out.data(), raw_.data() + first * 2352, size_t{count} * 2352);
    return Status::Ok();
  }
  Status read_subchannel(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    return base_->read_subchannel(lba, count, out);
  }
  bool stores_raw(int32_t /*lba*/) const override { return true; }
  const uint8_t* raw_at(int32_t lba) const { return raw_.data() + static_cast<size_t>(lba % kWindow) * 2352; }

 private:
  std::shared_ptr<device::testing::MemoryImage> base_;
  std::vector<uint8_t> raw_;
};

struct Setup {
  std::shared_ptr<StoredRawImage> image = std::make_shared<StoredRawImage>();
  device::Drive drive;
  Setup() {
    if (!drive.insert(image).ok()) std::abort();
    // Consume the unit attentions of power-on and the load.
    const uint8_t tur[6] = {0x00, 0, 0, 0, 0, 0};
    for (int i = 0; i < 4; ++i) {
      device::Request r;
      r.cdb = tur;
      drive.execute(r);
    }
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

// READ CD, expected type "any", byte 9 F8h (sync, all headers, user data,
// EDC/ECC: 2352 bytes), byte 10 as given (sub-channel selection).
void run_read_cd(benchmark::State& state, uint8_t byte10, uint32_t bytes_per_sector) {
  Setup& s = setup();
  const auto n = static_cast<uint32_t>(state.range(0));
  std::vector<uint8_t> buffer(size_t{n} * bytes_per_sector);
  std::span<uint8_t> segment(buffer);
  int32_t lba = 0;
  uint8_t cdb[12] = {0xBE, 0x00, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(n), 0xF8, byte10, 0};
  device::Request r;
  r.cdb = cdb;
  r.direction = device::DataDirection::from_device;
  r.expected_transfer_length = static_cast<uint32_t>(buffer.size());
  r.data_in = std::span<const std::span<uint8_t>>(&segment, 1);
  for (auto _ : state) {
    cdb[4] = static_cast<uint8_t>(lba >> 8);
    cdb[5] = static_cast<uint8_t>(lba);
    const device::Response resp = s.drive.execute(r);
    if (resp.status != device::ScsiStatus::good) {
      state.SkipWithError("READ CD failed");
      break;
    }
    benchmark::DoNotOptimize(buffer.data());
    lba = (lba + static_cast<int32_t>(n)) % (kWindow - 32);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * int64_t{n} * bytes_per_sector);
}

void BM_ReadCdRaw(benchmark::State& state) { run_read_cd(state, 0x00, 2352); }
void BM_ReadCdRawWithSubchannel(benchmark::State& state) { run_read_cd(state, 0x01, 2448); }

// The copy alone: the same bytes from the same stored sectors.
void BM_MemcpyBaseline(benchmark::State& state) {
  Setup& s = setup();
  const auto n = static_cast<uint32_t>(state.range(0));
  std::vector<uint8_t> buffer(size_t{n} * 2352);
  int32_t lba = 0;
  for (auto _ : state) {
    std::memcpy(buffer.data(), s.image->raw_at(lba), buffer.size());
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
    lba = (lba + static_cast<int32_t>(n)) % (kWindow - 32);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * int64_t{n} * 2352);
}

BENCHMARK(BM_MemcpyBaseline)->Arg(1)->Arg(32);
BENCHMARK(BM_ReadCdRaw)->Arg(1)->Arg(32);
BENCHMARK(BM_ReadCdRawWithSubchannel)->Arg(1)->Arg(32);

}  // namespace

BENCHMARK_MAIN();
