// Raw-sector synthesis and checking throughput (issue 3), one core.
// Bytes/s count the 2352-byte raw sectors produced or checked.
#include <benchmark/benchmark.h>

#include <array>
#include <random>
#include <vector>

#include "disc/ecma130.h"
#include "disc/subchannel.h"

namespace {

using udisc::disc::TrackMode;

constexpr int kSectors = 64;  // distinct user-data buffers cycled through

std::vector<uint8_t> random_user(size_t bytes) {
  std::mt19937 rng(1);
  std::vector<uint8_t> v(bytes * kSectors);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

void build(benchmark::State& state, TrackMode mode) {
  const size_t user_size = udisc::disc::user_data_size(mode);
  const std::vector<uint8_t> user = random_user(user_size);
  std::array<uint8_t, 2352> out;
  int32_t lba = 0;
  for (auto _ : state) {
    const size_t i = static_cast<size_t>(lba % kSectors);
    auto st = udisc::disc::build_raw_sector(mode, lba, std::span<const uint8_t>(user.data() + i * user_size, user_size), out);
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(st);
    ++lba;
  }
  state.SetBytesProcessed(state.iterations() * 2352);
}

void BM_BuildMode1(benchmark::State& s) { build(s, TrackMode::mode1); }
void BM_BuildXaForm1(benchmark::State& s) { build(s, TrackMode::mode2_form1); }
void BM_BuildXaForm2(benchmark::State& s) { build(s, TrackMode::mode2_form2); }
void BM_BuildMode2Formless(benchmark::State& s) { build(s, TrackMode::mode2); }
BENCHMARK(BM_BuildMode1);
BENCHMARK(BM_BuildXaForm1);
BENCHMARK(BM_BuildXaForm2);
BENCHMARK(BM_BuildMode2Formless);

void check(benchmark::State& state, TrackMode mode) {
  const size_t user_size = udisc::disc::user_data_size(mode);
  const std::vector<uint8_t> user = random_user(user_size);
  std::vector<std::array<uint8_t, 2352>> sectors(kSectors);
  for (int i = 0; i < kSectors; ++i) {
    (void)udisc::disc::build_raw_sector(mode, i, std::span<const uint8_t>(user.data() + size_t(i) * user_size, user_size),
                                        sectors[size_t(i)]);
  }
  int32_t lba = 0;
  bool all_ok = true;
  for (auto _ : state) {
    const auto r = udisc::disc::check_raw_sector(sectors[size_t(lba)], lba, mode);
    all_ok &= r.ok();
    benchmark::DoNotOptimize(r);
    lba = (lba + 1) % kSectors;
  }
  if (!all_ok) state.SkipWithError("generated sector failed the check");
  state.SetBytesProcessed(state.iterations() * 2352);
}

void BM_CheckMode1(benchmark::State& s) { check(s, TrackMode::mode1); }
void BM_CheckXaForm1(benchmark::State& s) { check(s, TrackMode::mode2_form1); }
void BM_CheckXaForm2(benchmark::State& s) { check(s, TrackMode::mode2_form2); }
BENCHMARK(BM_CheckMode1);
BENCHMARK(BM_CheckXaForm1);
BENCHMARK(BM_CheckXaForm2);

void BM_Edc2064(benchmark::State& state) {
  const std::vector<uint8_t> data = random_user(2064);
  for (auto _ : state) benchmark::DoNotOptimize(udisc::disc::edc(std::span<const uint8_t>(data.data(), 2064)));
  state.SetBytesProcessed(state.iterations() * 2064);
}
BENCHMARK(BM_Edc2064);

// ECC P and Q alone over a mode 1 sector: what a CHD reader regenerates for
// every sector chdman stored without them (issue 10).
void BM_ComputeEcc(benchmark::State& state) {
  const std::vector<uint8_t> user = random_user(2048);
  std::array<uint8_t, 2352> sector{};
  if (!udisc::disc::build_raw_sector(TrackMode::mode1, 0, std::span<const uint8_t>(user.data(), 2048), sector).ok()) {
    state.SkipWithError("build failed");
    return;
  }
  for (auto _ : state) {
    udisc::disc::compute_ecc(sector);
    benchmark::DoNotOptimize(sector.data());
  }
  state.SetBytesProcessed(state.iterations() * 2352);
}
BENCHMARK(BM_ComputeEcc);

void BM_BuildSubchannel(benchmark::State& state) {
  udisc::disc::Disc d;
  udisc::disc::Track t;
  t.number = 1;
  t.pregap_lba = -150;
  t.start_lba = 0;
  t.end_lba = 300000;
  t.indices = {{0, -150}, {1, 0}};
  t.isrc = "USABC9912345";
  d.tracks = {t};
  d.sessions = {udisc::disc::Session{1, 1, 1, 300000}};
  d.mcn = "0123456789012";
  std::array<uint8_t, 96> out;
  int32_t lba = 0;
  for (auto _ : state) {
    udisc::disc::build_subchannel(d, lba, out);
    benchmark::DoNotOptimize(out.data());
    lba = (lba + 1) % 300000;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BuildSubchannel);

}  // namespace

BENCHMARK_MAIN();
