// POSIX: RLIMIT_NOFILE, soft limit raised to the hard limit.
#include "util/process_limits.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace udisc {

Result<uint64_t> raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return Status::IoError(std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      return Status::IoError(std::string("setrlimit(RLIMIT_NOFILE, ") + std::to_string(limit.rlim_max) +
                             "): " + std::strerror(errno));
    }
    limit = raised;
  }
  return static_cast<uint64_t>(limit.rlim_cur);
}

}  // namespace udisc
