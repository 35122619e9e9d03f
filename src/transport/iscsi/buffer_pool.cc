#include "transport/iscsi/buffer_pool.h"

#include <bit>
#include <thread>
#include <vector>

#include "util/per_thread.h"

namespace udisc::iscsi {
namespace {

constexpr size_t kMinClass = 4096;
constexpr int kClasses = 9;  // 4 KiB .. 1 MiB
constexpr size_t kMaxFreePerClass = 64;

struct Pool {
  std::vector<uint8_t*> free[kClasses];
  ~Pool() {
    for (auto& list : free)
      for (uint8_t* p : list) delete[] p;
  }
};

Pool& pool() { return per_thread<Pool>(); }

int class_of(size_t size) { return std::countr_zero(std::bit_ceil(std::max(size, kMinClass))) - 12; }

struct Return {
  int cls;
  std::thread::id owner;
  void operator()(uint8_t* p) const {
    if (std::this_thread::get_id() == owner) {
      auto& list = pool().free[cls];
      if (list.size() < kMaxFreePerClass) {
        list.push_back(p);
        return;
      }
    }
    delete[] p;
  }
};

}  // namespace

std::shared_ptr<uint8_t[]> acquire_buffer(size_t size) {
  if (size > kMaxPooled) return std::make_shared_for_overwrite<uint8_t[]>(size);
  const int cls = class_of(size);
  auto& list = pool().free[cls];
  uint8_t* p;
  if (!list.empty()) {
    p = list.back();
    list.pop_back();
  } else {
    p = new uint8_t[kMinClass << cls];
  }
  return std::shared_ptr<uint8_t[]>(p, Return{cls, std::this_thread::get_id()});
}

}  // namespace udisc::iscsi
