// Connection: one iSCSI connection (and, since MaxConnections=1, its session)
// as a socket-free state machine: bytes in, PDUs out.
//
//   receive(bytes) -> PduReader -> login phase | full feature phase
//   full feature:  CmdSN window -> SCSI Command -> LogicalUnit::execute
//                  -> Data-In sequence (status folded into the last one) or
//                     SCSI Response with sense
//   gather()/consume_output() expose the queued PDUs as iovecs, so the
//   event loop sends everything that is ready with one writev.
//
// Error tiers (RFC 7143 7): a fatal protocol error (framing lost, header
// digest mismatch, login violation) sets must_close(); a recoverable one is
// answered with a Reject; a SCSI error is the logical unit's CHECK
// CONDITION and never reaches this layer as an error.
//
// Thread safety: none; a connection lives on one event loop.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "transport/iscsi/negotiation.h"
#include "transport/iscsi/pdu.h"
#include "transport/iscsi/target.h"

struct iovec;

namespace udisc::iscsi {

// Counts live sessions per I_T nexus so that a logical unit hears
// initiator_gone only when the last session of that nexus ends.
class NexusRegistry {
 public:
  void add(device::InitiatorId id);
  // Returns true when this was the last session of the nexus.
  bool remove(device::InitiatorId id);

 private:
  std::mutex mu_;
  std::unordered_map<device::InitiatorId, int> live_;
};

class Connection {
 public:
  using Clock = std::chrono::steady_clock;
  struct Context {
    const TargetConfig* target = nullptr;
    Logger log;
    std::string peer;    // printable initiator address
    std::string portal;  // "address:port" answered to SendTargets
    // A CHAP response was wrong: records it (the server throttles the
    // address) and returns whether to log it. Null: log every failure.
    std::function<bool()> auth_failed;
    // Rate limiter for log lines before login, which anyone who can connect
    // can cause. Null: log everything.
    std::function<bool()> may_log_before_login;
    std::function<uint16_t()> allocate_tsih;      // null = counter from 1
    NexusRegistry* nexus = nullptr;               // null = no sharing
    // Runs `work` on another thread, then `done` back on this connection's
    // loop thread. Null: every command runs inline. Used for large reads so
    // the drive's copy overlaps the socket copy of earlier answers.
    std::function<void(std::function<void()> work, std::function<void()> done)> offload;
    uint32_t offload_min_bytes = 32768;
  };

  Connection(Context context, Clock::time_point now);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Bytes from the socket. Parses every PDU in them and processes as many as
  // the output high-water mark allows; the rest wait in the inbox.
  void receive(std::span<const uint8_t> bytes, Clock::time_point now);
  // Processes waiting PDUs (call after output drained).
  void pump();
  // Timers: login timeout, NOP-In pings, dead initiator, unit attentions.
  void tick(Clock::time_point now);

  // False while PDUs wait in the inbox: stop reading the socket.
  bool wants_input() const { return inbox_.empty() && !closing_ && !must_close_ && async_bytes_ < kHighWater; }
  // Fills up to max iovecs with queued output; returns the count.
  size_t gather(struct iovec* iov, size_t max) const;
  void consume_output(size_t bytes);
  bool has_output() const { return !out_.empty(); }
  size_t output_bytes() const { return out_bytes_; }
  // Close once output is flushed (logout, failed login).
  bool closing() const { return closing_ && async_ == 0; }
  // Commands running on a worker thread, whose answers come back through the loop's inbox.
  bool awaiting_workers() const { return async_ != 0; }
  // Close now, dropping output (fatal protocol error, dead initiator).
  bool must_close() const { return must_close_; }
  // Stop: drop the session (server shutdown).
  void abandon(const std::string& why);

  bool in_full_feature() const { return phase_ == Phase::full_feature; }
  // "address (initiator name)" for log lines.
  std::string name_for_log() const {
    return initiator_name_.empty() ? ctx_.peer : ctx_.peer + " (" + initiator_name_ + ")";
  }
  bool discovery() const { return discovery_; }
  const std::string& initiator_name() const { return initiator_name_; }
  const SessionParams& params() const { return params_; }
  device::InitiatorId initiator_id() const { return initiator_id_; }

  static constexpr size_t kHighWater = 4u << 20;

 private:
  enum class Phase { login, full_feature };
  struct OutPdu {
    std::array<uint8_t, kBhsSize + kDigestSize> head{};
    uint8_t head_len = 0;
    std::shared_ptr<const void> owner;
    const uint8_t* data = nullptr;
    uint32_t data_len = 0;
    std::array<uint8_t, 8> tail{};
    uint8_t tail_len = 0;
    size_t size() const { return size_t{head_len} + data_len + tail_len; }
  };
  struct WriteTask {
    uint32_t itt = 0;
    uint32_t lun = 0;
    std::vector<uint8_t> cdb;
    uint32_t edtl = 0;
    bool read = false;
    std::vector<uint8_t> buffer;
    uint32_t received = 0;
    uint32_t ttt = 0;
    uint32_t r2tsn = 0;
    uint32_t r2t_end = 0;
    uint32_t next_datasn = 0;
  };
  struct Queued {
    Pdu pdu;
    bool aborted = false;
  };

