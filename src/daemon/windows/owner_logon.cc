#include "daemon/windows/owner_logon.h"

// ntsecapi.h needs the NTSTATUS type that winternl.h / ntdef.h give.
#include <winternl.h>
#include <ntsecapi.h>
#include <sddl.h>

#include <cstring>
#include <vector>

namespace udisc::win {
namespace {

Status lsa_error(const std::string& context, NTSTATUS status) {
  return Status::IoError(context + ": " + system_error_text(LsaNtStatusToWinError(status)));
}

LSA_STRING lsa_string(const char* text) {
  LSA_STRING s;
  s.Buffer = const_cast<char*>(text);
  s.Length = static_cast<USHORT>(std::strlen(text));
  s.MaximumLength = s.Length;
  return s;
}

}  // namespace

Result<UniqueHandle> s4u_logon(const std::string& sid_text) {
  PSID sid = nullptr;
  if (!ConvertStringSidToSidW(widen(sid_text).c_str(), &sid)) return last_error("SID '" + sid_text + "'");
  wchar_t name[256], domain[256];
  DWORD name_size = 256, domain_size = 256;
  SID_NAME_USE use;
  const BOOL found = LookupAccountSidW(nullptr, sid, name, &name_size, domain, &domain_size, &use);
  LocalFree(sid);
  if (!found) return last_error("the account of SID " + sid_text);

  HANDLE lsa = nullptr;
  if (NTSTATUS st = LsaConnectUntrusted(&lsa); st != 0) return lsa_error("LsaConnectUntrusted", st);
  LSA_STRING package_name = lsa_string(MSV1_0_PACKAGE_NAME);
  ULONG package = 0;
  if (NTSTATUS st = LsaLookupAuthenticationPackage(lsa, &package_name, &package); st != 0) {
    LsaDeregisterLogonProcess(lsa);
    return lsa_error("LsaLookupAuthenticationPackage(MSV1_0)", st);
  }

  // MSV1_0_S4U_LOGON and, after it in the same buffer, the two names it points at.
  const size_t name_bytes = name_size * sizeof(wchar_t), domain_bytes = domain_size * sizeof(wchar_t);
  std::vector<unsigned char> buffer(sizeof(MSV1_0_S4U_LOGON) + name_bytes + domain_bytes);
  auto* logon = reinterpret_cast<MSV1_0_S4U_LOGON*>(buffer.data());
  logon->MessageType = MsV1_0S4ULogon;
  logon->Flags = 0;
  auto* strings = reinterpret_cast<wchar_t*>(buffer.data() + sizeof(MSV1_0_S4U_LOGON));
  std::memcpy(strings, name, name_bytes);
  std::memcpy(strings + name_size, domain, domain_bytes);
  logon->UserPrincipalName = {static_cast<USHORT>(name_bytes), static_cast<USHORT>(name_bytes), strings};
  logon->DomainName = {static_cast<USHORT>(domain_bytes), static_cast<USHORT>(domain_bytes), strings + name_size};

  LSA_STRING origin = lsa_string("udisc");
  TOKEN_SOURCE source{};
  std::memcpy(source.SourceName, "udisc\0\0\0", TOKEN_SOURCE_LENGTH);
  AllocateLocallyUniqueId(&source.SourceIdentifier);
  void* profile = nullptr;
  ULONG profile_size = 0;
  LUID logon_id{};
  HANDLE token = nullptr;
  QUOTA_LIMITS quotas{};
  NTSTATUS sub_status = 0;
  const NTSTATUS st = LsaLogonUser(lsa, &origin, Network, package, buffer.data(), static_cast<ULONG>(buffer.size()),
                                   nullptr, &source, &profile, &profile_size, &logon_id, &token, &quotas, &sub_status);
  if (profile != nullptr) LsaFreeReturnBuffer(profile);
  LsaDeregisterLogonProcess(lsa);
  if (st != 0) return lsa_error("S4U logon of " + narrow(domain) + "\\" + narrow(name), st);
  return UniqueHandle(token);
}

Status as_user(const std::string& sid, const std::function<Status()>& work) {
  auto token = s4u_logon(sid);
  if (!token.ok()) return token.status();
  if (!ImpersonateLoggedOnUser(token->get())) return last_error("impersonating " + sid);
  Status s = work();
  if (!RevertToSelf()) {
    // A thread left impersonating would act with the owner's rights from
    // now on: a service that cannot revert must not go on.
    std::abort();
  }
  return s;
}

}  // namespace udisc::win
