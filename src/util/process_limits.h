// Process-wide limits a long-running server adjusts at start.
//
// Servers that accept connections or descriptors from other users (the
// daemon, `udisc serve`) raise their descriptor limit once, before serving,
// so that a client holding many descriptors meets the server's own caps
// (which are counted and tested) rather than the process limit. The build
// picks the implementation per operating system (process_limits_posix.cc).
#pragma once

#include <cstdint>

#include "util/status.h"

namespace udisc {

// Raises the soft limit on open descriptors to the hard limit and returns the
// limit now in force. Never lowers it. IoError naming the call on failure.
Result<uint64_t> raise_descriptor_limit();

}  // namespace udisc
