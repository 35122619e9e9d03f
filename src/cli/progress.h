// A progress bar on stderr, drawn only when stderr is a terminal and at most
// ten times a second. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace udisc::cli {

class Progress {
 public:
  Progress(std::string label, uint64_t total);
  ~Progress();  // clears the bar
  void update(uint64_t done);
  // Erases the bar (it is redrawn by the next update); call before printing.
  void clear();
  bool active() const { return active_; }

 private:
  void draw(uint64_t done);
  std::string label_;
  uint64_t total_;
  bool active_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace udisc::cli
