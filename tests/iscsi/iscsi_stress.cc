// iscsi_stress: a raw-socket iSCSI initiator for end-to-end fault and load
// tests of `udisc serve`. Verifies every block it reads against the image
// file the target serves.
//
//   iscsi_stress --portal 127.0.0.1:3260 --target IQN --image FILE [--lun N]
//                [--sessions 64] [--seconds 10] [--mode random|disconnect|medium-error]
//                [--stalled K] [--depth D] [--luns L]
//
// random:       SESSIONS sessions read random LBAs (1..16 blocks, D commands
//               in flight each) for SECONDS; every block is compared with FILE.
//               K extra sessions send reads and never read the answers
//               (a stalled initiator must not slow the others).
// disconnect:   sessions start large reads and drop the connection mid-transfer,
//               over and over; then one session verifies reads still work.
// medium-error: expects READ of --bad-lba to end in CHECK CONDITION with
//               MEDIUM ERROR, and a read of LBA 0 to succeed afterwards.
// Exit status 0 only when every check passed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "transport/iscsi/pdu.h"
#include "transport/iscsi/text.h"

using namespace udisc::iscsi;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "3260";
  std::string target;
  std::string image;
  uint32_t lun = 0;
  uint32_t luns = 1;  // session i uses LUN (lun + i) % luns
  int sessions = 64;
  int seconds = 10;
  int stalled = 0;
  int depth = 4;
  std::string mode = "random";
  uint32_t bad_lba = 0;
};

std::atomic<uint64_t> g_reads{0}, g_blocks{0}, g_errors{0}, g_login_retries{0};

void fail(const std::string& m) {
  std::fprintf(stderr, "iscsi_stress: %s\n", m.c_str());
  ++g_errors;
}

class Session {
 public:
  explicit Session(const Options& o) : o_(o) {}
  ~Session() {
    if (fd_ >= 0) ::close(fd_);
  }

