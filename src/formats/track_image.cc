// TrackImage: reads of a disc laid out as StoredRuns (see track_image.h).
#include "formats/track_image.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "disc/ecma130.h"
#include "disc/subchannel.h"

namespace udisc::formats {
namespace {

constexpr uint32_t kRaw = disc::kRawSectorSize;
constexpr uint32_t kSub = disc::kSubchannelSize;
constexpr uint32_t kChunkSectors = 32;  // stored sectors read at once when converting

std::vector<uint8_t>& scratch() {
  thread_local std::vector<uint8_t> buffer;
  return buffer;
}

// Offset of the user data inside a stored sector of `main_size` bytes.
uint32_t user_offset(disc::TrackMode mode, uint32_t main_size) {
  const uint32_t header = main_size == kRaw ? 16 : 0;  // 2336-byte sectors start after the header
  switch (mode) {
    case disc::TrackMode::audio: return 0;
    case disc::TrackMode::mode1: return main_size == 2048 ? 0 : 16;
    case disc::TrackMode::mode2: return header;
    case disc::TrackMode::mode2_form1:
    case disc::TrackMode::mode2_form2: return main_size == 2048 ? 0 : header + 8;
  }
  return 0;
}

void swap_bytes(std::span<uint8_t> data) {
  for (size_t i = 0; i + 1 < data.size(); i += 2) std::swap(data[i], data[i + 1]);
}

class TrackImage final : public disc::Image {
 public:
  TrackImage(std::string format, disc::Disc d, std::vector<std::shared_ptr<RandomAccessFile>> files,
             std::vector<StoredRun> runs)
      : format_(std::move(format)), disc_(std::move(d)), files_(std::move(files)), runs_(std::move(runs)) {}

  const disc::Disc& disc() const override { return disc_; }
  std::string format_name() const override { return format_; }

  Status read_user(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    if (count == 0) return out.empty() ? Status::Ok() : Status::InvalidArgument("read_user: buffer size for 0 sectors");
    const StoredRun* first = find(lba);
    if (first == nullptr) return out_of_range(lba);
    const uint32_t size = disc::user_data_size(mode_of(*first));
    if (out.size() != static_cast<size_t>(count) * size) {
      return Status::InvalidArgument("read_user at LBA " + std::to_string(lba) + ": buffer of " +
                                     std::to_string(out.size()) + " bytes for " + std::to_string(count) +
                                     " sectors of " + std::to_string(size) + " bytes");
    }
    for (uint32_t i = 0; i < count;) {
      const int32_t at = lba + static_cast<int32_t>(i);
      const StoredRun* r = find(at);
      if (r == nullptr) return out_of_range(at);
      const disc::TrackMode mode = mode_of(*r);
      if (disc::user_data_size(mode) != size) {
        return Status::InvalidArgument("read_user: LBA " + std::to_string(at) + " (track " +
                                       std::to_string(disc_.tracks[r->track].number) +
                                       ") has a different user data size than LBA " + std::to_string(lba));
      }
      const uint32_t run = std::min<uint32_t>(count - i, static_cast<uint32_t>(r->lba + r->count - at));
      std::span<uint8_t> dst = out.subspan(static_cast<size_t>(i) * size, static_cast<size_t>(run) * size);
      if (r->file < 0) {
        std::fill(dst.begin(), dst.end(), uint8_t{0});
      } else if (r->main_size == size && r->stride == size) {
        Status s = read_main(*r, at, run, dst);
        if (!s.ok()) return s;
      } else {
        const uint32_t from = user_offset(mode, r->main_size);
        std::vector<uint8_t>& chunk = scratch();
        for (uint32_t k = 0; k < run;) {
          const uint32_t n = std::min<uint32_t>(run - k, kChunkSectors);
          chunk.resize(static_cast<size_t>(n) * r->main_size);
          Status s = read_main(*r, at + static_cast<int32_t>(k), n, chunk);
          if (!s.ok()) return s;
          for (uint32_t j = 0; j < n; ++j) {
            std::memcpy(dst.data() + static_cast<size_t>(k + j) * size,
                        chunk.data() + static_cast<size_t>(j) * r->main_size + from, size);
          }
          k += n;
        }
      }
      i += run;
    }
    return Status::Ok();
  }

