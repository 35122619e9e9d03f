// Opening and random access of the descriptor and compressed formats (issue 10).
//
//   BM_OpenSparseNrg50GB  open_image of a 50 GB Nero v2 image (sparse file:
//                         one 2048-byte track, chunks at the end): reads
//                         only the footer and the chunks.
//   BM_OpenEcm            open_image of an ECM-encoded raw BIN (the record
//                         index is built, nothing decoded).
//   BM_RandomRaw/Bin|Ecm  one random 2352-byte raw sector per iteration from
//                         the BIN and from its ECM encoding (regenerated).
//   BM_RandomUser/Iso|Cso one random 2048-byte sector from the ISO and from
//                         its CSO encoding (one 2 KiB block inflated) and
//                         its xz encoding (64 KiB blocks; one decoded per read
//                         unless the thread's last block is hit).
//   BM_OpenMdx            open_image of the BIN as a compressed MDX with
//                         encrypted data (descriptor decrypted and inflated,
//                         the group table indexed, no group decoded).
//   BM_RandomRaw/Mdx*     one random raw sector from the BIN as MDX: plain,
//                         LRW-encrypted, and compressed in 8-sector groups and
//                         encrypted (one group decrypted and inflated per read
//                         unless one of the last 4 is hit).
// Inputs are made once in a temporary folder: a raw mode 1 BIN of 20 000
// sectors (ecma130), its user data as an ISO, their ECM and CSO encodings by
// the project's test writer (write_image --ecm / --cso / --format mdx).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "disc/ecma130.h"
#include "formats/open.h"

#ifndef WRITE_IMAGE
#error "WRITE_IMAGE must name the test writer"
#endif

namespace {

using udisc::formats::ImagePtr;
constexpr int32_t kSectors = 20000;

void push_be(std::vector<uint8_t>& v, uint64_t x, int n) {
  for (int i = n - 1; i >= 0; --i) v.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

struct Inputs {
  std::string dir;
  Inputs() {
    std::string templ = (std::filesystem::temp_directory_path() / "udisc-bench-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) std::abort();
    dir = templ;
    std::ofstream bin(dir + "/disc.bin", std::ios::binary), iso(dir + "/disc.iso", std::ios::binary);
    std::vector<uint8_t> user(2048), raw(2352);
    for (int32_t lba = 0; lba < kSectors; ++lba) {
      for (size_t i = 0; i < user.size(); ++i) user[i] = static_cast<uint8_t>((lba * 131 + i * 7) >> 3);
      if (!udisc::disc::build_raw_sector(udisc::disc::TrackMode::mode1, lba, user, std::span<uint8_t, 2352>(raw)).ok()) {
        std::abort();
      }
      bin.write(reinterpret_cast<const char*>(raw.data()), 2352);
      iso.write(reinterpret_cast<const char*>(user.data()), 2048);
    }
    bin.close();
    iso.close();
    const std::string w = std::string("'") + WRITE_IMAGE + "'";
    if (std::system((w + " --ecm '" + dir + "/disc.bin' '" + dir + "/disc.bin.ecm'").c_str()) != 0) std::abort();
    if (std::system((w + " --cso '" + dir + "/disc.iso' '" + dir + "/disc.cso'").c_str()) != 0) std::abort();
    if (std::system(("xz -k -T1 --block-size=65536 '" + dir + "/disc.iso'").c_str()) != 0) std::abort();
    std::ofstream(dir + "/disc.cue") << "FILE \"disc.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n";
    for (const char* mdx : {"plain --format mdx", "enc --format mdx --encrypt-data",
                            "zipenc --format mdx --compress-data --encrypt-data"}) {
      if (std::system((w + " '" + dir + "/disc.cue' '" + dir + "' " + mdx + " > /dev/null").c_str()) != 0) std::abort();
    }
    make_sparse_nrg(dir + "/big.nrg", uint64_t{50} << 30);
  }
  ~Inputs() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  // A Nero v2 image of one mode 1 / 2048 track filling `bytes` (a hole), then its chunks and footer.
  static void make_sparse_nrg(const std::string& path, uint64_t bytes) {
    const uint64_t sectors = bytes / 2048;
    std::vector<uint8_t> chunks, cue, dao;
    auto cp = [&](uint8_t track, uint8_t index, int64_t lba) {
      cue.insert(cue.end(), {0x41, track, index, 0});
      push_be(cue, static_cast<uint32_t>(lba), 4);
    };
    cp(0, 0, -150);
    cp(1, 0, -150);
    cp(1, 1, 0);
    cp(0xAA, 1, static_cast<int64_t>(sectors));
    push_be(dao, 22 + 42, 4);
    dao.resize(dao.size() + 14, 0);
    dao.insert(dao.end(), {0, 1, 1, 1});
    dao.resize(dao.size() + 12, 0);
    push_be(dao, 2048, 2);
    dao.insert(dao.end(), {0x00, 0, 0, 0});
    push_be(dao, 0, 8);
    push_be(dao, 0, 8);
    push_be(dao, sectors * 2048, 8);
    auto chunk = [&](const char* id, const std::vector<uint8_t>& body) {
      chunks.insert(chunks.end(), id, id + 4);
      push_be(chunks, body.size(), 4);
      chunks.insert(chunks.end(), body.begin(), body.end());
    };
    chunk("CUEX", cue);
    chunk("DAOX", dao);
    chunk("END!", {});
    chunks.insert(chunks.end(), {'N', 'E', 'R', '5'});
    push_be(chunks, sectors * 2048, 8);
    const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0 || ::pwrite(fd, chunks.data(), chunks.size(), static_cast<off_t>(sectors * 2048)) !=
                      static_cast<ssize_t>(chunks.size())) {
      std::abort();
    }
    ::close(fd);
  }
};

Inputs& inputs() {
  static Inputs in;
  return in;
}

ImagePtr open_or_die(const std::string& path) {
  auto r = udisc::formats::open_image(path);
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().to_string().c_str());
    std::abort();
  }
  return *r;
}

