// Test support: an in-memory logical unit and a PDU-level initiator that
// talks to a Connection without sockets. Used by the unit tests and fuzzers.
#pragma once

#include <sys/uio.h>

#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "transport/iscsi/connection.h"

namespace udisc::iscsi::testing {

// 2048-byte blocks; byte i of block b is (b * 7 + i) & 0xff.
// Answers TEST UNIT READY, INQUIRY, READ CAPACITY(10), READ(10), MODE SELECT(10)
// (records the parameter list) and WRITE(10) (DATA PROTECT); anything else is
// INVALID COMMAND OPERATION CODE.
class FakeUnit : public LogicalUnit {
 public:
  explicit FakeUnit(uint32_t blocks = 64) : blocks_(blocks) {}
  static uint8_t byte_at(uint32_t lba, uint32_t i) { return static_cast<uint8_t>(lba * 7 + i); }

  device::Response execute(const device::Request& rq) override {
    std::lock_guard lock(mu_);
    ++commands;
    last_cdb.assign(rq.cdb.begin(), rq.cdb.end());
    last_data_out.assign(rq.data_out.begin(), rq.data_out.end());
    last_direction = rq.direction;
    last_initiator = rq.initiator;
    device::Response r;
    if (ua_) {
      const device::Asc code = *ua_;
      ua_.reset();
      return sense(r, 0x06, code.asc, code.ascq);
    }
    std::vector<uint8_t> out;
    uint32_t want = 0;
    switch (rq.cdb[0]) {
      case 0x00:
        break;
      case 0x12: {
        out.assign(36, ' ');
        out[0] = 0x05;
        out[1] = 0x80;
        out[2] = 0x05;
        out[3] = 0x02;
        out[4] = 31;
        out[5] = out[6] = out[7] = 0;
        want = std::min<uint32_t>(36, static_cast<uint32_t>(rq.cdb[3] << 8 | rq.cdb[4]));
        break;
      }
      case 0x25:
        out.assign(8, 0);
        put_be32(&out[0], blocks_ - 1);
        put_be32(&out[4], 2048);
        want = 8;
        break;
      case 0x28: {
        const uint32_t lba = get_be32(&rq.cdb[2]);
        const uint32_t count = get_be16(&rq.cdb[7]);
        if (uint64_t{lba} + count > blocks_) return sense(r, 0x05, 0x21, 0x00);
        if (fail_lba && *fail_lba >= lba && *fail_lba < lba + count) return sense(r, 0x03, 0x11, 0x00);
        out.resize(size_t{count} * 2048);
        for (uint32_t b = 0; b < count; ++b)
          for (uint32_t i = 0; i < 2048; ++i) out[size_t{b} * 2048 + i] = byte_at(lba + b, i);
        want = static_cast<uint32_t>(out.size());
        break;
      }
      case 0x55:  // MODE SELECT(10)
        want = 0;
        r.residual = static_cast<int64_t>(rq.expected_transfer_length) - get_be16(&rq.cdb[7]);
        return r;
      case 0x2A:
        return sense(r, 0x07, 0x27, 0x00);
      default:
        return sense(r, 0x05, 0x20, 0x00);
    }
    uint32_t n = std::min<uint32_t>(want, rq.expected_transfer_length);
    size_t off = 0;
    for (const auto& seg : rq.data_in) {
      const size_t k = std::min<size_t>(seg.size(), n - off);
      if (k == 0) continue;  // memcpy from an empty response's null data() is undefined
      std::memcpy(seg.data(), out.data() + off, k);
      off += k;
      if (off == n) break;
    }
    r.data_in_length = static_cast<uint32_t>(off);
    r.residual = static_cast<int64_t>(rq.expected_transfer_length) - want;
    return r;
  }
  std::optional<device::Asc> pending_unit_attention(device::InitiatorId) const override {
    std::lock_guard lock(mu_);
    return ua_;
  }
  void logical_unit_reset() override {
    std::lock_guard lock(mu_);
    ++resets;
    ua_ = device::asc::kPowerOnResetOrBusDeviceReset;
  }
  void initiator_gone(device::InitiatorId id) override {
    std::lock_guard lock(mu_);
    gone.push_back(id);
  }
  void set_unit_attention(device::Asc code = device::asc::kNotReadyToReadyChange) {
    std::lock_guard lock(mu_);
    ua_ = code;
  }
  void clear_unit_attention() {
    std::lock_guard lock(mu_);
    ua_.reset();
  }

  int commands = 0;
  int resets = 0;
  std::vector<uint8_t> last_cdb;
  std::vector<uint8_t> last_data_out;
  device::DataDirection last_direction = device::DataDirection::none;
  device::InitiatorId last_initiator = 0;
  std::vector<device::InitiatorId> gone;
  std::optional<uint32_t> fail_lba;

