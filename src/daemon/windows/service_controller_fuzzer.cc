// fuzz_win_control: what a local user can send the Windows service (request
// lines, with or without an image) and the state file it restores, into
// ServiceController with the fake initiator. The drives' targets are not
// served (an in-memory host): the iSCSI side has its own fuzzers.
//
// Input: byte 0 even → the rest is a state file to restore, then lines;
// odd → request lines only. Lines alternate between two users.
#include <cstdint>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "daemon/windows/service_controller.h"

namespace {

using namespace udisc;

class MemoryHost final : public win::DriveHost {
 public:
  Result<win::TargetSpec> start(uint32_t number, std::shared_ptr<device::Drive>) override {
    return win::TargetSpec{win::kTargetPrefix + std::to_string(number), "127.0.0.1", 3260, "udisc",
                           "0123456789abcdef"};
  }
  Result<uint16_t> listen_also(uint32_t, const std::string&) override { return uint16_t{3261}; }
  void stop(uint32_t) override {}
};

win::ReceivedImage small_image() {
  win::ReceivedImage r;
  r.path = "fuzz.iso";
  r.main = formats::memory_file(std::vector<uint8_t>(32 * 2048, 0x5a), "fuzz.iso");
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::string state_path =
      (std::filesystem::temp_directory_path() / ("udisc-fuzz-win-" + std::to_string(::getpid())) / "state.json")
          .string();
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto initiator = win::make_fake_initiator();
  MemoryHost host;
  win::ServiceOptions options;
  options.state_path = state_path;
  options.attach.device_wait_ms = 0;
  options.attach.sleep = [](int) {};
  win::ImageReopener reopen = [](const win::RecordedImage&, const std::string&) -> Result<win::ReceivedImage> {
    return small_image();
  };
  std::filesystem::create_directories(std::filesystem::path(state_path).parent_path());
  if (data[0] % 2 == 0) {
    const size_t cut = rest.find('\x01');
    std::ofstream(state_path, std::ios::binary | std::ios::trunc) << rest.substr(0, cut);
    rest = cut == std::string::npos ? std::string() : rest.substr(cut + 1);
  } else {
    std::filesystem::remove(state_path);
  }
  win::ServiceController controller(options, *initiator, host, reopen);
  (void)controller.restore();
  const win::Caller users[2] = {{"S-1-5-21-1-1", "a", false}, {"S-1-5-21-1-2", "b", (data[0] & 2) != 0}};
  size_t start = 0;
  int n = 0;
  while (start < rest.size() && n < 64) {
    size_t end = rest.find('\n', start);
    if (end == std::string::npos) end = rest.size();
    const std::string line = rest.substr(start, end - start);
    const win::Caller& who = users[n++ % 2];
    std::string reply = controller.handle_line(line, who, std::nullopt);
    if (reply.find("did not arrive") != std::string::npos) reply = controller.handle_line(line, who, small_image());
    if (reply.empty() || reply.back() != '\n') __builtin_trap();
    start = end + 1;
  }
  return 0;
}
