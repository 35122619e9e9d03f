// Test helpers for the cue reader tests: a temporary folder and file writers.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace udisc::formats::testing {

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "udisc-cue-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) std::abort();
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  void write(const std::string& name, const std::vector<uint8_t>& bytes) const {
    std::ofstream out(file(name), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << file(name);
  }
  void write_text(const std::string& name, const std::string& text) const {
    write(name, std::vector<uint8_t>(text.begin(), text.end()));
  }

 private:
  std::string path_;
};

// Runs a shell command, returning its stdout and stderr; the exit status
// (as pclose returns it) in *status when given.
inline std::string run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = ::pclose(p);
  if (status != nullptr) *status = rc;
  return out;
}

// `s` single-quoted for the shell (file names here contain spaces, never quotes).
inline std::string q(const std::string& s) { return "'" + s + "'"; }

// Deterministic 16-bit stereo PCM: sample frame n, channel c.
inline int16_t test_sample(uint64_t n, int c) {
  return static_cast<int16_t>((n * 7919u + static_cast<uint64_t>(c) * 104729u + (n >> 9) * 31u) & 0xFFFF);
}
// `frames` sample frames starting at `first`, little-endian interleaved.
inline std::vector<uint8_t> test_pcm(uint64_t first, uint64_t frames) {
  std::vector<uint8_t> out;
  out.reserve(frames * 4);
  for (uint64_t n = first; n < first + frames; ++n) {
    for (int c = 0; c < 2; ++c) {
      const auto v = static_cast<uint16_t>(test_sample(n, c));
      out.push_back(static_cast<uint8_t>(v & 0xFF));
      out.push_back(static_cast<uint8_t>(v >> 8));
    }
  }
  return out;
}

}  // namespace udisc::formats::testing
