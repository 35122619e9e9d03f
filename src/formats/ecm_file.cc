// ECM decoding on demand. The stream is a sequence of records, each a
// type (0: literal bytes, 1: mode 1 sector, 2: mode 2 form 1, 3: mode 2
// form 2) and a count; sector records keep only what cannot be regenerated
// (address, subheader, user data). At open the record headers are walked —
// skipping their payloads, which have a fixed size per type — into an index
// of (decoded offset, stored offset, type, count). A read finds its records
// by binary search and regenerates only the sectors it covers.
// Layout and sources: docs/formats/ecm.md.
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "disc/ecma130.h"
#include "formats/compressed_files.h"

namespace udisc::formats {
namespace {

constexpr size_t kMaxRecords = 4u << 20;  // 4 Mi records * 24 bytes: the index's memory bound (96 MiB)

// Stored and decoded bytes per unit of each record type.
constexpr uint32_t kStored[4] = {1, 3 + 2048, 4 + 2048, 4 + 2324};
constexpr uint32_t kDecoded[4] = {1, 2352, 2336, 2336};

struct Record {
  uint64_t out = 0;    // decoded offset of the record's first byte
  uint64_t in = 0;     // stored offset of its payload
  uint32_t count = 0;  // units (bytes for type 0, sectors otherwise)
  uint8_t type = 0;
};

class EcmFile final : public RandomAccessFile {
 public:
  EcmFile(std::shared_ptr<RandomAccessFile> ecm, std::string name, std::vector<Record> records, uint64_t size)
      : ecm_(std::move(ecm)), name_(std::move(name)), records_(std::move(records)), size_(size) {}

  uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }

  Status read_at(uint64_t offset, std::span<uint8_t> out) const override {
    if (offset > size_ || out.size() > size_ - offset) {
      return Status::IoError("'" + name_ + "': read of " + std::to_string(out.size()) + " bytes at " +
                             std::to_string(offset) + " is beyond the decoded size " + std::to_string(size_));
    }
    auto it = std::upper_bound(records_.begin(), records_.end(), offset,
                               [](uint64_t v, const Record& r) { return v < r.out; });
    size_t done = 0;
    for (--it; done < out.size(); ++it) {
      const Record& r = *it;
      const uint64_t at = offset + done;
      const uint64_t rel = at - r.out;
      const uint64_t record_end = uint64_t{r.count} * kDecoded[r.type];
      const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size() - done, record_end - rel));
      Status s = r.type == 0 ? ecm_->read_at(r.in + rel, out.subspan(done, n)) : decode(r, rel, out.subspan(done, n));
      if (!s.ok()) return s.with_context("'" + name_ + "' (decoded offset " + std::to_string(at) + ")");
      done += n;
    }
    return Status::Ok();
  }

 private:
  // Regenerates sectors of record r covering `out`, starting `rel` bytes into the record.
  Status decode(const Record& r, uint64_t rel, std::span<uint8_t> out) const {
    std::array<uint8_t, 2352> sector{};
    std::array<uint8_t, 4 + 2324> stored{};
    size_t done = 0;
    while (done < out.size()) {
      const uint64_t index = (rel + done) / kDecoded[r.type];
      const uint32_t within = static_cast<uint32_t>((rel + done) % kDecoded[r.type]);
      std::span<uint8_t> payload(stored.data(), kStored[r.type]);
      if (Status s = ecm_->read_at(r.in + index * kStored[r.type], payload); !s.ok()) return s;
      build(r.type, payload, sector);
      const uint32_t skip = r.type == 1 ? 0 : 16;  // mode 2 records decode to the 2336 bytes after the header
      const size_t n = std::min<size_t>(out.size() - done, kDecoded[r.type] - within);
      std::memcpy(out.data() + done, sector.data() + skip + within, n);
      done += n;
    }
    return Status::Ok();
  }

  static void put_le32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
  }

  static void build(uint8_t type, std::span<const uint8_t> payload, std::array<uint8_t, 2352>& s) {
    s.fill(0);
    std::memset(s.data() + 1, 0xFF, 10);
    std::span<uint8_t, 2352> all(s);
    if (type == 1) {
      std::memcpy(s.data() + 12, payload.data(), 3);  // address as stored
      s[15] = 1;
      std::memcpy(s.data() + 16, payload.data() + 3, 2048);
      put_le32(s.data() + 2064, disc::edc(std::span<const uint8_t>(s.data(), 2064)));
      disc::compute_ecc(all);
      return;
    }
    // Mode 2: only the 2336 bytes after the header are decoded; the ECC of XA
    // form 1 is computed over a zero header (address and mode byte alike).
    std::memcpy(s.data() + 16, payload.data(), 4);
    std::memcpy(s.data() + 20, payload.data(), 4);
    if (type == 2) {
      std::memcpy(s.data() + 24, payload.data() + 4, 2048);
      put_le32(s.data() + 2072, disc::edc(std::span<const uint8_t>(s.data() + 16, 2056)));
      disc::compute_ecc(all);
    } else {
      std::memcpy(s.data() + 24, payload.data() + 4, 2324);
      put_le32(s.data() + 2348, disc::edc(std::span<const uint8_t>(s.data() + 16, 2332)));
    }
  }

  std::shared_ptr<RandomAccessFile> ecm_;
  std::string name_;
  std::vector<Record> records_;
  uint64_t size_;
};

