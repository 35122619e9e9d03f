// The owner's rights after a reboot: when the service restores a drive, it
// opens the recorded image files as the drive's owner, not as LocalSystem.
// The service has no token of the owner then (the owner is not connected),
// so it makes one with an S4U logon ("service for user": LsaLogonUser with
// MSV1_0_S4U_LOGON, no password; a LocalSystem caller, which holds
// SeTcbPrivilege, gets a token it may impersonate) and impersonates it while
// opening the files.
//
// Not run anywhere yet: Wine 8 implements neither LsaLogonUser's S4U logon
// nor MSV1_0 (docs/windows.md, "What is tested where"); compiled in CI,
// written from Microsoft's documentation of LsaLogonUser and MSV1_0_S4U_LOGON.
#pragma once

#include <functional>
#include <string>

#include "daemon/windows/win32.h"
#include "util/status.h"

namespace udisc::win {

// A token of the account with this SID ("S-1-5-21-..."), from an S4U logon.
Result<UniqueHandle> s4u_logon(const std::string& sid);

// Runs `work` impersonating the account with this SID, and reverts before
// returning. An error (and `work` not run) when no token can be had.
Status as_user(const std::string& sid, const std::function<Status()>& work);

}  // namespace udisc::win
