#include "transport/iscsi/connection.h"

#include <sys/uio.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "transport/iscsi/buffer_pool.h"
#include "transport/iscsi/crc32c.h"

namespace udisc::iscsi {
namespace {

// RFC 7143 11.13.5 / 11.13.6: login status classes and details.
constexpr uint8_t kInitiatorError = 0x02;
constexpr uint8_t kDetailGeneric = 0x00;
constexpr uint8_t kDetailAuthFailed = 0x01;
constexpr uint8_t kDetailForbidden = 0x02;
constexpr uint8_t kDetailNotFound = 0x03;
constexpr uint8_t kDetailUnsupportedVersion = 0x05;
constexpr uint8_t kDetailMissingParameter = 0x07;
constexpr uint8_t kDetailSessionDoesNotExist = 0x0a;
constexpr uint8_t kDetailInvalidDuringLogin = 0x0b;

// RFC 7143 11.17.1: Reject reasons.
constexpr uint8_t kRejectDataDigest = 0x02;
constexpr uint8_t kRejectProtocolError = 0x04;
constexpr uint8_t kRejectNotSupported = 0x05;
constexpr uint8_t kRejectInvalidPduField = 0x09;

// RFC 7143 11.5.1 / 11.6.1: task management functions and responses.
constexpr uint8_t kTmfAbortTask = 1;
constexpr uint8_t kTmfAbortTaskSet = 2;
constexpr uint8_t kTmfClearAca = 3;
constexpr uint8_t kTmfClearTaskSet = 4;
constexpr uint8_t kTmfLogicalUnitReset = 5;
constexpr uint8_t kTmfTargetWarmReset = 6;
constexpr uint8_t kTmfTargetColdReset = 7;
constexpr uint8_t kTmfTaskReassign = 8;
constexpr uint8_t kTmfComplete = 0;
constexpr uint8_t kTmfNoTask = 1;
constexpr uint8_t kTmfNoLun = 2;
constexpr uint8_t kTmfNoReassign = 4;
constexpr uint8_t kTmfNotSupported = 5;

// SCSI Command flags (RFC 7143 11.3.1) and Data-In / Response flags (11.4.1, 11.7.1).
constexpr uint8_t kCmdRead = 0x40;
constexpr uint8_t kCmdWrite = 0x20;
constexpr uint8_t kResidualOverflow = 0x04;
constexpr uint8_t kResidualUnderflow = 0x02;
constexpr uint8_t kDataInStatus = 0x01;

constexpr uint8_t kOpReportLuns = 0xA0;
constexpr uint8_t kOpInquiry = 0x12;

constexpr size_t kMaxPendingWrites = 32;

uint64_t fnv1a(const void* p, size_t n, uint64_t h = 1469598103934665603ull) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

std::atomic<uint16_t> g_tsih{0};

device::Response check_condition(uint8_t key, uint8_t asc, uint8_t ascq) {
  device::Response r;
  r.status = device::ScsiStatus::check_condition;
  r.sense[0] = 0x70;  // fixed format, current error (SPC-5 4.4.3)
  r.sense[2] = key;
  r.sense[7] = 10;  // ADDITIONAL SENSE LENGTH
  r.sense[12] = asc;
  r.sense[13] = ascq;
  r.sense_length = 18;
  return r;
}

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

}  // namespace

void NexusRegistry::add(device::InitiatorId id) {
  std::lock_guard lock(mu_);
  ++live_[id];
}

bool NexusRegistry::remove(device::InitiatorId id) {
  std::lock_guard lock(mu_);
  auto it = live_.find(id);
  if (it == live_.end()) return true;
  if (--it->second > 0) return false;
  live_.erase(it);
  return true;
}

Connection::Connection(Context context, Clock::time_point now)
    : ctx_(std::move(context)), created_(now), last_rx_(now) {
  params_.target_mrdsl = target().limits.max_recv_data_segment_length;
  // Before login at most the default 8192-byte segment (RFC 7143 13.12):
  // anyone who can connect can send a login header, and a larger segment
  // would be memory we hold for an unauthenticated peer.
  reader_.set_limits({kDefaultMaxRecvDataSegmentLength, false, false});
}

Connection::~Connection() {
  *alive_ = false;
  abandon("");
}

void Connection::abandon(const std::string& why) {
  if (!why.empty() && !must_close_) log(LogLevel::info, why);
  must_close_ = true;
  if (nexus_registered_) {
    nexus_registered_ = false;
    const bool last = ctx_.nexus == nullptr || ctx_.nexus->remove(initiator_id_);
    if (last) {
      for (const auto& lu : target().luns) lu->initiator_gone(initiator_id_);
    }
  }
}

void Connection::log(LogLevel level, const std::string& message) const {
  if (!ctx_.log) return;
  if (phase_ == Phase::login && ctx_.may_log_before_login && !ctx_.may_log_before_login()) return;
  std::string who = ctx_.peer;
  if (!initiator_name_.empty()) who += " (" + initiator_name_ + ")";
  ctx_.log(level, who + ": " + message);
}

void Connection::fatal(const std::string& why) {
  if (!must_close_) log(LogLevel::warning, "closing connection: " + why);
  abandon("");
}

// ---- input ----

void Connection::receive(std::span<const uint8_t> bytes, Clock::time_point now) {
  last_rx_ = now;
  ping_outstanding_ = false;
  while (!bytes.empty() && !must_close_ && !closing_) {
    bool complete = false;
    Status error;
    const size_t used = reader_.feed(bytes, complete, error);
    bytes = bytes.subspan(used);
    if (!error.ok()) {
      fatal(error.message());
      return;
    }
    if (!complete) break;
    Pdu pdu = reader_.take();
    // Login PDUs are processed at once so negotiated limits (digests) apply
    // to the next PDU read.
    if (inbox_.empty() && (phase_ == Phase::login || out_bytes_ + async_bytes_ < kHighWater)) {
      process(std::move(pdu));
    } else {
      inbox_.push_back(std::move(pdu));
    }
  }
  pump();
}

void Connection::pump() {
  while (!inbox_.empty() && out_bytes_ + async_bytes_ < kHighWater && !must_close_ && !closing_) {
    Pdu pdu = std::move(inbox_.front());
    inbox_.pop_front();
    process(std::move(pdu));
  }
}

void Connection::process(Pdu pdu) {
  if (phase_ == Phase::login) {
    if (pdu.opcode() != Opcode::login_request) {
      fatal("PDU opcode " + hex32(static_cast<uint32_t>(pdu.opcode())) + " during login");
      return;
    }
    handle_login(pdu);
    return;
  }
  if (!pdu.data_digest_ok) {
    log(LogLevel::warning, "data digest error on PDU ITT " + hex32(pdu.itt()));
    reject(pdu, kRejectDataDigest);
    return;
  }
  switch (pdu.opcode()) {
    case Opcode::data_out:
      handle_data_out(pdu);
      return;
    case Opcode::nop_out:
    case Opcode::scsi_command:
    case Opcode::task_mgmt_request:
    case Opcode::text_request:
    case Opcode::logout_request:
      sequence(std::move(pdu));
      return;
    case Opcode::login_request:
      reject(pdu, kRejectProtocolError);
      return;
    case Opcode::snack_request:  // ErrorRecoveryLevel 0: no SNACK
      reject(pdu, kRejectProtocolError);
      return;
    default:
      reject(pdu, kRejectNotSupported);
      return;
  }
}

// ---- output ----

void Connection::put_sn(std::array<uint8_t, kBhsSize>& bhs, bool advance_statsn) {
  put_be32(&bhs[24], advance_statsn ? stat_sn_++ : stat_sn_);
  put_be32(&bhs[28], exp_cmdsn_);
  put_be32(&bhs[32], max_cmdsn());
}

void Connection::queue(std::array<uint8_t, kBhsSize>& bhs, std::shared_ptr<const void> owner, const uint8_t* data,
                       uint32_t length) {
  put_be24(&bhs[bhs::kDataSegmentLength], length);
  OutPdu& o = out_.emplace_back();
  std::memcpy(o.head.data(), bhs.data(), kBhsSize);
  o.head_len = kBhsSize;
  if (out_header_digest_) {
    put_le32(&o.head[kBhsSize], crc32c(bhs.data(), kBhsSize));
    o.head_len += kDigestSize;
  }
  if (length > 0) {
    o.owner = std::move(owner);
    o.data = data;
    o.data_len = length;
    const uint32_t pad = pad4(length) - length;
    o.tail_len = static_cast<uint8_t>(pad);
    if (out_data_digest_) {
      uint32_t crc = crc32c_update(kCrc32cInit, data, length);
      if (pad) crc = crc32c_update(crc, o.tail.data(), pad);
      put_le32(&o.tail[pad], crc32c_final(crc));
      o.tail_len = static_cast<uint8_t>(pad + kDigestSize);
    }
  }
  out_bytes_ += o.size();
}

void Connection::queue_owned(std::array<uint8_t, kBhsSize>& bhs, std::vector<uint8_t> data) {
  if (data.empty()) {
    queue(bhs, nullptr, nullptr, 0);
    return;
  }
  auto owned = std::make_shared<std::vector<uint8_t>>(std::move(data));
  const uint8_t* p = owned->data();
  const auto n = static_cast<uint32_t>(owned->size());
  queue(bhs, std::move(owned), p, n);
}

size_t Connection::gather(struct iovec* iov, size_t max) const {
  size_t n = 0;
  size_t skip = front_sent_;
  for (const OutPdu& o : out_) {
    const std::pair<const uint8_t*, size_t> parts[3] = {
        {o.head.data(), o.head_len}, {o.data, o.data_len}, {o.tail.data(), o.tail_len}};
    for (const auto& [p, len] : parts) {
      if (len == 0) continue;
      if (skip >= len) {
        skip -= len;
        continue;
      }
      if (n == max) return n;
      iov[n].iov_base = const_cast<uint8_t*>(p + skip);
      iov[n].iov_len = len - skip;
      skip = 0;
      ++n;
    }
  }
  return n;
}

void Connection::consume_output(size_t bytes) {
  out_bytes_ -= bytes;
  bytes += front_sent_;
  while (!out_.empty() && bytes >= out_.front().size()) {
    bytes -= out_.front().size();
    out_.pop_front();
  }
  front_sent_ = bytes;
}

// ---- login (RFC 7143 6, 11.12, 11.13) ----

void Connection::send_login_response(const Pdu& pdu, bool transit, uint8_t csg, uint8_t nsg, const KeyValues& keys) {
  std::array<uint8_t, kBhsSize> b;
  init_bhs(b, Opcode::login_response, static_cast<uint8_t>((transit ? 0x80 : 0) | csg << 2 | (transit ? nsg : 0)), 0,
           pdu.itt());
  b[2] = 0x00;  // Version-max
  b[3] = 0x00;  // Version-active
  std::memcpy(&b[8], isid_.data(), 6);
  put_be16(&b[14], transit && nsg == 3 ? tsih_ : 0);
  put_sn(b, true);
  queue_owned(b, render_text(keys));
}

void Connection::login_fail(const Pdu& pdu, uint8_t status_class, uint8_t status_detail, const std::string& why) {
  std::array<uint8_t, kBhsSize> b;
  init_bhs(b, Opcode::login_response, 0, 0, pdu.itt());
  std::memcpy(&b[8], isid_.data(), 6);
  put_sn(b, true);
  b[36] = status_class;
  b[37] = status_detail;
  queue(b, nullptr, nullptr, 0);
  log(LogLevel::warning, "login refused: " + why);
  closing_ = true;
}

bool Connection::login_keys(const KeyValues& keys, uint8_t csg, KeyValues& answer, const Pdu& pdu) {
  std::optional<std::string> chap_a, chap_n, chap_r, chap_i, chap_c;
  for (const auto& [key, value] : keys) {
    if (key == "InitiatorName") {
      initiator_name_ = value;
    } else if (key == "TargetName") {
      target_name_ = value;
    } else if (key == "SessionType") {
      if (value == "Discovery") discovery_ = true;
      else if (value == "Normal") discovery_ = false;
      else {
        login_fail(pdu, kInitiatorError, kDetailGeneric, "SessionType=" + value.substr(0, 32) + " is not Discovery or Normal");
        return false;
      }
    } else if (key == "InitiatorAlias") {
      // declarative, no answer
    } else if (key == "AuthMethod") {
      if (csg != 0) {
        answer.emplace_back(key, "Irrelevant");
        continue;
      }
      bool none = false, chap = false;
      size_t start = 0;
      while (start <= value.size()) {
        size_t end = value.find(',', start);
        if (end == std::string::npos) end = value.size();
        const std::string item = value.substr(start, end - start);
        none |= item == "None";
        chap |= item == "CHAP";
        start = end + 1;
      }
      if (target().chap) {
        if (!chap) {
          login_fail(pdu, kInitiatorError, kDetailAuthFailed, "target requires CHAP; initiator offered AuthMethod=" + value.substr(0, 64));
          return false;
        }
        answer.emplace_back(key, "CHAP");
        chap_step_ = ChapStep::want_algorithm;
      } else if (none) {
        answer.emplace_back(key, "None");
        auth_done_ = true;
      } else {
        answer.emplace_back(key, "Reject");
        login_fail(pdu, kInitiatorError, kDetailAuthFailed, "initiator offers only AuthMethod=" + value.substr(0, 64) + " and the target has no CHAP credentials");
        return false;
      }
    } else if (key == "CHAP_A") {
      chap_a = value;
    } else if (key == "CHAP_N") {
      chap_n = value;
    } else if (key == "CHAP_R") {
      chap_r = value;
    } else if (key == "CHAP_I") {
      chap_i = value;
    } else if (key == "CHAP_C") {
      chap_c = value;
    } else if (key == "SendTargets" || key == "TargetAddress" || key == "TargetPortalGroupTag" ||
               key == "TargetAlias") {
      answer.emplace_back(key, "Irrelevant");
    } else if (is_operational_key(key)) {
      auto v = negotiate_operational(key, value, params_, target().limits);
      if (key == "MaxRecvDataSegmentLength") mrdsl_declared_ = true;
      if (v) answer.emplace_back(key, *v);
    } else {
      answer.emplace_back(key, "NotUnderstood");
    }
  }
  const bool chap_keys = chap_a || chap_n || chap_r || chap_i || chap_c;
  if (chap_keys && (csg != 0 || chap_step_ == ChapStep::none)) {
    login_fail(pdu, kInitiatorError, kDetailInvalidDuringLogin, "CHAP keys outside a CHAP exchange");
    return false;
  }
  if (chap_step_ == ChapStep::want_algorithm && chap_a) {
    auto keys_out = chap_.challenge(*chap_a);
    if (!keys_out.ok()) {
      login_fail(pdu, kInitiatorError, kDetailAuthFailed, keys_out.status().message());
      return false;
    }
    for (auto& kv : keys_out.value()) answer.push_back(kv);
    chap_step_ = ChapStep::want_response;
  } else if (chap_step_ == ChapStep::want_response && (chap_n || chap_r)) {
    auto result = chap_.verify(chap_n, chap_r, chap_i, chap_c, *target().chap, target().mutual_chap);
    if (!result.ok()) {
      const bool may_log = !ctx_.auth_failed || ctx_.auth_failed();
      const std::string why = "CHAP authentication failed from " + ctx_.peer + ": " + result.status().message();
      std::array<uint8_t, kBhsSize> b;
      init_bhs(b, Opcode::login_response, 0, 0, pdu.itt());
      std::memcpy(&b[8], isid_.data(), 6);
      put_sn(b, true);
      b[36] = kInitiatorError;
      b[37] = kDetailAuthFailed;
      queue(b, nullptr, nullptr, 0);
      if (may_log) log(LogLevel::warning, why);
      closing_ = true;
      return false;
    }
    for (auto& kv : result.value()) answer.push_back(kv);
    auth_done_ = true;
    chap_step_ = ChapStep::none;
  }
  return true;
}

void Connection::handle_login(const Pdu& pdu) {
  const uint8_t flags = pdu.flags();
  const bool transit = (flags & 0x80) != 0;
  const bool cont = (flags & 0x40) != 0;
  const uint8_t csg = (flags >> 2) & 3;
  const uint8_t nsg = flags & 3;
  if (!login_started_) {
    login_started_ = true;
    std::memcpy(isid_.data(), &pdu.bhs[8], 6);
    tsih_ = get_be16(&pdu.bhs[14]);
    cid_ = get_be16(&pdu.bhs[20]);
    exp_cmdsn_ = pdu.u32(24);
    stat_sn_ = pdu.u32(28);
    login_stage_ = csg;
    if (pdu.bhs[3] > 0x00) {  // Version-min above the only version we speak
      login_fail(pdu, kInitiatorError, kDetailUnsupportedVersion, "Version-min " + std::to_string(pdu.bhs[3]));
      return;
    }
    if (tsih_ != 0) {
      login_fail(pdu, kInitiatorError, kDetailSessionDoesNotExist,
                 "adding a connection to session TSIH " + std::to_string(tsih_) + " (MaxConnections=1)");
      return;
    }
  }
  if (cont) {  // text continues in the next Login Request (RFC 7143 6.2)
    if (partial_text_.size() + pdu.data.size() > kMaxTextLength) {
      login_fail(pdu, kInitiatorError, kDetailGeneric, "login text longer than " + std::to_string(kMaxTextLength) + " bytes");
      return;
    }
    partial_text_.insert(partial_text_.end(), pdu.data.begin(), pdu.data.end());
    send_login_response(pdu, false, csg, 0, {});
    return;
  }
  std::vector<uint8_t> text = std::move(partial_text_);
  partial_text_.clear();
  text.insert(text.end(), pdu.data.begin(), pdu.data.end());
  auto parsed = parse_text(text);
  if (!parsed.ok()) {
    login_fail(pdu, kInitiatorError, kDetailGeneric, parsed.status().message());
    return;
  }
  if (csg == 2 || csg == 3 || (transit && (nsg == 2 || nsg <= csg))) {
    login_fail(pdu, kInitiatorError, kDetailInvalidDuringLogin,
               "invalid stage transition CSG " + std::to_string(csg) + " NSG " + std::to_string(nsg));
    return;
  }
  if (csg != login_stage_) {
    if (!(csg == 1 && login_stage_ == 0)) {
      login_fail(pdu, kInitiatorError, kDetailInvalidDuringLogin, "login stage went back to " + std::to_string(csg));
      return;
    }
    login_stage_ = 1;  // skipped the security stage
  }
  if (csg == 1 && !auth_done_) {
    if (target().chap) {
      login_fail(pdu, kInitiatorError, kDetailAuthFailed, "initiator skipped CHAP authentication");
      return;
    }
    auth_done_ = true;
  }
  KeyValues answer;
  if (!login_keys(parsed.value(), csg, answer, pdu)) return;

  // Checks once the names are known (first request carries them).
  if (initiator_name_.empty()) {
    login_fail(pdu, kInitiatorError, kDetailMissingParameter, "no InitiatorName");
    return;
  }
  if (!discovery_) {
    if (target_name_.empty()) {
      login_fail(pdu, kInitiatorError, kDetailMissingParameter, "no TargetName in a Normal session");
      return;
    }
    if (target_name_ != target().name) {
      login_fail(pdu, kInitiatorError, kDetailNotFound, "unknown TargetName " + target_name_.substr(0, 224));
      return;
    }
    if (!tpgt_sent_) {
      answer.emplace_back("TargetPortalGroupTag", "1");
      answer.emplace_back("TargetAlias", target().alias);
      tpgt_sent_ = true;
    }
  }
  const auto& allow = target().allowed_initiators;
  if (!allow.empty() && std::find(allow.begin(), allow.end(), initiator_name_) == allow.end()) {
    login_fail(pdu, kInitiatorError, kDetailForbidden, "initiator " + initiator_name_.substr(0, 224) + " is not in --allow");
    return;
  }
  bool go = transit;
  if (csg == 0 && !auth_done_) go = false;  // CHAP still in progress
  if (go && nsg == 3 && !mrdsl_declared_) {
    answer.emplace_back("MaxRecvDataSegmentLength", std::to_string(target().limits.max_recv_data_segment_length));
    params_.target_mrdsl = target().limits.max_recv_data_segment_length;
    mrdsl_declared_ = true;
  }
  if (go && nsg == 3) {
    tsih_ = ctx_.allocate_tsih ? ctx_.allocate_tsih() : 0;
    while (tsih_ == 0) tsih_ = ++g_tsih;
  }
  send_login_response(pdu, go, csg, nsg, answer);
  if (go) {
    login_stage_ = nsg;
    if (nsg == 3) enter_full_feature();
  }
}

void Connection::enter_full_feature() {
  phase_ = Phase::full_feature;
  if (!mrdsl_declared_) params_.target_mrdsl = kDefaultMaxRecvDataSegmentLength;
  out_header_digest_ = params_.header_digest;
  out_data_digest_ = params_.data_digest;
  reader_.set_limits({params_.target_mrdsl, params_.header_digest, params_.data_digest});
  uint64_t h = fnv1a(initiator_name_.data(), initiator_name_.size());
  initiator_id_ = fnv1a(isid_.data(), isid_.size(), h);
  if (!discovery_) {
    if (ctx_.nexus) ctx_.nexus->add(initiator_id_);
    nexus_registered_ = true;
    ua_announced_.assign(target().luns.size(), false);
    for (size_t i = 0; i < target().luns.size(); ++i) ua_announced_[i] = target().luns[i]->has_unit_attention(initiator_id_);
  }
  log(LogLevel::info, std::string(discovery_ ? "discovery" : "normal") + " session logged in (TSIH " +
                          std::to_string(tsih_) + ", MaxRecvDataSegmentLength " + std::to_string(params_.initiator_mrdsl) +
                          ", digests " + (params_.header_digest ? "CRC32C" : "None") + "/" +
                          (params_.data_digest ? "CRC32C" : "None") + ")");
}

// ---- full feature phase ----

void Connection::sequence(Pdu pdu) {
  if (pdu.immediate()) {
    dispatch(std::move(pdu));
    return;
  }
  const uint32_t cmdsn = pdu.u32(24);
  if (cmdsn != exp_cmdsn_) {
    if (sn_gt(cmdsn, exp_cmdsn_) && sn_le(cmdsn, max_cmdsn())) {
      ooo_.emplace(cmdsn - exp_cmdsn_, Queued{std::move(pdu), false});
    } else {
      // RFC 7143 3.2.2.1: outside the window: silently ignored.
      log(LogLevel::debug, "dropping PDU with CmdSN " + std::to_string(cmdsn) + " outside [" +
                               std::to_string(exp_cmdsn_) + ", " + std::to_string(max_cmdsn()) + "]");
    }
    return;
  }
  ++exp_cmdsn_;
  dispatch(std::move(pdu));
  // Release commands that were waiting for this CmdSN.
  while (!ooo_.empty() && !must_close_) {
    auto it = ooo_.begin();
    if (it->first != 1) break;
    Queued q = std::move(it->second);
    ooo_.erase(it);
    std::map<uint32_t, Queued> shifted;
    for (auto& [k, v] : ooo_) shifted.emplace(k - 1, std::move(v));
    ooo_ = std::move(shifted);
    ++exp_cmdsn_;
    if (!q.aborted) dispatch(std::move(q.pdu));
  }
}

void Connection::dispatch(Pdu pdu) {
  switch (pdu.opcode()) {
    case Opcode::scsi_command:
      if (discovery_) {
        reject(pdu, kRejectProtocolError);
        return;
      }
      handle_scsi_command(std::move(pdu));
      return;
    case Opcode::nop_out:
      handle_nop_out(pdu);
      return;
    case Opcode::task_mgmt_request:
      if (discovery_) {
        reject(pdu, kRejectProtocolError);
        return;
      }
      handle_task_mgmt(pdu);
      return;
    case Opcode::text_request:
      handle_text(pdu);
      return;
    case Opcode::logout_request:
      handle_logout(pdu);
      return;
    default:
      reject(pdu, kRejectNotSupported);
      return;
  }
}

void Connection::reject(const Pdu& pdu, uint8_t reason) {
  std::array<uint8_t, kBhsSize> b;
  init_bhs(b, Opcode::reject, 0x80, 0, kReservedTag);
  b[2] = reason;
  put_sn(b, true);
  std::vector<uint8_t> data(pdu.bhs.begin(), pdu.bhs.end());
  queue_owned(b, std::move(data));
}

LogicalUnit* Connection::unit(uint32_t lun) const {
  if (lun >= target().luns.size()) return nullptr;
  return target().luns[lun].get();
}

// SAM-5 4.6.2 / SPC-5 6.33: REPORT LUNS and commands to LUNs that do not
// exist are the target's, not a logical unit's.
device::Response Connection::target_level_command(uint32_t /*lun*/, std::span<const uint8_t> cdb, uint32_t edtl,
                                                  std::span<uint8_t> data_in) {
  std::vector<uint8_t> payload;
  uint32_t allocation = 0;
  if (cdb[0] == kOpReportLuns) {
    if (cdb.size() < 12) return check_condition(0x05, 0x24, 0x00);
    const uint8_t select = cdb[2];
    allocation = get_be32(&cdb[6]);
    if (select != 0x00 && select != 0x01 && select != 0x02) return check_condition(0x05, 0x24, 0x00);
    const size_t count = select == 0x01 ? 0 : target().luns.size();
    payload.assign(8 + count * 8, 0);
    put_be32(&payload[0], static_cast<uint32_t>(count * 8));  // LUN LIST LENGTH
    for (size_t i = 0; i < count; ++i) encode_lun(&payload[8 + i * 8], static_cast<uint32_t>(i));
  } else if (cdb[0] == kOpInquiry && cdb.size() >= 6) {
    if (cdb[1] & 0x01) {  // EVPD to a missing LU: only the qualifier matters
      payload.assign(4, 0);
      payload[0] = 0x7f;
      payload[1] = cdb[2];
    } else {
      payload.assign(36, ' ');
      payload[0] = 0x7f;  // PERIPHERAL QUALIFIER 011b, DEVICE TYPE 1Fh: no LU here
      payload[1] = 0;
      payload[2] = 0x06;  // VERSION: SPC-4
      payload[3] = 0x02;  // RESPONSE DATA FORMAT
      payload[4] = 31;    // ADDITIONAL LENGTH
      payload[5] = payload[6] = payload[7] = 0;
      std::memcpy(&payload[8], "UDISC   ", 8);
    }
    allocation = get_be16(&cdb[3]);
  } else if (cdb[0] == 0x03) {  // REQUEST SENSE to a missing LU: sense data 05/25/00
    payload.assign(18, 0);
    payload[0] = 0x70;
    payload[2] = 0x05;
    payload[7] = 10;
    payload[12] = 0x25;
    allocation = cdb.size() >= 5 ? cdb[4] : 0;
  } else {
    return check_condition(0x05, 0x25, 0x00);  // LOGICAL UNIT NOT SUPPORTED
  }
  device::Response r;
  const uint32_t want = std::min<uint32_t>(allocation, static_cast<uint32_t>(payload.size()));
  const uint32_t n = std::min<uint32_t>(want, std::min<uint32_t>(edtl, static_cast<uint32_t>(data_in.size())));
  if (n > 0) std::memcpy(data_in.data(), payload.data(), n);
  r.data_in_length = n;
  r.residual = static_cast<int64_t>(edtl) - want;
  return r;
}

void Connection::handle_scsi_command(Pdu pdu) {
  const uint8_t flags = pdu.flags();
  const bool read = (flags & kCmdRead) != 0;
  const bool write = (flags & kCmdWrite) != 0;
  const uint32_t edtl = pdu.u32(20);
  const uint32_t itt = pdu.itt();
  uint32_t lun = 0;
  const bool lun_ok = decode_lun(&pdu.bhs[8], lun);
  // CDB: 16 bytes in the BHS, more in an Extended CDB AHS (RFC 7143 11.2.2.3).
  std::vector<uint8_t> cdb(pdu.bhs.begin() + 32, pdu.bhs.end());
  size_t pos = 0;
  while (pos + 4 <= pdu.ahs.size()) {
    const uint16_t len = get_be16(&pdu.ahs[pos]);
    const uint8_t type = pdu.ahs[pos + 2];
    if (pos + 3 + len > pdu.ahs.size()) {
      reject(pdu, kRejectInvalidPduField);
      return;
    }
    if (type == 1 && len > 1) cdb.insert(cdb.end(), pdu.ahs.begin() + pos + 4, pdu.ahs.begin() + pos + 3 + len);
    pos += pad4(3u + len);
  }
  if (!pdu.final() || (!write && !pdu.data.empty()) || pdu.data.size() > edtl ||
      (write && !pdu.data.empty() && (!params_.immediate_data || pdu.data.size() > params_.first_burst_length))) {
    reject(pdu, kRejectProtocolError);
    return;
  }
  if (!lun_ok) lun = UINT32_MAX;
  if (write && pdu.data.size() < edtl && edtl <= target().max_command_buffer && writes_.size() < kMaxPendingWrites &&
      writes_.find(itt) == writes_.end() && unit(lun) != nullptr) {
    // Solicit the rest of the data with R2Ts (RFC 7143 11.8), then execute.
    WriteTask t;
    t.itt = itt;
    t.lun = lun;
    t.cdb = std::move(cdb);
    t.edtl = edtl;
    t.read = read;
    t.buffer.resize(edtl);
    if (!pdu.data.empty()) std::memcpy(t.buffer.data(), pdu.data.data(), pdu.data.size());
    t.received = static_cast<uint32_t>(pdu.data.size());
    t.ttt = next_ttt_++;
    if (next_ttt_ == kReservedTag) next_ttt_ = 1;
    auto [it, ok] = writes_.emplace(itt, std::move(t));
    send_r2t(it->second);
    return;
  }
  run_command(itt, lun, cdb, read, write, edtl, pdu.data);
}

void Connection::send_r2t(WriteTask& t) {
  const uint32_t len = std::min(t.edtl - t.received, params_.max_burst_length);
  t.r2t_end = t.received + len;
  t.next_datasn = 0;
  std::array<uint8_t, kBhsSize> b;
  init_bhs(b, Opcode::r2t, 0x80, 0, t.itt);
  encode_lun(&b[8], t.lun);
  put_be32(&b[20], t.ttt);
  put_sn(b, false);
  put_be32(&b[36], t.r2tsn++);
  put_be32(&b[40], t.received);
  put_be32(&b[44], len);
  queue(b, nullptr, nullptr, 0);
}

void Connection::handle_data_out(const Pdu& pdu) {
  auto it = writes_.find(pdu.itt());
  const uint32_t ttt = pdu.u32(20);
  if (it == writes_.end() || ttt != it->second.ttt) {
    // Data for a task that finished early (answered before all data came,
    // or aborted): consumed and dropped.
    log(LogLevel::debug, "dropping Data-Out for ITT " + hex32(pdu.itt()) + " TTT " + hex32(ttt));
    return;
  }
  WriteTask& t = it->second;
  const uint32_t datasn = pdu.u32(36);
  const uint32_t offset = pdu.u32(40);
  const auto len = static_cast<uint32_t>(pdu.data.size());
  if (datasn != t.next_datasn) {
    fatal("Data-Out DataSN " + std::to_string(datasn) + " for ITT " + hex32(t.itt) + ", expected " + std::to_string(t.next_datasn));
    return;
  }
  if (offset != t.received || len > t.r2t_end - t.received) {
    fatal("Data-Out BufferOffset " + std::to_string(offset) + " length " + std::to_string(len) + " outside R2T [" +
          std::to_string(t.received) + ", " + std::to_string(t.r2t_end) + ") for ITT " + hex32(t.itt));
    return;
  }
  if (len > 0) std::memcpy(t.buffer.data() + offset, pdu.data.data(), len);
  t.received += len;
  ++t.next_datasn;
  if (!pdu.final()) return;
  if (t.received != t.r2t_end) {
    fatal("Data-Out sequence for ITT " + hex32(t.itt) + " ended at " + std::to_string(t.received) + " of " + std::to_string(t.r2t_end));
    return;
  }
  if (t.received < t.edtl) {
    send_r2t(t);
    return;
  }
  WriteTask done = std::move(t);
  writes_.erase(it);
  run_command(done.itt, done.lun, done.cdb, done.read, true, done.edtl, done.buffer);
}

void Connection::run_command(uint32_t itt, uint32_t lun, std::span<const uint8_t> cdb, bool read, bool write,
                             uint32_t edtl, std::span<const uint8_t> data_out) {
  LogicalUnit* lu = unit(lun);
  if (read && edtl > target().max_command_buffer) {
    log(LogLevel::warning, "READ of " + std::to_string(edtl) + " bytes exceeds the per-command limit; ITT " + hex32(itt));
    send_scsi_response(itt, 0x01, device::Response{}, 0);  // Target Failure
    return;
  }
  std::shared_ptr<uint8_t[]> buffer;
  if (read && edtl > 0) buffer = acquire_buffer(edtl);
  std::span<uint8_t> segment(buffer.get(), read ? edtl : 0);
  const std::span<uint8_t> segments[1] = {segment};
  device::Response response;
  if (lu == nullptr || cdb[0] == kOpReportLuns) {
    response = target_level_command(lun, cdb, read ? edtl : 0, segment);
    if (!read && response.status == device::ScsiStatus::good) response.residual = static_cast<int64_t>(edtl);
  } else if (read && ctx_.offload && edtl >= ctx_.offload_min_bytes) {
    // Large read: the drive fills the buffer on a worker thread while this
    // loop keeps sending earlier answers; the result is queued back here.
    struct Job {
      std::vector<uint8_t> cdb;
      device::Request request;
      device::Response response;
      std::span<uint8_t> segment;
    };
    auto job = std::make_shared<Job>();
    job->cdb.assign(cdb.begin(), cdb.end());
    job->segment = segment;
    job->request.cdb = job->cdb;
    job->request.direction = device::DataDirection::from_device;
    job->request.expected_transfer_length = edtl;
    job->request.data_in = std::span<const std::span<uint8_t>>(&job->segment, 1);
    job->request.initiator = initiator_id_;
    ++async_;
    async_bytes_ += edtl;
    std::shared_ptr<LogicalUnit> unit_ref = target().luns[lun];
    ctx_.offload([job, unit_ref] { job->response = unit_ref->execute(job->request); },
                 [this, alive = alive_, job, itt, lun, edtl, buffer] {
                   if (!*alive) return;
                   --async_;
                   async_bytes_ -= edtl;
                   if (must_close_) return;
                   device::Response r = job->response;
                   r.data_in_length = std::min(r.data_in_length, edtl);
                   send_result(itt, lun, r, buffer, 0);
                 });
    return;
  } else {
    device::Request request;
    request.cdb = cdb;
    request.direction = write ? device::DataDirection::to_device
                              : (read ? device::DataDirection::from_device : device::DataDirection::none);
    request.expected_transfer_length = edtl;
    request.data_out = data_out;
    request.data_in = read ? std::span<const std::span<uint8_t>>(segments) : std::span<const std::span<uint8_t>>();
    request.initiator = initiator_id_;
    response = lu->execute(request);
  }
  if (!read) response.data_in_length = 0;
  response.data_in_length = std::min(response.data_in_length, read ? edtl : 0u);
  send_result(itt, lun, response, std::move(buffer), 0);
}

void Connection::send_result(uint32_t itt, uint32_t lun, const device::Response& r, std::shared_ptr<uint8_t[]> buffer,
                             uint32_t) {
  const uint32_t n = r.data_in_length;
  const bool fold = n > 0 && r.sense_length == 0 &&
                    (r.status == device::ScsiStatus::good || r.status == device::ScsiStatus::condition_met);
  uint8_t residual_flag = 0;
  uint32_t residual = 0;
  if (r.residual > 0) {
    residual_flag = kResidualUnderflow;
    residual = static_cast<uint32_t>(std::min<int64_t>(r.residual, UINT32_MAX));
  } else if (r.residual < 0) {
    residual_flag = kResidualOverflow;
    residual = static_cast<uint32_t>(std::min<int64_t>(-r.residual, UINT32_MAX));
  }
  uint32_t datasn = 0;
  if (n > 0) {
    // RFC 7143 11.7: Data-In PDUs of at most the initiator's
    // MaxRecvDataSegmentLength; F closes each MaxBurstLength sequence.
    const uint32_t mrdsl = std::max<uint32_t>(512, params_.initiator_mrdsl);
    const uint32_t burst = std::max<uint32_t>(mrdsl, params_.max_burst_length);
    std::shared_ptr<const void> owner = buffer;
    uint32_t offset = 0;
    while (offset < n) {
      const uint32_t burst_end = std::min(n, (offset / burst + 1) * burst);
      const uint32_t len = std::min(mrdsl, burst_end - offset);
      const bool last = offset + len == n;
      uint8_t flags = (offset + len == burst_end) ? 0x80 : 0;
      std::array<uint8_t, kBhsSize> b;
      init_bhs(b, Opcode::data_in, 0, 0, itt);
      encode_lun(&b[8], lun == UINT32_MAX ? 0 : lun);
      put_be32(&b[20], kReservedTag);
      if (last && fold) {
        flags |= 0x80 | kDataInStatus | residual_flag;
        b[3] = static_cast<uint8_t>(r.status);
        put_sn(b, true);
        put_be32(&b[44], residual);
      } else {
        put_sn(b, false);
        put_be32(&b[24], 0);  // StatSN reserved without S
      }
      b[1] = flags;
      put_be32(&b[36], datasn++);
      put_be32(&b[40], offset);
      queue(b, owner, buffer.get() + offset, len);
      offset += len;
    }
    if (fold) return;
  }
  std::array<uint8_t, kBhsSize> b;
  init_bhs(b, Opcode::scsi_response, static_cast<uint8_t>(0x80 | residual_flag), 0, itt);
  b[2] = 0x00;  // Command Completed at Target
  b[3] = static_cast<uint8_t>(r.status);
  put_sn(b, true);
  put_be32(&b[36], datasn);
  put_be32(&b[44], residual);
  std::vector<uint8_t> data;
  if (r.sense_length > 0) {
    data.resize(2 + r.sense_length);
    put_be16(&data[0], r.sense_length);
    std::memcpy(&data[2], r.sense.data(), r.sense_length);
  }
  queue_owned(b, std::move(data));
}

void Connection::send_scsi_response(uint32_t itt, uint8_t response_code, const device::Response& r, uint32_t exp_datasn) {
  std::array<uint8_t, kBhsSize> b;
  init_bhs(b, Opcode::scsi_response, 0x80, 0, itt);
  b[2] = response_code;
  b[3] = static_cast<uint8_t>(r.status);
  put_sn(b, true);
  put_be32(&b[36], exp_datasn);
  queue(b, nullptr, nullptr, 0);
}

void Connection::handle_nop_out(const Pdu& pdu) {
  const uint32_t itt = pdu.itt();
  if (itt == kReservedTag) {
    // Answer to our NOP-In ping (TTT echoed): nothing to send.
    if (pdu.u32(20) == ping_ttt_) ping_outstanding_ = false;
    return;
  }
  std::array<uint8_t, kBhsSize> b;
  init_bhs(b, Opcode::nop_in, 0x80, 0, itt);
  std::memcpy(&b[8], &pdu.bhs[8], 8);  // LUN echoed
  put_be32(&b[20], kReservedTag);
  put_sn(b, true);
  std::vector<uint8_t> ping(pdu.data.begin(),
                            pdu.data.begin() + std::min<size_t>(pdu.data.size(), params_.initiator_mrdsl));
  queue_owned(b, std::move(ping));
}

void Connection::abort_tasks(std::optional<uint32_t> lun) {
  for (auto it = writes_.begin(); it != writes_.end();) {
    if (!lun || it->second.lun == *lun) it = writes_.erase(it);
    else ++it;
  }
  for (auto& [k, q] : ooo_) {
    uint32_t l = 0;
    if (q.pdu.opcode() == Opcode::scsi_command && (!lun || (decode_lun(&q.pdu.bhs[8], l) && l == *lun))) q.aborted = true;
  }
}

void Connection::handle_task_mgmt(const Pdu& pdu) {
  const uint8_t function = pdu.flags() & 0x7f;
  uint32_t lun = 0;
  const bool lun_ok = decode_lun(&pdu.bhs[8], lun);
  LogicalUnit* lu = lun_ok ? unit(lun) : nullptr;
  uint8_t response = kTmfComplete;
  switch (function) {
    case kTmfAbortTask: {
      const uint32_t ref = pdu.u32(20);
      bool found = writes_.erase(ref) > 0;
      for (auto& [k, q] : ooo_) {
        if (q.pdu.itt() == ref && !q.aborted) {
          q.aborted = true;
          found = true;
        }
      }
      // RFC 7143 11.5.1: a task that never arrived but whose RefCmdSN is in
      // the window is treated as received and aborted; one that completed
      // already does not exist.
      if (!found) response = kTmfNoTask;
      break;
    }
    case kTmfAbortTaskSet:
    case kTmfClearTaskSet:
      if (!lu) {
        response = kTmfNoLun;
        break;
      }
      abort_tasks(lun);
      break;
    case kTmfClearAca:
      if (!lu) response = kTmfNoLun;
      break;
    case kTmfLogicalUnitReset:
      if (!lu) {
        response = kTmfNoLun;
        break;
      }
      abort_tasks(lun);
      lu->logical_unit_reset();
      log(LogLevel::info, "LOGICAL UNIT RESET of LUN " + std::to_string(lun));
      break;
    case kTmfTargetWarmReset:
    case kTmfTargetColdReset:
      abort_tasks(std::nullopt);
      for (const auto& u : target().luns) u->logical_unit_reset();
      log(LogLevel::info, function == kTmfTargetWarmReset ? "TARGET WARM RESET" : "TARGET COLD RESET");
      break;
    case kTmfTaskReassign:
      response = kTmfNoReassign;
      break;
    default:
      response = kTmfNotSupported;
      break;
  }
  std::array<uint8_t, kBhsSize> b;
  init_bhs(b, Opcode::task_mgmt_response, 0x80, 0, pdu.itt());
  b[2] = response;
  put_sn(b, true);
  queue(b, nullptr, nullptr, 0);
  if (function == kTmfTargetColdReset && response == kTmfComplete) closing_ = true;
}

void Connection::handle_text(const Pdu& pdu) {
  const bool cont = (pdu.flags() & 0x40) != 0;
  if (text_partial_.size() + pdu.data.size() > kMaxTextLength) {
    text_partial_.clear();
    reject(pdu, kRejectProtocolError);
    return;
  }
  text_partial_.insert(text_partial_.end(), pdu.data.begin(), pdu.data.end());
  std::array<uint8_t, kBhsSize> b;
  if (cont) {
    init_bhs(b, Opcode::text_response, 0x00, 0, pdu.itt());
    put_be32(&b[20], next_ttt_++);
    if (next_ttt_ == kReservedTag) next_ttt_ = 1;
    put_sn(b, true);
    queue(b, nullptr, nullptr, 0);
    return;
  }
  auto parsed = parse_text(text_partial_);
  text_partial_.clear();
  if (!parsed.ok()) {
    log(LogLevel::warning, "Text Request: " + parsed.status().message());
    reject(pdu, kRejectProtocolError);
    return;
  }
  std::vector<uint8_t> out;
  for (const auto& [key, value] : parsed.value()) {
    if (key == "SendTargets") {
      // RFC 7143 Appendix C: All (discovery) / our name / empty = this target.
      if (value == "All" || value.empty() || value == target().name) {
        append_text(out, "TargetName", target().name);
        append_text(out, "TargetAddress", ctx_.portal + ",1");
      }
    } else if (is_operational_key(key)) {
      SessionParams scratch = params_;
      auto v = negotiate_operational(key, value, scratch, target().limits);
      if (key == "MaxRecvDataSegmentLength" || key == "MaxBurstLength") params_ = scratch;
      if (v) append_text(out, key, (key == "HeaderDigest" || key == "DataDigest" || key == "ErrorRecoveryLevel" ||
                                    key == "MaxConnections" || key == "ImmediateData" || key == "InitialR2T")
                                       ? std::string("Irrelevant")
                                       : *v);
    } else {
      append_text(out, key, "NotUnderstood");
    }
  }
  if (out.size() > params_.initiator_mrdsl) out.resize(params_.initiator_mrdsl);
  init_bhs(b, Opcode::text_response, 0x80, 0, pdu.itt());
  put_be32(&b[20], kReservedTag);
  put_sn(b, true);
  queue_owned(b, std::move(out));
}

void Connection::handle_logout(const Pdu& pdu) {
  const uint8_t reason = pdu.flags() & 0x7f;
  uint8_t response = 0;  // connection or session closed successfully
  if (reason == 2) response = 2;  // recovery not supported
  else if (reason == 1 && get_be16(&pdu.bhs[20]) != cid_) response = 1;  // CID not found
  std::array<uint8_t, kBhsSize> b;
  init_bhs(b, Opcode::logout_response, 0x80, 0, pdu.itt());
  b[2] = response;
  put_sn(b, true);
  put_be16(&b[40], 0);  // Time2Wait
  put_be16(&b[42], 0);  // Time2Retain
  queue(b, nullptr, nullptr, 0);
  if (response == 0) {
    log(LogLevel::info, "logged out");
    closing_ = true;
  }
}

void Connection::send_async_unit_attention(uint32_t lun, device::Asc code) {
  // RFC 7143 11.9: AsyncEvent 0, a SCSI asynchronous event with sense data.
  // The unit attention itself stays pending and is reported by the logical
  // unit on the next command; this message only tells the initiator to ask.
  std::array<uint8_t, kBhsSize> b;
  init_bhs(b, Opcode::async_message, 0x80, 0, kReservedTag);
  encode_lun(&b[8], lun);
  put_sn(b, true);
  b[36] = 0;  // AsyncEvent
  std::vector<uint8_t> data(2 + 18, 0);
  put_be16(&data[0], 18);
  data[2] = 0x70;
  data[4] = 0x06;   // UNIT ATTENTION
  data[9] = 10;
  data[2 + 12] = code.asc;  // the unit attention the logical unit has pending
  data[2 + 13] = code.ascq;
  queue_owned(b, std::move(data));
}

void Connection::send_nop_ping() {
  std::array<uint8_t, kBhsSize> b;
  init_bhs(b, Opcode::nop_in, 0x80, 0, kReservedTag);
  ping_ttt_ = next_ttt_++;
  if (next_ttt_ == kReservedTag) next_ttt_ = 1;
  put_be32(&b[20], ping_ttt_);
  put_sn(b, false);
  queue(b, nullptr, nullptr, 0);
}

void Connection::tick(Clock::time_point now) {
  if (must_close_) return;
  using std::chrono::milliseconds;
  if (phase_ == Phase::login) {
    if (now - created_ > milliseconds(target().login_timeout_ms)) fatal("login not finished in time");
    return;
  }
  if (target().nop_interval_ms > 0) {
    if (ping_outstanding_) {
      if (now - ping_sent_ > milliseconds(target().nop_timeout_ms)) {
        fatal("no answer to NOP-In for " + std::to_string(target().nop_timeout_ms) + " ms: initiator presumed dead");
        return;
      }
    } else if (now - last_rx_ > milliseconds(target().nop_interval_ms)) {
      send_nop_ping();
      ping_outstanding_ = true;
      ping_sent_ = now;
    }
  }
  if (!discovery_ && target().announce_unit_attention) {
    for (size_t i = 0; i < ua_announced_.size(); ++i) {
      const std::optional<device::Asc> pending = target().luns[i]->pending_unit_attention(initiator_id_);
      const bool has = pending.has_value();
      if (has && !ua_announced_[i]) send_async_unit_attention(static_cast<uint32_t>(i), *pending);
      ua_announced_[i] = has;
    }
  }
}

}  // namespace udisc::iscsi
