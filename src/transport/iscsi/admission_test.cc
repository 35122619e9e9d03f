#include "transport/iscsi/admission.h"

#include <gtest/gtest.h>

namespace udisc::iscsi {
namespace {

using Clock = Admission::Clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

AdmissionLimits small() {
  AdmissionLimits l;
  l.max_pending = 8;
  l.max_pending_per_address = 3;
  l.auth_failures_before_throttle = 3;
  l.auth_failure_window = seconds(60);
  l.throttle_base = milliseconds(1000);
  l.throttle_max = milliseconds(4000);
  l.max_tracked_addresses = 16;
  return l;
}

TEST(Admission, CapsPendingConnectionsPerAddress) {
  Admission a(small());
  const auto now = Clock::now();
  std::vector<Admission::Ticket> t;
  for (int i = 0; i < 3; ++i) {
    auto d = a.admit("10.0.0.1", 0, now);
    ASSERT_NE(d.ticket, 0u) << i;
    t.push_back(d.ticket);
  }
  auto refused = a.admit("10.0.0.1", 0, now);
  EXPECT_EQ(refused.ticket, 0u);
  EXPECT_NE(refused.refusal.find("3 connections from this address"), std::string::npos) << refused.refusal;
  EXPECT_NE(a.admit("10.0.0.2", 0, now).ticket, 0u) << "another address is not affected";
  // Finishing login or closing frees the slot.
  a.logged_in(t[0]);
  EXPECT_EQ(a.pending_from("10.0.0.1"), 2u);
  EXPECT_NE(a.admit("10.0.0.1", 0, now).ticket, 0u);
  a.closed(t[1]);
  a.closed(t[1]);  // twice: ignored
  a.closed(t[0]);  // after login: ignored
  EXPECT_EQ(a.pending_from("10.0.0.1"), 2u);
  EXPECT_EQ(a.pending(), 3u);
}

TEST(Admission, FullTableEvictsTheBusiestAddressOldestFirst) {
  AdmissionLimits limits = small();
  limits.max_pending_per_address = 4;
  Admission a(limits);
  const auto now = Clock::now();
  std::vector<Admission::Ticket> flood;
  // 3 addresses x 3 would be 9 > 8: the table fills at 8.
  for (int addr = 1; addr <= 3; ++addr) {
    for (int i = 0; i < 3 && a.pending() < 8; ++i) {
      auto d = a.admit("10.0.0." + std::to_string(addr), static_cast<unsigned>(addr), now);
      ASSERT_NE(d.ticket, 0u);
      ASSERT_FALSE(d.evicted);
      flood.push_back(d.ticket);
    }
  }
  ASSERT_EQ(a.pending(), 8u);
  // A newcomer with nothing pending gets in; the oldest connection of a busiest
  // address (10.0.0.1, 3 pending, oldest ticket) goes.
  auto d = a.admit("192.168.1.9", 7, now);
  ASSERT_NE(d.ticket, 0u) << d.refusal;
  ASSERT_TRUE(d.evicted);
  EXPECT_EQ(d.evicted->ticket, flood[0]);
  EXPECT_EQ(d.evicted->owner, 1u);
  EXPECT_EQ(a.pending(), 8u);
  EXPECT_EQ(a.pending_from("10.0.0.1"), 2u);
  EXPECT_EQ(a.take_evicted(1), std::vector<Admission::Ticket>{flood[0]});
  EXPECT_TRUE(a.take_evicted(1).empty()) << "each eviction is reported once";
  a.closed(flood[0]);  // the owner closing it later changes nothing
  EXPECT_EQ(a.pending(), 8u);
  // An address already holding as many as the busiest one (10.0.0.2, 3) is
  // refused instead.
  auto busy = a.admit("10.0.0.2", 2, now);
  EXPECT_EQ(busy.ticket, 0u);
  EXPECT_NE(busy.refusal.find("8 connections have not finished login"), std::string::npos) << busy.refusal;
}

TEST(Admission, ThrottlesAddressesWithFailedChapLogins) {
  AdmissionLimits limits = small();
  limits.max_pending = limits.max_pending_per_address = 100;  // only the throttle matters here
  Admission a(limits);
  auto now = Clock::now();
  a.auth_failed("10.0.0.1", now);
  a.auth_failed("10.0.0.1", now);
  EXPECT_NE(a.admit("10.0.0.1", 0, now).ticket, 0u) << "below the threshold";
  a.auth_failed("10.0.0.1", now);  // 3rd: blocked 1 s
  auto d = a.admit("10.0.0.1", 0, now + milliseconds(500));
  EXPECT_EQ(d.ticket, 0u);
  EXPECT_NE(d.refusal.find("3 failed CHAP logins"), std::string::npos) << d.refusal;
  EXPECT_NE(a.admit("10.0.0.2", 0, now).ticket, 0u) << "other addresses unaffected";
  EXPECT_NE(a.admit("10.0.0.1", 0, now + milliseconds(1000)).ticket, 0u) << "block ends";
  // Each further failure doubles the block, up to throttle_max.
  now += milliseconds(1000);
  a.auth_failed("10.0.0.1", now);  // 4th: 2 s
  EXPECT_EQ(a.admit("10.0.0.1", 0, now + milliseconds(1999)).ticket, 0u);
  EXPECT_NE(a.admit("10.0.0.1", 0, now + milliseconds(2000)).ticket, 0u);
  for (int i = 0; i < 10; ++i) a.auth_failed("10.0.0.1", now);
  EXPECT_EQ(a.admit("10.0.0.1", 0, now + milliseconds(3999)).ticket, 0u);
  EXPECT_NE(a.admit("10.0.0.1", 0, now + milliseconds(4000)).ticket, 0u) << "capped at throttle_max";
  // Failures older than the window are forgotten.
  const auto later = now + seconds(120);
  a.auth_failed("10.0.0.1", later);
  EXPECT_NE(a.admit("10.0.0.1", 0, later).ticket, 0u);
}

TEST(Admission, RemembersABoundedNumberOfAddresses) {
  Admission a(small());
  const auto now = Clock::now();
  for (int i = 0; i < 1000; ++i) a.auth_failed("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256), now);
  // Only the table's bound is kept; the newest address is among them.
  for (int k = 0; k < 3; ++k) a.auth_failed("10.9.9.9", now);
  EXPECT_EQ(a.admit("10.9.9.9", 0, now).ticket, 0u);
}

TEST(Admission, DescriptorLimitScalesThePendingCap) {
  EXPECT_EQ(AdmissionLimits::for_descriptor_limit(1024).max_pending, 512u);
  EXPECT_EQ(AdmissionLimits::for_descriptor_limit(256).max_pending, 128u);
  EXPECT_EQ(AdmissionLimits::for_descriptor_limit(256).max_pending_per_address, 64u);
  EXPECT_EQ(AdmissionLimits::for_descriptor_limit(1u << 20).max_pending, AdmissionLimits{}.max_pending);
  EXPECT_EQ(AdmissionLimits::for_descriptor_limit(20).max_pending_per_address, 16u);
}

TEST(Admission, AcceptPauseAfterRunningOutOfDescriptors) {
  Admission a(small());
  const auto now = Clock::now();
  EXPECT_EQ(a.accept_resume(now), now + milliseconds(100));
}

TEST(RateLimiter, LogsAFewPerWindowThenCountsTheRest) {
  RateLimiter r(5, seconds(10));
  const auto now = Clock::now();
  uint64_t suppressed = 0;
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += r.allow(now + milliseconds(i), suppressed) ? 1 : 0;
  EXPECT_EQ(allowed, 5);
  EXPECT_EQ(suppressed, 0u);
  EXPECT_TRUE(r.allow(now + seconds(11), suppressed));
  EXPECT_EQ(suppressed, 95u) << "the next window reports what the last one dropped";
  EXPECT_TRUE(r.allow(now + seconds(30), suppressed));
  EXPECT_EQ(suppressed, 0u);
}

}  // namespace
}  // namespace udisc::iscsi
