// udisc-blockread: reads a block device the way a benchmark or a stress test
// does, for the guest tests and bench/tcmu. No dependencies beyond libc, so
// the same binary measures our /dev/srN and a loop device in one boot.
//
//   udisc-blockread bench LABEL DEV [RANDOM_READS]
//       O_DIRECT reads (no page cache): the whole device in 64 KiB reads,
//       RANDOM_READS (default 4000) 2 KiB reads at random 2 KiB-aligned
//       offsets one at a time (depth 1), then the same count with 32 in
//       flight (Linux native AIO, depth 32). Prints
//       "BENCH LABEL seq-64k <MB/s>", "BENCH LABEL rand-2k-qd1 <IOPS>",
//       "BENCH LABEL rand-2k-qd32 <IOPS>". The random offsets are the same
//       sequence for every device.
//   udisc-blockread verify DEV IMAGE SECONDS THREADS
//       THREADS readers for SECONDS each read random ranges (2 KiB to
//       256 KiB) of DEV with O_DIRECT and compare them with the same bytes of
//       IMAGE (a 2048-byte-sector ISO). Prints "VERIFY <reads> reads
//       <blocks> blocks <MB> MB ok", or the first differing LBA; exits 1 on
//       any difference or read error.
//   udisc-blockread pingpong COUNT
//       The floor under any user-space-served block device: one byte bounced
//       COUNT times between two processes (fork) through two pipes, then
//       between two threads of one process. Prints "BENCH pingpong
//       processes <us> us per round trip" and "... threads ...". A read
//       served by a daemon costs at least one such round trip (the reader
//       wakes the server, the server wakes the reader); under TCG a switch
//       of address space (processes) flushes QEMU's software TLB.
#include <fcntl.h>
#include <sys/wait.h>
#include <linux/aio_abi.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t kSector = 2048;

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct AlignedBuffer {
  explicit AlignedBuffer(size_t size) {
    if (::posix_memalign(&data, 4096, size) != 0) data = nullptr;
  }
  ~AlignedBuffer() { std::free(data); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  uint8_t* bytes() const { return static_cast<uint8_t*>(data); }
  void* data = nullptr;
};

// xorshift64: the same random offsets on every device and every run.
struct Random {
  uint64_t x = 88172645463325252ull;
  uint64_t next() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  }
};

int open_direct(const std::string& dev) {
  const int fd = ::open(dev.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) std::fprintf(stderr, "udisc-blockread: opening %s: %s\n", dev.c_str(), std::strerror(errno));
  return fd;
}

bool read_sequential(int fd, const std::string& label, uint64_t size) {
  AlignedBuffer buf(65536);
  const auto t0 = Clock::now();
  uint64_t total = 0;
  for (uint64_t off = 0; off < size; off += 65536) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(65536, size - off));
    const ssize_t n = ::pread(fd, buf.bytes(), want, static_cast<off_t>(off));
    if (n != static_cast<ssize_t>(want)) {
      std::fprintf(stderr, "udisc-blockread: %s: 64 KiB read at byte %llu: %s\n", label.c_str(),
                   static_cast<unsigned long long>(off), n < 0 ? std::strerror(errno) : "short read");
      return false;
    }
    total += want;
  }
  const double s = seconds_since(t0);
  std::printf("BENCH %s seq-64k %.1f MB/s (%llu bytes in %.2f s)\n", label.c_str(), total / s / 1e6,
              static_cast<unsigned long long>(total), s);
  return true;
}

bool read_random_depth1(int fd, const std::string& label, uint64_t blocks, int count) {
  AlignedBuffer buf(kSector);
  Random rnd;
  const auto t0 = Clock::now();
  for (int i = 0; i < count; ++i) {
    const off_t off = static_cast<off_t>((rnd.next() % blocks) * kSector);
    if (::pread(fd, buf.bytes(), kSector, off) != static_cast<ssize_t>(kSector)) {
      std::fprintf(stderr, "udisc-blockread: %s: 2 KiB read at byte %lld failed\n", label.c_str(),
                   static_cast<long long>(off));
      return false;
    }
  }
  const double s = seconds_since(t0);
  std::printf("BENCH %s rand-2k-qd1 %.0f IOPS (%d reads in %.2f s)\n", label.c_str(), count / s, count, s);
  return true;
}

// Linux native AIO through raw system calls (no libaio in the initramfs).
long io_setup(unsigned n, aio_context_t* ctx) { return ::syscall(SYS_io_setup, n, ctx); }
long io_destroy(aio_context_t ctx) { return ::syscall(SYS_io_destroy, ctx); }
long io_submit(aio_context_t ctx, long n, iocb** cbs) { return ::syscall(SYS_io_submit, ctx, n, cbs); }
long io_getevents(aio_context_t ctx, long min, long max, io_event* ev) {
  return ::syscall(SYS_io_getevents, ctx, min, max, ev, nullptr);
}

