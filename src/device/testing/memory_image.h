// MemoryImage: an in-memory disc::Image for engine and MMC command tests.
//
// Sector contents are generated from the LBA, so even a 25 GB BD costs no
// memory: user data byte 0..3 of a data sector hold its LBA (big-endian),
// every other byte is user_byte(lba, offset); audio sectors hold
// user_byte(lba, offset) for all 2352 bytes. Single sectors can be replaced
// (set_user) and reads can be made to fail (fail_reads_at) to test the
// medium-error path.
//
// Raw sectors are well formed (sync, BCD header, XA subheader, EDC/ECC as
// ECMA-130 defines them); the subchannel carries P (set in pregaps) and
// mode-1 Q (track, index, relative and absolute time, CRC) interleaved as on
// the disc.
//
// Thread safety: reads are stateless and may run concurrently; set_user and
// fail_reads_at must be called before the image is shared.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "disc/image.h"

namespace udisc::device::testing {

// A track in `session` whose pregap (index 0, when pregap < start) and
// index 1 are given as LBAs; data tracks carry the data control bit.
disc::Track make_track(uint8_t number, uint8_t session, disc::TrackMode mode, int32_t pregap, int32_t start,
                       int32_t end);

class MemoryImage : public disc::Image {
 public:
  explicit MemoryImage(disc::Disc disc, std::string name = "memory");

  // Ready-made media (all pass disc::validate):
  // Mixed-mode CD-ROM (reference disc of mmc-expectations §4.2):
  //   track 1 mode 1, data (CTL 4), LBA 0..19849;
  //   track 2 audio, pregap (index 0) 19850, index 1 at 20000; lead-out 50000.
  //   MCN 0123456789012, track 2 ISRC USABC9900001.
  static std::shared_ptr<MemoryImage> cd_mixed_mode();
  // CD-DA: three audio tracks; track 2 has a 150-sector pregap and index 2.
  //   track 1 0..9999; track 2 pregap 10000, index 1 10150, index 2 15000;
  //   track 3 20000..29999; lead-out 30000. CD-TEXT title "Memory Album".
  static std::shared_ptr<MemoryImage> cd_audio();
  // Two-session CD-ROM XA: session 1 track 1 mode 1 0..2999 (lead-out 3000);
  //   session 2 track 2 XA form 1, pregap 14250, index 1 14400, lead-out 20000.
  static std::shared_ptr<MemoryImage> cd_multisession();
  // Single-layer DVD-ROM / BD-ROM: one mode 1 track of `sectors` 2048-byte sectors.
  static std::shared_ptr<MemoryImage> dvd(int32_t sectors = 2295104);
  static std::shared_ptr<MemoryImage> bd(int32_t sectors = 12219392);

  // The generated content.
  static uint8_t user_byte(int32_t lba, uint32_t offset);

  // Replaces the user data of one sector (size must match its track's user size).
  void set_user(int32_t lba, std::vector<uint8_t> user);
  // Every read touching `lba` fails with Status::IoError.
  void fail_reads_at(int32_t lba);

  uint64_t read_calls() const { return read_calls_.load(std::memory_order_relaxed); }

  // disc::Image
  const disc::Disc& disc() const override { return disc_; }
  std::string format_name() const override { return name_; }
  Status read_user(int32_t lba, uint32_t count, std::span<uint8_t> out) const override;
  Status read_raw(int32_t lba, uint32_t count, std::span<uint8_t> out) const override;
  Status read_subchannel(int32_t lba, uint32_t count, std::span<uint8_t> out) const override;
  bool stores_raw(int32_t lba) const override;

 private:
  Status check_range(int32_t lba, uint32_t count, const char* what) const;
  void fill_user(int32_t lba, const disc::Track& track, std::span<uint8_t> out) const;
  void fill_raw(int32_t lba, const disc::Track& track, std::span<uint8_t, 2352> out) const;
  void fill_sub(int32_t lba, std::span<uint8_t, 96> out) const;

  disc::Disc disc_;
  std::string name_;
  std::map<int32_t, std::vector<uint8_t>> overrides_;
  std::set<int32_t> failing_;
  mutable std::atomic<uint64_t> read_calls_{0};
};

}  // namespace udisc::device::testing
