#include "daemon/windows/control_pipe.h"

#include <sddl.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "daemon/protocol.h"

namespace udisc::win {
namespace {

using nlohmann::json;

constexpr DWORD kBufferBytes = 64 * 1024;

std::string error_line(daemon::ErrorCode code, const std::string& message) {
  return daemon::make_error_reply(nullptr, code, message);
}

// The "handles" of a request, validated: an array of at most kMaxImageFiles
// non-negative integers. Absent: none.
Result<std::vector<uint64_t>> handles_of(std::string_view line) {
  json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
  std::vector<uint64_t> out;
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("handles")) return out;
  const json& h = doc["handles"];
  if (!h.is_array() || h.size() > daemon::kMaxImageFiles) {
    return Status::InvalidArgument("field 'handles' must be an array of at most " +
                                   std::to_string(daemon::kMaxImageFiles) + " handle values");
  }
  for (const json& v : h) {
    if (!v.is_number_unsigned()) return Status::InvalidArgument("field 'handles' must hold handle values (integers)");
    out.push_back(v.get<uint64_t>());
  }
  return out;
}

Result<std::string> sid_string(PSID sid) {
  LPWSTR text = nullptr;
  if (!ConvertSidToStringSidW(sid, &text)) return last_error("ConvertSidToStringSid");
  std::string out = narrow(text);
  LocalFree(text);
  return out;
}

std::string account_name(PSID sid) {
  wchar_t name[256];
  wchar_t domain[256];
  DWORD name_len = 256;
  DWORD domain_len = 256;
  SID_NAME_USE use;
  if (!LookupAccountSidW(nullptr, sid, name, &name_len, domain, &domain_len, &use)) return std::string();
  return domain_len ? narrow(domain) + "\\" + narrow(name) : narrow(name);
}

// User SID, name and Administrators membership of a token.
Result<Caller> caller_of_token(HANDLE token) {
  std::vector<unsigned char> buffer(256);
  DWORD needed = 0;
  if (!GetTokenInformation(token, TokenUser, buffer.data(), static_cast<DWORD>(buffer.size()), &needed)) {
    if (GetLastError() != ERROR_INSUFFICIENT_BUFFER) return last_error("GetTokenInformation(TokenUser)");
    buffer.resize(needed);
    if (!GetTokenInformation(token, TokenUser, buffer.data(), needed, &needed)) {
      return last_error("GetTokenInformation(TokenUser)");
    }
  }
  PSID sid = reinterpret_cast<TOKEN_USER*>(buffer.data())->User.Sid;
  Result<std::string> text = sid_string(sid);
  if (!text.ok()) return text.status();
  Caller c;
  c.sid = *text;
  c.name = account_name(sid);
  if (c.name.empty()) c.name = c.sid;
  SID_IDENTIFIER_AUTHORITY nt = SECURITY_NT_AUTHORITY;
  PSID admins = nullptr;
  if (AllocateAndInitializeSid(&nt, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS, 0, 0, 0, 0, 0, 0,
                               &admins)) {
    BOOL member = FALSE;
    // CheckTokenMembership needs an impersonation token; the caller of this
    // function holds one (the pipe client's) or passes nullptr for its own.
    if (CheckTokenMembership(token, admins, &member)) c.admin = member != FALSE;
    FreeSid(admins);
  }
  return c;
}

}  // namespace

std::wstring control_pipe_name() {
  if (const char* env = std::getenv("UDISC_PIPE"); env && *env) return widen(env);
  return kDefaultPipeName;
}

Result<Caller> identify_pipe_client(HANDLE pipe) {
  if (!ImpersonateNamedPipeClient(pipe)) return last_error("ImpersonateNamedPipeClient");
  HANDLE token = nullptr;
  BOOL ok = OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &token);
  DWORD error = GetLastError();
  RevertToSelf();
  if (!ok) {
    SetLastError(error);
    return last_error("OpenThreadToken of the pipe client");
  }
  UniqueHandle owned(token);
  return caller_of_token(token);
}

Result<Caller> current_user() {
  HANDLE token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY | TOKEN_DUPLICATE, &token)) {
    return last_error("OpenProcessToken");
  }
  UniqueHandle owned(token);
  HANDLE impersonation = nullptr;
  if (!DuplicateToken(token, SecurityIdentification, &impersonation)) return last_error("DuplicateToken");
  UniqueHandle owned_impersonation(impersonation);
  return caller_of_token(impersonation);
}

// ---- server ----

PipeServer::PipeServer(std::wstring name, PipeHandler handler, size_t max_clients)
    : name_(std::move(name)), handler_(std::move(handler)), max_clients_(max_clients) {}

