#include "util/signals.h"

#include <pthread.h>
#include <signal.h>

#include <initializer_list>

namespace udisc {

void block_process_signals_in_this_thread() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace udisc
