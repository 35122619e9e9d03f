#include "transport/iscsi/pdu.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "transport/iscsi/crc32c.h"

namespace udisc::iscsi {

bool decode_lun(const uint8_t* p, uint32_t& lun) {
  // SAM-5 4.7: first level only; the remaining six bytes must be zero.
  for (int i = 2; i < 8; ++i) {
    if (p[i] != 0) return false;
  }
  switch (p[0] >> 6) {
    case 0:  // peripheral device addressing: BUS IDENTIFIER must be 0
      if ((p[0] & 0x3f) != 0) return false;
      lun = p[1];
      return true;
    case 1:  // flat space addressing
      lun = static_cast<uint32_t>(p[0] & 0x3f) << 8 | p[1];
      return true;
    default:
      return false;
  }
}

void encode_lun(uint8_t* p, uint32_t lun) {
  std::memset(p, 0, 8);
  if (lun < 256) {
    p[1] = static_cast<uint8_t>(lun);
  } else {
    p[0] = static_cast<uint8_t>(0x40 | ((lun >> 8) & 0x3f));
    p[1] = static_cast<uint8_t>(lun);
  }
}

Status PduReader::start_after_bhs() {
  active_ = limits_;
  const uint32_t dsl = pdu_.data_segment_length();
  if (dsl > active_.max_data_segment_length) {
    return Status::Corruption("PDU opcode 0x" + std::to_string(static_cast<unsigned>(pdu_.opcode())) +
                              ": DataSegmentLength " + std::to_string(dsl) + " exceeds MaxRecvDataSegmentLength " +
                              std::to_string(active_.max_data_segment_length));
  }
  pdu_.ahs.resize(size_t{pdu_.bhs[bhs::kTotalAhsLength]} * 4);
  padded_ = pad4(dsl);
  state_ = pdu_.ahs.empty() ? State::header_digest : State::ahs;
  if (state_ == State::header_digest && !active_.header_digest) after_header();
  return Status::Ok();
}

void PduReader::after_header() {
  const uint32_t dsl = pdu_.data_segment_length();
  if (dsl == 0) {
    state_ = State::done;
    return;
  }
  // The buffer grows as the bytes arrive (State::data), not to the announced
  // length: a 48-byte header must not cost us the whole segment up front.
  pdu_.data.clear();
  state_ = State::data;
}

size_t PduReader::feed(std::span<const uint8_t> in, bool& complete, Status& error) {
  complete = false;
  size_t used = 0;
  auto copy = [&](uint8_t* dst, size_t want) {
    const size_t n = std::min(want - have_, in.size() - used);
    std::memcpy(dst + have_, in.data() + used, n);
    have_ += n;
    used += n;
    return have_ == want;
  };
  while (state_ != State::done) {
    if (used == in.size()) return used;
    switch (state_) {
      case State::bhs:
        if (!copy(pdu_.bhs.data(), kBhsSize)) break;
        have_ = 0;
        error = start_after_bhs();
        if (!error.ok()) return used;
        break;
      case State::ahs:
        if (!copy(pdu_.ahs.data(), pdu_.ahs.size())) break;
        have_ = 0;
        state_ = State::header_digest;
        if (!active_.header_digest) after_header();
        break;
      case State::header_digest: {
        if (!copy(digest_.data(), kDigestSize)) break;
        have_ = 0;
        uint32_t crc = crc32c_update(kCrc32cInit, pdu_.bhs.data(), kBhsSize);
        if (!pdu_.ahs.empty()) crc = crc32c_update(crc, pdu_.ahs.data(), pdu_.ahs.size());
        if (crc32c_final(crc) != get_le32(digest_.data())) {
          error = Status::Corruption("header digest mismatch on PDU opcode 0x" +
                                     std::to_string(static_cast<unsigned>(pdu_.opcode())) + " ITT 0x" +
                                     std::to_string(pdu_.itt()));
          return used;
        }
        after_header();
        break;
      }
      case State::data: {
        const size_t n = std::min<size_t>(padded_ - pdu_.data.size(), in.size() - used);
        pdu_.data.insert(pdu_.data.end(), in.data() + used, in.data() + used + n);
        used += n;
        if (pdu_.data.size() < padded_) break;
        if (active_.data_digest) {
          state_ = State::data_digest;
        } else {
          state_ = State::done;
        }
        break;
      }
      case State::data_digest:
        if (!copy(digest_.data(), kDigestSize)) break;
        have_ = 0;
        pdu_.data_digest_ok = crc32c(pdu_.data.data(), padded_) == get_le32(digest_.data());
        state_ = State::done;
        break;
      case State::done:
        break;
    }
  }
  complete = true;
  return used;
}

Pdu PduReader::take() {
  Pdu out = std::move(pdu_);
  out.data.resize(out.data_segment_length());
  pdu_ = Pdu{};
  state_ = State::bhs;
  have_ = 0;
  return out;
}

void init_bhs(std::array<uint8_t, kBhsSize>& bhs, Opcode opcode, uint8_t flags, uint32_t data_length, uint32_t itt) {
  bhs.fill(0);
  bhs[0] = static_cast<uint8_t>(opcode);
  bhs[1] = flags;
  put_be24(&bhs[bhs::kDataSegmentLength], data_length);
  put_be32(&bhs[bhs::kItt], itt);
}

std::vector<uint8_t> serialize(const Pdu& pdu, bool header_digest, bool data_digest) {
  std::vector<uint8_t> out(pdu.bhs.begin(), pdu.bhs.end());
  out.insert(out.end(), pdu.ahs.begin(), pdu.ahs.end());
  if (header_digest) {
    uint8_t d[4];
    put_le32(d, crc32c(out.data(), out.size()));
    out.insert(out.end(), d, d + 4);
  }
  if (!pdu.data.empty()) {
    const size_t start = out.size();
    out.insert(out.end(), pdu.data.begin(), pdu.data.end());
    out.resize(start + pad4(static_cast<uint32_t>(pdu.data.size())), 0);
    if (data_digest) {
      uint8_t d[4];
      put_le32(d, crc32c(out.data() + start, out.size() - start));
      out.insert(out.end(), d, d + 4);
    }
  }
  return out;
}

}  // namespace udisc::iscsi