  // The target refuses connections beyond its cap of logins in progress per
  // address (64) by closing them; like a real initiator, try again shortly.
  bool connect_and_login(const std::string& initiator) {
    for (int attempt = 0;; ++attempt) {
      bool refused = false;
      if (try_login(initiator, refused)) return true;
      if (!refused || attempt == 50) {
        fail("login failed for " + initiator);
        return false;
      }
      ++g_login_retries;
      ::close(fd_);
      fd_ = -1;
      reader_ = PduReader{ReaderLimits{1u << 24, false, false}};
      buf_.clear();
      pos_ = 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(10 * (attempt + 1), 200)));
    }
  }

  // `refused`: the target closed the connection before answering the login.
  bool try_login(const std::string& initiator, bool& refused) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(o_.host.c_str(), o_.port.c_str(), &hints, &res) != 0) return false;
    fd_ = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool ok = fd_ >= 0 && ::connect(fd_, res->ai_addr, res->ai_addrlen) == 0;
    freeaddrinfo(res);
    refused = !ok;
    if (!ok) return false;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Pdu p;
    p.bhs[0] = 0x43;
    p.bhs[1] = 0x80 | 1 << 2 | 3;
    std::memcpy(&p.bhs[8], "\x80\x00\x00\x00", 4);
    put_be16(&p.bhs[12], static_cast<uint16_t>(std::hash<std::string>{}(initiator)));
    put_be32(&p.bhs[16], itt_++);
    put_be32(&p.bhs[24], cmdsn_);
    p.data = render_text({{"InitiatorName", initiator},
                          {"SessionType", "Normal"},
                          {"TargetName", o_.target},
                          {"HeaderDigest", "None"},
                          {"DataDigest", "None"},
                          {"MaxRecvDataSegmentLength", "65536"},
                          {"MaxBurstLength", "262144"}});
    put_be24(&p.bhs[5], static_cast<uint32_t>(p.data.size()));
    Pdu r;
    if (!send_pdu(p) || !recv_pdu(r)) {
      refused = true;
      return false;
    }
    if (r.opcode() != Opcode::login_response || r.bhs[36] != 0 || (r.flags() & 0x80) == 0) return false;
    stat_sn_ = r.u32(24) + 1;
    return true;
  }

  uint32_t send_read(uint32_t lba, uint16_t blocks) {
    Pdu p;
    p.bhs[0] = 0x01;
    p.bhs[1] = 0x80 | 0x40 | 1;
    encode_lun(&p.bhs[8], o_.lun);
    const uint32_t itt = itt_++;
    put_be32(&p.bhs[16], itt);
    put_be32(&p.bhs[20], blocks * 2048u);
    put_be32(&p.bhs[24], cmdsn_++);
    put_be32(&p.bhs[28], stat_sn_);
    p.bhs[32] = 0x28;
    put_be32(&p.bhs[34], lba);
    put_be16(&p.bhs[39], blocks);
    if (!send_pdu(p)) return 0;
    return itt;
  }

  // Collects one command's answer: data and status.
  struct Result {
    std::vector<uint8_t> data;
    uint8_t status = 0xff;
    std::vector<uint8_t> sense;
  };
  bool collect(std::map<uint32_t, Result>& results, uint32_t& done_itt) {
    for (;;) {
      Pdu r;
      if (!recv_pdu(r)) return false;
      if (r.opcode() == Opcode::nop_in && r.itt() == 0xffffffff) {
        Pdu a;
        a.bhs[0] = 0x40;
        a.bhs[1] = 0x80;
        put_be32(&a.bhs[16], 0xffffffff);
        std::memcpy(&a.bhs[20], &r.bhs[20], 4);
        put_be32(&a.bhs[24], cmdsn_);
        if (!send_pdu(a)) return false;
        continue;
      }
      if (r.opcode() == Opcode::async_message) continue;
      Result& res = results[r.itt()];
      if (r.opcode() == Opcode::data_in) {
        const uint32_t off = r.u32(40);
        if (res.data.size() < off + r.data.size()) res.data.resize(off + r.data.size());
        std::memcpy(res.data.data() + off, r.data.data(), r.data.size());
        if (r.flags() & 0x01) {
          res.status = r.bhs[3];
          done_itt = r.itt();
          return true;
        }
        continue;
      }
      if (r.opcode() == Opcode::scsi_response) {
        res.status = r.bhs[3];
        if (r.data.size() >= 2) res.sense.assign(r.data.begin() + 2, r.data.end());
        done_itt = r.itt();
        return true;
      }
      fail("unexpected PDU opcode " + std::to_string(static_cast<int>(r.opcode())));
      return false;
    }
  }

  bool send_pdu(const Pdu& p) {
    auto bytes = serialize(p, false, false);
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  bool recv_pdu(Pdu& out) {
    for (;;) {
      if (pos_ < buf_.size()) {
        bool complete = false;
        udisc::Status err;
        pos_ += reader_.feed(std::span<const uint8_t>(buf_).subspan(pos_), complete, err);
        if (!err.ok()) return false;
        if (complete) {
          out = reader_.take();
          return true;
        }
      }
      buf_.resize(256 * 1024);
      const ssize_t n = ::recv(fd_, buf_.data(), buf_.size(), 0);
      if (n <= 0) return false;
      buf_.resize(static_cast<size_t>(n));
      pos_ = 0;
    }
  }
  int fd() const { return fd_; }

 private:
  const Options& o_;
  int fd_ = -1;
  uint32_t itt_ = 1;
  uint32_t cmdsn_ = 1;
  uint32_t stat_sn_ = 0;
  PduReader reader_{ReaderLimits{1u << 24, false, false}};
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
};

bool verify(int image_fd, uint32_t lba, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> want(data.size());
  if (pread(image_fd, want.data(), want.size(), off_t{lba} * 2048) != static_cast<ssize_t>(want.size())) return false;
  return want == data;
}

