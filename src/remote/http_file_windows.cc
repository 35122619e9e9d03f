// HttpFile on Windows, through WinHTTP (Windows' own HTTP client; Debian has
// no mingw libcurl). The same contract as http_file.cc (see http_file.h):
// a probe of "Range: bytes=0-0" at open, ranges validated with If-Match /
// If-Unmodified-Since, retries with back-off on transient failures, at most
// max_connections requests at once (WinHTTP keeps the connections alive and
// reuses them), the body of anything but a 206 never read.
//
// TLS: WinHTTP verifies the server's chain and name against the Windows
// certificate store, always. A CA bundle (--ca-file, or the PEM text the
// service is sent) is checked by us instead: the request goes out with only
// "unknown CA" tolerated, and in WinHTTP's SENDING_REQUEST callback (after
// the TLS handshake, before the request is sent) the server's chain must end
// in a certificate of that bundle and its name must match the host, or the
// request handle is closed, which cancels it (docs/windows.md: not under Wine).
#include "remote/http_file.h"

#include <windows.h>
#include <wincrypt.h>
#include <winhttp.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "platform/windows/win_error.h"
#include "remote/http_file_impl.h"
#include "remote/url_reference.h"

namespace udisc::remote {
namespace {

std::wstring widen(std::string_view s) {
  if (s.empty()) return {};
  const int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
  std::wstring w(static_cast<size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), w.data(), n);
  return w;
}

std::string narrow(std::wstring_view w) {
  if (w.empty()) return {};
  const int n = WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()), nullptr, 0, nullptr, nullptr);
  std::string s(static_cast<size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()), s.data(), n, nullptr, nullptr);
  return s;
}

// WinHTTP's errors (12xxx) are not in the system message table.
std::string winhttp_error_text(DWORD code) {
  switch (code) {
    case ERROR_WINHTTP_TIMEOUT: return "timed out";
    case ERROR_WINHTTP_CANNOT_CONNECT: return "could not connect";
    case ERROR_WINHTTP_CONNECTION_ERROR: return "connection reset";
    case ERROR_WINHTTP_NAME_NOT_RESOLVED: return "host name not resolved";
    case ERROR_WINHTTP_INVALID_SERVER_RESPONSE: return "invalid server response";
    case ERROR_WINHTTP_SECURE_FAILURE: return "TLS certificate verification failed";
    case ERROR_WINHTTP_SECURE_INVALID_CA: return "TLS certificate verification failed: unknown CA";
    case ERROR_WINHTTP_SECURE_CERT_CN_INVALID: return "TLS certificate verification failed: the name does not match";
    case ERROR_WINHTTP_SECURE_CERT_DATE_INVALID: return "TLS certificate verification failed: expired or not yet valid";
    // Where Wine reports a refused certificate, and Windows a failed handshake.
    case ERROR_WINHTTP_SECURE_CHANNEL_ERROR: return "TLS certificate verification or handshake failed";
    case ERROR_WINHTTP_OPERATION_CANCELLED: return "cancelled";
    case ERROR_WINHTTP_REDIRECT_FAILED: return "redirect refused";
    case ERROR_WINHTTP_UNRECOGNIZED_SCHEME: return "not an http or https URL";
    default: return platform::windows_error_text(code);
  }
}

bool transient_error(DWORD code) {
  return code == ERROR_WINHTTP_TIMEOUT || code == ERROR_WINHTTP_CANNOT_CONNECT ||
         code == ERROR_WINHTTP_CONNECTION_ERROR || code == ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
}

struct HandleCloser {
  void operator()(HINTERNET h) const { WinHttpCloseHandle(h); }
};
using Handle = std::unique_ptr<void, HandleCloser>;

// The parts of a URL WinHTTP connects with.
struct UrlParts {
  bool https = false;
  std::wstring host;
  INTERNET_PORT port = 0;
  std::wstring path;  // with the query
  bool has_user = false;
};

Result<UrlParts> crack(const std::string& url) {
  std::wstring w = widen(url);
  URL_COMPONENTS c{};
  c.dwStructSize = sizeof c;
  c.dwSchemeLength = c.dwHostNameLength = c.dwUrlPathLength = c.dwExtraInfoLength = c.dwUserNameLength =
      static_cast<DWORD>(-1);
  if (!WinHttpCrackUrl(w.c_str(), static_cast<DWORD>(w.size()), 0, &c) || c.dwHostNameLength == 0) {
    return Status::InvalidArgument("'" + url + "' is not a valid URL");
  }
  UrlParts p;
  p.https = c.nScheme == INTERNET_SCHEME_HTTPS;
  p.host.assign(c.lpszHostName, c.dwHostNameLength);
  p.port = c.nPort;
  p.path.assign(c.lpszUrlPath, c.dwUrlPathLength);
  p.path.append(c.lpszExtraInfo, c.dwExtraInfoLength);
  if (p.path.empty()) p.path = L"/";
  p.has_user = c.dwUserNameLength > 0;
  return p;
}

