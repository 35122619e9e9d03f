// DiskCache (disk_cache.h) where the build has no anonymous files
// (O_TMPFILE) to keep it in: the Windows build. --cache-dir is refused with
// a clear error; the memory cache works as everywhere.
#include "remote/disk_cache.h"

namespace udisc::remote {

Result<std::unique_ptr<DiskCache>> DiskCache::open(const std::string& dir, uint64_t, uint32_t, uint64_t) {
  return Status::NotSupported("a disk cache ('" + dir + "', --cache-dir) is not available in this build");
}

DiskCache::DiskCache(int fd, uint64_t limit_bytes, uint32_t block_size, uint64_t object_size)
    : fd_(fd), limit_(limit_bytes), block_size_(block_size), size_(object_size) {}
DiskCache::~DiskCache() = default;
bool DiskCache::read(uint64_t, std::span<uint8_t>) { return false; }
void DiskCache::write(uint64_t, std::span<const uint8_t>) {}
uint64_t DiskCache::stored_bytes() const { return 0; }
uint64_t DiskCache::allocated_bytes() const { return 0; }

}  // namespace udisc::remote
