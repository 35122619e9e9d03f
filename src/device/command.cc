// Data-in transfer for command handlers (see command.h).
//
// SAM-5 5.4.3 / SPC-5 4.2.5.6: a command transfers at most its allocation
// length; the initiator's expected transfer length bounds what is placed in
// its buffers, and the difference is the residual the drive reports.
#include "device/command.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace udisc::device {

namespace {
size_t data_in_capacity(const Request& r) {
  size_t total = 0;
  for (const auto& seg : r.data_in) total += seg.size();
  return std::min<size_t>(total, r.expected_transfer_length);
}
}  // namespace

std::span<uint8_t> CommandContext::contiguous(size_t max) {
  const size_t limit = request_.expected_transfer_length;
  if (written_ >= limit) return {};
  max = std::min(max, limit - written_);
  while (segment_ < request_.data_in.size()) {
    std::span<uint8_t> seg = request_.data_in[segment_];
    if (seg_offset_ < seg.size()) return seg.subspan(seg_offset_, std::min(max, seg.size() - seg_offset_));
    ++segment_;
    seg_offset_ = 0;
  }
  return {};
}

void CommandContext::advance(size_t n) {
  written_ += static_cast<uint32_t>(n);
  seg_offset_ += n;
}

size_t CommandContext::copy_out(std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    std::span<uint8_t> run = contiguous(bytes.size() - done);
    if (run.empty()) break;
    std::memcpy(run.data(), bytes.data() + done, run.size());
    advance(run.size());
    done += run.size();
  }
  return done;
}

void CommandContext::send(std::span<const uint8_t> bytes, uint32_t allocation_length) {
  const size_t n = std::min<size_t>(bytes.size(), allocation_length);
  wanted_ += n;
  copy_out(bytes.first(n));
}

std::span<const uint8_t> CommandContext::receive(uint32_t parameter_list_length) {
  wanted_ += parameter_list_length;
  return request_.data_out.first(std::min<size_t>(request_.data_out.size(), parameter_list_length));
}

CommandResult CommandContext::send_sectors(uint32_t sector_size, uint32_t count, SectorFill fill) {
  wanted_ += uint64_t{sector_size} * count;
  if (sector_size == 0 || count == 0) return kGood;
  if (sector_size > kMaxStagedSector) {
    // A handler bug, not a host error: report it as a hardware error rather than crash.
    return ScsiError{SenseKey::hardware_error, asc::kNoAdditionalSense, std::nullopt, std::nullopt};
  }
  const size_t capacity = data_in_capacity(request_);
  uint32_t sector = 0;
  while (sector < count && written_ < capacity) {
    std::span<uint8_t> run = contiguous(size_t{sector_size} * (count - sector));
    const uint32_t whole = static_cast<uint32_t>(run.size() / sector_size);
    if (whole > 0) {
      std::span<uint8_t> out = run.first(size_t{whole} * sector_size);
      if (CommandResult err = fill(sector, whole, out)) return err;
      advance(out.size());
      sector += whole;
      continue;
    }
    // The next sector straddles a segment boundary or the transfer limit.
    std::array<uint8_t, kMaxStagedSector> staging;  // NOLINT: filled before use
    std::span<uint8_t> one(staging.data(), sector_size);
    if (CommandResult err = fill(sector, 1, one)) return err;
    copy_out(one);
    ++sector;
  }
  return kGood;
}

}  // namespace udisc::device
