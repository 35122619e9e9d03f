// READ CD (BEh) MMC-6 6.19, READ CD MSF (B9h) MMC-6 6.20.
#include "device/mmc_read_cd.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "device/wire.h"
#include "disc/ecma130.h"
#include "disc/msf.h"
#include "disc/subchannel.h"

namespace udisc::device::mmc {
namespace {

namespace e = disc::ecma130;

constexpr uint32_t kC2ErrorBits = 294;       // one bit per byte of the 2352-byte sector
constexpr uint32_t kC2BlockAndErrorBits = 296;  // block error byte + pad byte + 294
constexpr uint32_t kFormattedQ = 16;
constexpr uint32_t kSubchannelRaw = 96;

// Byte ranges of the fields of a raw sector, per type (ECMA-130 14; XA).
struct Fields {
  uint32_t header_end;     // header is [12, 16)
  uint32_t subheader_end;  // sub-header is [16, subheader_end) (empty unless XA)
  uint32_t user_end;       // user data is [subheader_end, user_end)
  uint32_t edc_end;        // EDC/ECC is [user_end, edc_end) (empty when part of user data)
};
constexpr Fields fields_of(SectorType t) {
  switch (t) {
    case SectorType::mode1: return {16, 16, 2064, 2352};
    case SectorType::mode2_formless: return {16, 16, 2352, 2352};
    case SectorType::mode2_form1: return {16, 24, 2072, 2352};
    case SectorType::mode2_form2: return {16, 24, 2352, 2352};  // user data 2328 incl. the spare EDC
    case SectorType::cd_da: return {0, 0, 2352, 2352};
  }
  return {16, 16, 2064, 2352};
}

}  // namespace

const char* to_string(SectorType t) {
  switch (t) {
    case SectorType::cd_da: return "CD-DA";
    case SectorType::mode1: return "mode 1";
    case SectorType::mode2_formless: return "mode 2 formless";
    case SectorType::mode2_form1: return "mode 2 form 1";
    case SectorType::mode2_form2: return "mode 2 form 2";
  }
  return "?";
}

Outcome<ReadCdFields> ReadCdFields::decode(uint8_t byte9, uint8_t byte10) {
  ReadCdFields f;
  f.sync = (byte9 & 0x80) != 0;
  f.header = static_cast<HeaderCodes>((byte9 >> 5) & 0x3);
  f.user_data = (byte9 & 0x10) != 0;
  f.edc_ecc = (byte9 & 0x08) != 0;
  const uint8_t c2 = (byte9 >> 1) & 0x3;
  const uint8_t sub = byte10 & 0x7;
  // Whether the main-channel fields make a legal combination depends on the
  // sector type (CD-DA accepts them all): layout() decides, per sector.
  if (c2 == 3) return ScsiError::invalid_field(9, 2);  // C2 Error Information 11b reserved
  f.c2 = static_cast<C2Info>(c2);
  if (sub != 0 && sub != 1 && sub != 2 && sub != 4) return ScsiError::invalid_field(10, 2);
  f.subchannel = static_cast<SubchannelSelect>(sub);
  return f;
}

namespace {
Outcome<ReadCdRequest> decode_common(std::span<const uint8_t> cdb, ReadCdRequest r) {
  const uint8_t expected = wire::get_bits(cdb, 1, 2, 3);
  if (expected > static_cast<uint8_t>(ExpectedSectorType::mode2_form2)) return ScsiError::invalid_field(1, 4);
  r.expected = static_cast<ExpectedSectorType>(expected);
  Outcome<ReadCdFields> f = ReadCdFields::decode(wire::get_u8(cdb, 9), wire::get_u8(cdb, 10));
  if (!f.ok()) return f.error();
  r.fields = f.value();
  return r;
}
}  // namespace

Outcome<ReadCdRequest> decode_read_cd(std::span<const uint8_t> cdb) {
  ReadCdRequest r;
  r.lba = static_cast<int32_t>(wire::get_u32(cdb, 2));
  r.count = wire::get_u24(cdb, 6);
  return decode_common(cdb, r);
}

Outcome<ReadCdRequest> decode_read_cd_msf(std::span<const uint8_t> cdb) {
  ReadCdRequest r;
  const disc::Msf start{wire::get_u8(cdb, 3), wire::get_u8(cdb, 4), wire::get_u8(cdb, 5)};
  const disc::Msf end{wire::get_u8(cdb, 6), wire::get_u8(cdb, 7), wire::get_u8(cdb, 8)};
  if (start.second >= 60 || start.frame >= 75) return ScsiError::invalid_field(4);
  if (end.second >= 60 || end.frame >= 75) return ScsiError::invalid_field(7);
  const int32_t s = disc::msf_to_frames(start);
  const int32_t e = disc::msf_to_frames(end);
  // MMC-6 6.20.2: a Starting MSF above the Ending MSF is an invalid field;
  // equal addresses transfer nothing.
  if (s > e) return ScsiError::invalid_field(3);
  r.lba = s - disc::kMsfLbaShift;
  r.count = static_cast<uint32_t>(e - s);
  return decode_common(cdb, r);
}

namespace {
// Byte 9 bits 7-3 (Sync, Header Codes, User Data, EDC/ECC).
uint8_t main_flags(const ReadCdFields& f) {
  return static_cast<uint8_t>((f.sync ? 0x80 : 0) | (static_cast<uint8_t>(f.header) << 5) | (f.user_data ? 0x10 : 0) |
                              (f.edc_ecc ? 0x08 : 0));
}

}  // namespace

std::optional<MainLayout> layout(SectorType type, const ReadCdFields& f) {
  // The field-combination table of READ CD (MMC-6 6.19, "Number of Bytes
  // Returned Based on Data Selection Field"), as transcribed in
  // mamedev/mame src/devices/machine/t10mmc.cpp (T10MMC_CMD_READ_CD: "t10 mmc
  // spec gives a table which shows illegal combinations and combinations
  // that get demoted"):
  //  - CD-DA: any selection returns the 2352 bytes of the sector (the other
  //    fields are demoted to user data); none returns nothing.
  //  - Every data sector type: these twelve selections are illegal.
  //  - Mode 2 Form 1/2 also: header and user data without the sub-header
  //    (30h, 38h, B0h, B8h), where the fields would not be contiguous.
  //  - A field the sector type lacks is dropped (sub-header of mode 1 and
  //    formless, EDC/ECC of formless and form 2), so e.g. 08h on form 2 or
  //    40h on mode 1 returns 0 bytes; 08h (EDC/ECC only) and 80h (sync only)
  //    are legal.
  const uint8_t flags = main_flags(f);
  if (type == SectorType::cd_da) return MainLayout{0, flags != 0 ? uint32_t{e::kSectorSize} : 0u};
  static constexpr uint8_t kIllegalForData[] = {0x28, 0x48, 0x68, 0x88, 0x90, 0x98,
                                                0xA8, 0xC0, 0xC8, 0xD0, 0xD8, 0xE8};
  for (uint8_t illegal : kIllegalForData) {
    if (flags == illegal) return std::nullopt;
  }
  const Fields r = fields_of(type);
  // The selected parts in sector order; they must form one contiguous run.
  struct Part {
    uint32_t begin, end;
    bool selected;
  };
  const bool header = f.header == HeaderCodes::header || f.header == HeaderCodes::all;
  const bool subheader = f.header == HeaderCodes::subheader || f.header == HeaderCodes::all;
  const Part parts[] = {
      {0, 12, f.sync},
      {12, r.header_end, header},
      {16, r.subheader_end, subheader},
      {r.subheader_end, r.user_end, f.user_data},
      {r.user_end, r.edc_end, f.edc_ecc},
  };
  std::optional<uint32_t> begin;
  uint32_t end = 0;
  bool gap = false;
  for (const Part& p : parts) {
    if (p.begin == p.end) continue;  // field absent in this sector type
    if (p.selected) {
      if (begin && gap) return std::nullopt;
      if (!begin) begin = p.begin;
      end = p.end;
    } else if (begin) {
      gap = true;
    }
  }
  if (!begin) return MainLayout{0, 0};
  return MainLayout{*begin, end - *begin};
}

uint32_t c2_size(C2Info c2) {
  switch (c2) {
    case C2Info::none: return 0;
    case C2Info::error_bits: return kC2ErrorBits;
    case C2Info::block_and_error_bits: return kC2BlockAndErrorBits;
  }
  return 0;
}

uint32_t subchannel_size(SubchannelSelect s) {
  switch (s) {
    case SubchannelSelect::none: return 0;
    case SubchannelSelect::raw: return kSubchannelRaw;
    case SubchannelSelect::q: return kFormattedQ;
    case SubchannelSelect::rw: return kSubchannelRaw;
  }
  return 0;
}

std::optional<uint32_t> transfer_size(SectorType type, const ReadCdFields& fields) {
  const std::optional<MainLayout> main = layout(type, fields);
  if (!main) return std::nullopt;
  return main->length + c2_size(fields.c2) + subchannel_size(fields.subchannel);
}

bool matches(ExpectedSectorType expected, SectorType actual) {
  switch (expected) {
    case ExpectedSectorType::any: return true;
    case ExpectedSectorType::cd_da: return actual == SectorType::cd_da;
    case ExpectedSectorType::mode1: return actual == SectorType::mode1;
    case ExpectedSectorType::mode2_formless: return actual == SectorType::mode2_formless;
    case ExpectedSectorType::mode2_form1: return actual == SectorType::mode2_form1;
    case ExpectedSectorType::mode2_form2: return actual == SectorType::mode2_form2;
  }
  return false;
}

SectorType track_sector_type(const disc::Track& track) {
  switch (track.mode) {
    case disc::TrackMode::audio: return SectorType::cd_da;
    case disc::TrackMode::mode1: return SectorType::mode1;
    case disc::TrackMode::mode2: return SectorType::mode2_formless;
    case disc::TrackMode::mode2_form1: return SectorType::mode2_form1;
    case disc::TrackMode::mode2_form2: return SectorType::mode2_form2;
  }
  return SectorType::mode1;
}

namespace {
bool is_xa(const disc::Track& track) {
  return track.mode == disc::TrackMode::mode2_form1 || track.mode == disc::TrackMode::mode2_form2;
}
}  // namespace

SectorType sector_type(const disc::Track& track, std::span<const uint8_t, 2352> raw) {
  if (!is_xa(track)) return track_sector_type(track);
  // XA tracks mix forms; the sub-header's submode byte (offset 18) tells.
  return (raw[e::kSubheaderOffset + 2] & e::submode::kForm2) != 0 ? SectorType::mode2_form2 : SectorType::mode2_form1;
}

void deinterleave_rw(std::span<const uint8_t> context, std::span<uint8_t, 96> out) {
  constexpr size_t kPack = 24;
  constexpr size_t kPacksPerSector = 4;
  for (size_t pack = 0; pack < kPacksPerSector; ++pack) {
    for (size_t symbol = 0; symbol < kPack; ++symbol) {
      size_t column = symbol;
      switch (symbol) {
        case 1: column = 18; break;
        case 18: column = 1; break;
        case 2: column = 5; break;
        case 5: column = 2; break;
        case 3: column = 23; break;
        case 23: column = 3; break;
        default: break;
      }
      const size_t at = (pack + (column & 7)) * kPack + column;
      out[pack * kPack + symbol] = at < context.size() ? static_cast<uint8_t>(context[at] & 0x3F) : 0;
    }
  }
}

void assemble_sector(SectorType /*type*/, const ReadCdFields& fields, const MainLayout& main,
                     std::span<const uint8_t, 2352> raw, std::span<const uint8_t> sub, std::span<uint8_t> out) {
  size_t pos = 0;
  if (main.length > 0) {
    std::memcpy(out.data(), raw.data() + main.offset, main.length);
    pos = main.length;
  }
  // C2 error information: the image has no C2 errors, so every bit (and the
  // block error byte, MMC-6 Table 383) is zero.
  const uint32_t c2 = c2_size(fields.c2);
  std::memset(out.data() + pos, 0, c2);
  pos += c2;
  switch (fields.subchannel) {
    case SubchannelSelect::none: break;
    case SubchannelSelect::raw:
      std::memcpy(out.data() + pos, sub.data(), kSubchannelRaw);
      pos += kSubchannelRaw;
      break;
    case SubchannelSelect::q: {
      // MMC-6 Table 385 formatted Q: the 10 Q bytes and their CRC, then 4 pad bytes.
      const disc::QFrame q = disc::extract_q(sub.first<96>());
      std::memcpy(out.data() + pos, q.data(), q.size());
      std::memset(out.data() + pos + q.size(), 0, kFormattedQ - q.size());
      pos += kFormattedQ;
      break;
    }
    case SubchannelSelect::rw:
      deinterleave_rw(sub, out.subspan(pos).first<96>());
      pos += kSubchannelRaw;
      break;
  }
}

namespace {

ScsiError image_error(const Status& s, int32_t lba) {
  if (s.code() == Status::Code::out_of_range) return ScsiError::lba_out_of_range(static_cast<uint32_t>(lba));
  return ScsiError::read_error(static_cast<uint32_t>(lba));
}

// What the range check before the transfer found.
struct Plan {
  SectorType first_type = SectorType::mode1;
  uint32_t size = 0;      // bytes per sector
  uint32_t good = 0;      // sectors transferable before the first failure
  std::optional<ScsiError> failure;  // reported after the good sectors
};

// Walks the range track by track: the transfer ends at the first sector
// whose type differs from the expected type (or, for "any", whose size with
// the selected fields differs from the first sector's: MMC-6 6.19.2.1 ends
// the transfer at a change between CD-DA and data sectors).
Outcome<Plan> plan_read(const disc::Image& image, const ReadCdRequest& req) {
  const disc::Disc& d = image.disc();
  Plan plan;
  std::array<uint8_t, e::kSectorSize> raw{};
  bool first = true;
  int32_t lba = req.lba;
  const int32_t end = req.lba + static_cast<int32_t>(req.count);
  while (lba < end) {
    const disc::Track* track = d.track_at(lba);
    if (track == nullptr) {
      // Between sessions: no sectors (the ones before are transferred).
      if (first) return ScsiError::lba_out_of_range(static_cast<uint32_t>(lba));
      plan.failure = ScsiError::lba_out_of_range(static_cast<uint32_t>(lba));
      return plan;
    }
    const int32_t run_end = std::min(end, track->end_lba);
    // Per-sector classification only matters for XA tracks, and only when
    // the two forms differ for this request (expected type or size).
    bool per_sector = false;
    if (is_xa(*track)) {
      const bool expected_form = req.expected == ExpectedSectorType::mode2_form1 ||
                                 req.expected == ExpectedSectorType::mode2_form2;
      per_sector = expected_form || transfer_size(SectorType::mode2_form1, req.fields) !=
                                        transfer_size(SectorType::mode2_form2, req.fields);
    }
    for (int32_t l = lba; l < run_end; ++l) {
      SectorType type = track_sector_type(*track);
      if (per_sector || (first && is_xa(*track))) {
        if (Status s = image.read_raw(l, 1, raw); !s.ok()) {
          plan.failure = image_error(s, l);
          return plan;
        }
        type = sector_type(*track, raw);
      }
      if (!matches(req.expected, type)) {
        plan.failure = ScsiError::illegal_mode(static_cast<uint32_t>(l));
        return plan;
      }
      const std::optional<uint32_t> size = transfer_size(type, req.fields);
      if (!size) {
        // Field combination illegal for this sector type (MMC-6 Table 381).
        if (first) return ScsiError::invalid_field(9, 6);
        plan.failure = ScsiError::invalid_field(9, 6);
        return plan;
      }
      if (first) {
        plan.first_type = type;
        plan.size = *size;
        first = false;
      } else if (*size != plan.size || ((type == SectorType::cd_da) != (plan.first_type == SectorType::cd_da))) {
        plan.failure = ScsiError::illegal_mode(static_cast<uint32_t>(l));
        return plan;
      }
      ++plan.good;
      if (!per_sector) {
        // The whole run has this type.
        plan.good += static_cast<uint32_t>(run_end - l - 1);
        break;
      }
    }
    lba = run_end;
  }
  return plan;
}

}  // namespace

CommandResult execute_read_cd(CommandContext& ctx, const disc::Image& image, const ReadCdRequest& req) {
  const disc::Disc& d = image.disc();
  // DVD/BD medium: INVALID FIELD IN CDB, as a real drive answers (HL-DT-ST
  // DVDRWBD CA10N, READ CD F8h on a DVD-ROM: sense 70 00 05 ... 24 00 00 C0,
  // logged by cdrdao in AkBKukU/cd-ripping issue #3; CDEmu does the same).
  // Drives differ here: Sunext BD-ROM firmware (at_knl ProcessDiscReadyCommand)
  // answers 02/30/00 on DVD and 05/20/00 on BD; none answers 05/64/00.
  if (!is_cd_media(d) || d.tracks.empty()) return ScsiError{SenseKey::illegal_request, asc::kInvalidFieldInCdb, std::nullopt, std::nullopt};
  const int32_t first_lba = d.tracks.front().pregap_lba;
  const int64_t end = int64_t{req.lba} + req.count;
  if (req.lba < first_lba || req.lba >= d.leadout_lba()) {
    if (req.count == 0 && req.lba >= first_lba && req.lba <= d.leadout_lba()) return kGood;
    return ScsiError::lba_out_of_range(static_cast<uint32_t>(req.lba));
  }
  if (end > d.leadout_lba()) return ScsiError::lba_out_of_range(static_cast<uint32_t>(d.leadout_lba()));
  if (req.count == 0) return kGood;

  Outcome<Plan> planned = plan_read(image, req);
  if (!planned.ok()) return planned.error();
  const Plan& plan = planned.value();
  if (plan.good == 0) return plan.failure;

  const ReadCdFields& fields = req.fields;
  const bool raw_only = plan.size == e::kSectorSize && fields.c2 == C2Info::none &&
                        fields.subchannel == SubchannelSelect::none;
  const bool need_sub = fields.subchannel != SubchannelSelect::none;
  const disc::Track* track = nullptr;

  CommandResult result = ctx.send_sectors(plan.size, plan.good, [&](uint32_t first, uint32_t n, std::span<uint8_t> out) -> CommandResult {
    const int32_t lba0 = req.lba + static_cast<int32_t>(first);
    if (raw_only) {
      // The whole 2352-byte sector of every type: straight into the buffer.
      if (Status s = image.read_raw(lba0, n, out); !s.ok()) return image_error(s, lba0);
      return kGood;
    }
    constexpr uint32_t kChunk = 8;
    std::array<uint8_t, kChunk * e::kSectorSize> raw;  // NOLINT: filled by read_raw
    // Sub-channel of the chunk, preceded for R–W by the two sectors before it.
    std::array<uint8_t, (kRwLookBehindSectors + kChunk) * disc::kSubchannelSize> sub{};
    const bool rw = fields.subchannel == SubchannelSelect::rw;
    const size_t own = rw ? kRwLookBehindSectors : 0;  // first sector of the chunk in `sub`
    for (uint32_t done = 0; done < n;) {
      const uint32_t k = std::min(kChunk, n - done);
      const int32_t lba = lba0 + static_cast<int32_t>(done);
      if (Status s = image.read_raw(lba, k, std::span<uint8_t>(raw.data(), size_t{k} * e::kSectorSize)); !s.ok()) {
        return image_error(s, lba);
      }
      if (need_sub) {
        if (Status s = image.read_subchannel(
                lba, k, std::span<uint8_t>(sub.data() + own * disc::kSubchannelSize, size_t{k} * disc::kSubchannelSize));
            !s.ok()) {
          return image_error(s, lba);
        }
        if (rw) {
          // The two sectors before the chunk; zeros where there are none
          // (before the first track, the gap between sessions).
          for (size_t back = 0; back < kRwLookBehindSectors; ++back) {
            std::span<uint8_t> dst(sub.data() + back * disc::kSubchannelSize, disc::kSubchannelSize);
            const int32_t at = lba - static_cast<int32_t>(kRwLookBehindSectors - back);
            if (!image.read_subchannel(at, 1, dst).ok()) std::fill(dst.begin(), dst.end(), uint8_t{0});
          }
        }
      }
      for (uint32_t i = 0; i < k; ++i) {
        const int32_t l = lba + static_cast<int32_t>(i);
        if (track == nullptr || l < track->pregap_lba || l >= track->end_lba) track = d.track_at(l);
        std::span<const uint8_t, 2352> r(raw.data() + size_t{i} * e::kSectorSize, e::kSectorSize);
        // R–W: sectors l-2, l-1, l; otherwise the sector's own sub-channel.
        std::span<const uint8_t> sc(sub.data() + size_t{i} * disc::kSubchannelSize,
                                    (rw ? kRwContextSectors : 1) * disc::kSubchannelSize);
        const SectorType type = track != nullptr ? sector_type(*track, r) : plan.first_type;
        const std::optional<MainLayout> main = layout(type, fields);
        if (!main) return ScsiError::invalid_field(9, 6);
        assemble_sector(type, fields, *main, r, sc, out.subspan(size_t{done + i} * plan.size, plan.size));
      }
      done += k;
    }
    return kGood;
  });
  if (result) return result;
  return plan.failure;
}

}  // namespace udisc::device::mmc
