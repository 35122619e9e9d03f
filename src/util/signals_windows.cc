// Windows has no asynchronous process signals to block: console control
// events (Ctrl+C) arrive on a thread the system creates (cli/stop_signal_windows.cc).
#include "util/signals.h"

namespace udisc {

void block_process_signals_in_this_thread() {}

}  // namespace udisc
