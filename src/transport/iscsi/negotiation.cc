#include "transport/iscsi/negotiation.h"

#include <algorithm>
#include <sstream>

#include "crypto/digest.h"

namespace udisc::iscsi {
namespace {

std::vector<std::string> split_list(const std::string& value) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(value);
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

enum class Kind { list_digest, number_declared, number_min, number_max, bool_and, bool_or, erl, irrelevant_markint, bool_and_markers, task_reporting };

struct KeyRule {
  const char* key;
  Kind kind;
  uint64_t lo, hi;
};

constexpr KeyRule kRules[] = {
    {"HeaderDigest", Kind::list_digest, 0, 0},
    {"DataDigest", Kind::list_digest, 0, 0},
    {"MaxRecvDataSegmentLength", Kind::number_declared, 512, 16777215},
    {"MaxBurstLength", Kind::number_min, 512, 16777215},
    {"FirstBurstLength", Kind::number_min, 512, 16777215},
    {"ImmediateData", Kind::bool_and, 0, 0},
    {"InitialR2T", Kind::bool_or, 0, 0},
    {"MaxOutstandingR2T", Kind::number_min, 1, 65535},
    {"DataPDUInOrder", Kind::bool_or, 0, 0},
    {"DataSequenceInOrder", Kind::bool_or, 0, 0},
    {"DefaultTime2Wait", Kind::number_max, 0, 3600},
    {"DefaultTime2Retain", Kind::number_min, 0, 3600},
    {"ErrorRecoveryLevel", Kind::erl, 0, 2},
    {"MaxConnections", Kind::number_min, 1, 65535},
    {"IFMarker", Kind::bool_and_markers, 0, 0},
    {"OFMarker", Kind::bool_and_markers, 0, 0},
    {"IFMarkInt", Kind::irrelevant_markint, 0, 0},
    {"OFMarkInt", Kind::irrelevant_markint, 0, 0},
    {"TaskReporting", Kind::task_reporting, 0, 0},
};

const KeyRule* find_rule(const std::string& key) {
  for (const auto& r : kRules) {
    if (key == r.key) return &r;
  }
  return nullptr;
}

bool parse_bool(const std::string& v, bool& out) {
  if (v == "Yes") {
    out = true;
    return true;
  }
  if (v == "No") {
    out = false;
    return true;
  }
  return false;
}

const char* yes_no(bool b) { return b ? "Yes" : "No"; }

}  // namespace

bool is_operational_key(const std::string& key) { return find_rule(key) != nullptr; }

std::optional<std::string> negotiate_operational(const std::string& key, const std::string& value,
                                                 SessionParams& p, const TargetLimits& limits) {
  const KeyRule* rule = find_rule(key);
  if (rule == nullptr) return std::string("NotUnderstood");
  if (value == "NotUnderstood" || value == "Irrelevant" || value == "Reject") return std::nullopt;
  uint64_t n = 0;
  bool b = false;
  switch (rule->kind) {
    case Kind::list_digest: {
      // RFC 7143 13.1: the responder picks the first value of the list it supports.
      for (const auto& item : split_list(value)) {
        const bool crc = item == "CRC32C" && limits.digests_allowed;
        if (crc || item == "None") {
          (key == "HeaderDigest" ? p.header_digest : p.data_digest) = crc;
          return item;
        }
      }
      return std::string("Reject");
    }
    case Kind::number_declared:
      if (!parse_number(value, n) || n < rule->lo) return std::string("Reject");
      // The initiator declares what it receives; we answer with what we receive.
      p.initiator_mrdsl = static_cast<uint32_t>(std::min<uint64_t>(n, rule->hi));
      p.target_mrdsl = limits.max_recv_data_segment_length;
      return std::to_string(limits.max_recv_data_segment_length);
    case Kind::number_min:
    case Kind::number_max: {
      if (!parse_number(value, n) || n < rule->lo || n > rule->hi) return std::string("Reject");
      uint64_t ours = 0;
      uint32_t* target = nullptr;
      if (key == "MaxBurstLength") {
        ours = limits.max_burst_length;
        target = &p.max_burst_length;
      } else if (key == "FirstBurstLength") {
        ours = limits.first_burst_length;
        target = &p.first_burst_length;
      } else if (key == "MaxOutstandingR2T") {
        ours = 1;
        target = &p.max_outstanding_r2t;
      } else if (key == "DefaultTime2Wait") {
        ours = 2;
        target = &p.default_time2wait;
      } else if (key == "DefaultTime2Retain") {
        ours = 20;
        target = &p.default_time2retain;
      } else {  // MaxConnections
        ours = 1;
        target = &p.max_connections;
      }
      const uint64_t result = rule->kind == Kind::number_min ? std::min(ours, n) : std::max(ours, n);
      *target = static_cast<uint32_t>(result);
      return std::to_string(result);
    }
    case Kind::erl:
      if (!parse_number(value, n) || n > rule->hi) return std::string("Reject");
      p.error_recovery_level = 0;  // min(0, n)
      return std::string("0");
    case Kind::bool_and:
      if (!parse_bool(value, b)) return std::string("Reject");
      p.immediate_data = b;  // we offer Yes: result is the initiator's value
      return std::string(yes_no(b));
    case Kind::bool_or:
      if (!parse_bool(value, b)) return std::string("Reject");
      // We offer Yes (in order, R2T before data): OR gives Yes.
      if (key == "InitialR2T") p.initial_r2t = true;
      if (key == "DataPDUInOrder") p.data_pdu_in_order = true;
      if (key == "DataSequenceInOrder") p.data_sequence_in_order = true;
      return std::string("Yes");
    case Kind::bool_and_markers:
      if (!parse_bool(value, b)) return std::string("Reject");
      return std::string("No");
    case Kind::irrelevant_markint:
      return std::string("Irrelevant");
    case Kind::task_reporting:
      for (const auto& item : split_list(value)) {
        if (item == "RFC3720") return item;
      }
      return std::string("Reject");
  }
  return std::string("NotUnderstood");
}

// ---- CHAP ----

static crypto::Algorithm digest_for(ChapAlgorithm a) {
  switch (a) {
    case ChapAlgorithm::md5: return crypto::Algorithm::md5;
    case ChapAlgorithm::sha1: return crypto::Algorithm::sha1;
    case ChapAlgorithm::sha256: return crypto::Algorithm::sha256;
    case ChapAlgorithm::sha3_256: return crypto::Algorithm::sha3_256;
  }
  return crypto::Algorithm::md5;
}

std::vector<uint8_t> chap_response(ChapAlgorithm algorithm, uint8_t id, const std::string& secret,
                                   const std::vector<uint8_t>& challenge) {
  crypto::Digest digest(digest_for(algorithm));
  digest.update(std::span<const uint8_t>(&id, 1));
  digest.update(secret);
  digest.update(challenge);
  return digest.finish();
}

void ChapServer::set_fixed_challenge(uint8_t id, std::vector<uint8_t> challenge) {
  fixed_ = std::make_pair(id, std::move(challenge));
}

Result<KeyValues> ChapServer::challenge(const std::string& chap_a_list) {
  std::optional<ChapAlgorithm> chosen;
  for (const auto& item : split_list(chap_a_list)) {
    uint64_t n = 0;
    if (!parse_number(item, n)) continue;
    if (n == 5 || n == 6 || n == 7 || n == 8) {
      chosen = static_cast<ChapAlgorithm>(n);
      break;
    }
  }
  if (!chosen) return Status::NotSupported("CHAP_A=" + chap_a_list.substr(0, 64) + " offers no supported algorithm (5, 6, 7, 8)");
  algorithm_ = *chosen;
  // Challenge length: the digest length is the common choice; at least 16 bytes.
  const size_t len = algorithm_ == ChapAlgorithm::md5 ? 16 : 32;
  if (fixed_) {
    id_ = fixed_->first;
    challenge_ = fixed_->second;
  } else {
    challenge_.assign(len, 0);
    if (!crypto::random_bytes(challenge_).ok() || !crypto::random_bytes(std::span<uint8_t>(&id_, 1)).ok()) {
      return Status::IoError("no random bytes for the CHAP challenge");
    }
  }
  challenged_ = true;
  return KeyValues{{"CHAP_A", std::to_string(static_cast<unsigned>(algorithm_))},
                   {"CHAP_I", std::to_string(id_)},
                   {"CHAP_C", encode_hex(challenge_)}};
}

Result<KeyValues> ChapServer::verify(const std::optional<std::string>& name, const std::optional<std::string>& response,
                                     const std::optional<std::string>& mutual_id,
                                     const std::optional<std::string>& mutual_challenge,
                                     const ChapCredentials& expected, const std::optional<ChapCredentials>& mutual) {
  if (!challenged_) return Status::InvalidArgument("CHAP response before a challenge");
  if (!name || !response) return Status::InvalidArgument("CHAP_N or CHAP_R missing");
  if (*name != expected.user) return Status::InvalidArgument("CHAP_N '" + name->substr(0, 64) + "' is not the configured user");
  std::vector<uint8_t> got;
  if (!decode_binary(*response, got)) return Status::InvalidArgument("CHAP_R is not a hex or base64 value");
  const auto want = chap_response(algorithm_, id_, expected.secret, challenge_);
  if (!crypto::equal_constant_time(got, want)) {
    return Status::InvalidArgument("CHAP_R does not match for user '" + expected.user + "'");
  }
  challenged_ = false;  // one response per challenge
  if (!mutual_id && !mutual_challenge) return KeyValues{};
  if (!mutual_id || !mutual_challenge) return Status::InvalidArgument("mutual CHAP needs both CHAP_I and CHAP_C");
  if (!mutual) return Status::InvalidArgument("initiator asks for mutual CHAP but the target has no mutual credentials");
  uint64_t id = 0;
  if (!parse_number(*mutual_id, id) || id > 255) return Status::InvalidArgument("CHAP_I '" + mutual_id->substr(0, 16) + "' is not 0..255");
  std::vector<uint8_t> c;
  if (!decode_binary(*mutual_challenge, c) || c.empty() || c.size() > 1024) {
    return Status::InvalidArgument("CHAP_C from the initiator is not a valid challenge");
  }
  if (c == challenge_) return Status::InvalidArgument("initiator reflected the target's CHAP challenge");
  return KeyValues{{"CHAP_N", mutual->user},
                   {"CHAP_R", encode_hex(chap_response(algorithm_, static_cast<uint8_t>(id), mutual->secret, c))}};
}

}  // namespace udisc::iscsi
