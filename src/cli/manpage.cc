// udisc help [COMMAND] [--man]: the --help text, or the same text as a man
// page in roff (the build installs `udisc help --man` as udisc.1 and
// `udisc help --man daemon` as udisc-daemon.8). See manpage.h for the help-text
// conventions this relies on.
#include "cli/manpage.h"

#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "daemon/paths.h"

namespace udisc::cli {

const std::vector<ImageFormat>& image_formats() {
  static const std::vector<ImageFormat> formats = {
#include "cli/image_formats.inc"  // generated from dist/image-formats.tsv
  };
  return formats;
}

namespace {

// Appends one code point as a groff special character (input stays ASCII, so
// groff needs no input encoding).
void append_code_point(std::string& out, std::string_view text, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  const int extra = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1;
  uint32_t cp = lead & (0x3F >> extra);
  for (int k = 1; k <= extra && i + 1 < text.size(); ++k) cp = (cp << 6) | (byte(++i) & 0x3F);
  if (cp == 0x2014) {
    out += "\\(em";
  } else if (cp == 0x2013) {
    out += "\\(en";
  } else {
    out += fmt::format("\\[u{:04X}]", cp);
  }
}

// Running text of one output line: roff escapes, `code` in bold. `in_code`
// carries an open backtick over a line break.
std::string escape(std::string_view text, bool& in_code) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else if (c == '`') {
      out += in_code ? "\\fR" : "\\fB";
      in_code = !in_code;
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      append_code_point(out, text, i);
    } else {
      out += c;
    }
  }
  // A line that starts with a control character would be read as a request.
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string escape(std::string_view text) {
  bool in_code = false;
  return escape(text, in_code);
}

std::vector<std::string_view> split(std::string_view text, std::string_view sep) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t at = text.find(sep, start);
    parts.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + sep.size();
  }
}

// A footer: paragraphs separated by blank lines; lines indented by two spaces
// are literal (examples, commands).
std::string render_footer(std::string_view footer) {
  std::string out;
  bool in_code = false;
  for (std::string_view paragraph : split(footer, "\n\n")) {
    if (paragraph.find_first_not_of(" \n") == std::string_view::npos) continue;
    out += ".PP\n";
    bool literal = false;
    for (std::string_view line : split(paragraph, "\n")) {
      const bool indented = line.substr(0, 2) == "  ";
      if (indented && !literal) out += ".RS\n.nf\n";
      if (!indented && literal) out += ".fi\n.RE\n";
      literal = indented;
      if (indented) line.remove_prefix(2);
      bool literal_code = false;  // backticks inside a literal line are literal
      out += (indented ? escape(line, literal_code) : escape(line, in_code)) + "\n";
    }
    if (literal) out += ".fi\n.RE\n";
  }
  if (in_code) out += "\\fR\n";
  return out;
}

bool is_flag(const CLI::Option* opt) { return opt->get_items_expected_max() == 0; }

// "TEXT:{cd,dvd,bd}" -> "{cd,dvd,bd}"; "PATH" stays.
std::string value_name(const CLI::Option* opt) {
  std::string type = opt->get_type_name();
  const size_t set = type.find(":{");
  if (set != std::string::npos) type = type.substr(set + 1);
  return type;
}

std::string positional_name(const CLI::Option* opt) {
  std::string name = opt->get_name(true);
  if (opt->get_items_expected_max() > 1) name += "...";
  return name;
}

std::vector<const CLI::Option*> visible_options(const CLI::App& cmd) {
  return cmd.get_options([&cmd](const CLI::Option* opt) {
    return opt != cmd.get_help_ptr() && opt != cmd.get_help_all_ptr() && opt != cmd.get_version_ptr();
  });
}

std::string synopsis(const CLI::App& cmd) {
  std::string out = fmt::format(".B udisc {}\n", cmd.get_name());
  bool has_options = false;
  std::string positionals;
  for (const CLI::Option* opt : visible_options(cmd)) {
    if (opt->nonpositional()) {
      has_options = true;
    } else {
      const std::string name = fmt::format("\\fI{}\\fR", escape(positional_name(opt)));
      positionals += opt->get_required() ? " " + name : " [" + name + "]";
    }
  }
  if (has_options) out += "[\\fIOPTION\\fR]...";
  // A roff text line must not start with a space (that would break the line).
  out += (has_options ? positionals : positionals.substr(positionals.empty() ? 0 : 1)) + "\n";
  return out;
}

