#include "device/testing/memory_image.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "disc/ecma130.h"
#include "disc/msf.h"
#include "disc/subchannel.h"

namespace udisc::device::testing {

namespace {

using disc::Disc;
using disc::DiscClass;
using disc::Session;
using disc::Track;
using disc::TrackMode;


std::shared_ptr<MemoryImage> single_track(DiscClass cls, int32_t sectors, const char* name) {
  Disc d;
  d.disc_class = cls;
  d.sessions.push_back(Session{1, 1, 1, sectors});
  d.tracks.push_back(make_track(1, 1, TrackMode::mode1, 0, 0, sectors));
  return std::make_shared<MemoryImage>(std::move(d), name);
}

}  // namespace

disc::Track make_track(uint8_t number, uint8_t session, disc::TrackMode mode, int32_t pregap, int32_t start, int32_t end) {
  disc::Track t;
  t.number = number;
  t.session = session;
  t.mode = mode;
  t.control = disc::is_data(mode) ? disc::control::kDataTrack : 0;
  t.pregap_lba = pregap;
  t.start_lba = start;
  t.end_lba = end;
  if (pregap < start) t.indices.push_back({0, pregap});
  t.indices.push_back({1, start});
  return t;
}

MemoryImage::MemoryImage(disc::Disc disc, std::string name) : disc_(std::move(disc)), name_(std::move(name)) {}

std::shared_ptr<MemoryImage> MemoryImage::cd_mixed_mode() {
  Disc d;
  d.disc_class = DiscClass::cd_rom;
  d.mcn = "0123456789012";
  d.sessions.push_back(Session{1, 1, 2, 50000});
  d.tracks.push_back(make_track(1, 1, TrackMode::mode1, 0, 0, 19850));
  Track audio = make_track(2, 1, TrackMode::audio, 19850, 20000, 50000);
  audio.isrc = "USABC9900001";
  d.tracks.push_back(audio);
  return std::make_shared<MemoryImage>(std::move(d), "memory-cd-mixed");
}

std::shared_ptr<MemoryImage> MemoryImage::cd_audio() {
  Disc d;
  d.disc_class = DiscClass::cd_da;
  d.cd_text.title = "Memory Album";
  d.cd_text.performer = "uDisc";
  d.sessions.push_back(Session{1, 1, 3, 30000});
  d.tracks.push_back(make_track(1, 1, TrackMode::audio, 0, 0, 10000));
  Track t2 = make_track(2, 1, TrackMode::audio, 10000, 10150, 20000);
  t2.indices.push_back({2, 15000});
  t2.cd_text.title = "Second";
  d.tracks.push_back(t2);
  d.tracks.push_back(make_track(3, 1, TrackMode::audio, 20000, 20000, 30000));
  return std::make_shared<MemoryImage>(std::move(d), "memory-cd-audio");
}

std::shared_ptr<MemoryImage> MemoryImage::cd_multisession() {
  Disc d;
  d.disc_class = DiscClass::cd_rom_xa;
  d.sessions.push_back(Session{1, 1, 1, 3000});
  d.sessions.push_back(Session{2, 2, 2, 20000});
  d.tracks.push_back(make_track(1, 1, TrackMode::mode1, 0, 0, 3000));
  d.tracks.push_back(make_track(2, 2, TrackMode::mode2_form1, 14250, 14400, 20000));
  return std::make_shared<MemoryImage>(std::move(d), "memory-cd-multisession");
}

std::shared_ptr<MemoryImage> MemoryImage::dvd(int32_t sectors) {
  return single_track(DiscClass::dvd_rom_single_layer, sectors, "memory-dvd");
}
std::shared_ptr<MemoryImage> MemoryImage::bd(int32_t sectors) { return single_track(DiscClass::bd_rom, sectors, "memory-bd"); }

uint8_t MemoryImage::user_byte(int32_t lba, uint32_t offset) {
  const uint32_t x = static_cast<uint32_t>(lba) * 2654435761u + offset * 40503u;
  return static_cast<uint8_t>((x >> 13) ^ (x >> 5) ^ offset);
}

void MemoryImage::set_user(int32_t lba, std::vector<uint8_t> user) { overrides_[lba] = std::move(user); }
void MemoryImage::fail_reads_at(int32_t lba) { failing_.insert(lba); }

Status MemoryImage::check_range(int32_t lba, uint32_t count, const char* what) const {
  read_calls_.fetch_add(1, std::memory_order_relaxed);
  const int64_t end = int64_t{lba} + count;
  if (disc_.tracks.empty() || lba < disc_.tracks.front().pregap_lba || end > disc_.leadout_lba()) {
    return Status::OutOfRange(name_ + ": " + what + " of LBA " + std::to_string(lba) + "+" + std::to_string(count) +
                              " outside the disc");
  }
  for (int32_t failing : failing_) {
    if (failing >= lba && failing < end) {
      return Status::IoError(name_ + ": " + what + " failed at LBA " + std::to_string(failing) + " (injected)");
    }
  }
  return Status::Ok();
}

void MemoryImage::fill_user(int32_t lba, const Track& track, std::span<uint8_t> out) const {
  if (auto it = overrides_.find(lba); it != overrides_.end() && it->second.size() == out.size()) {
    std::memcpy(out.data(), it->second.data(), out.size());
    return;
  }
  const bool pregap = lba < track.start_lba;
  if (pregap) {
    std::fill(out.begin(), out.end(), uint8_t{0});
    return;
  }
  uint32_t first = 0;
  if (disc::is_data(track.mode) && out.size() >= 4) {
    const auto u = static_cast<uint32_t>(lba);
    out[0] = static_cast<uint8_t>(u >> 24);
    out[1] = static_cast<uint8_t>(u >> 16);
    out[2] = static_cast<uint8_t>(u >> 8);
    out[3] = static_cast<uint8_t>(u);
    first = 4;
  }
  for (uint32_t i = first; i < out.size(); ++i) out[i] = user_byte(lba, i);
}

Status MemoryImage::read_user(int32_t lba, uint32_t count, std::span<uint8_t> out) const {
  if (Status s = check_range(lba, count, "read_user"); !s.ok()) return s;
  if (count == 0) return out.empty() ? Status::Ok() : Status::InvalidArgument(name_ + ": read_user buffer size");
  const Track* track = disc_.track_at(lba);
  const Track* last = disc_.track_at(lba + static_cast<int32_t>(count) - 1);
  if (track == nullptr || last != track) {
    return Status::OutOfRange(name_ + ": read_user of LBA " + std::to_string(lba) + "+" + std::to_string(count) +
                              " is not inside one track");
  }
  const uint32_t size = disc::user_data_size(track->mode);
  if (out.size() != size_t{size} * count) {
    return Status::InvalidArgument(name_ + ": read_user buffer is " + std::to_string(out.size()) + " bytes, want " +
                                   std::to_string(size_t{size} * count));
  }
  for (uint32_t i = 0; i < count; ++i) fill_user(lba + static_cast<int32_t>(i), *track, out.subspan(size_t{i} * size, size));
  return Status::Ok();
}

void MemoryImage::fill_raw(int32_t lba, const Track& track, std::span<uint8_t, 2352> out) const {
  if (track.mode == TrackMode::audio) {
    fill_user(lba, track, out);
    return;
  }
  if (lba < track.start_lba && overrides_.count(lba) == 0) {
    disc::build_empty_sector(track.mode, lba, out);
    return;
  }
  std::array<uint8_t, 2352> user{};
  const uint32_t size = disc::user_data_size(track.mode);
  fill_user(lba, track, std::span<uint8_t>(user.data(), size));
  // Sizes always match the track mode, so this cannot fail.
  (void)disc::build_raw_sector(track.mode, lba, std::span<const uint8_t>(user.data(), size), out);
}

Status MemoryImage::read_raw(int32_t lba, uint32_t count, std::span<uint8_t> out) const {
  if (Status s = check_range(lba, count, "read_raw"); !s.ok()) return s;
  if (out.size() != size_t{count} * disc::kRawSectorSize) return Status::InvalidArgument(name_ + ": read_raw buffer size");
  for (uint32_t i = 0; i < count; ++i) {
    const int32_t at = lba + static_cast<int32_t>(i);
    const Track* track = disc_.track_at(at);
    if (track == nullptr) return Status::OutOfRange(name_ + ": read_raw of LBA " + std::to_string(at) + " between sessions");
    fill_raw(at, *track, out.subspan(size_t{i} * disc::kRawSectorSize).first<2352>());
  }
  return Status::Ok();
}

void MemoryImage::fill_sub(int32_t lba, std::span<uint8_t, 96> out) const {
  // The project's own P/Q generator: the same sub-channel a BIN or ISO without stored P–W gives.
  disc::build_subchannel(disc_, lba, out);
}

Status MemoryImage::read_subchannel(int32_t lba, uint32_t count, std::span<uint8_t> out) const {
  if (Status s = check_range(lba, count, "read_subchannel"); !s.ok()) return s;
  if (out.size() != size_t{count} * disc::kSubchannelSize) return Status::InvalidArgument(name_ + ": read_subchannel buffer size");
  for (uint32_t i = 0; i < count; ++i) {
    fill_sub(lba + static_cast<int32_t>(i), out.subspan(size_t{i} * disc::kSubchannelSize).first<96>());
  }
  return Status::Ok();
}

bool MemoryImage::stores_raw(int32_t /*lba*/) const { return false; }

}  // namespace udisc::device::testing