void BM_OpenSparseNrg50GB(benchmark::State& state) {
  const std::string path = inputs().dir + "/big.nrg";
  for (auto _ : state) benchmark::DoNotOptimize(open_or_die(path));
  state.counters["sectors"] = static_cast<double>(open_or_die(path)->disc().leadout_lba());
}
BENCHMARK(BM_OpenSparseNrg50GB)->Unit(benchmark::kMillisecond);

void BM_OpenEcm(benchmark::State& state) {
  const std::string path = inputs().dir + "/disc.bin.ecm";
  for (auto _ : state) benchmark::DoNotOptimize(open_or_die(path));
}
BENCHMARK(BM_OpenEcm)->Unit(benchmark::kMillisecond);

void BM_OpenMdx(benchmark::State& state) {
  const std::string path = inputs().dir + "/zipenc.mdx";
  for (auto _ : state) benchmark::DoNotOptimize(open_or_die(path));
}
BENCHMARK(BM_OpenMdx)->Unit(benchmark::kMillisecond);

void random_reads(benchmark::State& state, const std::string& file, bool raw) {
  const ImagePtr image = open_or_die(inputs().dir + "/" + file);
  std::vector<uint8_t> buffer(raw ? 2352 : 2048);
  std::mt19937 rng(1);
  for (auto _ : state) {
    const int32_t lba = static_cast<int32_t>(rng() % kSectors);
    const auto s = raw ? image->read_raw(lba, 1, buffer) : image->read_user(lba, 1, buffer);
    if (!s.ok()) state.SkipWithError(s.to_string().c_str());
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(buffer.size()));
}
void BM_RandomRawBin(benchmark::State& state) { random_reads(state, "disc.bin", true); }
void BM_RandomRawEcm(benchmark::State& state) { random_reads(state, "disc.bin.ecm", true); }
void BM_RandomRawMdx(benchmark::State& state) { random_reads(state, "plain.mdx", true); }
void BM_RandomRawMdxEncrypted(benchmark::State& state) { random_reads(state, "enc.mdx", true); }
void BM_RandomRawMdxCompressedEncrypted(benchmark::State& state) { random_reads(state, "zipenc.mdx", true); }
void BM_RandomUserIso(benchmark::State& state) { random_reads(state, "disc.iso", false); }
void BM_RandomUserCso(benchmark::State& state) { random_reads(state, "disc.cso", false); }
void BM_RandomUserXz(benchmark::State& state) { random_reads(state, "disc.iso.xz", false); }
BENCHMARK(BM_RandomRawBin);
BENCHMARK(BM_RandomRawEcm);
BENCHMARK(BM_RandomRawMdx);
BENCHMARK(BM_RandomRawMdxEncrypted);
BENCHMARK(BM_RandomRawMdxCompressedEncrypted);
BENCHMARK(BM_RandomUserIso);
BENCHMARK(BM_RandomUserCso);
BENCHMARK(BM_RandomUserXz);

}  // namespace

BENCHMARK_MAIN();
