// libFuzzer target: random CDB sequences, with insert / eject / reset /
// initiator loss between them, against CD, DVD and BD in-memory discs.
// After every command it checks that data-in never exceeds the allocation
// length, the expected transfer length or the buffer; that sense data is
// well formed; and that the drive state stays consistent (TEST UNIT READY
// and GET CONFIGURATION agree with DriveStatus).
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "device/drive.h"
#include "device/testing/memory_image.h"
#include "device/wire.h"

namespace {

using udisc::device::DataDirection;
using udisc::device::Drive;
using udisc::device::Request;
using udisc::device::Response;
using udisc::device::ScsiStatus;
using udisc::device::TrayState;
using udisc::device::testing::MemoryImage;
namespace wire = udisc::device::wire;

constexpr uint8_t kGuard = 0xA5;
constexpr size_t kGuardLength = 32;
constexpr udisc::device::InitiatorId kProbe = 0xFFFF;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_drive: invariant violated: %s\n", what);
    std::abort();
  }
}

const std::vector<std::shared_ptr<MemoryImage>>& images() {
  static const std::vector<std::shared_ptr<MemoryImage>> v = [] {
    std::vector<std::shared_ptr<MemoryImage>> out = {MemoryImage::cd_mixed_mode(), MemoryImage::cd_audio(),
                                                     MemoryImage::cd_multisession(), MemoryImage::dvd(4096),
                                                     MemoryImage::bd(65536)};
    auto failing = MemoryImage::dvd(2048);
    failing->fail_reads_at(100);
    out.push_back(failing);
    return out;
  }();
  return v;
}

// The allocation length a command's CDB carries, if it is one we know.
std::optional<uint32_t> allocation_length(std::span<const uint8_t> cdb) {
  switch (cdb[0]) {
    case 0x03: case 0x1A: return wire::get_u8(cdb, 4);                          // REQUEST SENSE, MODE SENSE(6)
    case 0x12: return wire::get_u16(cdb, 3);                                    // INQUIRY
    case 0x25: return 8;                                                        // READ CAPACITY
    case 0x42: case 0x43: case 0x46: case 0x4A: case 0x51: case 0x52: case 0x5A:  // READ SUB-CHANNEL ... MODE SENSE(10)
      return wire::get_u16(cdb, 7);
    case 0x44: return wire::get_u16(cdb, 7);                                    // READ HEADER
    case 0xA0: case 0xA3: return wire::get_u32(cdb, 6);                         // REPORT LUNS, RSOC
    case 0xA4: case 0xAD: case 0xBD: return wire::get_u16(cdb, 8);              // REPORT KEY, READ DVD STRUCTURE, MECHANISM STATUS
    default: return std::nullopt;
  }
}

struct Reader {
  const uint8_t* p;
  size_t n;
  uint8_t u8() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  bool empty() const { return n == 0; }
};

// Key, ASC, ASCQ and the sense-key specific bytes (SKSV set) of fixed (70h)
// or descriptor (72h, control page D_SENSE=1) sense.
struct DecodedSense {
  uint8_t key = 0xFF, asc = 0xFF, ascq = 0xFF;
  std::optional<std::array<uint8_t, 3>> sks;
};

DecodedSense decode_sense(const Response& r) {
  DecodedSense d;
  if ((r.sense[0] & 0x7F) == 0x72) {
    require(r.sense_length >= 8 && r.sense_length == 8 + r.sense[7], "descriptor sense length");
    d.key = r.sense[1] & 0x0F;
    d.asc = r.sense[2];
    d.ascq = r.sense[3];
    for (size_t at = 8; at < r.sense_length;) {
      require(at + 2 <= r.sense_length && at + 2 + r.sense[at + 1] <= r.sense_length, "descriptor inside the sense data");
      if (r.sense[at] == 0x02) {
        require(r.sense[at + 1] == 6 && (r.sense[at + 4] & 0x80), "sense-key specific descriptor");
        d.sks = std::array<uint8_t, 3>{r.sense[at + 4], r.sense[at + 5], r.sense[at + 6]};
      }
      at += 2 + size_t{r.sense[at + 1]};
    }
    return d;
  }
  require(r.sense_length == 18, "fixed sense is 18 bytes");
  require((r.sense[0] & 0x7F) == 0x70, "response code 70h or 72h");
  require(r.sense[7] == 10, "additional sense length 0Ah");
  d.key = r.sense[2] & 0x0F;
  d.asc = r.sense[12];
  d.ascq = r.sense[13];
  if (r.sense[15] & 0x80) d.sks = std::array<uint8_t, 3>{r.sense[15], r.sense[16], r.sense[17]};
  return d;
}

void check_sense(const Response& r, size_t cdb_length) {
  if (r.status == ScsiStatus::good) {
    require(r.sense_length == 0, "GOOD with sense data");
    return;
  }
  require(r.status == ScsiStatus::check_condition, "status is GOOD or CHECK CONDITION");
  const DecodedSense d = decode_sense(r);
  const uint8_t key = d.key;
  require(key == 0x2 || key == 0x3 || key == 0x4 || key == 0x5 || key == 0x6, "sense key not ready/medium/hardware/illegal/UA");
  if (d.sks) {
    require(key == 0x5, "field pointer only with ILLEGAL REQUEST");
    const uint16_t field = static_cast<uint16_t>(((*d.sks)[1] << 8) | (*d.sks)[2]);
    if ((*d.sks)[0] & 0x40) require(field < cdb_length, "CDB field pointer inside the CDB");
  }
}

