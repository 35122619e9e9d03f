// udisc: one binary, many subcommands. Each group of subcommands lives in its
// own file and registers itself here; exceptions are caught once, here.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"udisc — a virtual CD/DVD/BD-ROM drive for disc images"};
  app.require_subcommand(1);
  // The same options on every platform: CLI11 would read "/x" as an option on
  // Windows, but for udisc it is a path (Wine passes Unix paths so).
  app.allow_windows_style_options(false);
  app.set_version_flag("--version", "udisc 0.1.0");
  int exit_code = 0;
  udisc::cli::register_disc_commands(app, exit_code);
  udisc::cli::register_serve_command(app, exit_code);
  udisc::cli::register_drive_commands(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "udisc: internal error: %s\n", e.what());
    return 70;
  }
  return exit_code;
}