void random_reader(const Options& o, int index, uint64_t blocks_total, std::chrono::steady_clock::time_point end) {
  const int image_fd = ::open(o.image.c_str(), O_RDONLY | O_CLOEXEC);
  Options mine = o;
  mine.lun = (o.lun + static_cast<uint32_t>(index)) % std::max(1u, o.luns);
  Session s(mine);
  if (!s.connect_and_login("iqn.2025-01.org.udisc:stress-" + std::to_string(index))) {
    fail("session " + std::to_string(index) + ": connect/login failed");
    ::close(image_fd);
    return;
  }
  std::mt19937_64 rng(static_cast<uint64_t>(index) * 7919 + 1);
  std::map<uint32_t, std::pair<uint32_t, uint16_t>> inflight;
  std::map<uint32_t, Session::Result> results;
  while (std::chrono::steady_clock::now() < end || !inflight.empty()) {
    while (std::chrono::steady_clock::now() < end && inflight.size() < static_cast<size_t>(o.depth)) {
      const uint16_t count = static_cast<uint16_t>(1 + rng() % 16);
      const uint32_t lba = static_cast<uint32_t>(rng() % (blocks_total - count));
      const uint32_t itt = s.send_read(lba, count);
      if (itt == 0) {
        fail("session " + std::to_string(index) + ": send failed");
        ::close(image_fd);
        return;
      }
      inflight[itt] = {lba, count};
    }
    uint32_t done = 0;
    if (!s.collect(results, done)) {
      fail("session " + std::to_string(index) + ": connection lost");
      break;
    }
    auto it = inflight.find(done);
    if (it == inflight.end()) {
      fail("answer for unknown ITT");
      break;
    }
    const auto [lba, count] = it->second;
    const auto& res = results[done];
    if (res.status == 0x02 && res.sense.size() >= 14 && (res.sense[2] & 0x0f) == 0x06) {
      // UNIT ATTENTION (power on / reset for a new nexus): read again.
      results.erase(done);
      inflight.erase(it);
      continue;
    }
    if (res.status != 0 || res.data.size() != count * 2048u || !verify(image_fd, lba, res.data)) {
      fail("session " + std::to_string(index) + ": READ(10) LBA " + std::to_string(lba) + " x" + std::to_string(count) +
           " status " + std::to_string(res.status) + " bytes " + std::to_string(res.data.size()) + ": data mismatch");
    }
    g_reads++;
    g_blocks += count;
    results.erase(done);
    inflight.erase(it);
  }
  ::close(image_fd);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--portal") {
      const size_t c = v.rfind(':');
      o.host = v.substr(0, c);
      o.port = v.substr(c + 1);
    } else if (k == "--target") o.target = v;
    else if (k == "--image") o.image = v;
    else if (k == "--lun") o.lun = static_cast<uint32_t>(std::stoul(v));
    else if (k == "--luns") o.luns = static_cast<uint32_t>(std::stoul(v));
    else if (k == "--sessions") o.sessions = std::stoi(v);
    else if (k == "--seconds") o.seconds = std::stoi(v);
    else if (k == "--stalled") o.stalled = std::stoi(v);
    else if (k == "--depth") o.depth = std::stoi(v);
    else if (k == "--mode") o.mode = v;
    else if (k == "--bad-lba") o.bad_lba = static_cast<uint32_t>(std::stoul(v));
    else {
      std::fprintf(stderr, "iscsi_stress: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.target.empty() || o.image.empty()) {
    std::fprintf(stderr, "usage: iscsi_stress --portal H:P --target IQN --image FILE [--mode random|disconnect|medium-error]\n");
    return 2;
  }
  const int image_fd = ::open(o.image.c_str(), O_RDONLY | O_CLOEXEC);
  if (image_fd < 0) {
    std::perror(o.image.c_str());
    return 2;
  }
  const uint64_t blocks_total = static_cast<uint64_t>(lseek(image_fd, 0, SEEK_END)) / 2048;
  const auto start = std::chrono::steady_clock::now();

  if (o.mode == "random") {
    // Stalled initiators: queue big reads, never read the answers.
    std::vector<std::unique_ptr<Session>> stalled;
    for (int i = 0; i < o.stalled; ++i) {
      auto s = std::make_unique<Session>(o);
      if (!s->connect_and_login("iqn.2025-01.org.udisc:stalled-" + std::to_string(i))) {
        fail("stalled session login failed");
        continue;
      }
      int small = 4096;
      setsockopt(s->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
      for (int k = 0; k < 64; ++k) s->send_read(static_cast<uint32_t>(k * 64 % (blocks_total - 64)), 64);
      stalled.push_back(std::move(s));
    }
    const auto end = start + std::chrono::seconds(o.seconds);
    std::vector<std::thread> threads;
    for (int i = 0; i < o.sessions; ++i) threads.emplace_back(random_reader, std::cref(o), i, blocks_total, end);
    for (auto& t : threads) t.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("iscsi_stress: %d sessions (+%d stalled), %llu reads, %llu blocks verified in %.1f s (%.0f reads/s), %llu errors, "
                "%llu logins retried\n",
                o.sessions, o.stalled, static_cast<unsigned long long>(g_reads.load()),
                static_cast<unsigned long long>(g_blocks.load()), secs, g_reads.load() / secs,
                static_cast<unsigned long long>(g_errors.load()), static_cast<unsigned long long>(g_login_retries.load()));
    if (g_reads.load() < static_cast<uint64_t>(o.sessions)) fail("fewer reads than sessions: some session made no progress");
  } else if (o.mode == "disconnect") {
    std::vector<std::thread> threads;
    for (int i = 0; i < o.sessions; ++i) {
      threads.emplace_back([&o, i, blocks_total] {
        for (int round = 0; round < 5; ++round) {
          Session s(o);
          if (!s.connect_and_login("iqn.2025-01.org.udisc:drop-" + std::to_string(i))) {
            fail("disconnect session login failed");
            return;
          }
          for (int k = 0; k < 8; ++k) s.send_read(static_cast<uint32_t>((i * 977 + k * 256) % (blocks_total - 512)), 512);
          char some[8192];
          [[maybe_unused]] ssize_t n = ::recv(s.fd(), some, sizeof some, 0);
          linger lg{1, 0};  // RST: drop the connection mid-transfer
          setsockopt(s.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
      });
    }
    for (auto& t : threads) t.join();
    // The target must still serve correct data.
    random_reader(o, 9999, blocks_total, std::chrono::steady_clock::now() + std::chrono::seconds(2));
    std::printf("iscsi_stress: %d x 5 connections dropped mid-transfer; afterwards %llu verified reads, %llu errors\n",
                o.sessions, static_cast<unsigned long long>(g_reads.load()), static_cast<unsigned long long>(g_errors.load()));
    if (g_reads.load() == 0) fail("no reads after the disconnects");
  } else if (o.mode == "medium-error") {
    Session s(o);
    if (!s.connect_and_login("iqn.2025-01.org.udisc:medium")) return 1;
    std::map<uint32_t, Session::Result> results;
    uint32_t done = 0;
    // Clear any unit attention first.
    for (int i = 0; i < 3; ++i) {
      s.send_read(0, 1);
      if (!s.collect(results, done)) return 1;
      if (results[done].status == 0) break;
    }
    s.send_read(o.bad_lba, 1);
    if (!s.collect(results, done)) {
      fail("connection lost on the unreadable sector");
      return 1;
    }
    const auto& bad = results[done];
    if (bad.status != 0x02 || bad.sense.size() < 14 || (bad.sense[2] & 0x0f) != 0x03) {
      fail("READ(10) of unreadable LBA " + std::to_string(o.bad_lba) + ": expected CHECK CONDITION / MEDIUM ERROR, got status " +
           std::to_string(bad.status) + (bad.sense.size() >= 14 ? " sense key " + std::to_string(bad.sense[2] & 0x0f) : ""));
    } else {
      std::printf("iscsi_stress: LBA %u -> CHECK CONDITION, sense %02x/%02x/%02x\n", o.bad_lba, bad.sense[2] & 0x0f,
                  bad.sense[12], bad.sense[13]);
    }
    s.send_read(0, 1);
    if (!s.collect(results, done) || results[done].status != 0 || !verify(image_fd, 0, results[done].data)) {
      fail("LBA 0 not readable after the medium error");
    } else {
      std::printf("iscsi_stress: LBA 0 still reads correctly\n");
    }
  } else {
    std::fprintf(stderr, "iscsi_stress: unknown mode %s\n", o.mode.c_str());
    return 2;
  }
  ::close(image_fd);
  return g_errors.load() == 0 ? 0 : 1;
}