  Status read_raw(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    if (out.size() != static_cast<size_t>(count) * kRaw) {
      return Status::InvalidArgument("read_raw at LBA " + std::to_string(lba) + ": buffer of " +
                                     std::to_string(out.size()) + " bytes for " + std::to_string(count) + " sectors");
    }
    std::array<uint8_t, kRaw> stored{};
    for (uint32_t i = 0; i < count;) {
      const int32_t at = lba + static_cast<int32_t>(i);
      const StoredRun* r = find(at);
      if (r == nullptr) return out_of_range(at);
      const uint32_t run = std::min<uint32_t>(count - i, static_cast<uint32_t>(r->lba + r->count - at));
      const disc::TrackMode mode = mode_of(*r);
      if (r->file >= 0 && r->main_size == kRaw) {
        Status s = read_main(*r, at, run, out.subspan(static_cast<size_t>(i) * kRaw, static_cast<size_t>(run) * kRaw));
        if (!s.ok()) return s;
        i += run;
        continue;
      }
      for (uint32_t k = 0; k < run; ++k) {
        const int32_t sector_lba = at + static_cast<int32_t>(k);
        std::span<uint8_t, kRaw> dst(out.data() + static_cast<size_t>(i + k) * kRaw, kRaw);
        if (r->file < 0) {
          disc::build_empty_sector(mode, sector_lba, dst);
          continue;
        }
        std::span<uint8_t> main(stored.data(), r->main_size);
        Status s = read_main(*r, sector_lba, 1, main);
        if (s.ok()) {
          // 2048 bytes of an XA track are form 1 user data; 2336 bytes keep the subheader.
          const disc::TrackMode build = r->main_size == 2048 && mode == disc::TrackMode::mode2_form2
                                            ? disc::TrackMode::mode2_form1
                                            : mode;
          s = disc::build_raw_sector(build, sector_lba, main, dst);
        }
        if (!s.ok()) return s.with_context(format_ + " LBA " + std::to_string(sector_lba));
      }
      i += run;
    }
    return Status::Ok();
  }

  Status read_subchannel(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    if (out.size() != static_cast<size_t>(count) * kSub) {
      return Status::InvalidArgument("read_subchannel at LBA " + std::to_string(lba) + ": buffer of " +
                                     std::to_string(out.size()) + " bytes for " + std::to_string(count) + " sectors");
    }
    for (uint32_t i = 0; i < count; ++i) {
      const int32_t at = lba + static_cast<int32_t>(i);
      const StoredRun* r = find(at);
      if (r == nullptr) return out_of_range(at);
      std::span<uint8_t, kSub> dst(out.data() + static_cast<size_t>(i) * kSub, kSub);
      if (r->file < 0 || r->sub_file < 0) {
        disc::build_subchannel(disc_, at, dst);
        continue;
      }
      const uint64_t offset = r->sub_offset + static_cast<uint64_t>(at - r->lba) * r->sub_stride;
      Status s = files_[static_cast<size_t>(r->sub_file)]->read_at(offset, dst);
      if (!s.ok()) return s.with_context(format_ + " sub-channel of LBA " + std::to_string(at));
      if (r->sub_layout == SubchannelLayout::linear) {
        disc::SubchannelChannels channels{};
        for (size_t c = 0; c < channels.size(); ++c) std::memcpy(channels[c].data(), dst.data() + c * 12, 12);
        disc::interleave(channels, dst);
      }
    }
    return Status::Ok();
  }

  bool stores_raw(int32_t lba) const override {
    const StoredRun* r = find(lba);
    return r != nullptr && r->file >= 0 && r->main_size == kRaw;
  }

 private:
  const StoredRun* find(int32_t lba) const {
    auto it = std::upper_bound(runs_.begin(), runs_.end(), lba,
                               [](int32_t v, const StoredRun& r) { return v < r.lba; });
    if (it == runs_.begin()) return nullptr;
    --it;
    return lba < it->lba + it->count ? &*it : nullptr;
  }

  disc::TrackMode mode_of(const StoredRun& r) const { return disc_.tracks[r.track].mode; }

  Status out_of_range(int32_t lba) const {
    return Status::OutOfRange("LBA " + std::to_string(lba) + " is not on the disc (lead-out at " +
                              std::to_string(disc_.leadout_lba()) + ")");
  }