// Reads the stream's record headers through a small buffer.
class HeaderReader {
 public:
  explicit HeaderReader(const RandomAccessFile& f) : f_(f) {}
  // The byte at `offset`, or -1 past the end / on error.
  int byte(uint64_t offset) {
    if (offset < base_ || offset >= base_ + len_) {
      if (offset >= f_.size()) return -1;
      base_ = offset;
      len_ = static_cast<size_t>(std::min<uint64_t>(buf_.size(), f_.size() - offset));
      if (!f_.read_at(base_, std::span<uint8_t>(buf_.data(), len_)).ok()) return -1;
    }
    return buf_[static_cast<size_t>(offset - base_)];
  }

 private:
  const RandomAccessFile& f_;
  std::array<uint8_t, 4096> buf_{};
  uint64_t base_ = 0;
  size_t len_ = 0;
};

}  // namespace

bool looks_like_ecm(std::span<const uint8_t> head) {
  return head.size() >= 4 && head[0] == 'E' && head[1] == 'C' && head[2] == 'M' && head[3] == 0;
}

Result<std::shared_ptr<RandomAccessFile>> open_ecm(std::shared_ptr<RandomAccessFile> ecm) {
  const std::string shown = "'" + ecm->name() + "'";
  std::array<uint8_t, 4> magic{};
  if (ecm->size() < 4 || !ecm->read_at(0, magic).ok() || !looks_like_ecm(magic)) {
    return Status::Corruption(shown + ": no \"ECM\\0\" header; not an ECM file");
  }
  std::vector<Record> records;
  HeaderReader reader(*ecm);
  uint64_t in = 4, out = 0;
  while (true) {
    const uint64_t at = in;
    int c = reader.byte(in++);
    if (c < 0) return Status::Corruption(shown + ": offset " + std::to_string(at) + ": the stream ends without its end marker");
    const uint8_t type = static_cast<uint8_t>(c & 3);
    uint64_t num = (static_cast<unsigned>(c) >> 2) & 0x1F;
    unsigned bits = 5;
    while (c & 0x80) {
      c = reader.byte(in++);
      if (c < 0) return Status::Corruption(shown + ": offset " + std::to_string(at) + ": record header cut off by the end of the file");
      if (bits > 28) return Status::Corruption(shown + ": offset " + std::to_string(at) + ": record count longer than 32 bits");
      num |= static_cast<uint64_t>(c & 0x7F) << bits;
      bits += 7;
    }
    if (num == 0xFFFFFFFF) break;  // end marker; 4 bytes of EDC over the decoded data follow
    ++num;
    if (num >= 0x80000000u) {
      return Status::Corruption(shown + ": offset " + std::to_string(at) + ": record of " + std::to_string(num) + " units is corrupt");
    }
    const uint64_t stored = num * kStored[type];
    if (stored > ecm->size() - std::min(in, ecm->size())) {
      return Status::Corruption(shown + ": offset " + std::to_string(at) + ": a record of " + std::to_string(num) +
                                (type == 0 ? " bytes" : " sectors") + " runs past the end of the file (" +
                                std::to_string(ecm->size()) + " bytes)");
    }
    if (records.size() >= kMaxRecords) {
      return Status::NotSupported(shown + ": more than " + std::to_string(kMaxRecords) + " ECM records; decode it with unecm first");
    }
    records.push_back(Record{out, in, static_cast<uint32_t>(num), type});
    in += stored;
    out += num * kDecoded[type];
  }
  if (records.empty()) return Status::Corruption(shown + ": an ECM stream with no data");
  std::string name = ecm->name();
  if (name.size() > 4 && (name.compare(name.size() - 4, 4, ".ecm") == 0 || name.compare(name.size() - 4, 4, ".ECM") == 0)) {
    name.resize(name.size() - 4);
  }
  return std::shared_ptr<RandomAccessFile>(std::make_shared<EcmFile>(std::move(ecm), std::move(name), std::move(records), out));
}

const char* compressed_without_index(std::span<const uint8_t> head) {
  auto starts = [&](std::initializer_list<uint8_t> m) {
    return head.size() >= m.size() && std::equal(m.begin(), m.end(), head.begin());
  };
  if (starts({0x1F, 0x8B})) return "gzip-compressed data (no random-access index); decompress it first: gunzip -k FILE";
  if (starts({0xFD, '7', 'z', 'X', 'Z', 0x00})) return "xz-compressed data; decompress it first: unxz -k FILE";
  if (starts({0x28, 0xB5, 0x2F, 0xFD})) return "zstd-compressed data; decompress it first: zstd -d FILE";
  if (starts({'B', 'Z', 'h'})) return "bzip2-compressed data; decompress it first: bunzip2 -k FILE";
  return nullptr;
}

}  // namespace udisc::formats
