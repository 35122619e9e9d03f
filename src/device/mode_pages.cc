// Mode pages: SPC-5 6.11-6.14 (MODE SELECT/SENSE) and 7.5 (mode parameters),
// MMC-6 7 (MM device mode pages). See mode_pages.h.
#include "device/mode_pages.h"

#include <algorithm>

namespace udisc::device {

namespace {

struct StoredPage {
  uint8_t code;
  std::vector<uint8_t> defaults;    // page code, page length, parameters
  std::vector<uint8_t> changeable;  // mask of bits MODE SELECT may change (same size)
};

// MMC-6 7.3 Read/Write Error Recovery: byte 2 AWRE ARRE TB RC PER DTE DCR,
// byte 3 READ RETRY COUNT, byte 8 WRITE RETRY COUNT, bytes 10-11 RECOVERY TIME LIMIT.
constexpr uint8_t kReadRetryCount = 0x05;
// SPC-5 7.5.10 Control: byte 2 TST(7-5) TMF_ONLY DPICZ D_SENSE GLTSD RLEC,
// byte 3 QUEUE ALGORITHM MODIFIER(7-4) NUAR QERR(2-1), byte 4 VS RAC
// UA_INTLCK_CTRL(5-4) SWP, byte 5 ATO TAS ATMPE RWWP SBLP AUTOLOAD MODE(2-0),
// bytes 8-9 BUSY TIMEOUT PERIOD, 10-11 EXTENDED SELF-TEST COMPLETION TIME.
// One task set shared by all I_T nexuses (TST 000b); GLTSD=1: no log
// parameters are ever saved; QUEUE ALGORITHM MODIFIER 1h: commands run
// concurrently (reads of a read-only medium in any order). Only D_SENSE is
// changeable; SWP (software write protect) is meaningless on a ROM drive.
// The page is one per logical unit (SPC-5 7.5.2: no per-I_T-nexus pages).
constexpr uint8_t kControlPageLength = 0x0A;
constexpr uint8_t kGltsd = 0x02;
constexpr uint8_t kDSense = 0x04;
constexpr uint8_t kUnrestrictedReordering = 0x10;
// MMC-2 5.5.4 CD Device Parameters: byte 3 INACTIVITY TIMER MULTIPLIER,
// bytes 4-5 S units per M unit (60), bytes 6-7 F units per S unit (75).
constexpr uint8_t kSecondsPerMinute = 60;
constexpr uint8_t kFramesPerSecond = 75;
// MMC-3 5.5.3 CD Audio Control: byte 2 bit 2 IMMED (always 1), bit 1 SOTC;
// bytes 8-15 CDDA output port 0-3 channel selection / volume.
constexpr uint8_t kImmed = 0x04;
constexpr uint8_t kSotc = 0x02;
constexpr uint8_t kPortChannel0 = 0x01;  // port 0 <- audio channel 0 (left)
constexpr uint8_t kPortChannel1 = 0x02;  // port 1 <- audio channel 1 (right)
constexpr uint8_t kFullVolume = 0xFF;
// SPC-5 7.5.13 Power Condition (MMC 0Ah form): byte 3 bit 1 IDLE, bit 0 STANDBY,
// bytes 4-7 IDLE CONDITION TIMER, bytes 8-11 STANDBY CONDITION TIMER (100 ms units).

const std::vector<StoredPage>& stored_pages() {
  static const std::vector<StoredPage> pages = {
      {mode_page::kReadWriteErrorRecovery,
       {mode_page::kReadWriteErrorRecovery, 0x0A, 0x00, kReadRetryCount, 0, 0, 0, 0, 0, 0, 0, 0},
       {0, 0, 0x00, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0}},
      {mode_page::kControl,
       {mode_page::kControl, kControlPageLength, kGltsd, kUnrestrictedReordering, 0, 0, 0, 0, 0, 0, 0, 0},
       {0, 0, kDSense, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
      {mode_page::kCdDeviceParameters,
       {mode_page::kCdDeviceParameters, 0x06, 0x00, 0x00, 0x00, kSecondsPerMinute, 0x00, kFramesPerSecond},
       {0, 0, 0x00, 0x0F, 0, 0, 0, 0}},
      {mode_page::kCdAudioControl,
       {mode_page::kCdAudioControl, 0x0E, kImmed, 0, 0, 0, 0, 0, kPortChannel0, kFullVolume, kPortChannel1,
        kFullVolume, 0, 0, 0, 0},
       {0, 0, kSotc, 0, 0, 0, 0, 0, 0x0F, 0xFF, 0x0F, 0xFF, 0x0F, 0xFF, 0x0F, 0xFF}},
      {mode_page::kPowerCondition,
       {mode_page::kPowerCondition, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
       {0, 0, 0, 0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}},
      // MMC-6 7.8 Time-out and Protect: byte 4 G3ENABLE TMOE DISP SWPP,
      // bytes 6-7 / 8-9 / 10-11 group 1 / group 2 / group 3 time-outs (seconds).
      {mode_page::kTimeoutAndProtect,
       {mode_page::kTimeoutAndProtect, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
       {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
  };
  return pages;
}

const StoredPage* find_stored(uint8_t code) {
  for (const StoredPage& p : stored_pages()) {
    if (p.code == code) return &p;
  }
  return nullptr;
}

// Apple vendor page 30h as classic Mac OS expects it (no T10 definition;
// the layout follows what Apple CD-ROM drives return: the ASCII string
// "APPLE COMPUTER, INC   " after the page header).
constexpr char kAppleVendorText[] = "APPLE COMPUTER, INC   ";
constexpr uint8_t kAppleVendorLength = sizeof(kAppleVendorText) - 1;

std::vector<uint8_t> apple_page(PageControl pc) {
  std::vector<uint8_t> p(2 + kAppleVendorLength, 0);
  p[0] = mode_page::kAppleVendor;
  p[1] = kAppleVendorLength;
  if (pc != PageControl::changeable) std::copy_n(kAppleVendorText, kAppleVendorLength, p.begin() + 2);
  return p;
}

// Pages reported for 3Fh, ascending.
constexpr uint8_t kAllPageOrder[] = {mode_page::kReadWriteErrorRecovery, mode_page::kControl,
                                     mode_page::kCdDeviceParameters,     mode_page::kCdAudioControl,
                                     mode_page::kPowerCondition,         mode_page::kTimeoutAndProtect,
                                     mode_page::kCapabilities,           mode_page::kAppleVendor};

bool supported(uint8_t page, const ModeEnv& env) {
  if (page == mode_page::kAppleVendor) return env.apple_vendor_page;
  return page == mode_page::kCapabilities || find_stored(page) != nullptr;
}

}  // namespace

// MMC-3 5.5.10 CD/DVD Capabilities and Mechanical Status page; bits as in
// mmc-expectations §3.2 (a ROM drive: no write bits).
std::array<uint8_t, 2 + mode_page::kCapabilitiesLength> capabilities_page(const ModeEnv& env) {
  // Byte 2 read capabilities.
  constexpr uint8_t kCdRRead = 0x01, kCdRwRead = 0x02, kMethod2 = 0x04, kDvdRomRead = 0x08, kDvdRRead = 0x10,
                    kDvdRamRead = 0x20;
  // Byte 4.
  constexpr uint8_t kAudioPlay = 0x01, kMode2Form1 = 0x10, kMode2Form2 = 0x20, kMultiSession = 0x40;
  // Byte 5.
  constexpr uint8_t kCdDaCommands = 0x01, kCdDaAccurate = 0x02, kRwSupported = 0x04, kRwDeinterleaved = 0x08,
                    kC2Pointers = 0x10, kIsrc = 0x20, kUpc = 0x40;
  // Byte 6: loading mechanism type (bits 7-5, 001b = tray), EJECT, LOCK STATE, LOCK.
  constexpr uint8_t kTrayMechanism = 0x20, kEject = 0x08, kLockState = 0x02, kLock = 0x01;
  // Byte 7: separate channel mute, separate volume levels.
  constexpr uint8_t kSeparateMute = 0x02, kSeparateVolume = 0x01;
  constexpr uint16_t kVolumeLevels = 0x0100;

  const bool dvd = env.kind != DriveKind::cd_rom;
  std::array<uint8_t, 2 + mode_page::kCapabilitiesLength> p{};
  wire::ByteWriter w(p);
  w.u8(mode_page::kCapabilities).u8(mode_page::kCapabilitiesLength);
  w.u8(dvd ? (kCdRRead | kCdRwRead | kMethod2 | kDvdRomRead | kDvdRRead | kDvdRamRead) : (kCdRRead | kCdRwRead | kMethod2));
  w.u8(0x00);  // byte 3: no write capability
  w.u8(kAudioPlay | kMode2Form1 | kMode2Form2 | kMultiSession);
  w.u8(kCdDaCommands | kCdDaAccurate | kRwSupported | kRwDeinterleaved | kC2Pointers | kIsrc | kUpc);
  w.u8(kTrayMechanism | kEject | kLock | (env.locked ? kLockState : 0));
  w.u8(kSeparateMute | kSeparateVolume);
  w.u16(DriveSettings::kCdMaxReadSpeedKbps);  // bytes 8-9 maximum read speed (obsolete)
  w.u16(kVolumeLevels);                       // bytes 10-11
  const uint16_t buffer_kib = env.kind == DriveKind::cd_rom ? 0x0200 : env.kind == DriveKind::dvd_rom ? 0x0800 : 0x1000;
  w.u16(buffer_kib);                                                               // bytes 12-13 buffer size
  w.u16(std::min<uint16_t>(env.read_speed_kbps, DriveSettings::kCdMaxReadSpeedKbps));  // 14-15 current read speed
  w.u8(0);                 // 16 reserved
  w.u8(0);                 // 17 digital output format
  w.u16(0).u16(0);         // 18-21 obsolete write speeds
  w.u16(dvd ? 0x0001 : 0); // 22-23 copy management revision (CSS)
  w.zeros(3);              // 24-26 reserved
  w.u8(0);                 // 27 rotation control selected
  w.u16(0);                // 28-29 current write speed selected
  w.u16(0);                // 30-31 number of write speed performance descriptors
  return p;
}

ModePages::ModePages() { reset(); }

void ModePages::reset() {
  current_.clear();
  for (const StoredPage& p : stored_pages()) current_[p.code] = p.defaults;
}

bool ModePages::descriptor_sense() const { return (current_.at(mode_page::kControl)[2] & kDSense) != 0; }

std::span<const uint8_t> ModePages::current(uint8_t page) const {
  auto it = current_.find(page);
  if (it == current_.end()) return {};
  return it->second;
}

void ModePages::append_one(uint8_t page, PageControl pc, const ModeEnv& env, wire::ByteWriter& w) const {
  if (page == mode_page::kCapabilities) {
    auto p = capabilities_page(env);
    if (pc == PageControl::changeable) std::fill(p.begin() + 2, p.end(), uint8_t{0});
    w.bytes(p);
    return;
  }
  if (page == mode_page::kAppleVendor) {
    w.bytes(apple_page(pc));
    return;
  }
  const StoredPage* sp = find_stored(page);
  if (sp == nullptr) return;
  switch (pc) {
    case PageControl::current:
    case PageControl::saved:  // never reached: saved values are rejected before
      w.bytes(current_.at(page));
      break;
    case PageControl::changeable: {
      std::vector<uint8_t> mask = sp->changeable;
      mask[0] = sp->code;
      mask[1] = sp->defaults[1];
      w.bytes(mask);
      break;
    }
    case PageControl::default_values:
      w.bytes(sp->defaults);
      break;
  }
}

CommandResult ModePages::append(uint8_t page, PageControl pc, const ModeEnv& env, wire::ByteWriter& w) const {
  constexpr uint16_t kPageCodeByte = 2;
  constexpr uint8_t kPageCodeBit = 5;
  if (page == mode_page::kAllPages) {
    for (uint8_t p : kAllPageOrder) {
      if (supported(p, env)) append_one(p, pc, env, w);
    }
    return kGood;
  }
  if (!supported(page, env)) return ScsiError::invalid_field(kPageCodeByte, kPageCodeBit);
  append_one(page, pc, env, w);
  return kGood;
}

CommandResult ModePages::select(std::span<const uint8_t> pages, size_t offset, const ModeEnv& env, bool& changed) {
  constexpr uint8_t kSpf = 0x40;
  constexpr uint8_t kPageCodeMask = 0x3F;
  const ScsiError kLengthError{SenseKey::illegal_request, asc::kParameterListLengthError, std::nullopt, std::nullopt};
  std::map<uint8_t, std::vector<uint8_t>> staged = current_;
  size_t pos = 0;
  changed = false;
  while (pos < pages.size()) {
    const auto at = static_cast<uint16_t>(offset + pos);
    if (pages.size() - pos < 2) return kLengthError;
    const uint8_t code = pages[pos] & kPageCodeMask;
    if (pages[pos] & kSpf) return ScsiError::invalid_parameter(at, 6);
    if (!supported(code, env) || code == mode_page::kAllPages) return ScsiError::invalid_parameter(at, 5);
    std::vector<uint8_t> cur;
    std::vector<uint8_t> mask;
    if (const StoredPage* sp = find_stored(code)) {
      cur = staged.at(code);
      mask = sp->changeable;
    } else if (code == mode_page::kCapabilities) {
      auto p = capabilities_page(env);
      cur.assign(p.begin(), p.end());
      mask.assign(cur.size(), 0);
    } else {
      cur = apple_page(PageControl::current);
      mask.assign(cur.size(), 0);
    }
    const uint8_t length = pages[pos + 1];
    if (length != cur[1]) return ScsiError::invalid_parameter(static_cast<uint16_t>(at + 1));
    if (pages.size() - pos < size_t{2} + length) return kLengthError;
    for (size_t i = 2; i < cur.size(); ++i) {
      const uint8_t incoming = pages[pos + i];
      const uint8_t fixed_diff = static_cast<uint8_t>((incoming ^ cur[i]) & ~mask[i]);
      if (fixed_diff != 0) {
        uint8_t bit = 7;
        while (((fixed_diff >> bit) & 1u) == 0) --bit;
        return ScsiError::invalid_parameter(static_cast<uint16_t>(at + i), bit);
      }
      const auto updated = static_cast<uint8_t>((cur[i] & ~mask[i]) | (incoming & mask[i]));
      if (updated != cur[i]) changed = true;
      cur[i] = updated;
    }
    if (find_stored(code) != nullptr) staged[code] = cur;
    pos += size_t{2} + length;
  }
  current_ = std::move(staged);
  return kGood;
}

}  // namespace udisc::device
