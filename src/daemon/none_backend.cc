// The "none" backend: drives live only inside the daemon.
#include <set>

#include "daemon/backend.h"

namespace udisc::daemon {
namespace {

class NoneBackend final : public Backend {
 public:
  std::string name() const override { return "none"; }
  Status available() const override { return Status::Ok(); }
  Status recover(const std::map<uint32_t, std::shared_ptr<device::Drive>>& known,
                 std::map<uint32_t, Status>* /*failures*/) override {
    for (const auto& [number, drive] : known) attached_.insert(number);
    return Status::Ok();
  }
  Status attach(uint32_t number, std::shared_ptr<device::Drive> /*drive*/) override {
    attached_.insert(number);
    return Status::Ok();
  }
  Status detach(uint32_t number) override {
    attached_.erase(number);
    return Status::Ok();
  }
  bool attached(uint32_t number) const override { return attached_.count(number) != 0; }
  std::string device_node(uint32_t /*number*/) const override { return ""; }
  nlohmann::json describe(uint32_t /*number*/) const override { return nullptr; }
  void release_all() override { attached_.clear(); }

 private:
  std::set<uint32_t> attached_;
};

}  // namespace

std::unique_ptr<Backend> make_none_backend() { return std::make_unique<NoneBackend>(); }

}  // namespace udisc::daemon