bool read_random_depth32(int fd, const std::string& label, uint64_t blocks, int count) {
  constexpr int kDepth = 32;
  aio_context_t ctx = 0;
  if (io_setup(kDepth, &ctx) != 0) {
    std::fprintf(stderr, "udisc-blockread: io_setup: %s\n", std::strerror(errno));
    return false;
  }
  AlignedBuffer buf(kSector * kDepth);
  std::vector<iocb> cbs(kDepth);
  Random rnd;
  int submitted = 0, done = 0;
  auto submit = [&](int slot) {
    iocb& cb = cbs[static_cast<size_t>(slot)];
    std::memset(&cb, 0, sizeof cb);
    cb.aio_data = static_cast<uint64_t>(slot);
    cb.aio_lio_opcode = IOCB_CMD_PREAD;
    cb.aio_fildes = static_cast<uint32_t>(fd);
    cb.aio_buf = reinterpret_cast<uint64_t>(buf.bytes() + static_cast<size_t>(slot) * kSector);
    cb.aio_nbytes = kSector;
    cb.aio_offset = static_cast<int64_t>((rnd.next() % blocks) * kSector);
    iocb* p = &cb;
    if (io_submit(ctx, 1, &p) != 1) return false;
    ++submitted;
    return true;
  };
  bool ok = true;
  const auto t0 = Clock::now();
  for (int slot = 0; slot < kDepth && submitted < count && ok; ++slot) ok = submit(slot);
  io_event events[kDepth];
  while (ok && done < submitted) {
    const long n = io_getevents(ctx, 1, kDepth, events);
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = false;
      break;
    }
    for (long i = 0; i < n && ok; ++i) {
      if (events[i].res != static_cast<int64_t>(kSector)) {
        std::fprintf(stderr, "udisc-blockread: %s: queued 2 KiB read failed (%lld)\n", label.c_str(),
                     static_cast<long long>(events[i].res));
        ok = false;
      }
      ++done;
      if (ok && submitted < count) ok = submit(static_cast<int>(events[i].data));
    }
  }
  const double s = seconds_since(t0);
  io_destroy(ctx);
  if (!ok) {
    std::fprintf(stderr, "udisc-blockread: %s: depth-32 reads stopped after %d\n", label.c_str(), done);
    return false;
  }
  std::printf("BENCH %s rand-2k-qd32 %.0f IOPS (%d reads in %.2f s)\n", label.c_str(), count / s, count, s);
  return true;
}

int bench(const std::string& label, const std::string& dev, int count) {
  const int fd = open_direct(dev);
  if (fd < 0) return 1;
  const off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < static_cast<off_t>(kSector)) {
    std::fprintf(stderr, "udisc-blockread: %s: size %lld\n", dev.c_str(), static_cast<long long>(size));
    return 1;
  }
  const uint64_t blocks = static_cast<uint64_t>(size) / kSector;
  const bool ok = read_sequential(fd, label, static_cast<uint64_t>(size)) &&
                  read_random_depth1(fd, label, blocks, count) && read_random_depth32(fd, label, blocks, count);
  std::fflush(stdout);
  ::close(fd);
  return ok ? 0 : 1;
}

