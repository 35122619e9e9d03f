// GET CONFIGURATION (MMC-6 6.6) and the feature descriptors of a ROM drive
// (MMC-6 5.3). Values per feature are noted at each descriptor; see also
// mmc-expectations §2.
#include "device/features.h"

#include <vector>

#include "device/drive_core.h"
#include "device/spc_handlers.h"

namespace udisc::device {

namespace {

constexpr uint8_t kCurrent = 0x01;     // descriptor byte 2 bit 0
constexpr uint8_t kPersistent = 0x02;  // descriptor byte 2 bit 1
constexpr uint8_t kCurrentP = 0x01;    // profile descriptor byte 2 bit 0
constexpr uint32_t kInterfaceScsi = 0x00000001;  // Core: PHYSICAL INTERFACE STANDARD (MMC-6 Table 98)
constexpr uint8_t kCoreDbe = 0x01;               // Core byte 8: device busy events (GESN class 6)
constexpr uint8_t kMorphingOcEvent = 0x02;       // Morphing byte 4: operational change events
constexpr uint8_t kTrayLoadEjectLock = 0x39;     // Removable Medium byte 4: tray (001b), Load, Eject, Lock
constexpr uint32_t kLogicalBlockSize = 2048;
constexpr uint8_t kRandomReadablePp = 0x01;      // page 01h present
constexpr uint8_t kCdReadC2AndText = 0x03;       // CD Read byte 4: C2 Flags, CD-Text
constexpr uint8_t kAudioPlaySeparate = 0x03;     // CD External Audio Play byte 4: SCM, SV
constexpr uint16_t kVolumeLevels = 0x0100;
constexpr uint8_t kCssVersion = 0x01;
constexpr uint8_t kRtsSetCdSpeed = 0x08;         // Real-Time Streaming byte 4: SCS
constexpr uint16_t kBdReadAllVersions = 0xFFFF;  // BD Read: class 0 bitmaps

enum class Medium : uint8_t { none, cd, dvd, bd };

Medium medium_of(const disc::Image* image) {
  if (image == nullptr) return Medium::none;
  const disc::DiscClass c = image->disc().disc_class;
  if (disc::is_cd(c)) return Medium::cd;
  if (disc::is_dvd(c)) return Medium::dvd;
  return Medium::bd;
}

bool reads_dvd(DriveKind k) { return k != DriveKind::cd_rom; }
bool reads_bd(DriveKind k) { return k == DriveKind::bd_rom; }

struct Feature {
  uint16_t code;
  uint8_t version;
  bool persistent;
  bool current;
  std::vector<uint8_t> data;  // additional data (length a multiple of 4)
};

std::vector<Feature> features_for(const FeatureEnv& env) {
  const Medium m = medium_of(env.medium);
  const bool present = m != Medium::none;
  const bool cd = m == Medium::cd;
  const bool dvd = m == Medium::dvd;
  const bool bd = m == Medium::bd;
  std::vector<Feature> f;

  // 0000h Profile List (MMC-6 5.3.1): newest profile first, CurrentP on the medium's.
  {
    std::vector<uint8_t> d;
    auto add = [&](uint16_t p, bool cur) {
      d.push_back(static_cast<uint8_t>(p >> 8));
      d.push_back(static_cast<uint8_t>(p));
      d.push_back(cur ? kCurrentP : 0);
      d.push_back(0);
    };
    if (reads_bd(env.kind) || bd) add(profile::kBdRom, bd);
    if (reads_dvd(env.kind) || dvd) add(profile::kDvdRom, dvd);
    add(profile::kCdRom, cd);
    f.push_back({feature::kProfileList, 0, true, true, d});
  }
  // 0001h Core (MMC-6 5.3.2), version 2: interface, INQ2/DBE.
  f.push_back({feature::kCore, 2, true, true,
               {static_cast<uint8_t>(kInterfaceScsi >> 24), static_cast<uint8_t>(kInterfaceScsi >> 16),
                static_cast<uint8_t>(kInterfaceScsi >> 8), static_cast<uint8_t>(kInterfaceScsi), kCoreDbe, 0, 0, 0}});
  // 0002h Morphing (MMC-6 5.3.3), version 1: polling only, OCEvent.
  f.push_back({feature::kMorphing, 1, true, true, {kMorphingOcEvent, 0, 0, 0}});
  // 0003h Removable Medium (MMC-6 5.3.4), version 2: tray, load, eject, lock.
  f.push_back({feature::kRemovableMedium, 2, true, true, {kTrayLoadEjectLock, 0, 0, 0}});
  // 0010h Random Readable (MMC-6 5.3.5): 2048-byte blocks, blocking per medium.
  {
    const uint16_t blocking = bd ? 32 : dvd ? 16 : 1;
    f.push_back({feature::kRandomReadable, 0, false, present,
                 {static_cast<uint8_t>(kLogicalBlockSize >> 24), static_cast<uint8_t>(kLogicalBlockSize >> 16),
                  static_cast<uint8_t>(kLogicalBlockSize >> 8), static_cast<uint8_t>(kLogicalBlockSize),
                  static_cast<uint8_t>(blocking >> 8), static_cast<uint8_t>(blocking), kRandomReadablePp, 0}});
  }
  // 001Dh Multi-Read (MMC-6 5.3.11), 001Eh CD Read (5.3.12, version 2).
  f.push_back({feature::kMultiRead, 0, false, cd, {}});
  f.push_back({feature::kCdRead, 2, false, cd, {kCdReadC2AndText, 0, 0, 0}});
  // 001Fh DVD Read (MMC-6 5.3.13, version 1): MULTI110/DualR/DualRW 0.
  if (reads_dvd(env.kind) || dvd) f.push_back({feature::kDvdRead, 1, false, dvd, {0, 0, 0, 0}});
  // 0040h BD Read (MMC-6 5.3.24): read bitmaps for BD-RE / BD-R / BD-ROM class 0.
  if (reads_bd(env.kind) || bd) {
    std::vector<uint8_t> d(0x1C, 0);
    auto put = [&](size_t at, uint16_t v) {
      d[at] = static_cast<uint8_t>(v >> 8);
      d[at + 1] = static_cast<uint8_t>(v);
    };
    put(4, kBdReadAllVersions);   // BD-RE class 0 (descriptor bytes 8-9)
    put(12, kBdReadAllVersions);  // BD-R class 0 (bytes 16-17)
    put(20, kBdReadAllVersions);  // BD-ROM class 0 (bytes 24-25)
    f.push_back({feature::kBdRead, 0, false, bd, d});
  }
  // 0100h Power Management (MMC-6 5.3.27).
  f.push_back({feature::kPowerManagement, 0, true, true, {}});
  // 0103h CD External Audio Play (MMC-6 5.3.29): SCM, SV, 256 volume levels.
  f.push_back({feature::kCdExternalAudioPlay, 0, false, cd,
               {kAudioPlaySeparate, 0, static_cast<uint8_t>(kVolumeLevels >> 8), static_cast<uint8_t>(kVolumeLevels)}});
  // 0105h Timeout (MMC-6 5.3.31), version 0.
  f.push_back({feature::kTimeout, 0, true, true, {0, 0, 0, 0}});
  // 0106h DVD CSS (MMC-6 5.3.32): present on DVD drives, never current (our media carry no CSS).
  if (reads_dvd(env.kind) || dvd) f.push_back({feature::kDvdCss, 0, false, false, {0, 0, 0, kCssVersion}});
  // 0107h Real-Time Streaming (MMC-6 5.3.33), version 3: SET CD SPEED supported, no stream writing.
  f.push_back({feature::kRealTimeStreaming, 3, false, present, {kRtsSetCdSpeed, 0, 0, 0}});
  // 0108h Drive Serial Number (MMC-6 5.3.34): ASCII, padded with spaces to a multiple of 4.
  {
    std::vector<uint8_t> d(env.serial.begin(), env.serial.end());
    while (d.size() % 4 != 0 || d.empty()) d.push_back(' ');
    f.push_back({feature::kDriveSerialNumber, 0, true, true, d});
  }
  return f;
}

}  // namespace

uint16_t profile_of(const disc::Image* image) {
  switch (medium_of(image)) {
    case Medium::none: return profile::kNone;
    case Medium::cd: return profile::kCdRom;
    case Medium::dvd: return profile::kDvdRom;
    case Medium::bd: return profile::kBdRom;
  }
  return profile::kNone;
}

void build_configuration(const FeatureEnv& env, RequestType rt, uint16_t starting_feature, wire::ByteWriter& w) {
  // Header (MMC-6 Table 89): DATA LENGTH (patched below), reserved, CURRENT PROFILE.
  w.u32(0).u16(0).u16(profile_of(env.medium));
  for (const Feature& f : features_for(env)) {
    if (rt == RequestType::one ? f.code != starting_feature : f.code < starting_feature) continue;
    if (rt == RequestType::current && !f.current) continue;
    w.u16(f.code);
    w.u8(static_cast<uint8_t>((f.version << 2) | (f.persistent ? kPersistent : 0) | (f.current ? kCurrent : 0)));
    w.u8(static_cast<uint8_t>(f.data.size()));
    w.bytes(f.data);
  }
  w.put_u32(0, static_cast<uint32_t>(w.size() - 4));  // DATA LENGTH excludes its own 4 bytes
}

// MMC-6 6.6 GET CONFIGURATION: RT (byte 1 bits 1-0), STARTING FEATURE NUMBER
// (bytes 2-3), ALLOCATION LENGTH (bytes 7-8). Allowed with no medium and
// during a unit attention (MMC-6 4.1.6.1).
CommandResult mmc_get_configuration(CommandContext& ctx) {
  constexpr uint16_t kRtByte = 1;
  constexpr uint8_t kRtMsb = 1;
  DriveCore& core = core_of(ctx);
  const auto cdb = ctx.cdb();
  const uint8_t rt = wire::get_bits(cdb, 1, 0, 2);
  if (rt > static_cast<uint8_t>(RequestType::one)) return ScsiError::invalid_field(kRtByte, kRtMsb);
  const uint16_t sfn = wire::get_u16(cdb, 2);
  const uint16_t alloc = wire::get_u16(cdb, 7);
  wire::ResponseBuffer<512> buf;
  build_configuration(FeatureEnv{core.identity.kind, core.loaded(), core.identity.serial}, static_cast<RequestType>(rt),
                      sfn, buf.w);
  ctx.send(buf.bytes(), alloc);
  return kGood;
}

}  // namespace udisc::device