void check_state(Drive& drive) {
  const auto st = drive.status();
  if (st.medium_present) require(st.tray == TrayState::closed, "medium present with the tray open");
  // A probe initiator: TUR agrees with the status.
  std::array<uint8_t, 6> tur{};
  Request req;
  req.cdb = tur;
  req.initiator = kProbe;
  Response r{};
  for (int i = 0; i < 8; ++i) {
    r = drive.execute(req);
    if (!(r.status == ScsiStatus::check_condition && decode_sense(r).key == 0x6)) break;
  }
  if (st.medium_present) {
    require(r.status == ScsiStatus::good, "TUR GOOD with a medium");
  } else {
    require(r.status == ScsiStatus::check_condition && decode_sense(r).asc == 0x3A, "TUR 3A without a medium");
    require(decode_sense(r).ascq == (st.tray == TrayState::open ? 0x02 : 0x01), "3A/01 tray closed, 3A/02 tray open");
  }
  // GET CONFIGURATION current profile agrees.
  std::array<uint8_t, 10> gc = {0x46, 0, 0, 0, 0, 0, 0, 0, 8, 0};
  std::array<uint8_t, 8> buf{};
  std::array<std::span<uint8_t>, 1> seg = {std::span<uint8_t>(buf)};
  req.cdb = gc;
  req.direction = DataDirection::from_device;
  req.expected_transfer_length = 8;
  req.data_in = seg;
  r = drive.execute(req);
  require(r.status == ScsiStatus::good, "GET CONFIGURATION always succeeds");
  require((wire::get_u16(buf, 6) != 0) == st.medium_present, "current profile iff medium");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Drive drive;
  Reader in{data, size};
  std::vector<uint8_t> buffer;
  int steps = 0;
  while (!in.empty() && steps++ < 64) {
    const uint8_t op = in.u8();
    switch (op & 0x0F) {
      case 0:
        (void)drive.insert(images()[in.u8() % images().size()]);
        break;
      case 1:
        (void)drive.eject((in.u8() & 1) != 0);
        break;
      case 2:
        drive.logical_unit_reset();
        break;
      case 3:
        drive.initiator_gone(in.u8() & 3);
        break;
      default: {
        static constexpr uint8_t kLengths[] = {6, 10, 12, 16};
        std::vector<uint8_t> cdb(kLengths[(op >> 4) & 3]);
        for (auto& b : cdb) b = in.u8();
        // Bias towards implemented opcodes.
        if ((op & 0x40) == 0 && in.u8() & 1) {
          static constexpr uint8_t kOps[] = {0x00, 0x03, 0x12, 0x15, 0x1A, 0x1B, 0x1E, 0x25, 0x28, 0x35, 0x42, 0x43,
                                             0x44, 0x46, 0x4A, 0x4B, 0x4E, 0x51, 0x52, 0x55, 0x5A, 0xA0, 0xA3, 0xA4,
                                             0xA8, 0xAC, 0xAD, 0xB6, 0xB9, 0xBB, 0xBD, 0xBE, 0x2B, 0x45, 0x47, 0xA5};
          cdb[0] = kOps[in.u8() % sizeof(kOps)];
        }
        const uint32_t edtl = (uint32_t{in.u8()} << 8 | in.u8()) & 0x1FFFF;
        const bool out_dir = cdb[0] == 0x15 || cdb[0] == 0x55 || cdb[0] == 0xB6;
        std::vector<uint8_t> data_out;
        if (out_dir) {
          const size_t n = in.u8();
          for (size_t i = 0; i < n; ++i) data_out.push_back(in.u8());
        }
        buffer.assign(size_t{edtl} + kGuardLength, kGuard);
        const uint32_t split = edtl == 0 ? 0 : in.u8() % (edtl + 1);
        std::array<std::span<uint8_t>, 2> segs = {std::span<uint8_t>(buffer.data(), split),
                                                  std::span<uint8_t>(buffer.data() + split, edtl - split)};
        Request req;
        req.cdb = cdb;
        req.initiator = in.u8() & 3;
        if (out_dir) {
          req.direction = DataDirection::to_device;
          req.data_out = data_out;
          req.expected_transfer_length = static_cast<uint32_t>(data_out.size());
        } else {
          req.direction = DataDirection::from_device;
          req.expected_transfer_length = edtl;
          req.data_in = segs;
        }
        const Response r = drive.execute(req);
        check_sense(r, cdb.size());
        if (!out_dir) {
          require(r.data_in_length <= edtl, "data-in within the expected transfer length");
          for (size_t i = edtl; i < buffer.size(); ++i) require(buffer[i] == kGuard, "nothing past the buffer");
          if (auto alloc = allocation_length(cdb)) require(r.data_in_length <= *alloc, "data-in within the allocation length");
          if (r.status == ScsiStatus::good) {
            require(r.residual == static_cast<int64_t>(edtl) - static_cast<int64_t>(r.data_in_length) ||
                        (r.residual < 0 && r.data_in_length == edtl),
                    "residual matches the transfer");
          }
        } else {
          require(r.data_in_length == 0, "no data-in for a data-out command");
        }
        break;
      }
    }
    check_state(drive);
  }
  return 0;
}