int verify(const std::string& dev, const std::string& image, double duration, int threads) {
  const int image_fd = ::open(image.c_str(), O_RDONLY | O_CLOEXEC);
  if (image_fd < 0) {
    std::fprintf(stderr, "udisc-blockread: opening %s: %s\n", image.c_str(), std::strerror(errno));
    return 1;
  }
  const off_t image_size = ::lseek(image_fd, 0, SEEK_END);
  const uint64_t blocks = static_cast<uint64_t>(image_size) / kSector;
  if (blocks == 0) return 1;
  std::atomic<uint64_t> reads{0}, read_blocks{0};
  std::atomic<bool> failed{false};
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration));
  auto reader = [&](int id) {
    const int fd = open_direct(dev);
    if (fd < 0) {
      failed = true;
      return;
    }
    constexpr uint64_t kMaxBlocks = 128;  // 256 KiB
    AlignedBuffer got(kMaxBlocks * kSector);
    std::vector<uint8_t> want(kMaxBlocks * kSector);
    Random rnd;
    rnd.x ^= static_cast<uint64_t>(id + 1) * 0x9E3779B97F4A7C15ull;
    while (!failed && Clock::now() < deadline) {
      const uint64_t lba = rnd.next() % blocks;
      const uint64_t n = std::min<uint64_t>(1 + rnd.next() % kMaxBlocks, blocks - lba);
      const size_t bytes = static_cast<size_t>(n * kSector);
      const off_t off = static_cast<off_t>(lba * kSector);
      const ssize_t r = ::pread(fd, got.bytes(), bytes, off);
      if (r != static_cast<ssize_t>(bytes)) {
        std::fprintf(stderr, "VERIFY reader %d: read of %llu blocks at LBA %llu: %s\n", id,
                     static_cast<unsigned long long>(n), static_cast<unsigned long long>(lba),
                     r < 0 ? std::strerror(errno) : "short read");
        failed = true;
        break;
      }
      if (::pread(image_fd, want.data(), bytes, off) != static_cast<ssize_t>(bytes)) {
        std::fprintf(stderr, "VERIFY reader %d: reading %s at LBA %llu failed\n", id, image.c_str(),
                     static_cast<unsigned long long>(lba));
        failed = true;
        break;
      }
      if (std::memcmp(got.bytes(), want.data(), bytes) != 0) {
        uint64_t bad = 0;
        while (std::memcmp(got.bytes() + bad * kSector, want.data() + bad * kSector, kSector) == 0) ++bad;
        std::fprintf(stderr, "VERIFY reader %d: LBA %llu differs from the image\n", id,
                     static_cast<unsigned long long>(lba + bad));
        failed = true;
        break;
      }
      reads.fetch_add(1);
      read_blocks.fetch_add(n);
    }
    ::close(fd);
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(reader, i);
  for (auto& t : pool) t.join();
  ::close(image_fd);
  if (failed) return 1;
  std::printf("VERIFY %llu reads %llu blocks %.1f MB ok (%d readers, %.0f s)\n",
              static_cast<unsigned long long>(reads.load()), static_cast<unsigned long long>(read_blocks.load()),
              static_cast<double>(read_blocks.load()) * kSector / 1e6, threads, duration);
  return reads.load() > 0 ? 0 : 1;
}

// One byte from `out` to the peer and back on `in`, COUNT times.
bool bounce(int in, int out, int count) {
  char b = 0;
  for (int i = 0; i < count; ++i)
    if (::write(out, &b, 1) != 1 || ::read(in, &b, 1) != 1) return false;
  return true;
}

bool echo(int in, int out, int count) {
  char b = 0;
  for (int i = 0; i < count; ++i)
    if (::read(in, &b, 1) != 1 || ::write(out, &b, 1) != 1) return false;
  return true;
}

int pingpong(int count) {
  for (const bool processes : {true, false}) {
    int there[2], back[2];
    if (::pipe(there) != 0 || ::pipe(back) != 0) {
      std::fprintf(stderr, "udisc-blockread: pipe: %s\n", std::strerror(errno));
      return 1;
    }
    const auto t0 = Clock::now();
    bool ok = true;
    if (processes) {
      const pid_t pid = ::fork();
      if (pid < 0) return 1;
      if (pid == 0) ::_exit(echo(there[0], back[1], count) ? 0 : 1);
      ok = bounce(back[0], there[1], count);
      int status = 0;
      ok = ::waitpid(pid, &status, 0) == pid && ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    } else {
      bool peer = false;
      std::thread t([&] { peer = echo(there[0], back[1], count); });
      ok = bounce(back[0], there[1], count);
      t.join();
      ok = ok && peer;
    }
    const double s = seconds_since(t0);
    for (int fd : {there[0], there[1], back[0], back[1]}) ::close(fd);
    if (!ok) {
      std::fprintf(stderr, "udisc-blockread: pingpong between %s failed\n", processes ? "processes" : "threads");
      return 1;
    }
    std::printf("BENCH pingpong %s %.1f us per round trip (%d in %.2f s)\n", processes ? "processes" : "threads",
                s * 1e6 / count, count, s);
  }
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: udisc-blockread bench LABEL DEV [RANDOM_READS]\n"
               "       udisc-blockread verify DEV IMAGE SECONDS THREADS\n"
               "       udisc-blockread pingpong COUNT\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 3 && args.size() <= 4 && args[0] == "bench")
    return bench(args[1], args[2], args.size() == 4 ? std::max(1, std::atoi(args[3].c_str())) : 4000);
  if (args.size() == 5 && args[0] == "verify")
    return verify(args[1], args[2], std::atof(args[3].c_str()), std::max(1, std::atoi(args[4].c_str())));
  if (args.size() == 2 && args[0] == "pingpong") return pingpong(std::max(1, std::atoi(args[1].c_str())));
  return usage();
}