PipeServer::~PipeServer() { stop(); }

Result<HANDLE> PipeServer::create_instance(bool first) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(kPipeSddl, SDDL_REVISION_1, &sd, nullptr)) {
    return last_error("building the control pipe's DACL");
  }
  SECURITY_ATTRIBUTES sa{sizeof sa, sd, FALSE};
  DWORD open_mode = PIPE_ACCESS_DUPLEX | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);
  HANDLE pipe = CreateNamedPipeW(name_.c_str(), open_mode, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                                                               PIPE_REJECT_REMOTE_CLIENTS,
                                 PIPE_UNLIMITED_INSTANCES, kBufferBytes, kBufferBytes, 0, &sa);
  DWORD error = GetLastError();
  LocalFree(sd);
  if (pipe == INVALID_HANDLE_VALUE) {
    SetLastError(error);
    if (error == ERROR_ACCESS_DENIED || error == ERROR_PIPE_BUSY) {
      return Status::IoError("the control pipe " + narrow(name_) + " is already in use (is the udisc service running?)");
    }
    return last_error("creating the control pipe " + narrow(name_));
  }
  return pipe;
}

Status PipeServer::start() {
  Result<HANDLE> first = create_instance(true);
  if (!first.ok()) return first.status();
  first_instance_ = *first;
  acceptor_ = std::thread([this] { accept_loop(); });
  return Status::Ok();
}

void PipeServer::accept_loop() {
  HANDLE pipe = first_instance_;
  first_instance_ = INVALID_HANDLE_VALUE;
  while (!stopping_) {
    if (pipe == INVALID_HANDLE_VALUE) {
      Result<HANDLE> next = create_instance(false);
      if (!next.ok()) {
        Sleep(100);
        continue;
      }
      pipe = *next;
    }
    BOOL connected = ConnectNamedPipe(pipe, nullptr) ? TRUE : (GetLastError() == ERROR_PIPE_CONNECTED);
    if (stopping_) {
      CloseHandle(pipe);
      break;
    }
    if (!connected) {
      CloseHandle(pipe);
      pipe = INVALID_HANDLE_VALUE;
      continue;
    }
    // The next instance exists before this one is handed over, so a client
    // arriving meanwhile finds the pipe busy (and waits), never missing.
    HANDLE client = pipe;
    Result<HANDLE> next = create_instance(false);
    pipe = next.ok() ? *next : INVALID_HANDLE_VALUE;
    if (clients_ >= max_clients_) {
      std::string busy = error_line(daemon::ErrorCode::limit, "too many clients");
      DWORD wrote = 0;
      WriteFile(client, busy.data(), static_cast<DWORD>(busy.size()), &wrote, nullptr);
      FlushFileBuffers(client);
      DisconnectNamedPipe(client);
      CloseHandle(client);
      continue;
    }
    reap_finished();
    ++clients_;
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::lock_guard<std::mutex> lock(threads_lock_);
    threads_.push_back({std::thread([this, client, done] {
                          serve(client);
                          std::lock_guard<std::mutex> closing(threads_lock_);
                          CloseHandle(client);  // under the lock: stop() never disconnects a closed handle
                          --clients_;
                          *done = true;
                        }),
                        client, done});
  }
}

void PipeServer::stop() {
  if (stopping_.exchange(true)) return;
  // Unblock ConnectNamedPipe with a connection of our own.
  HANDLE poke = CreateFileW(name_.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
  if (poke != INVALID_HANDLE_VALUE) CloseHandle(poke);
  if (acceptor_.joinable()) acceptor_.join();
  if (first_instance_ != INVALID_HANDLE_VALUE) CloseHandle(first_instance_);
  std::vector<ClientThread> threads;
  {
    std::lock_guard<std::mutex> lock(threads_lock_);
    threads.swap(threads_);
    // A client that stays connected blocks its thread in ReadFile:
    // disconnecting the pipe ends that read.
    for (auto& t : threads) {
      if (!*t.done) DisconnectNamedPipe(t.pipe);
    }
  }
  for (auto& t : threads) t.thread.join();
}

void PipeServer::reap_finished() {
  std::lock_guard<std::mutex> lock(threads_lock_);
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (*it->done) {
      it->thread.join();
      it = threads_.erase(it);
    } else {
      ++it;
    }
  }
}

