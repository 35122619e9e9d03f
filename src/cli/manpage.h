// Man pages rendered from the CLI11 tree that also prints --help, so the two
// cannot drift: every subcommand's description, options and footer become a
// section of udisc(1) (or, for `daemon`, the page udisc-daemon(8)).
//
// How to write help text so the man page comes out right (the only
// convention an option or subcommand needs to follow):
//   - an option's description is one sentence; say the default in it;
//   - longer text goes in the subcommand's footer(): paragraphs separated by
//     a blank line, example/command lines indented by two spaces (they become
//     literal blocks), `backticked` words become bold;
//   - hide nothing: every option added with add_option/add_flag appears.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace udisc::cli {

// One line of dist/image-formats.tsv (compiled in from the same table that
// generates the MIME package, the desktop entry and the completions).
struct ImageFormat {
  std::string_view extension;    // "iso", "iso.gz"
  std::string_view role;         // "image" (opened) or "part" (named by another file)
  std::string_view mime;         // "-" when none
  std::string_view description;
};
const std::vector<ImageFormat>& image_formats();

// roff source of udisc(1) (command empty) or of udisc-COMMAND (section 8 for
// `daemon`, 1 otherwise).
std::string render_man_page(const CLI::App& app, const std::string& command);

// `udisc help [COMMAND] [--man]`.
void register_help_command(CLI::App& app, int& exit_code);

}  // namespace udisc::cli
