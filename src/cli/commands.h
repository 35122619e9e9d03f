// Registration of udisc's subcommand groups. Each callback stores its exit
// status in `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

namespace udisc::cli {

void register_disc_commands(CLI::App& app, int& exit_code);   // info, verify, convert (disc_commands.cc)
void register_serve_command(CLI::App& app, int& exit_code);   // serve (serve_command.cc)
void register_drive_commands(CLI::App& app, int& exit_code);  // daemon, mount, list, eject, insert, unmount, doctor (drive_commands.cc)

}  // namespace udisc::cli
