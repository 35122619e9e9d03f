#include "cli/commands.h"

namespace udisc::cli {

void register_disc_commands(CLI::App& /*app*/, int& /*exit_code*/) {}

}  // namespace udisc::cli