 private:
  static device::Response& sense(device::Response& r, uint8_t key, uint8_t asc, uint8_t ascq) {
    r.status = device::ScsiStatus::check_condition;
    r.sense = {};
    r.sense[0] = 0x70;
    r.sense[2] = key;
    r.sense[7] = 10;
    r.sense[12] = asc;
    r.sense[13] = ascq;
    r.sense_length = 18;
    return r;
  }
  mutable std::mutex mu_;
  uint32_t blocks_;
  std::optional<device::Asc> ua_;
};

// Builds initiator PDUs and reads the target's answers back as PDUs.
class Initiator {
 public:
  explicit Initiator(Connection& c) : c_(c) {}

  static Pdu make(Opcode op, uint8_t flags, uint32_t itt, bool immediate = false) {
    Pdu p;
    p.bhs[0] = static_cast<uint8_t>(static_cast<uint8_t>(op) | (immediate ? kImmediateBit : 0));
    p.bhs[1] = flags;
    put_be32(&p.bhs[16], itt);
    return p;
  }
  static void set_text(Pdu& p, const KeyValues& kv) {
    p.data = render_text(kv);
    put_be24(&p.bhs[5], static_cast<uint32_t>(p.data.size()));
  }
  static void set_data(Pdu& p, std::vector<uint8_t> data) {
    p.data = std::move(data);
    put_be24(&p.bhs[5], static_cast<uint32_t>(p.data.size()));
  }

  void send(const Pdu& p, std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
    auto bytes = serialize(p, header_digest, data_digest);
    c_.receive(bytes, now);
  }
  void send_raw(const std::vector<uint8_t>& bytes) { c_.receive(bytes, std::chrono::steady_clock::now()); }

  // Drains the connection's output and parses it into PDUs.
  std::vector<Pdu> drain() {
    std::vector<Pdu> out;
    for (;;) {
      iovec iov[64];
      const size_t n = c_.gather(iov, 64);
      if (n == 0) break;
      size_t total = 0;
      for (size_t i = 0; i < n; ++i) {
        const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
        wire_.insert(wire_.end(), p, p + iov[i].iov_len);
        total += iov[i].iov_len;
      }
      c_.consume_output(total);
      c_.pump();
    }
    reader_.set_limits({1u << 24, header_digest_in, data_digest_in});
    std::span<const uint8_t> rest(wire_);
    while (!rest.empty()) {
      bool complete = false;
      Status err;
      const size_t used = reader_.feed(rest, complete, err);
      if (!err.ok()) {
        error = err.message();
        break;
      }
      rest = rest.subspan(used);
      if (complete) out.push_back(reader_.take());
    }
    wire_.clear();
    return out;
  }

  // Login (security stage skipped unless CHAP keys are given).
  std::vector<Pdu> login(const KeyValues& extra = {}, const std::string& target = "iqn.2025-01.org.udisc:test") {
    KeyValues kv = {{"InitiatorName", "iqn.2025-01.org.example:init"},
                    {"SessionType", "Normal"},
                    {"TargetName", target},
                    {"HeaderDigest", "None"},
                    {"DataDigest", "None"},
                    {"MaxRecvDataSegmentLength", "8192"}};
    kv.insert(kv.end(), extra.begin(), extra.end());
    Pdu p = make(Opcode::login_request, 0x80 | 1 << 2 | 3, 0x1000, true);
    std::memcpy(&p.bhs[8], "\x80\x12\x34\x56\x78\x9a", 6);
    put_be32(&p.bhs[24], cmdsn);
    set_text(p, kv);
    send(p);
    return drain();
  }

  Pdu command(uint32_t itt, const std::vector<uint8_t>& cdb, uint32_t edtl, bool read, bool write = false,
              uint32_t lun = 0) {
    Pdu p = make(Opcode::scsi_command, static_cast<uint8_t>(0x80 | (read ? 0x40 : 0) | (write ? 0x20 : 0) | 1), itt);
    encode_lun(&p.bhs[8], lun);
    put_be32(&p.bhs[20], edtl);
    put_be32(&p.bhs[24], cmdsn++);
    std::memcpy(&p.bhs[32], cdb.data(), std::min<size_t>(16, cdb.size()));
    return p;
  }

  static std::vector<uint8_t> read10(uint32_t lba, uint16_t count) {
    std::vector<uint8_t> cdb(10, 0);
    cdb[0] = 0x28;
    put_be32(&cdb[2], lba);
    put_be16(&cdb[7], count);
    return cdb;
  }

  uint32_t cmdsn = 1;
  bool header_digest = false, data_digest = false;        // what we send
  bool header_digest_in = false, data_digest_in = false;  // what we expect
  std::string error;

 private:
  Connection& c_;
  std::vector<uint8_t> wire_;
  PduReader reader_;
};

inline std::string text_value(const Pdu& p, const std::string& key) {
  auto kv = parse_text(p.data);
  if (!kv.ok()) return "<bad text>";
  for (const auto& [k, v] : kv.value())
    if (k == key) return v;
  return "<absent>";
}

}  // namespace udisc::iscsi::testing