// The certificates of a PEM bundle, as an in-memory store.
Result<HCERTSTORE> load_ca_store(const std::string& pem, const std::string& where) {
  HCERTSTORE store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, 0, 0, nullptr);
  if (store == nullptr) return Status::IoError("cannot create a certificate store");
  size_t pos = 0;
  int count = 0;
  const std::string begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----";
  while ((pos = pem.find(begin, pos)) != std::string::npos) {
    const size_t stop = pem.find(end, pos);
    if (stop == std::string::npos) break;
    const std::string block = pem.substr(pos, stop + end.size() - pos);
    pos = stop + end.size();
    DWORD size = 0;
    if (!CryptStringToBinaryA(block.c_str(), static_cast<DWORD>(block.size()), CRYPT_STRING_BASE64HEADER, nullptr,
                              &size, nullptr, nullptr)) {
      continue;
    }
    std::vector<BYTE> der(size);
    if (CryptStringToBinaryA(block.c_str(), static_cast<DWORD>(block.size()), CRYPT_STRING_BASE64HEADER, der.data(),
                             &size, nullptr, nullptr) &&
        CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der.data(), size, CERT_STORE_ADD_ALWAYS, nullptr)) {
      ++count;
    }
  }
  if (count == 0) {
    CertCloseStore(store, 0);
    return Status::InvalidArgument(where + ": no PEM certificate in the CA bundle");
  }
  return store;
}

}  // namespace

Result<std::string> resolve_url(const std::string& base, const std::string& ref) {
  return resolve_reference(base, ref);
}

namespace {

// HttpFile::Impl over WinHTTP: one session and connection handle; WinHTTP
// keeps the connections alive and reuses them.
class WinHttpImpl final : public HttpFile::Impl {
 public:
  using HttpFile::Impl::Impl;

  ~WinHttpImpl() override {
    stop();  // the prefetchers before the handles
    connect_.reset();
    session_.reset();
    if (ca_store_ != nullptr) CertCloseStore(ca_store_, 0);
  }

  Status connect(const UrlParts& parts) {
    parts_ = parts;
    if (!options_.ca_pem.empty() || !options_.ca_file.empty()) {
      std::string pem = options_.ca_pem;
      std::string where = "the CA bundle";
      if (pem.empty()) {
        std::ifstream in(options_.ca_file, std::ios::binary);
        if (!in) return Status::NotFound("'" + options_.ca_file + "': cannot read the CA bundle");
        pem.assign(std::istreambuf_iterator<char>(in), {});
        where = "'" + options_.ca_file + "'";
      }
      auto store = load_ca_store(pem, where);
      if (!store.ok()) return store.status();
      ca_store_ = *store;
    }
    session_.reset(WinHttpOpen(L"udisc", WINHTTP_ACCESS_TYPE_DEFAULT_PROXY, WINHTTP_NO_PROXY_NAME,
                               WINHTTP_NO_PROXY_BYPASS, 0));
    if (!session_) return Status::IoError("'" + url_ + "': WinHttpOpen: " + winhttp_error_text(GetLastError()));
    const int connect_ms = static_cast<int>(options_.connect_timeout.count());
    const int request_ms = static_cast<int>(options_.request_timeout.count());
    WinHttpSetTimeouts(session_.get(), connect_ms, connect_ms, request_ms, request_ms);
    DWORD value = std::max(1u, options_.max_connections);
    WinHttpSetOption(session_.get(), WINHTTP_OPTION_MAX_CONNS_PER_SERVER, &value, sizeof value);
    value = 5;
    WinHttpSetOption(session_.get(), WINHTTP_OPTION_MAX_HTTP_AUTOMATIC_REDIRECTS, &value, sizeof value);
    connect_.reset(WinHttpConnect(session_.get(), parts_.host.c_str(), parts_.port, 0));
    if (!connect_) return Status::IoError("'" + url_ + "': WinHttpConnect: " + winhttp_error_text(GetLastError()));
    authorization_ = authorization_header();
    return Status::Ok();
  }