  // Main bytes of `n` sectors from `lba` into out (n * main_size bytes).
  Status read_main(const StoredRun& r, int32_t lba, uint32_t n, std::span<uint8_t> out) const {
    const RandomAccessFile& file = *files_[static_cast<size_t>(r.file)];
    const uint64_t offset = r.offset + static_cast<uint64_t>(lba - r.lba) * r.stride;
    Status s;
    if (r.stride == r.main_size) {
      s = file.read_at(offset, out);
    } else {
      for (uint32_t k = 0; k < n && s.ok(); ++k) {
        s = file.read_at(offset + static_cast<uint64_t>(k) * r.stride,
                         out.subspan(static_cast<size_t>(k) * r.main_size, r.main_size));
      }
    }
    if (!s.ok()) return s.with_context(format_ + " LBA " + std::to_string(lba));
    if (r.big_endian_audio && mode_of(r) == disc::TrackMode::audio) swap_bytes(out);
    return Status::Ok();
  }

  std::string format_;
  disc::Disc disc_;
  std::vector<std::shared_ptr<RandomAccessFile>> files_;
  std::vector<StoredRun> runs_;
};

Status check_runs(const std::string& name, const disc::Disc& d, const std::vector<std::shared_ptr<RandomAccessFile>>& files,
                  const std::vector<StoredRun>& runs) {
  int32_t next = d.tracks.empty() ? 0 : d.tracks.front().pregap_lba;
  for (size_t k = 0; k < runs.size(); ++k) {
    const StoredRun& r = runs[k];
    const std::string where = name + ": sectors " + std::to_string(r.lba) + ".." + std::to_string(r.lba + r.count - 1);
    if (r.count <= 0 || r.track >= d.tracks.size()) return Status::Corruption(where + ": empty run or no such track");
    const disc::Track& t = d.tracks[r.track];
    if (r.lba < next) return Status::Corruption(where + " overlap the sectors before them");
    if (r.lba < t.pregap_lba || r.lba + r.count > t.end_lba) {
      return Status::Corruption(where + " lie outside track " + std::to_string(t.number) + " (" +
                                std::to_string(t.pregap_lba) + ".." + std::to_string(t.end_lba - 1) + ")");
    }
    next = r.lba + r.count;
    if (r.file < 0) continue;
    if (static_cast<size_t>(r.file) >= files.size() || files[static_cast<size_t>(r.file)] == nullptr) {
      return Status::Corruption(where + ": no data file");
    }
    const bool data = disc::is_data(t.mode);
    const bool size_ok = r.main_size == kRaw || (data && r.main_size == 2048 && t.mode != disc::TrackMode::mode2) ||
                         (data && r.main_size == 2336 && t.mode != disc::TrackMode::mode1);
    if (!size_ok || r.stride < r.main_size) {
      return Status::NotSupported(where + " of track " + std::to_string(t.number) + " (" + disc::to_string(t.mode) +
                                  "): stored as " + std::to_string(r.main_size) + "-byte sectors every " +
                                  std::to_string(r.stride) + " bytes, which this reader does not support");
    }
    const RandomAccessFile& f = *files[static_cast<size_t>(r.file)];
    const uint64_t end = r.offset + static_cast<uint64_t>(r.count - 1) * r.stride + r.main_size;
    if (end > f.size()) {
      return Status::Corruption(where + " of track " + std::to_string(t.number) + " need '" + f.name() + "' to hold " +
                                std::to_string(end) + " bytes; it has " + std::to_string(f.size()));
    }
    if (r.sub_file >= 0) {
      if (static_cast<size_t>(r.sub_file) >= files.size() || files[static_cast<size_t>(r.sub_file)] == nullptr ||
          r.sub_stride < kSub) {
        return Status::Corruption(where + ": no sub-channel file");
      }
      const RandomAccessFile& sf = *files[static_cast<size_t>(r.sub_file)];
      const uint64_t sub_end = r.sub_offset + static_cast<uint64_t>(r.count - 1) * r.sub_stride + kSub;
      if (sub_end > sf.size()) {
        return Status::Corruption(where + " of track " + std::to_string(t.number) + " need '" + sf.name() +
                                  "' to hold " + std::to_string(sub_end) + " bytes of sub-channel; it has " +
                                  std::to_string(sf.size()));
      }
    }
  }
  for (const disc::Track& t : d.tracks) {
    // Every sector from the pregap to the end must belong to a run.
    int32_t covered = 0;
    for (const StoredRun& r : runs) {
      if (&d.tracks[r.track] == &t) covered += r.count;
    }
    if (covered != t.end_lba - t.pregap_lba) {
      return Status::Corruption(name + ": track " + std::to_string(t.number) + " spans " +
                                std::to_string(t.end_lba - t.pregap_lba) + " sectors but the image describes " +
                                std::to_string(covered));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<ImagePtr> make_track_image(std::string format, const std::string& name, disc::Disc disc,
                                  std::vector<std::shared_ptr<RandomAccessFile>> files, std::vector<StoredRun> runs) {
  if (disc.tracks.empty()) return Status::Corruption(name + ": the image describes no tracks");
  if (Status s = disc::validate(disc); !s.ok()) return s.with_context(name);
  if (Status s = check_runs(name, disc, files, runs); !s.ok()) return s;
  return ImagePtr(std::make_shared<TrackImage>(std::move(format), std::move(disc), std::move(files), std::move(runs)));
}

disc::TrackMode probe_data_mode(const RandomAccessFile& file, uint64_t offset, uint32_t main_size,
                                disc::TrackMode fallback) {
  std::array<uint8_t, 24> head{};
  const uint32_t at = main_size == kRaw ? 0 : 16;  // 2336 bytes start where the subheader does
  const std::span<uint8_t> want = std::span<uint8_t>(head).subspan(at);
  if (main_size == 2048 || offset + want.size() > file.size() || !file.read_at(offset, want).ok()) return fallback;
  const uint8_t mode = main_size == kRaw ? head[15] : 2;
  if (mode == 1) return disc::TrackMode::mode1;
  if (mode != 2) return fallback;
  if (std::memcmp(head.data() + 16, head.data() + 20, 4) != 0) return disc::TrackMode::mode2;
  return (head[18] & disc::ecma130::submode::kForm2) ? disc::TrackMode::mode2_form2 : disc::TrackMode::mode2_form1;
}

void codes_from_subchannel(const std::vector<std::shared_ptr<RandomAccessFile>>& files,
                           const std::vector<StoredRun>& runs, disc::Disc& d) {
  constexpr int32_t kScan = 200;
  std::array<uint8_t, kSub> raw{};
  for (const StoredRun& r : runs) {
    if (r.sub_file < 0 || static_cast<size_t>(r.sub_file) >= files.size() || r.track >= d.tracks.size()) continue;
    disc::Track& t = d.tracks[r.track];
    if (r.lba + r.count <= t.start_lba || (!t.isrc.empty() && !d.mcn.empty())) continue;
    const int32_t from = std::max(r.lba, t.start_lba);
    const int32_t n = std::min(kScan, r.lba + r.count - from);
    for (int32_t k = 0; k < n; ++k) {
      const uint64_t offset = r.sub_offset + static_cast<uint64_t>(from + k - r.lba) * r.sub_stride;
      if (!files[static_cast<size_t>(r.sub_file)]->read_at(offset, raw).ok()) break;
      if (r.sub_layout == SubchannelLayout::linear) {
        disc::SubchannelChannels channels{};
        for (size_t c = 0; c < channels.size(); ++c) std::memcpy(channels[c].data(), raw.data() + c * 12, 12);
        disc::interleave(channels, raw);
      }
      const disc::QFrame q = disc::extract_q(raw);
      if (!disc::q_crc_ok(q)) continue;
      if (d.mcn.empty()) {
        if (auto mcn = disc::decode_mcn(q)) d.mcn = *mcn;
      }
      if (t.isrc.empty()) {
        if (auto isrc = disc::decode_isrc(q)) t.isrc = *isrc;
      }
    }
  }
}

void finish_disc(disc::Disc& d) {
  d.sessions.clear();
  for (const disc::Track& t : d.tracks) {
    if (d.sessions.empty() || d.sessions.back().number != t.session) {
      d.sessions.push_back(disc::Session{t.session, t.number, t.number, t.end_lba});
    }
    d.sessions.back().last_track = t.number;
    d.sessions.back().leadout_lba = t.end_lba;
  }
  bool all_audio = true, any_mode2 = false;
  for (const disc::Track& t : d.tracks) {
    all_audio = all_audio && t.mode == disc::TrackMode::audio;
    any_mode2 = any_mode2 || t.mode == disc::TrackMode::mode2 || t.mode == disc::TrackMode::mode2_form1 ||
                t.mode == disc::TrackMode::mode2_form2;
  }
  d.disc_class = all_audio ? disc::DiscClass::cd_da : any_mode2 ? disc::DiscClass::cd_rom_xa : disc::DiscClass::cd_rom;
}

}  // namespace udisc::formats
