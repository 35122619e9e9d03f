#include "remote/disk_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace udisc::remote {

Result<std::unique_ptr<DiskCache>> DiskCache::open(const std::string& dir, uint64_t limit_bytes, uint32_t block_size,
                                                   uint64_t object_size) {
  if (block_size == 0) return Status::InvalidArgument("disk cache: block size 0");
  if (limit_bytes < block_size) {
    return Status::InvalidArgument("--cache-size " + std::to_string(limit_bytes) + " is less than one block (" +
                                   std::to_string(block_size) + " bytes)");
  }
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IoError("--cache-dir '" + dir + "': cannot make a cache file there: " + std::strerror(errno) +
                           (errno == EOPNOTSUPP ? " (the file system has no O_TMPFILE)" : ""));
  }
  return std::unique_ptr<DiskCache>(new DiskCache(fd, limit_bytes, block_size, object_size));
}

DiskCache::DiskCache(int fd, uint64_t limit_bytes, uint32_t block_size, uint64_t object_size)
    : fd_(fd),
      limit_(limit_bytes),
      block_size_(block_size),
      size_(object_size),
      stored_(static_cast<size_t>((object_size + block_size - 1) / block_size), false) {}

DiskCache::~DiskCache() { ::close(fd_); }

uint64_t DiskCache::block_bytes(uint64_t block) const {
  return std::min<uint64_t>(block_size_, size_ - block * block_size_);
}

bool DiskCache::read(uint64_t first, std::span<uint8_t> out) {
  const uint64_t count = (out.size() + block_size_ - 1) / block_size_;
  uint64_t evictions = 0;
  {
    std::lock_guard lock(mu_);
    for (uint64_t b = first; b < first + count; ++b) {
      if (b >= stored_.size() || !stored_[b]) return false;
    }
    evictions = evictions_;
  }
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                              static_cast<off_t>(first * block_size_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  // A block evicted (and perhaps stored again) during the read may have read
  // as a hole: then the network is asked after all.
  std::lock_guard lock(mu_);
  return evictions_ == evictions;
}

void DiskCache::write(uint64_t first, std::span<const uint8_t> data) {
  size_t at = 0;
  for (uint64_t b = first; at < data.size() && b < stored_.size(); ++b) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(block_bytes(b), data.size() - at));
    std::unique_lock lock(mu_);
    if (stored_[b]) {
      at += n;
      continue;
    }
    // Room first: the blocks stored longest ago go, their space punched out.
    while (stored_bytes_ + n > limit_ && !order_.empty()) {
      const uint64_t victim = order_.front();
      order_.pop_front();
      stored_[victim] = false;
      stored_bytes_ -= block_bytes(victim);
      ++evictions_;
      (void)::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(victim * block_size_),
                        static_cast<off_t>(block_bytes(victim)));
    }
    lock.unlock();
    // Written outside the lock; the block counts as stored only once it is whole.
    if (::pwrite(fd_, data.data() + at, n, static_cast<off_t>(b * block_size_)) != static_cast<ssize_t>(n)) return;
    lock.lock();
    if (!stored_[b] && stored_bytes_ + n <= limit_) {
      stored_[b] = true;
      order_.push_back(b);
      stored_bytes_ += n;
    } else if (!stored_[b]) {
      // Concurrent writers took the room meanwhile: this block's bytes go.
      (void)::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(b * block_size_),
                        static_cast<off_t>(n));
    }
    at += n;
  }
}

uint64_t DiskCache::stored_bytes() const {
  std::lock_guard lock(mu_);
  return stored_bytes_;
}

uint64_t DiskCache::allocated_bytes() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

}  // namespace udisc::remote