  // One GET (http_file_impl.h), at most max_connections at once.
  Attempt attempt(const std::string& range, const std::vector<std::string>& extra, std::span<uint8_t> out) override {
    std::string headers = "Range: bytes=" + range + "\r\n" + authorization_;
    for (const std::string& line : extra) headers += line + "\r\n";
    Slot slot(*this);
    Attempt a;
    std::string tls_refusal;
    const DWORD error = exchange(widen(headers), out, &a, &tls_refusal);
    if (!tls_refusal.empty()) {
      a.error = "TLS certificate verification failed: " + tls_refusal;
    } else if (error != 0) {
      a.error = winhttp_error_text(error);
      a.transient = transient_error(error);
    }
    return a;
  }

 private:
  // One GET; 0 or the WinHTTP error. The body is read only for a 206.
  DWORD exchange(const std::wstring& headers, std::span<uint8_t> out, Attempt* a, std::string* tls_refusal) {
    ResponseHeaders* r = &a->headers;
    uint64_t* received = &a->received;
    bool* overflow = &a->overflow;
    Handle req(WinHttpOpenRequest(connect_.get(), L"GET", parts_.path.c_str(), nullptr, WINHTTP_NO_REFERER,
                                  WINHTTP_DEFAULT_ACCEPT_TYPES, parts_.https ? WINHTTP_FLAG_SECURE : 0));
    if (!req) return GetLastError();
    if (parts_.https && ca_store_ != nullptr) {
      // Our bundle decides instead of the Windows store: tolerate "unknown CA"
      // here, check the chain against the bundle before the request is sent.
      DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
      WinHttpSetOption(req.get(), WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof flags);
      WinHttpSetStatusCallback(req.get(), &on_sending_request, WINHTTP_CALLBACK_FLAG_SEND_REQUEST, 0);
    }
    Check check{this, {}, false};
    if (!WinHttpSendRequest(req.get(), headers.c_str(), static_cast<DWORD>(headers.size()), WINHTTP_NO_REQUEST_DATA, 0,
                            0, reinterpret_cast<DWORD_PTR>(&check)) ||
        !WinHttpReceiveResponse(req.get(), nullptr)) {
      const DWORD error = GetLastError();
      if (check.closed) {
        (void)req.release();  // the callback closed it
        *tls_refusal = check.refusal.empty() ? "refused" : check.refusal;
      }
      return error;
    }
    DWORD status = 0, size = sizeof status;
    WinHttpQueryHeaders(req.get(), WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, WINHTTP_HEADER_NAME_BY_INDEX,
                        &status, &size, WINHTTP_NO_HEADER_INDEX);
    size = 0;
    WinHttpQueryHeaders(req.get(), WINHTTP_QUERY_RAW_HEADERS_CRLF, WINHTTP_HEADER_NAME_BY_INDEX, nullptr, &size,
                        WINHTTP_NO_HEADER_INDEX);
    std::wstring raw(size / sizeof(wchar_t), L'\0');
    if (WinHttpQueryHeaders(req.get(), WINHTTP_QUERY_RAW_HEADERS_CRLF, WINHTTP_HEADER_NAME_BY_INDEX, raw.data(), &size,
                            WINHTTP_NO_HEADER_INDEX)) {
      std::istringstream lines(narrow(raw.substr(0, size / sizeof(wchar_t))));
      for (std::string line; std::getline(lines, line);) parse_header_line(line + "\n", *r);
    }
    r->status = static_cast<long>(status);  // after redirects: the final answer
    if (status != 206) return 0;            // never download a whole object sent instead of a range
    while (true) {
      DWORD got = 0;
      uint8_t spare[1];
      const bool full = *received == out.size();
      if (!WinHttpReadData(req.get(), full ? spare : out.data() + *received,
                           full ? 1 : static_cast<DWORD>(out.size() - *received), &got)) {
        return GetLastError();
      }
      if (got == 0) return 0;
      if (full) {
        *overflow = true;
        return 0;
      }
      *received += got;
    }
  }

  // One request's certificate check (the callback's context).
  struct Check {
    const WinHttpImpl* impl;
    std::string refusal;
    bool closed;
  };

  // Before the request leaves: the server's chain must end in our bundle, for this host.
  static void CALLBACK on_sending_request(HINTERNET req, DWORD_PTR context, DWORD status, LPVOID, DWORD) {
    if (status != WINHTTP_CALLBACK_STATUS_SENDING_REQUEST || context == 0) return;
    auto* check = reinterpret_cast<Check*>(context);
    check->refusal = check->impl->check_chain(req);
    if (!check->refusal.empty()) {
      // Microsoft's documented way to keep any data from reaching a server
      // that failed the check. Wine 8 still sends the request (its headers,
      // credentials included, were written before the callback).
      check->closed = true;
      WinHttpCloseHandle(req);
    }
  }

