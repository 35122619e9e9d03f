#include "transport/iscsi/admission.h"

#include <algorithm>

namespace udisc::iscsi {

AdmissionLimits AdmissionLimits::for_descriptor_limit(uint64_t descriptors) {
  AdmissionLimits limits;
  const uint64_t half = std::max<uint64_t>(descriptors / 2, 16);
  limits.max_pending = static_cast<size_t>(std::min<uint64_t>(limits.max_pending, half));
  limits.max_pending_per_address = std::min(limits.max_pending_per_address, limits.max_pending);
  return limits;
}

bool RateLimiter::allow(Clock::time_point now, uint64_t& suppressed) {
  std::lock_guard lock(mu_);
  suppressed = 0;
  if (!started_ || now - window_start_ >= window_) {
    suppressed = suppressed_;
    started_ = true;
    window_start_ = now;
    in_window_ = 0;
    suppressed_ = 0;
  }
  if (in_window_ < per_window_) {
    ++in_window_;
    return true;
  }
  ++suppressed_;
  return false;
}

bool Admission::stale(const Peer& p, Clock::time_point now) const {
  return p.pending.empty() && now >= p.blocked_until && now - p.last_failure >= limits_.auth_failure_window;
}

Admission::Peer& Admission::peer(const std::string& address, Clock::time_point now) {
  auto it = peers_.find(address);
  if (it != peers_.end()) return it->second;
  if (peers_.size() >= limits_.max_tracked_addresses) {
    // Forget the address whose last failure is oldest among those with no
    // pending connection (those with pending ones are bounded by max_pending).
    auto victim = peers_.end();
    for (auto p = peers_.begin(); p != peers_.end(); ++p) {
      if (!p->second.pending.empty()) continue;
      if (stale(p->second, now)) {
        victim = p;
        break;
      }
      if (victim == peers_.end() || p->second.last_failure < victim->second.last_failure) victim = p;
    }
    if (victim != peers_.end()) peers_.erase(victim);
  }
  return peers_[address];
}

void Admission::forget_if_idle(const std::string& address, Clock::time_point now) {
  auto it = peers_.find(address);
  if (it != peers_.end() && stale(it->second, now)) peers_.erase(it);
}

Admission::Decision Admission::admit(const std::string& address, unsigned owner, Clock::time_point now) {
  std::lock_guard lock(mu_);
  Decision d;
  auto known = peers_.find(address);
  if (known != peers_.end()) {
    const Peer& p = known->second;
    if (now < p.blocked_until) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(p.blocked_until - now).count();
      d.refusal = std::to_string(p.failures) + " failed CHAP logins; refused for another " + std::to_string(left) + " ms";
      return d;
    }
    if (p.pending.size() >= limits_.max_pending_per_address) {
      d.refusal = std::to_string(p.pending.size()) + " connections from this address have not finished login";
      return d;
    }
  }
  if (pending_.size() >= limits_.max_pending) {
    // Full: make room by dropping the oldest pending connection of the
    // address that holds the most, unless the newcomer's address is that one.
    const size_t mine = known == peers_.end() ? 0 : known->second.pending.size();
    // Ties go to the address whose oldest pending connection is oldest, so a
    // newcomer that just got in is the last to be dropped.
    const Peer* busiest = nullptr;
    for (const auto& [a, p] : peers_) {
      if (p.pending.empty()) continue;
      if (busiest == nullptr || p.pending.size() > busiest->pending.size() ||
          (p.pending.size() == busiest->pending.size() && *p.pending.begin() < *busiest->pending.begin())) {
        busiest = &p;
      }
    }
    if (busiest == nullptr || busiest->pending.size() <= mine) {
      d.refusal = std::to_string(pending_.size()) + " connections have not finished login";
      return d;
    }
    const Ticket victim = *busiest->pending.begin();
    auto v = pending_.find(victim);
    d.evicted = Eviction{victim, v->second.owner};
    evicted_[v->second.owner].push_back(victim);
    const std::string victim_address = v->second.address;
    peers_[victim_address].pending.erase(victim);
    pending_.erase(v);
    forget_if_idle(victim_address, now);
  }
  d.ticket = next_++;
  pending_.emplace(d.ticket, Pending{address, owner});
  peer(address, now).pending.insert(d.ticket);
  return d;
}

void Admission::logged_in(Ticket ticket) {
  closed(ticket);
}

void Admission::closed(Ticket ticket) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(ticket);
  if (it == pending_.end()) return;
  auto p = peers_.find(it->second.address);
  if (p != peers_.end()) {
    p->second.pending.erase(ticket);
    if (p->second.pending.empty() && p->second.failures == 0) peers_.erase(p);
  }
  pending_.erase(it);
}

void Admission::auth_failed(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mu_);
  Peer& p = peer(address, now);
  if (p.failures > 0 && now - p.last_failure >= limits_.auth_failure_window) p.failures = 0;
  ++p.failures;
  p.last_failure = now;
  if (p.failures >= limits_.auth_failures_before_throttle) {
    const unsigned doublings = std::min(p.failures - limits_.auth_failures_before_throttle, 16u);
    const auto block = std::min<std::chrono::milliseconds>(limits_.throttle_base * (1ll << doublings), limits_.throttle_max);
    p.blocked_until = now + block;
  }
}

std::vector<Admission::Ticket> Admission::take_evicted(unsigned owner) {
  std::lock_guard lock(mu_);
  std::vector<Ticket> out;
  auto it = evicted_.find(owner);
  if (it != evicted_.end()) out.swap(it->second);
  return out;
}

size_t Admission::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

size_t Admission::pending_from(const std::string& address) const {
  std::lock_guard lock(mu_);
  auto it = peers_.find(address);
  return it == peers_.end() ? 0 : it->second.pending.size();
}

}  // namespace udisc::iscsi
