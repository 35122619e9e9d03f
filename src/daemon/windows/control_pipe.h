// The Windows service's control channel: a named pipe carrying the JSON
// lines of docs/control-protocol.md, the counterpart of the Linux daemon's
// Unix socket.
//
// Access: the pipe is created with an explicit DACL — full access for SYSTEM
// and Administrators, read/write for the interactive user (the SDDL group
// IU: whoever is logged on at the console or by Remote Desktop), nobody
// else — and rejects remote clients (PIPE_REJECT_REMOTE_CLIENTS).
//
// Who is calling: the server impersonates the client
// (ImpersonateNamedPipeClient) and reads the user SID and Administrators
// membership from the impersonation token; nothing in a request can claim
// another identity.
//
// Images: the client opens the image itself, with its own rights, and sends
// the numeric values of its handles in the request ("handles": [..]); the
// server duplicates them out of the client process
// (GetNamedPipeClientProcessId → OpenProcess(PROCESS_DUP_HANDLE) →
// DuplicateHandle): the counterpart of SCM_RIGHTS. A handle the client
// cannot read from reads nothing in the service either.
//
// Framing and limits as on Linux: one JSON object per line, at most
// daemon::kMaxMessageBytes; a longer line gets an error reply and the
// connection is closed. At most `max_clients` connections at once, each on
// its own thread; the handler is called under one lock (one request at a
// time, like the Linux daemon).
#pragma once

#include <windows.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon/windows/service_controller.h"
#include "daemon/windows/win32.h"
#include "util/status.h"

namespace udisc::win {

inline constexpr wchar_t kDefaultPipeName[] = L"\\\\.\\pipe\\udisc-control";
// SYSTEM and Administrators: full access; the interactive user: read/write.
inline constexpr wchar_t kPipeSddl[] = L"D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GRGW;;;IU)";
// Where UDISC_PIPE names another pipe (tests).
std::wstring control_pipe_name();

// Duplicated handles of one request, in the order the client listed them.
using ReceivedHandles = std::vector<UniqueHandle>;
using PipeHandler = std::function<std::string(std::string_view line, const Caller& who, ReceivedHandles handles)>;

class PipeServer {
 public:
  PipeServer(std::wstring name, PipeHandler handler, size_t max_clients = 32);
  ~PipeServer();
  PipeServer(const PipeServer&) = delete;
  PipeServer& operator=(const PipeServer&) = delete;

  // Creates the first pipe instance (fails if the name is taken: another
  // service already runs) and starts accepting.
  Status start();
  // Stops accepting and waits for the client threads.
  void stop();

 private:
  void accept_loop();
  void serve(HANDLE pipe);
  Result<HANDLE> create_instance(bool first);

  std::wstring name_;
  PipeHandler handler_;
  size_t max_clients_;
  std::mutex handler_lock_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> clients_{0};
  HANDLE first_instance_ = INVALID_HANDLE_VALUE;
  std::thread acceptor_;
  // One thread per connected client; finished ones are joined as new
  // clients arrive, so a long-running service keeps only the live ones.
  struct ClientThread {
    std::thread thread;
    HANDLE pipe = INVALID_HANDLE_VALUE;  // owned by the thread; stop() disconnects it
    std::shared_ptr<std::atomic<bool>> done;
  };
  void reap_finished();
  std::mutex threads_lock_;
  std::vector<ClientThread> threads_;
};

// The caller of the pipe's current request, from its impersonation token.
Result<Caller> identify_pipe_client(HANDLE pipe);

// Client side: one connection, one request at a time.
class PipeClient {
 public:
  // NotFound when no service listens (the pipe does not exist); IoError
  // "access denied" when the DACL refuses this user.
  static Result<PipeClient> connect(const std::wstring& name);
  PipeClient(PipeClient&&) = default;
  PipeClient& operator=(PipeClient&&) = default;

  // Sends one line (a newline is added) and returns the reply line.
  Result<std::string> call(std::string_view line);

 private:
  explicit PipeClient(UniqueHandle pipe) : pipe_(std::move(pipe)) {}
  UniqueHandle pipe_;
  std::string buffer_;
};

// The SID string and name of this process's user (tests, `udisc doctor`).
Result<Caller> current_user();

}  // namespace udisc::win