  std::string check_chain(HINTERNET req) const {
    PCCERT_CONTEXT server = nullptr;
    DWORD size = sizeof server;
    if (!WinHttpQueryOption(req, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &server, &size) || server == nullptr) {
      return "no server certificate";
    }
    CERT_CHAIN_PARA para{};
    para.cbSize = sizeof para;
    PCCERT_CHAIN_CONTEXT chain = nullptr;
    std::string why;
    if (!CertGetCertificateChain(nullptr, server, nullptr, ca_store_, &para, 0, nullptr, &chain) || chain == nullptr ||
        chain->cChain == 0 || chain->rgpChain[0]->cElement == 0) {
      why = "cannot build the server's chain";
    } else {
      const CERT_SIMPLE_CHAIN* simple = chain->rgpChain[0];
      PCCERT_CONTEXT root = simple->rgpElement[simple->cElement - 1]->pCertContext;
      PCCERT_CONTEXT match = CertFindCertificateInStore(ca_store_, X509_ASN_ENCODING, 0, CERT_FIND_EXISTING, root, nullptr);
      if (match == nullptr) {
        why = "the server's chain does not end in a certificate of the CA bundle";
      } else {
        CertFreeCertificateContext(match);
        // The chain's signatures, dates and the host name; only the root's
        // absence from the Windows store is forgiven (it is in our bundle).
        std::wstring host = parts_.host;
        SSL_EXTRA_CERT_CHAIN_POLICY_PARA ssl{};
        ssl.cbSize = sizeof ssl;
        ssl.dwAuthType = AUTHTYPE_SERVER;
        ssl.fdwChecks = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
        ssl.pwszServerName = host.data();
        CERT_CHAIN_POLICY_PARA policy{};
        policy.cbSize = sizeof policy;
        policy.pvExtraPolicyPara = &ssl;
        CERT_CHAIN_POLICY_STATUS result{};
        result.cbSize = sizeof result;
        if (!CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL, chain, &policy, &result)) {
          why = "cannot check the chain";
        } else if (result.dwError != 0) {
          why = platform::windows_error_text(result.dwError);
        }
      }
    }
    if (chain != nullptr) CertFreeCertificateChain(chain);
    CertFreeCertificateContext(server);
    return why;
  }

  // "Authorization: ...\r\n" sent with every request (as libcurl does for
  // bearer and basic), or nothing.
  std::string authorization_header() const {
    const Credentials& c = options_.credentials;
    if (c.kind == Credentials::Kind::bearer) return "Authorization: Bearer " + c.token + "\r\n";
    if (c.kind != Credentials::Kind::basic) return {};
    const std::string pair = c.user + ":" + c.password;
    DWORD size = 0;
    const DWORD flags = CRYPT_STRING_BASE64 | CRYPT_STRING_NOCRLF;
    CryptBinaryToStringA(reinterpret_cast<const BYTE*>(pair.data()), static_cast<DWORD>(pair.size()), flags, nullptr,
                         &size);
    std::string b64(size, '\0');
    CryptBinaryToStringA(reinterpret_cast<const BYTE*>(pair.data()), static_cast<DWORD>(pair.size()), flags, b64.data(),
                         &size);
    b64.resize(size);
    return "Authorization: Basic " + b64 + "\r\n";
  }

  // At most max_connections requests at once.
  class Slot {
   public:
    explicit Slot(WinHttpImpl& impl) : impl_(impl) {
      std::unique_lock lock(impl_.slots_mutex_);
      impl_.slots_cv_.wait(lock, [&] { return impl_.busy_ < std::max(1u, impl_.options_.max_connections); });
      ++impl_.busy_;
    }
    ~Slot() {
      std::lock_guard lock(impl_.slots_mutex_);
      --impl_.busy_;
      impl_.slots_cv_.notify_one();
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    WinHttpImpl& impl_;
  };

  UrlParts parts_;
  Handle session_, connect_;
  HCERTSTORE ca_store_ = nullptr;
  std::string authorization_;
  std::mutex slots_mutex_;
  std::condition_variable slots_cv_;
  unsigned busy_ = 0;

};

}  // namespace

Result<std::unique_ptr<HttpFile::Impl>> make_http_impl(const std::string& url, const HttpOptions& options) {
  auto parts = crack(url);
  if (!parts.ok()) return parts.status();
  if (parts->has_user) {
    return Status::InvalidArgument(
        "credentials in a URL are visible to every user of this machine; put them in a file for --auth-file "
        "(or UDISC_HTTP_AUTH) and give the URL without them");
  }
  auto impl = std::make_unique<WinHttpImpl>(url, options);
  if (Status s = impl->connect(*parts); !s.ok()) return s;
  return std::unique_ptr<HttpFile::Impl>(std::move(impl));
}

}  // namespace udisc::remote
