// Login and text negotiation (RFC 7143 6, 12, 13): operational keys with
// their result functions, and CHAP authentication (RFC 1994 as profiled by
// RFC 7143 12.1.3, digest algorithms from the IANA PPP registry:
// 5 = MD5, 6 = SHA-1, 7 = SHA-256, 8 = SHA3-256).
//
// Pure functions over key/value strings; the connection drives them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "transport/iscsi/text.h"
#include "util/status.h"

namespace udisc::iscsi {

// What this target offers (its side of each negotiation).
struct TargetLimits {
  uint32_t max_recv_data_segment_length = 262144;  // declared: what we accept per PDU
  uint32_t max_burst_length = 1048576;
  uint32_t first_burst_length = 262144;
  bool digests_allowed = true;  // offer CRC32C when the initiator proposes it
};

// The outcome of negotiation for one session/connection (RFC 7143 13 defaults).
struct SessionParams {
  bool header_digest = false;
  bool data_digest = false;
  uint32_t initiator_mrdsl = 8192;  // we send at most this per PDU
  uint32_t target_mrdsl = 8192;     // we accept at most this (declared by us)
  uint32_t max_burst_length = 262144;
  uint32_t first_burst_length = 65536;
  bool immediate_data = true;
  bool initial_r2t = true;
  uint32_t max_outstanding_r2t = 1;
  bool data_pdu_in_order = true;
  bool data_sequence_in_order = true;
  uint32_t default_time2wait = 2;
  uint32_t default_time2retain = 20;
  uint32_t error_recovery_level = 0;
  uint32_t max_connections = 1;
};

// Negotiates one operational key proposed by the initiator. Returns the
// value to answer ("NotUnderstood" for unknown keys, "Reject" for values out
// of range or without acceptable choice, "Irrelevant" where the RFC says so),
// or nullopt when no answer is due. Updates `params` with the outcome.
std::optional<std::string> negotiate_operational(const std::string& key, const std::string& value,
                                                 SessionParams& params, const TargetLimits& limits);

// True for keys that negotiate_operational handles.
bool is_operational_key(const std::string& key);

struct ChapCredentials {
  std::string user;
  std::string secret;
};

// CHAP_A algorithm codes.
enum class ChapAlgorithm : uint8_t { md5 = 5, sha1 = 6, sha256 = 7, sha3_256 = 8 };

// H(id || secret || challenge) with the algorithm's digest.
std::vector<uint8_t> chap_response(ChapAlgorithm algorithm, uint8_t id, const std::string& secret,
                                   const std::vector<uint8_t>& challenge);

// Target side of a CHAP exchange. Messages never contain secrets.
class ChapServer {
 public:
  // Step 1: the initiator's CHAP_A list. Picks the first algorithm of the
  // list we support and returns CHAP_A, CHAP_I, CHAP_C to send.
  Result<KeyValues> challenge(const std::string& chap_a_list);
  // Step 2: CHAP_N, CHAP_R (and CHAP_I, CHAP_C for mutual). On success,
  // returns the keys to send back (CHAP_N, CHAP_R when mutual).
  Result<KeyValues> verify(const std::optional<std::string>& name, const std::optional<std::string>& response,
                           const std::optional<std::string>& mutual_id,
                           const std::optional<std::string>& mutual_challenge, const ChapCredentials& expected,
                           const std::optional<ChapCredentials>& mutual);
  bool challenged() const { return challenged_; }
  // Deterministic challenges for tests and fuzzing.
  void set_fixed_challenge(uint8_t id, std::vector<uint8_t> challenge);

 private:
  ChapAlgorithm algorithm_ = ChapAlgorithm::md5;
  uint8_t id_ = 0;
  std::vector<uint8_t> challenge_;
  bool challenged_ = false;
  std::optional<std::pair<uint8_t, std::vector<uint8_t>>> fixed_;
};

}  // namespace udisc::iscsi
