// READ CD (BEh) and READ CD MSF (B9h), MMC-6 6.19 and 6.20.
//
// decode_* turn a CDB into a ReadCdRequest (rejecting reserved values);
// layout() says which bytes of a raw 2352-byte sector a sector type returns
// for the selected fields, or that the combination is illegal for it (the
// READ CD field-combination table of MMC-6 6.19, see layout());
// assemble_sector() builds one transferred sector from the raw sector and
// its raw P–W sub-channel. execute_read_cd() runs the command against an
// image through a CommandContext.
//
// Returned per sector, in this order: sync (12), header (4), sub-header (8),
// user data, EDC/ECC, C2 error information (294 or 296 zero bytes: images
// carry no C2 errors), sub-channel (raw P–W 96, formatted Q 16, or R–W 96).
//
// Thread safety: pure functions; execute_read_cd reads the image only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "device/command.h"
#include "device/mmc_common.h"
#include "disc/disc.h"
#include "disc/image.h"

namespace udisc::device::mmc {

// CDB byte 1 bits 4-2, Expected Sector Type.
enum class ExpectedSectorType : uint8_t {
  any = 0,
  cd_da = 1,
  mode1 = 2,
  mode2_formless = 3,
  mode2_form1 = 4,
  mode2_form2 = 5,
};

// The actual type of a sector on the disc.
enum class SectorType : uint8_t { cd_da, mode1, mode2_formless, mode2_form1, mode2_form2 };
const char* to_string(SectorType t);

// CDB byte 9 bits 6-5, Header Code.
enum class HeaderCodes : uint8_t { none = 0, header = 1, subheader = 2, all = 3 };
// CDB byte 9 bits 2-1, C2 Error Information (11b is reserved).
enum class C2Info : uint8_t { none = 0, error_bits = 1, block_and_error_bits = 2 };
// CDB byte 10 bits 2-0, Sub-channel Data Selection.
enum class SubchannelSelect : uint8_t { none = 0, raw = 1, q = 2, rw = 4 };

struct ReadCdFields {
  bool sync = false;
  HeaderCodes header = HeaderCodes::none;
  bool user_data = false;
  bool edc_ecc = false;
  C2Info c2 = C2Info::none;
  SubchannelSelect subchannel = SubchannelSelect::none;

  // From byte 9 and byte 10 of the CDB.
  static Outcome<ReadCdFields> decode(uint8_t byte9, uint8_t byte10);
};

struct ReadCdRequest {
  ExpectedSectorType expected = ExpectedSectorType::any;
  int32_t lba = 0;     // first sector
  uint32_t count = 0;  // sectors
  ReadCdFields fields;
};

// BEh: byte1 bits 4-2 expected type, bytes 2-5 LBA (signed), bytes 6-8
// transfer length, byte 9 main channel selection, byte 10 sub-channel.
Outcome<ReadCdRequest> decode_read_cd(std::span<const uint8_t> cdb);
// B9h: bytes 3-5 starting MSF, bytes 6-8 ending MSF (exclusive).
Outcome<ReadCdRequest> decode_read_cd_msf(std::span<const uint8_t> cdb);

// Main-channel bytes [offset, offset + length) of the raw sector that the
// fields select for this sector type; nullopt when the combination is
// illegal for it (fields that would not be contiguous, e.g. header and user
// data without the sub-header of an XA sector).
struct MainLayout {
  uint32_t offset = 0;
  uint32_t length = 0;
};
std::optional<MainLayout> layout(SectorType type, const ReadCdFields& fields);
// Bytes transferred per sector: main channel + C2 + sub-channel.
uint32_t c2_size(C2Info c2);
uint32_t subchannel_size(SubchannelSelect s);
std::optional<uint32_t> transfer_size(SectorType type, const ReadCdFields& fields);

bool matches(ExpectedSectorType expected, SectorType actual);

// The type of a sector of `track`, from its raw bytes for XA tracks (the
// sub-header's form bit decides between form 1 and form 2).
SectorType sector_type(const disc::Track& track, std::span<const uint8_t, 2352> raw);
// Track-level type when the form does not depend on the sector.
SectorType track_sector_type(const disc::Track& track);

// R–W de-interleaving (IEC 60908 / Red Book sub-code R–W, CD+G). On the
// disc, symbol j of a 24-symbol pack is first exchanged with its partner
// (1<->18, 2<->5, 3<->23) and then delayed by (j mod 8) packs, so the 4 packs
// that start in a sector end in the sector two after it. Checked against
// cdrtools (cdrecord/subchan.c subinterleave: "index 1 <-> 18, index 2 <-> 5,
// index 3 <-> 23, delay index mod 8") and redumper-extract-rw
// (compute_deinterleave: column c = partner(j), source (pack + c % 8) * 24 + c).
// A drive returns, for LBA N, the packs that started in sector N - 2, the
// last ones it has received whole: redumper-extract-rw has to look back two
// sectors ("delay by 2 sectors to match cdrdao Cooked RW output", i.e. what
// drives return for READ CD sub-channel 100b). So `context` holds the raw
// P–W sub-channel of sectors N-2, N-1 and N (288 bytes; zeros where there is
// no sector) and `out` receives the 96 symbols of the 4 packs that start in
// N-2, in bits 5-0. No parity correction is applied (images carry the R–W
// data as read).
inline constexpr size_t kRwContextSectors = 3;
inline constexpr size_t kRwLookBehindSectors = kRwContextSectors - 1;
void deinterleave_rw(std::span<const uint8_t> context, std::span<uint8_t, 96> out);

// One transferred sector into `out` (exactly transfer_size bytes). `sub` is
// the sector's raw P–W sub-channel; for R–W selection it is instead the
// kRwContextSectors x 96 bytes of the two preceding sectors and the sector.
void assemble_sector(SectorType type, const ReadCdFields& fields, const MainLayout& main,
                     std::span<const uint8_t, 2352> raw, std::span<const uint8_t> sub, std::span<uint8_t> out);

// Runs READ CD / READ CD MSF on `image` (any CD medium): range checks
// (05/21/00 with the LBA), per-sector expected-type check (05/64/00 with
// the failing LBA in INFORMATION; earlier sectors are transferred), field
// legality for the sector type met (05/24/00 byte 9), image read failures
// (03/11/00 with the LBA). DVD/BD media -> 05/24/00.
CommandResult execute_read_cd(CommandContext& ctx, const disc::Image& image, const ReadCdRequest& request);

}  // namespace udisc::device::mmc
