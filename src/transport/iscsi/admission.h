// Admission: which new TCP connections the iSCSI target takes, and when it
// stops accepting for a while. Anyone who can reach the port can connect
// before authenticating, so everything a connection costs before login (a
// descriptor, a Connection, a login-sized buffer) is capped here:
//
//   - connections that have not finished login ("pending"): at most
//     max_pending in all and max_pending_per_address from one address.
//     When the total is full, a newcomer from an address holding fewer
//     pending connections than the busiest address is admitted by evicting
//     the busiest address's oldest pending connection, so one flood (or a
//     flood spread over a few addresses) cannot lock out everyone else.
//   - failed CHAP logins: after auth_failures_before_throttle failures from
//     one address within auth_failure_window, that address's new
//     connections are refused for throttle_base, doubling with every
//     further failure up to throttle_max (password guessing becomes slow).
//   - accept() failing for lack of descriptors (EMFILE/ENFILE): the caller
//     stops polling its listener until accept_resume(), instead of spinning
//     on a listener that stays readable.
//
// Log lines about all of these go through RateLimiter so that a flood
// cannot flood the log as well.
//
// Socket-free and OS-free: the event loops (server.cc with epoll,
// server_windows.cc with Winsock) call it with the peer's address text and
// do the socket work themselves. Thread safety: every method may be called
// from any thread (one mutex); RateLimiter likewise.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace udisc::iscsi {

struct AdmissionLimits {
  size_t max_pending = 512;
  size_t max_pending_per_address = 64;
  unsigned auth_failures_before_throttle = 5;
  std::chrono::seconds auth_failure_window{60};
  std::chrono::milliseconds throttle_base{1000};
  std::chrono::milliseconds throttle_max{60000};
  std::chrono::milliseconds accept_pause{100};
  // Addresses remembered for throttling; beyond it the stalest is forgotten.
  size_t max_tracked_addresses = 4096;

  // Defaults scaled to a process that may hold `descriptors` open files:
  // pending connections take at most half of them, so logged-in sessions,
  // image files and the listener keep the rest.
  static AdmissionLimits for_descriptor_limit(uint64_t descriptors);
};

// At most `per_window` events are logged per `window`; the rest are counted
// and reported in one summary line when the next window starts.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  RateLimiter(int per_window, Clock::duration window) : per_window_(per_window), window_(window) {}
  // True when this event may be logged. When a window with suppressed events
  // has ended, `suppressed` receives their number (else 0).
  bool allow(Clock::time_point now, uint64_t& suppressed);

 private:
  std::mutex mu_;
  const int per_window_;
  const Clock::duration window_;
  Clock::time_point window_start_{};
  bool started_ = false;
  int in_window_ = 0;
  uint64_t suppressed_ = 0;
};

class Admission {
 public:
  using Clock = std::chrono::steady_clock;
  using Ticket = uint64_t;  // identifies one admitted connection; 0 = none

  struct Eviction {
    Ticket ticket = 0;
    unsigned owner = 0;  // the event loop holding that connection
  };
  struct Decision {
    Ticket ticket = 0;               // admitted (as pending) when nonzero
    std::string refusal;             // why not, for the log, when ticket == 0
    std::optional<Eviction> evicted;  // admitted by dropping this connection
  };

  explicit Admission(AdmissionLimits limits = {}) : limits_(limits) {}
  const AdmissionLimits& limits() const { return limits_; }

  // A connection from `address` was accepted by event loop `owner`.
  Decision admit(const std::string& address, unsigned owner, Clock::time_point now);
  // The connection finished login: it no longer counts as pending.
  void logged_in(Ticket ticket);
  // The connection is gone (any state). Unknown or evicted tickets are ignored.
  void closed(Ticket ticket);
  // A CHAP response from `address` was wrong.
  void auth_failed(const std::string& address, Clock::time_point now);
  // Tickets of `owner`'s connections evicted by admit() on any loop; the
  // owner closes them. Each is returned once.
  std::vector<Ticket> take_evicted(unsigned owner);

  // accept() failed for lack of descriptors: poll the listener again at the
  // returned time.
  Clock::time_point accept_resume(Clock::time_point now) const { return now + limits_.accept_pause; }

  size_t pending() const;
  size_t pending_from(const std::string& address) const;

 private:
  struct Pending {
    std::string address;
    unsigned owner = 0;
  };
  struct Peer {
    std::set<Ticket> pending;  // oldest first (tickets only grow)
    unsigned failures = 0;     // within the window ending at last_failure + window
    Clock::time_point last_failure{};
    Clock::time_point blocked_until{};
  };
  Peer& peer(const std::string& address, Clock::time_point now);
  void forget_if_idle(const std::string& address, Clock::time_point now);
  bool stale(const Peer& p, Clock::time_point now) const;

  const AdmissionLimits limits_;
  mutable std::mutex mu_;
  Ticket next_ = 1;
  std::map<Ticket, Pending> pending_;
  std::unordered_map<std::string, Peer> peers_;
  std::unordered_map<unsigned, std::vector<Ticket>> evicted_;
};

}  // namespace udisc::iscsi
