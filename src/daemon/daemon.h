// The udisc daemon: owns every drive, answers the control protocol
// (protocol.h) on a Unix socket, keeps the state file (state.h) and attaches
// drives to the host through a Backend (backend.h).
//
// Controller holds the drive table and handles one request at a time; it
// knows nothing of sockets, so tests and the fuzzer drive it directly.
// Daemon adds the socket: one thread, non-blocking I/O and poll(), so a slow
// or malicious client never stalls the others (bounded message size, bounded
// output queue; connections capped in all and per uid with root always
// admitted; queued descriptors capped per connection, per uid and in all;
// idle and half-sent requests timed out; the listener rested on EMFILE).
// Reading an image a user chose (probing it, or reopening it after a
// restart) runs on a worker thread with a deadline (background.h), so a
// FIFO or a stalled FUSE/NFS file costs the daemon a bounded wait.
//
// Ownership: a drive belongs to the uid that created it (SO_PEERCRED). Only
// its owner or root may insert, eject, remove it or set its identity;
// everyone may list (image paths of other users' drives are not shown).
//
// Thread safety: Controller and Daemon are used from one thread, except
// Daemon::request_stop(), which is async-signal-safe. (The worker threads
// that read images share nothing with them but the job's result.)
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "daemon/background.h"
#include "daemon/paths.h"
#include "daemon/backend.h"
#include "daemon/image_source.h"
#include "daemon/protocol.h"
#include "daemon/state.h"
#include "daemon/unix_socket.h"
#include "device/drive.h"
#include "formats/open.h"
#include "remote/remote_media.h"

