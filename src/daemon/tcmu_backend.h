// The TCMU backend: each drive becomes a /dev/srN of the local kernel
// (target_core_user + tcm_loop; see transport/tcmu/tcmu.h). Drive N is the
// configfs device "udisc_N", so a restarted daemon finds and adopts it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "daemon/backend.h"
#include "transport/tcmu/tcmu.h"

namespace udisc::daemon {

// `base` supplies configfs_root, hba_index, timeouts and load_modules; the
// name, WWN and initiator are set per drive. `log` (optional) hears what
// recovery did (devices taken over, stale ones removed).
std::unique_ptr<Backend> make_tcmu_backend(tcmu::TcmuConfig base = {},
                                           std::function<void(const std::string&)> log = nullptr);

// The plain-words explanation of what this machine lacks for local drives
// (tcmu::check_kernel_support), as `udisc doctor` and `udisc mount` print it.
std::string explain_kernel_support(const tcmu::KernelSupport& ks);

}  // namespace udisc::daemon
