// raise_descriptor_limit on Windows: nothing to raise. Winsock sockets and
// file handles are kernel handles, not C runtime descriptors, and Windows has
// no adjustable per-process limit on them (a process may hold about 2^24
// handles), so the servers' own caps are the only limits that apply.
#include "util/process_limits.h"

namespace udisc {

Result<uint64_t> raise_descriptor_limit() { return uint64_t{1} << 24; }

}  // namespace udisc