std::string render_options(const CLI::App& cmd) {
  std::string out;
  for (const CLI::Option* opt : visible_options(cmd)) {
    std::string names;
    if (opt->nonpositional()) {
      for (const std::string& s : opt->get_snames()) names += (names.empty() ? "" : ", ") + fmt::format("\\fB\\-{}\\fR", s);
      for (const std::string& l : opt->get_lnames()) {
        names += (names.empty() ? "" : ", ") + fmt::format("\\fB\\-\\-{}\\fR", escape(l));
      }
      if (!is_flag(opt)) names += fmt::format(" \\fI{}\\fR", escape(value_name(opt)));
    } else {
      names = fmt::format("\\fI{}\\fR", escape(positional_name(opt)));
    }
    out += ".TP\n" + names + "\n" + escape(opt->get_description()) + "\n";
  }
  return out;
}

// One subcommand: synopsis, description, footer, options.
std::string render_command(const CLI::App& cmd, const char* heading) {
  std::string out = fmt::format("{} udisc {}\n", heading, cmd.get_name());
  out += synopsis(cmd);
  out += ".PP\n" + escape(cmd.get_description()) + ".\n";
  out += render_footer(cmd.get_footer());
  const std::string options = render_options(cmd);
  if (!options.empty()) out += ".PP\nArguments and options:\n" + options;
  return out;
}

std::string render_formats() {
  std::string out = ".SH IMAGE FORMATS\nThe reader is chosen by the file's content; the extension only breaks ties.\n";
  for (const ImageFormat& f : image_formats()) {
    out += fmt::format(".TP\n.B .{}\n{}{}\n", escape(f.extension), escape(f.description),
                       f.role == "part" ? " (named by another file; mount that one)" : "");
  }
  return out;
}

std::string render_header(const std::string& title, int section, const std::string& name,
                          const std::string& summary) {
  return fmt::format(".TH {} {} \"\" \"udisc {}\" \"{}\"\n.SH NAME\n{} \\- {}\n", title, section, UDISC_VERSION,
                     section == 8 ? "System Administration" : "User Commands", escape(name), escape(summary));
}

std::string render_udisc_page(const CLI::App& app) {
  std::string summary = app.get_description();
  if (const size_t dash = summary.find("— "); dash != std::string::npos) summary = summary.substr(dash + 4);
  std::string out = render_header("UDISC", 1, "udisc", summary);
  out += ".SH SYNOPSIS\n.B udisc\n\\fICOMMAND\\fR [\\fIOPTION\\fR]... [\\fIARGUMENT\\fR]...\n.br\n.B udisc \\-\\-version\n";
  out += ".SH DESCRIPTION\n";
  out += "\\fBudisc\\fR makes a disc image look like a real CD, DVD or BD\\-ROM drive: a local \\fB/dev/srN\\fR\n"
         "made by the daemon (\\fBudisc\\-daemon\\fR(8)), or an iSCSI target (\\fBudisc serve\\fR).\n"
         "Each command below prints the same text with \\fBudisc\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR.\n"
         "DRIVE is a drive number or its device node.\n";
  out += ".SH COMMANDS\n";
  for (const CLI::App* cmd : app.get_subcommands({})) out += render_command(*cmd, ".SS");
  out += render_formats();
  out += fmt::format(
      ".SH ENVIRONMENT\n.TP\n.B UDISC_SOCKET\nThe daemon's control socket, when \\fB\\-\\-socket\\fR is not given "
      "(default {}).\n",
      escape(daemon::kDefaultSocketPath));
  out += ".SH SEE ALSO\n\\fBudisc\\-daemon\\fR(8), \\fBmount\\fR(8), \\fBeject\\fR(1), \\fBiscsiadm\\fR(8)\n";
  return out;
}

