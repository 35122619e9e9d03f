#include "cli/commands.h"

namespace udisc::cli {

void register_serve_command(CLI::App& /*app*/, int& /*exit_code*/) {}

}  // namespace udisc::cli
