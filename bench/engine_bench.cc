// Engine commands per second in process (issue 4): READ(10) of 2 KiB and
// 64 KiB through Drive::execute from a page-cached ISO image, against a
// plain pread of the same bytes, plus the bare per-command cost of TEST UNIT
// READY and INQUIRY. Results: bench/RESULTS.md, "Engine (issue 4)".
//
// The difference between BM_Read10_* and BM_Pread_* is the engine's cost per
// command beyond the copy: opcode lookup, the unit-attention / medium
// checks under the state lock, the LBA range and track check, the data-in
// transfer bookkeeping and sense/residual computation.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "device/drive.h"
#include "formats/open.h"

namespace {

namespace device = udisc::device;
constexpr uint32_t kSectors = 32768;  // 64 MiB image, kept in the page cache
constexpr uint32_t kBlock = 2048;

struct Setup {
  std::string path;
  int fd = -1;
  device::Drive drive;

  Setup() {
    char tmpl[] = "/tmp/udisc-engine-bench-XXXXXX";
    fd = mkstemp(tmpl);
    if (fd < 0) std::abort();
    path = tmpl;
    std::vector<uint8_t> chunk(size_t{kBlock} * 64);
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<uint8_t>(i * 31 + 7);
    for (uint32_t s = 0; s < kSectors; s += 64) {
      if (pwrite(fd, chunk.data(), chunk.size(), off_t{s} * kBlock) != static_cast<ssize_t>(chunk.size())) std::abort();
    }
    auto image = udisc::formats::open_image(path);
    if (!image.ok() || !drive.insert(image.value()).ok()) std::abort();
    // Consume the power-on and medium-change unit attentions; warm the page cache.
    std::vector<uint8_t> one(kBlock);
    for (int i = 0; i < 4; ++i) run_into(0, 1, one);
    std::vector<uint8_t> warm(size_t{kBlock} * 64);
    for (uint32_t s = 0; s < kSectors; s += 64) run_into(s, 64, warm);
  }
  ~Setup() {
    close(fd);
    unlink(path.c_str());
  }

  device::Response run_into(uint32_t lba, uint16_t count, std::vector<uint8_t>& buf) {
    const uint8_t cdb[10] = {0x28, 0, static_cast<uint8_t>(lba >> 24), static_cast<uint8_t>(lba >> 16),
                             static_cast<uint8_t>(lba >> 8), static_cast<uint8_t>(lba), 0,
                             static_cast<uint8_t>(count >> 8), static_cast<uint8_t>(count), 0};
    std::span<uint8_t> seg(buf.data(), size_t{count} * kBlock);
    device::Request req;
    req.cdb = cdb;
    req.direction = device::DataDirection::from_device;
    req.expected_transfer_length = static_cast<uint32_t>(seg.size());
    req.data_in = std::span<const std::span<uint8_t>>(&seg, 1);
    req.initiator = 1;
    return drive.execute(req);
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

void BM_Read10(benchmark::State& state) {
  Setup& s = setup();
  const auto count = static_cast<uint16_t>(state.range(0));
  std::vector<uint8_t> buf(size_t{count} * kBlock);
  uint32_t lba = 0;
  for (auto _ : state) {
    device::Response r = s.run_into(lba, count, buf);
    if (r.status != device::ScsiStatus::good) state.SkipWithError("READ(10) failed");
    benchmark::DoNotOptimize(buf.data());
    lba = (lba + count) % (kSectors - count);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * count * kBlock);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Read10)->Arg(1)->Arg(32)->Name("BM_Read10_sectors");

void BM_Pread(benchmark::State& state) {
  Setup& s = setup();
  const auto count = static_cast<uint32_t>(state.range(0));
  std::vector<uint8_t> buf(size_t{count} * kBlock);
  uint32_t lba = 0;
  for (auto _ : state) {
    if (pread(s.fd, buf.data(), buf.size(), off_t{lba} * kBlock) != static_cast<ssize_t>(buf.size())) {
      state.SkipWithError("pread failed");
    }
    benchmark::DoNotOptimize(buf.data());
    lba = (lba + count) % (kSectors - count);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * count * kBlock);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Pread)->Arg(1)->Arg(32)->Name("BM_Pread_sectors");

void BM_Command(benchmark::State& state, std::vector<uint8_t> cdb, uint32_t alloc) {
  Setup& s = setup();
  std::vector<uint8_t> buf(alloc + 1);
  std::span<uint8_t> seg(buf.data(), alloc);
  device::Request req;
  req.cdb = cdb;
  req.direction = alloc ? device::DataDirection::from_device : device::DataDirection::none;
  req.expected_transfer_length = alloc;
  req.data_in = std::span<const std::span<uint8_t>>(&seg, 1);
  req.initiator = 1;
  for (auto _ : state) {
    device::Response r = s.drive.execute(req);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK_CAPTURE(BM_Command, TestUnitReady, std::vector<uint8_t>{0x00, 0, 0, 0, 0, 0}, 0);
BENCHMARK_CAPTURE(BM_Command, Inquiry96, std::vector<uint8_t>{0x12, 0, 0, 0, 96, 0}, 96);
BENCHMARK_CAPTURE(BM_Command, GetConfigurationAll, std::vector<uint8_t>{0x46, 0, 0, 0, 0, 0, 0, 0x01, 0, 0}, 256);

}  // namespace

BENCHMARK_MAIN();
