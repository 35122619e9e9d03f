// Signals and background threads.
//
// A program that takes its signals synchronously (sigwait in one thread, as
// `udisc serve` and the daemon do) needs every other thread to block them, or
// the kernel may deliver SIGINT to a thread that does not wait for it and the
// default action ends the process. Threads that libraries start on their own
// (read-ahead workers, ...) call this first.
#pragma once

namespace udisc {

// Blocks the asynchronous process signals (SIGINT, SIGTERM, SIGHUP, SIGQUIT,
// SIGUSR1, SIGUSR2) in the calling thread.
void block_process_signals_in_this_thread();

}  // namespace udisc