void PipeServer::serve(HANDLE pipe) {
  auto send = [&](const std::string& reply) {
    DWORD wrote = 0;
    return WriteFile(pipe, reply.data(), static_cast<DWORD>(reply.size()), &wrote, nullptr) && wrote == reply.size();
  };
  Result<Caller> who = identify_pipe_client(pipe);
  ULONG client_pid = 0;
  UniqueHandle client_process;
  if (who.ok() && GetNamedPipeClientProcessId(pipe, &client_pid)) {
    client_process.reset(OpenProcess(PROCESS_DUP_HANDLE, FALSE, client_pid));
  }
  if (!who.ok()) {
    send(error_line(daemon::ErrorCode::permission_denied, "cannot identify the caller: " + who.status().message()));
    DisconnectNamedPipe(pipe);
    return;
  }
  std::string buffer;
  char chunk[4096];
  while (!stopping_) {
    DWORD got = 0;
    if (!ReadFile(pipe, chunk, sizeof chunk, &got, nullptr) || got == 0) break;
    buffer.append(chunk, got);
    size_t newline;
    bool close = false;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      if (newline + 1 > daemon::kMaxMessageBytes) {
        buffer.assign(daemon::kMaxMessageBytes + 1, ' ');  // reported and closed below
        break;
      }
      std::string line = buffer.substr(0, newline);
      buffer.erase(0, newline + 1);
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      ReceivedHandles handles;
      Result<std::vector<uint64_t>> values = handles_of(line);
      std::string reply;
      if (!values.ok()) {
        reply = error_line(daemon::ErrorCode::bad_request, values.status().message());
      } else {
        for (uint64_t v : *values) {
          HANDLE dup = nullptr;
          if (!client_process.valid() ||
              !DuplicateHandle(client_process.get(), reinterpret_cast<HANDLE>(static_cast<uintptr_t>(v)),
                               GetCurrentProcess(), &dup, 0, FALSE, DUPLICATE_SAME_ACCESS)) {
            reply = error_line(daemon::ErrorCode::bad_image,
                               "handle " + std::to_string(v) + " of the client could not be duplicated: " +
                                   system_error_text(GetLastError()));
            break;
          }
          handles.emplace_back(dup);
        }
      }
      if (reply.empty()) {
        std::lock_guard<std::mutex> lock(handler_lock_);
        reply = handler_(line, *who, std::move(handles));
      }
      if (!send(reply)) {
        close = true;
        break;
      }
    }
    if (close) break;
    if (buffer.size() > daemon::kMaxMessageBytes) {
      send(error_line(daemon::ErrorCode::bad_request,
                      "message longer than " + std::to_string(daemon::kMaxMessageBytes) + " bytes"));
      break;
    }
  }
  FlushFileBuffers(pipe);
  DisconnectNamedPipe(pipe);
}

// ---- client ----

Result<PipeClient> PipeClient::connect(const std::wstring& name) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    HANDLE pipe = CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                              SECURITY_IDENTIFICATION | SECURITY_SQOS_PRESENT, nullptr);
    if (pipe != INVALID_HANDLE_VALUE) return PipeClient(UniqueHandle(pipe));
    DWORD e = GetLastError();
    if (e == ERROR_PIPE_BUSY) {
      WaitNamedPipeW(name.c_str(), 200);
      continue;
    }
    if (e == ERROR_FILE_NOT_FOUND) {
      return Status::NotFound("the udisc service is not running (no pipe " + narrow(name) +
                              "); install and start it with `udisc service install`");
    }
    if (e == ERROR_ACCESS_DENIED) {
      return Status::IoError("access denied to the udisc service's pipe " + narrow(name) +
                             " (only the interactive user and Administrators may use it)");
    }
    return last_error("connecting to " + narrow(name));
  }
  return Status::IoError("the udisc service's pipe stayed busy");
}

Result<std::string> PipeClient::call(std::string_view line) {
  std::string out(line);
  out.push_back('\n');
  DWORD wrote = 0;
  if (!WriteFile(pipe_.get(), out.data(), static_cast<DWORD>(out.size()), &wrote, nullptr) || wrote != out.size()) {
    return last_error("writing to the udisc service");
  }
  char chunk[4096];
  while (buffer_.find('\n') == std::string::npos) {
    DWORD got = 0;
    if (!ReadFile(pipe_.get(), chunk, sizeof chunk, &got, nullptr) || got == 0) {
      return Status::IoError("the udisc service closed the connection");
    }
    buffer_.append(chunk, got);
    if (buffer_.size() > daemon::kMaxMessageBytes) return Status::IoError("reply from the udisc service too long");
  }
  size_t newline = buffer_.find('\n');
  std::string reply = buffer_.substr(0, newline);
  buffer_.erase(0, newline + 1);
  return reply;
}

}  // namespace udisc::win