std::string render_daemon_page(const CLI::App& cmd) {
  std::string out = render_header("UDISC-DAEMON", 8, "udisc-daemon", cmd.get_description());
  out += ".SH SYNOPSIS\n" + synopsis(cmd);
  out += ".SH DESCRIPTION\n" + render_footer(cmd.get_footer());
  out += ".SH OPTIONS\n" + render_options(cmd);
  out += fmt::format(
      ".SH FILES\n"
      ".TP\n.I {}\nThe control socket: JSON lines, image files passed as open descriptors (mode 0660, group "
      "\\fBudisc\\fR).\n"
      ".TP\n.I {}\nThe state file: every drive, its owner, identity and image; written atomically, read at start.\n"
      ".TP\n.I udisc.service\\fR, \\fIudisc.socket\nThe systemd units (socket activation); "
      "\\fBsystemctl enable \\-\\-now udisc.socket\\fR.\n"
      ".TP\n.I sysusers.d/udisc.conf\\fR, \\fItmpfiles.d/udisc.conf\nGroup \\fBudisc\\fR and the daemon's "
      "directories.\n",
      escape(daemon::kDefaultSocketPath), escape(daemon::kDefaultStatePath));
  out += ".SH SEE ALSO\n\\fBudisc\\fR(1), \\fBsystemd.socket\\fR(5), \\fBsysusers.d\\fR(5), \\fBtmpfiles.d\\fR(5)\n";
  return out;
}

// One line per command for the shell completions: NAME <tab> DESCRIPTION <tab>
// WORDS, where WORDS are its positionals by name (IMAGE, DRIVE, IMAGE... when
// repeatable) and its options, "--opt=VALUE" when they take a value.
std::string render_completion_table(const CLI::App& app) {
  std::string out;
  for (const CLI::App* cmd : app.get_subcommands({})) {
    std::string words;
    for (const CLI::Option* opt : visible_options(*cmd)) {
      std::string word;
      if (!opt->nonpositional()) {
        word = positional_name(opt);
      } else {
        const auto& longs = opt->get_lnames();
        word = longs.empty() ? "-" + opt->get_snames().front() : "--" + longs.front();
        if (!is_flag(opt)) word += "=" + (value_name(opt).empty() ? std::string("VALUE") : value_name(opt));
      }
      words += (words.empty() ? "" : " ") + word;
    }
    out += fmt::format("{}\t{}\t{}\n", cmd->get_name(), cmd->get_description(), words);
  }
  return out;
}

}  // namespace

std::string render_man_page(const CLI::App& app, const std::string& command) {
  if (command.empty()) return render_udisc_page(app);
  const CLI::App* cmd = app.get_subcommand(command);
  if (command == "daemon") return render_daemon_page(*cmd);
  std::string out = render_header(fmt::format("UDISC-{}", command), 1, "udisc-" + command, cmd->get_description());
  out += render_command(*cmd, ".SH");
  out += ".SH SEE ALSO\n\\fBudisc\\fR(1)\n";
  return out;
}

void register_help_command(CLI::App& app, int& exit_code) {
  struct Options {
    std::string command;
    bool man = false;
    bool list = false;
  };
  auto o = std::make_shared<Options>();
  auto* h = app.add_subcommand("help", "Print the help of udisc or of one command, as text or as a man page");
  h->footer(
      "Without --man it prints what `udisc COMMAND --help` prints. With --man it prints the same text as a\n"
      "man page in roff: `udisc help --man` is udisc(1), `udisc help --man daemon` is udisc-daemon(8).\n"
      "--list is what the bash and zsh completions read.\n\n"
      "Example:\n  udisc help --man mount | man -l -");
  h->add_option("COMMAND", o->command, "A udisc command (default: all of them)")->type_name("");
  h->add_flag("--man", o->man, "Print a man page (roff) instead of text");
  h->add_flag("--list", o->list, "Print one line per command: name, summary, arguments and options (for completion)");
  h->callback([o, &app, &exit_code] {
    if (o->list) {
      std::fputs(render_completion_table(app).c_str(), stdout);
      exit_code = 0;
      return;
    }
    const CLI::App* cmd = nullptr;
    if (!o->command.empty()) {
      try {
        cmd = app.get_subcommand(o->command);
      } catch (const CLI::OptionNotFound&) {
        std::fprintf(stderr, "udisc: '%s' is not a udisc command (see `udisc --help`)\n", o->command.c_str());
        exit_code = 2;
        return;
      }
    }
    // The formatter directly: App::help() would show the help of the command
    // being run, i.e. of `help` itself.
    const CLI::App& shown = cmd ? *cmd : app;
    const std::string name = cmd ? app.get_name() + " " + cmd->get_name() : app.get_name();
    const std::string text = o->man ? render_man_page(app, o->command)
                                    : shown.get_formatter()->make_help(&shown, name, CLI::AppFormatMode::Normal);
    std::fputs(text.c_str(), stdout);
    exit_code = 0;
  });
}

}  // namespace udisc::cli
