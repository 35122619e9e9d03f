// Data-in buffers for SCSI commands, recycled per thread.
//
// A READ answered inline needs a buffer the drive fills and the socket
// sends from; allocating 64 KiB per command from the heap costs page faults
// once glibc trims the heap. Buffers up to kMaxPooled bytes are kept in a
// per-thread free list by power-of-two size class and handed out again.
// The returned shared_ptr gives the buffer back when the last PDU that
// points into it has been sent. Thread safety: the buffer must be released
// on the thread that acquired it (true for an event loop's connections);
// otherwise it is simply freed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace udisc::iscsi {

inline constexpr size_t kMaxPooled = 1u << 20;

std::shared_ptr<uint8_t[]> acquire_buffer(size_t size);

}  // namespace udisc::iscsi