  void process(Pdu pdu);
  void fatal(const std::string& why);
  void queue(std::array<uint8_t, kBhsSize>& bhs, std::shared_ptr<const void> owner, const uint8_t* data,
             uint32_t length);
  void queue_owned(std::array<uint8_t, kBhsSize>& bhs, std::vector<uint8_t> data);
  void put_sn(std::array<uint8_t, kBhsSize>& bhs, bool advance_statsn);
  uint32_t max_cmdsn() const { return exp_cmdsn_ + target().queue_depth - 1; }
  const TargetConfig& target() const { return *ctx_.target; }
  void log(LogLevel level, const std::string& message) const;

  // Login phase.
  void handle_login(const Pdu& pdu);
  void login_fail(const Pdu& pdu, uint8_t status_class, uint8_t status_detail, const std::string& why);
  void send_login_response(const Pdu& pdu, bool transit, uint8_t csg, uint8_t nsg, const KeyValues& keys);
  bool login_keys(const KeyValues& keys, uint8_t csg, KeyValues& answer, const Pdu& pdu);
  void enter_full_feature();

  // Full feature phase.
  void sequence(Pdu pdu);
  void dispatch(Pdu pdu);
  void handle_scsi_command(Pdu pdu);
  void handle_data_out(const Pdu& pdu);
  void handle_nop_out(const Pdu& pdu);
  void handle_task_mgmt(const Pdu& pdu);
  void handle_text(const Pdu& pdu);
  void handle_logout(const Pdu& pdu);
  void reject(const Pdu& pdu, uint8_t reason);
  void send_r2t(WriteTask& task);
  void run_command(uint32_t itt, uint32_t lun, std::span<const uint8_t> cdb, bool read, bool write, uint32_t edtl,
                   std::span<const uint8_t> data_out);
  void send_result(uint32_t itt, uint32_t lun, const device::Response& response,
                   std::shared_ptr<uint8_t[]> buffer, uint32_t data_pdus_hint);
  void send_scsi_response(uint32_t itt, uint8_t response_code, const device::Response& response,
                          uint32_t exp_datasn);
  void send_async_unit_attention(uint32_t lun, device::Asc code);
  void send_nop_ping();
  LogicalUnit* unit(uint32_t lun) const;
  device::Response target_level_command(uint32_t lun, std::span<const uint8_t> cdb, uint32_t edtl,
                                        std::span<uint8_t> data_in);
  void abort_tasks(std::optional<uint32_t> lun);

  Context ctx_;
  PduReader reader_;
  Phase phase_ = Phase::login;
  SessionParams params_;
  bool out_header_digest_ = false;
  bool out_data_digest_ = false;

  // Login state.
  bool login_started_ = false;
  uint8_t login_stage_ = 0;
  std::array<uint8_t, 6> isid_{};
  uint16_t tsih_ = 0;
  uint16_t cid_ = 0;
  std::string initiator_name_;
  std::string target_name_;
  bool discovery_ = false;
  bool auth_done_ = false;
  enum class ChapStep { none, want_algorithm, want_response } chap_step_ = ChapStep::none;
  ChapServer chap_;
  bool tpgt_sent_ = false;
  bool mrdsl_declared_ = false;
  std::vector<uint8_t> partial_text_;
  Clock::time_point created_;

  // Session state.
  device::InitiatorId initiator_id_ = 0;
  bool nexus_registered_ = false;
  uint32_t exp_cmdsn_ = 0;
  uint32_t stat_sn_ = 0;
  std::map<uint32_t, Queued> ooo_;  // out-of-order commands, key = CmdSN - ExpCmdSN
  std::map<uint32_t, WriteTask> writes_;  // by ITT
  uint32_t next_ttt_ = 1;
  std::vector<uint8_t> text_partial_;
  std::vector<bool> ua_announced_;

  // Liveness.
  Clock::time_point last_rx_;
  bool ping_outstanding_ = false;
  uint32_t ping_ttt_ = 0;
  Clock::time_point ping_sent_;

  // Input and output.
  size_t async_ = 0;        // commands executing on another thread
  size_t async_bytes_ = 0;  // their data-in buffers
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::deque<Pdu> inbox_;
  std::deque<OutPdu> out_;
  size_t out_bytes_ = 0;
  size_t front_sent_ = 0;
  bool closing_ = false;
  bool must_close_ = false;
};

}  // namespace udisc::iscsi
