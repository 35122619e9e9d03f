#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "cli/stop_signal.h"

namespace udisc::cli {
namespace {

sigset_t stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

// Signals are taken synchronously by the waiting thread; threads started
// afterwards inherit the mask and never see them.
StopSignal::StopSignal() {
  const sigset_t signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

StopSignal::~StopSignal() = default;

std::string StopSignal::wait() {
  const sigset_t signals = stop_signals();
  int sig = 0;
  sigwait(&signals, &sig);
  return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

const char* StopSignal::description() { return "SIGINT/SIGTERM"; }

std::string host_name() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace udisc::cli