namespace udisc::daemon {

inline constexpr char kSocketEnv[] = "UDISC_SOCKET";
inline constexpr char kDaemonVersion[] = "0.1.0";

struct DaemonOptions {
  std::string socket_path = kDefaultSocketPath;
  // Empty: no state file (nothing survives a restart).
  std::string state_path = kDefaultStatePath;
  mode_t socket_mode = 0660;
  std::string socket_group = "udisc";  // applied when the group exists
  // An already listening socket to serve (systemd socket activation); the
  // daemon takes ownership and does not bind socket_path itself.
  int listen_fd = -1;
  size_t max_drives = 64;
  size_t max_drives_per_user = 32;
  // Connections of users other than root, in all and per uid. Root is
  // always admitted (up to max_clients connections of its own besides), so
  // no user can lock root out.
  size_t max_clients = 64;
  size_t max_clients_per_user = 8;
  // Descriptors received and not yet used by a request: per connection the
  // most one request can need (an image and its companion files), per uid a
  // few requests' worth. Beyond them the connection is closed.
  size_t max_queued_fds = kMaxImageFiles;
  size_t max_queued_fds_per_user = 2 * kMaxImageFiles;
  size_t max_queued_fds_total = 4096;  // lowered to half the descriptor limit at start
  size_t max_output_bytes = 1 << 20;  // per connection: stop reading beyond this
  // A connection with nothing to do (no partial request, no reply going out)
  // is closed after idle_timeout_ms; a request line must be complete within
  // partial_timeout_ms of its first byte.
  int idle_timeout_ms = 60'000;
  int partial_timeout_ms = 10'000;
  // After accept() fails for lack of descriptors (EMFILE/ENFILE), the
  // listener rests this long instead of being polled again at once.
  int accept_backoff_ms = 100;
  // Opening and probing an image a client sent runs off the main thread and
  // is given up after probe_timeout (the user's further images are refused
  // while it still runs); at start, all images together get restore_timeout.
  std::chrono::milliseconds probe_timeout{5'000};
  std::chrono::milliseconds restore_timeout{10'000};
  // How often the server of each URL drive is asked whether its object is
  // still the one in the drive (remote/remote_media.h).
  std::chrono::milliseconds url_revalidate_every{5'000};
  // Reads an image from the descriptors a client sent (default:
  // open_received_image). Tests put a delay in front of it to stand for a
  // file system that answers slowly.
  std::function<Result<OpenedImage>(const ImageSpec&, std::vector<UniqueFd>)> read_image;
  // Where log lines go (default: stderr, which systemd's journal keeps).
  std::function<void(const std::string&)> log;
};

// A request whose image is being read on a worker thread (see
// Controller::begin_line). Move-only; owned by the connection that sent it.
class PendingRequest {
 public:
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }

 private:
  friend class Controller;
  Request req_;
  Credentials who_;
  std::unique_ptr<BackgroundJob<Result<OpenedImage>>> job_;
  std::chrono::steady_clock::time_point deadline_;
};

class Controller {
 public:
  Controller(DaemonOptions options, Backend& backend);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Loads the state file, reopens each drive's image as its owner, and lets
  // the backend recover (adopt or remove) what a previous run left.
  // Fails only when the state file exists and cannot be read.
  Status restore();

  // Handles one request line from `who`. Descriptors the request declares
  // are taken from the front of `fds` (the connection's queue of received
  // descriptors). Returns the reply line (with its newline). Never throws.
  // Waits for an image to be read up to options.probe_timeout.
  std::string handle_line(std::string_view line, const Credentials& who, std::deque<UniqueFd>& fds);

  // The same without waiting: a request that carries an image starts reading
  // it on a worker thread and comes back as a PendingRequest; `wake` is
  // called from that thread when the read is done. Other requests are
  // answered at once (the reply line).
  std::variant<std::string, PendingRequest> begin_line(std::string_view line, const Credentials& who,
                                                       std::deque<UniqueFd>& fds, std::function<void()> wake);
  // The reply of a pending request once its image is read, or an error once
  // `now` is past its deadline (the read is abandoned and counted against
  // its user); nullopt while it is still running.
  std::optional<std::string> finish(PendingRequest& pending, std::chrono::steady_clock::time_point now);
  // The connection went away: the read, if still running, counts against its user.
  void abandon(PendingRequest& pending);

  // Shutdown (SIGTERM): saves the state and releases the backend, keeping
  // every drive for the next run.
  void shutdown();

  // A URL drive whose object was replaced on the server gets the new version
  // as a new medium: RemoteMedia finds and opens it on its own thread, calls
  // `wake` (the daemon's poll loop), and apply_new_versions() puts it into
  // the drive on the controller's thread.
  void set_wake(std::function<void()> wake);
  void apply_new_versions();

  // For tests and status: the engine of drive `number`, or null.
  std::shared_ptr<device::Drive> engine(uint32_t number) const;
  size_t drive_count() const { return drives_.size(); }
  const DaemonState& state() const { return state_; }
  Backend& backend() { return backend_; }

 private:
  struct Entry;
  using Reply = std::pair<std::optional<ErrorCode>, nlohmann::json>;  // error code + message, or result

  Reply dispatch(const Request& req, const Credentials& who, std::vector<UniqueFd> fds);
  Reply op_hello(const Credentials& who);
  Reply op_list(const Request& req, const Credentials& who);
  Reply op_create(const Request& req, const Credentials& who, std::vector<UniqueFd> fds);
  Reply op_insert(const Request& req, const Credentials& who, std::vector<UniqueFd> fds);
  Reply op_mount(const Request& req, const Credentials& who, std::vector<UniqueFd> fds);
  Reply op_eject(const Request& req, const Credentials& who);
  Reply op_remove(const Request& req, const Credentials& who);
  Reply op_set_identity(const Request& req, const Credentials& who);

  Reply create_drive(std::optional<uint32_t> number, const std::optional<IdentitySpec>& identity,
                     const std::optional<ImageSpec>& image, const Credentials& who, std::vector<UniqueFd> fds);
  Reply insert_into(Entry& e, const ImageSpec& image, bool force, std::vector<UniqueFd> fds);
  // The image a dispatched request uses: the one read ahead by begin_line,
  // else read now (bounded).
  Result<OpenedImage> image_for(const ImageSpec& image, std::vector<UniqueFd> fds);
  // Refusal when `uid` still has an abandoned read running.
  std::optional<std::string> stalled_reads_of(uid_t uid);
  // Resolves a DriveRef and checks the caller may change that drive.
  Entry* find(const DriveRef& ref, const Credentials& who, bool for_change, Reply* error);
  nlohmann::json drive_json(const Entry& e, const Credentials& who) const;
  std::string locked_message(const Entry& e, const char* action) const;
  void persist();
  void log(const std::string& line) const;
  // After e's image changed: RemoteMedia watches e.from_url, if any.
  void watch_url(Entry& e);

  DaemonOptions options_;
  Backend& backend_;
  std::map<uint32_t, std::unique_ptr<Entry>> drives_;
  DaemonState state_;  // mirror of drives_, as last saved
  // Per uid: probes given up on that may still be running (see BackgroundJob).
  std::map<uid_t, std::vector<std::function<bool()>>> probes_by_uid_;
  std::optional<Result<OpenedImage>> read_ahead_;  // set by finish() for the dispatch it runs
  std::mutex new_versions_mu_;  // new_versions_, wake_ (RemoteMedia's thread adds)
  std::vector<remote::RemoteMedia::NewVersion> new_versions_;
  std::function<void()> wake_;
  // Last: its thread stops before the members it hands versions to go.
  std::unique_ptr<remote::RemoteMedia> remote_media_;
};

class Daemon {
 public:
  Daemon(DaemonOptions options, std::unique_ptr<Backend> backend);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Restores the state and starts listening. Errors name the socket path or
  // state file.
  Status start();
  // Serves until request_stop(); then shuts the controller down.
  Status run();
  // Async-signal-safe; may be called from any thread.
  void request_stop();

  Controller& controller() { return *controller_; }

 private:
  struct Client;
  void accept_clients();
  void finish_pending(Client& c);
  void refuse_connection(int fd, const std::string& why);
  size_t connections_of(uid_t uid) const;
  // Descriptors waiting in connections of `uid` (all connections: nullopt).
  size_t queued_fds_of(std::optional<uid_t> uid) const;
  // Closes connections past their idle or partial-request deadline; returns
  // the poll timeout (ms) until the next deadline, or -1.
  int expire_clients();
  void read_client(Client& c);
  void process_lines(Client& c);
  void flush_client(Client& c);
  void log(const std::string& line) const;

  DaemonOptions options_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Controller> controller_;
  UniqueFd listen_fd_;
  UniqueFd stop_fd_;     // eventfd
  UniqueFd wake_fd_;     // eventfd: a worker finished reading an image
  UniqueFd state_lock_;  // flock of "<state>.lock" while running
  // Kept open to be closed when accept() meets EMFILE: then one connection
  // can still be accepted and told to come back, instead of staying in the
  // backlog and keeping the listener readable (a busy loop).
  UniqueFd spare_fd_;
  std::chrono::steady_clock::time_point listener_resumes_{};
  bool owns_socket_file_ = false;
  bool logged_out_of_fds_ = false;
  std::map<int, std::unique_ptr<Client>> clients_;
};

// The listening socket handed over by systemd (LISTEN_FDS/LISTEN_PID), or -1.
int systemd_listen_fd();

}  // namespace udisc::daemon
