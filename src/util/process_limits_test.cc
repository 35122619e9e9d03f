#include "util/process_limits.h"

#include <sys/resource.h>

#include <gtest/gtest.h>

namespace udisc {
namespace {

TEST(ProcessLimits, RaisesSoftToHard) {
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  // Start from a lowered soft limit so the raise is observable.
  rlimit lowered = before;
  lowered.rlim_cur = before.rlim_max > 256 ? 256 : before.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);

  auto raised = raise_descriptor_limit();
  ASSERT_TRUE(raised.ok()) << raised.status().message();
  EXPECT_EQ(*raised, static_cast<uint64_t>(before.rlim_max));
  rlimit after{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_max);

  // A second call changes nothing.
  auto again = raise_descriptor_limit();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *raised);
}

}  // namespace
}  // namespace udisc
