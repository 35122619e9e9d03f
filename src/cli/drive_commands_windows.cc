// The drive commands on Windows (register_drive_commands of commands.h).
//
// On Linux the drives belong to `udisc daemon` (drive_commands.cc). On Windows
// they will belong to the udisc service (`udisc service`), reached over a named
// pipe: mount, list, status, eject, insert, unmount and identity are added here
// as clients of that pipe once the service lands. Until then this file offers
// `doctor`: what this machine offers, in plain words.
#include <winsock2.h>
#include <windows.h>

#include <cstdio>

#include "cli/commands.h"

namespace udisc::cli {
namespace {

// 0: everything `udisc serve` needs is here; 69: something is missing.
int doctor() {
  std::printf("udisc doctor: what this machine offers for virtual disc drives\n\n");
  bool ok = true;
  WSADATA data;
  if (WSAStartup(MAKEWORD(2, 2), &data) == 0) {
    std::printf("  ok       Winsock 2.2: `udisc serve` can listen on 127.0.0.1\n");
    WSACleanup();
  } else {
    std::printf("  MISSING  Winsock 2.2: `udisc serve` cannot listen\n");
    ok = false;
  }
  // The Microsoft iSCSI Initiator's API: what logs Windows in to the local target.
  if (HMODULE initiator = LoadLibraryA("iscsidsc.dll")) {
    std::printf("  ok       iSCSI initiator API (iscsidsc.dll) is installed\n");
    FreeLibrary(initiator);
  } else {
    std::printf("  MISSING  iSCSI initiator API (iscsidsc.dll): Windows cannot attach the drives itself here\n"
                "           (Wine has none). Plain ISO files: Windows' own Mount-DiskImage can mount those.\n");
    ok = false;
  }
  std::printf("\n  Drive letters (udisc mount) need the udisc service, which this build does not have yet;\n"
              "  `udisc serve IMAGE` serves images over iSCSI now (see docs/windows.md).\n");
  return ok ? 0 : 69;
}

}  // namespace

void register_drive_commands(CLI::App& app, int& exit_code) {
  auto* doc = app.add_subcommand("doctor", "Report what this machine offers: Winsock, the iSCSI initiator, the service");
  doc->footer("Exit status: 0 everything needed is present; 69 something is missing (named above).");
  doc->callback([&exit_code] { exit_code = doctor(); });
}

}  // namespace udisc::cli
