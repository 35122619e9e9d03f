// udisc info / verify / convert: commands that work on a disc image alone.
//
//   info IMAGE [--json]    the TOC a drive would report
//   verify IMAGE           checks stored raw sectors, prints redump-style hashes
//   convert IMAGE -o X.cue writes a redump-style BIN/CUE (one 2352-byte BIN per track)
//
// Every failure is reported on stderr as "udisc: <message>" with a non-zero
// exit status; nothing here throws past its command.
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/hashes.h"
#include "cli/progress.h"
#include "disc/ecma130.h"
#include "disc/image.h"
#include "disc/msf.h"
#include "formats/open.h"

namespace udisc::cli {
namespace {

using disc::Disc;
using disc::Track;
using disc::TrackMode;

constexpr int kExitFailure = 1;
constexpr uint32_t kChunkSectors = 64;
constexpr int kMaxReportedErrors = 50;

void print_error(const std::string& message) { std::fprintf(stderr, "udisc: %s\n", message.c_str()); }

std::string msf_string(int32_t lba) {
  if (lba < -disc::kMsfLbaShift) return "--:--:--";
  const disc::Msf m = disc::lba_to_msf(lba);
  return fmt::format("{:02}:{:02}:{:02}", m.minute, m.second, m.frame);
}

// Relative MSF (no 150 offset), as cue sheets write INDEX positions.
std::string cue_time(int32_t frames) {
  const disc::Msf m = disc::frames_to_msf(frames);
  return fmt::format("{:02}:{:02}:{:02}", m.minute, m.second, m.frame);
}

std::vector<std::string> flag_names(uint8_t control) {
  std::vector<std::string> flags;
  if (control & disc::control::kFourChannel) flags.emplace_back("4CH");
  if (control & disc::control::kCopyPermitted) flags.emplace_back("DCP");
  if (control & disc::control::kPreEmphasis) flags.emplace_back("PRE");
  return flags;
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string s;
  for (const std::string& p : parts) {
    if (!s.empty()) s += sep;
    s += p;
  }
  return s;
}

Result<formats::ImagePtr> open_or_report(const std::string& path) {
  auto image = formats::open_image(path);
  if (!image.ok()) print_error(image.status().message());
  return image;
}

// ---- info -----------------------------------------------------------------

nlohmann::json info_json(const Disc& d) {
  using nlohmann::json;
  json out;
  out["disc_class"] = disc::to_string(d.disc_class);
  out["mcn"] = d.mcn.empty() ? json(nullptr) : json(d.mcn);
  out["leadout_lba"] = d.leadout_lba();
  out["sessions"] = json::array();
  for (const disc::Session& s : d.sessions) {
    out["sessions"].push_back({{"number", s.number}, {"first_track", s.first_track}, {"last_track", s.last_track}});
  }
  out["tracks"] = json::array();
  for (const Track& t : d.tracks) {
    out["tracks"].push_back({{"number", t.number},
                             {"session", t.session},
                             {"mode", disc::to_string(t.mode)},
                             {"flags", flag_names(t.control)},
                             {"start_lba", t.start_lba},
                             {"length", t.length()},
                             {"pregap", t.pregap()},
                             {"isrc", t.isrc.empty() ? json(nullptr) : json(t.isrc)}});
  }
  return out;
}

std::string info_text(const std::string& path, const disc::Image& image) {
  const Disc& d = image.disc();
  std::string s;
  s += fmt::format("image       {} ({})\n", path, image.format_name());
  s += fmt::format("disc class  {}\n", disc::to_string(d.disc_class));
  if (!d.mcn.empty()) s += fmt::format("MCN         {}\n", d.mcn);
  if (!d.cd_text.title.empty()) s += fmt::format("title       {}\n", d.cd_text.title);
  if (!d.cd_text.performer.empty()) s += fmt::format("performer   {}\n", d.cd_text.performer);
  s += fmt::format("lead-out    LBA {} (MSF {})\n", d.leadout_lba(), msf_string(d.leadout_lba()));
  for (const disc::Session& ss : d.sessions) {
    s += fmt::format("session {}   tracks {}-{}, lead-out LBA {} (MSF {})\n", ss.number, ss.first_track, ss.last_track,
                     ss.leadout_lba, msf_string(ss.leadout_lba));
  }
  s += "\n";
  s += fmt::format("{:>5} {:>4} {:<11} {:<11} {:>9} {:>8} {:>9} {:>6}  {}\n", "track", "sess", "mode", "flags",
                   "start LBA", "MSF", "length", "pregap", "ISRC");
  for (const Track& t : d.tracks) {
    std::string flags = join(flag_names(t.control), ",");
    s += fmt::format("{:>5} {:>4} {:<11} {:<11} {:>9} {:>8} {:>9} {:>6}  {}\n", t.number, t.session,
                     disc::to_string(t.mode), flags.empty() ? "-" : flags, t.start_lba, msf_string(t.start_lba),
                     t.length(), t.pregap(), t.isrc.empty() ? "-" : t.isrc);
  }
  return s;
}

int run_info(const std::string& path, bool json) {
  auto image = open_or_report(path);
  if (!image.ok()) return kExitFailure;
  if (json) {
    std::printf("%s\n", info_json((*image)->disc()).dump(2).c_str());
  } else {
    std::fputs(info_text(path, **image).c_str(), stdout);
  }
  return 0;
}

// ---- verify ---------------------------------------------------------------

// Sectors a redump-style per-track BIN holds: the pregap (index 0) and the
// track itself up to its end (postgap included).
int32_t track_first_sector(const Track& t) { return t.pregap_lba; }

uint64_t total_sectors(const Disc& d) {
  uint64_t n = 0;
  for (const Track& t : d.tracks) n += static_cast<uint64_t>(t.end_lba - track_first_sector(t));
  return n;
}

// Everything wrong with a checked sector, in sector order.
std::string describe(const disc::SectorCheck& c, int32_t lba) {
  std::vector<std::string> wrong;
  if (!c.sync_ok) wrong.emplace_back("sync pattern wrong");
  if (c.sync_ok && !c.header_ok) {
    wrong.emplace_back(fmt::format("header address wrong (says LBA {}, expected {})", c.header_lba, lba));
  }
  if (!c.mode_ok) wrong.emplace_back("mode byte wrong");
  if (!c.subheader_ok) wrong.emplace_back("XA subheader copies differ");
  if (!c.zero_fill_ok) wrong.emplace_back("reserved bytes not zero");
  if (!c.edc_ok) wrong.emplace_back("EDC mismatch");
  if (!c.ecc_p_ok) wrong.emplace_back("ECC P syndrome non-zero");
  if (!c.ecc_q_ok) wrong.emplace_back("ECC Q syndrome non-zero");
  if (wrong.empty()) wrong.emplace_back(disc::to_string(c.first_bad()));
  return fmt::format("{} ({})", join(wrong, ", "), disc::to_string(c.kind));
}

int run_verify(const std::string& path) {
  auto opened = open_or_report(path);
  if (!opened.ok()) return kExitFailure;
  const disc::Image& image = **opened;
  const Disc& d = image.disc();
  // CDs are hashed as raw 2352-byte sectors; DVD and BD images as their 2048-byte user data.
  const bool cd = disc::is_cd(d.disc_class);

  Progress progress("verify", total_sectors(d));
  Hashes whole;
  uint64_t done = 0, checked = 0, bad = 0;
  int reported = 0;
  std::vector<uint8_t> buffer;
  std::string report;
  report += fmt::format("{:>5} {:<11} {:>9}  {:<8}  {:<32}  {}\n", "track", "mode", "sectors", "CRC32", "MD5", "SHA-1");
  for (const Track& t : d.tracks) {
    Hashes track_hashes;
    const int32_t first = track_first_sector(t);
    const uint32_t sector_size = cd ? disc::kRawSectorSize : disc::user_data_size(t.mode);
    for (int32_t lba = first; lba < t.end_lba;) {
      const uint32_t n = static_cast<uint32_t>(std::min<int64_t>(kChunkSectors, t.end_lba - lba));
      buffer.resize(static_cast<size_t>(n) * sector_size);
      Status s = cd ? image.read_raw(lba, n, buffer) : image.read_user(lba, n, buffer);
      if (!s.ok()) {
        progress.clear();
        print_error(fmt::format("track {}: reading LBA {}: {}", t.number, lba, s.message()));
        return kExitFailure;
      }
      if (cd && disc::is_data(t.mode)) {
        for (uint32_t i = 0; i < n; ++i) {
          const int32_t at = lba + static_cast<int32_t>(i);
          if (!image.stores_raw(at)) continue;
          ++checked;
          std::span<const uint8_t, disc::kRawSectorSize> sector(buffer.data() + static_cast<size_t>(i) * sector_size,
                                                                disc::kRawSectorSize);
          const disc::SectorCheck c = disc::check_raw_sector(sector, at, t.mode);
          if (c.ok()) continue;
          ++bad;
          if (reported++ < kMaxReportedErrors) {
            progress.clear();
            print_error(fmt::format("bad sector at LBA {} (MSF {}, track {}): {}", at, msf_string(at), t.number,
                                    describe(c, at)));
          }
        }
      }
      track_hashes.update(buffer);
      whole.update(buffer);
      lba += static_cast<int32_t>(n);
      done += n;
      progress.update(done);
    }
    const Digests h = track_hashes.finish();
    report += fmt::format("{:>5} {:<11} {:>9}  {:<8}  {:<32}  {}\n", t.number, disc::to_string(t.mode),
                          t.end_lba - first, h.crc32, h.md5, h.sha1);
  }
  progress.clear();
  const Digests h = whole.finish();
  report += fmt::format("{:>5} {:<11} {:>9}  {:<8}  {:<32}  {}\n", "image", cd ? "raw 2352" : "user 2048", done,
                        h.crc32, h.md5, h.sha1);
  if (reported > kMaxReportedErrors) print_error(fmt::format("... {} more bad sectors", reported - kMaxReportedErrors));
  std::fputs(report.c_str(), stdout);
  std::printf("%s: %llu stored raw sectors checked, %llu bad\n", bad == 0 ? "good" : "BAD",
              static_cast<unsigned long long>(checked), static_cast<unsigned long long>(bad));
  if (bad != 0) {
    print_error(fmt::format("'{}': {} of {} checked sectors are bad", path, bad, checked));
    return kExitFailure;
  }
  return 0;
}

// ---- convert --------------------------------------------------------------

const char* cue_mode(TrackMode m) {
  switch (m) {
    case TrackMode::audio:
      return "AUDIO";
    case TrackMode::mode1:
      return "MODE1/2352";
    case TrackMode::mode2:
    case TrackMode::mode2_form1:
    case TrackMode::mode2_form2:
      return "MODE2/2352";
  }
  return "MODE1/2352";
}

// Redump names per-track files "<name> (Track N).bin", N zero-padded to two
// digits when the disc has ten tracks or more, and a single-track disc "<name>.bin".
std::string bin_name(const std::string& stem, const Disc& d, const Track& t) {
  if (d.tracks.size() == 1) return stem + ".bin";
  return d.tracks.size() >= 10 ? fmt::format("{} (Track {:02}).bin", stem, t.number)
                               : fmt::format("{} (Track {}).bin", stem, t.number);
}

std::string cue_quote(const std::string& s) { return "\"" + s + "\""; }

void append_cd_text(std::string& cue, const disc::CdText& text, const char* indent) {
  if (!text.title.empty()) cue += fmt::format("{}TITLE {}\n", indent, cue_quote(text.title));
  if (!text.performer.empty()) cue += fmt::format("{}PERFORMER {}\n", indent, cue_quote(text.performer));
  if (!text.songwriter.empty()) cue += fmt::format("{}SONGWRITER {}\n", indent, cue_quote(text.songwriter));
}

// Written through stdio in binary mode: the same bytes on every platform
// (no CRLF translation on Windows).
class OutFile {
 public:
  explicit OutFile(std::string path) : path_(std::move(path)) {
    file_ = std::fopen(path_.c_str(), "wb");
    open_errno_ = errno;
  }
  ~OutFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;
  Status open_status() const {
    return file_ != nullptr ? Status::Ok()
                            : Status::IoError(fmt::format("'{}': cannot create: {}", path_, std::strerror(open_errno_)));
  }
  Status write(std::span<const uint8_t> data) {
    if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
      return Status::IoError(fmt::format("'{}': write failed: {}", path_, std::strerror(errno)));
    }
    return Status::Ok();
  }
  Status close() {
    std::FILE* file = file_;
    file_ = nullptr;
    if (std::fclose(file) != 0) return Status::IoError(fmt::format("'{}': close failed: {}", path_, std::strerror(errno)));
    return Status::Ok();
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  int open_errno_ = 0;
};

std::string build_cue(const Disc& d, const std::string& stem) {
  std::string cue;
  if (!d.mcn.empty()) cue += fmt::format("CATALOG {}\n", d.mcn);
  append_cd_text(cue, d.cd_text, "");
  uint8_t session = 0;
  for (const Track& t : d.tracks) {
    if (d.sessions.size() > 1 && t.session != session) cue += fmt::format("REM SESSION {:02}\n", t.session);
    session = t.session;
    const int32_t first = track_first_sector(t);
    cue += fmt::format("FILE {} BINARY\n", cue_quote(bin_name(stem, d, t)));
    cue += fmt::format("  TRACK {:02} {}\n", t.number, cue_mode(t.mode));
    append_cd_text(cue, t.cd_text, "    ");
    if (!t.isrc.empty()) cue += fmt::format("    ISRC {}\n", t.isrc);
    const std::vector<std::string> flags = flag_names(t.control);
    if (!flags.empty()) cue += fmt::format("    FLAGS {}\n", join(flags, " "));
    if (t.pregap() > 0) cue += fmt::format("    INDEX 00 {}\n", cue_time(0));
    cue += fmt::format("    INDEX 01 {}\n", cue_time(t.start_lba - first));
    for (const disc::Index& i : t.indices) {
      if (i.number < 2) continue;
      cue += fmt::format("    INDEX {:02} {}\n", i.number, cue_time(i.lba - first));
    }
  }
  return cue;
}

int run_convert(const std::string& path, const std::string& out_path) {
  namespace fs = std::filesystem;
  auto opened = open_or_report(path);
  if (!opened.ok()) return kExitFailure;
  const disc::Image& image = **opened;
  const Disc& d = image.disc();
  if (!disc::is_cd(d.disc_class)) {
    print_error(fmt::format("'{}' is a {} image; BIN/CUE holds CD sectors only", path, disc::to_string(d.disc_class)));
    return kExitFailure;
  }
  if (d.leadout_lba() > 449850) {
    print_error(fmt::format("'{}': {} sectors do not fit the CD address range (99:59:74)", path, d.leadout_lba()));
    return kExitFailure;
  }
  const fs::path out(out_path);
  if (out.extension() != ".cue") {
    print_error(fmt::format("output '{}' must be a .cue file", out_path));
    return kExitFailure;
  }
  const std::string stem = out.stem().string();
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");

  // Everything is written to "<name>.part" files first and renamed into place
  // only after every sector has been read, so converting an image onto its own
  // file names never truncates a file that is still being read.
  std::vector<std::pair<fs::path, fs::path>> written;  // (temporary, final)
  auto discard = [&written] {
    std::error_code ec;
    for (const auto& w : written) fs::remove(w.first, ec);
  };
  Progress progress("convert", total_sectors(d));
  uint64_t done = 0;
  std::vector<uint8_t> buffer;
  for (const Track& t : d.tracks) {
    const fs::path bin = dir / bin_name(stem, d, t);
    const fs::path part = fs::path(bin.string() + ".part");
    OutFile file(part.string());
    if (Status s = file.open_status(); !s.ok()) {
      progress.clear();
      print_error(s.message());
      discard();
      return kExitFailure;
    }
    written.emplace_back(part, bin);
    for (int32_t lba = track_first_sector(t); lba < t.end_lba;) {
      const uint32_t n = static_cast<uint32_t>(std::min<int64_t>(kChunkSectors, t.end_lba - lba));
      buffer.resize(static_cast<size_t>(n) * disc::kRawSectorSize);
      Status s = image.read_raw(lba, n, buffer);
      if (!s.ok()) {
        progress.clear();
        print_error(fmt::format("track {}: reading LBA {}: {}", t.number, lba, s.message()));
        discard();
        return kExitFailure;
      }
      if (s = file.write(buffer); !s.ok()) {
        progress.clear();
        print_error(s.message());
        discard();
        return kExitFailure;
      }
      lba += static_cast<int32_t>(n);
      done += n;
      progress.update(done);
    }
    if (Status s = file.close(); !s.ok()) {
      progress.clear();
      print_error(s.message());
      discard();
      return kExitFailure;
    }
  }
  const std::string cue = build_cue(d, stem);
  const fs::path cue_part = fs::path(out.string() + ".part");
  OutFile cue_file(cue_part.string());
  Status s = cue_file.open_status();
  if (s.ok()) written.emplace_back(cue_part, out);
  if (s.ok()) s = cue_file.write({reinterpret_cast<const uint8_t*>(cue.data()), cue.size()});
  if (s.ok()) s = cue_file.close();
  if (!s.ok()) {
    progress.clear();
    print_error(s.message());
    discard();
    return kExitFailure;
  }
  progress.clear();
  for (const auto& [from, to] : written) {
    std::error_code ec;
    fs::rename(from, to, ec);
    if (ec) {
      print_error(fmt::format("'{}': cannot rename to '{}': {}", from.string(), to.string(), ec.message()));
      discard();
      return kExitFailure;
    }
  }
  std::printf("wrote %s and %zu BIN file%s (%llu sectors)\n", out.string().c_str(), d.tracks.size(),
              d.tracks.size() == 1 ? "" : "s", static_cast<unsigned long long>(done));
  return 0;
}

// Runs a command body; anything unexpected becomes a "udisc:" error, not a crash.
template <typename F>
int guarded(F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    print_error(e.what());
  } catch (...) {
    print_error("unexpected error");
  }
  return kExitFailure;
}

}  // namespace

void register_disc_commands(CLI::App& app, int& exit_code) {
  // Usage errors follow the same "udisc: <message>" form as every other error.
  app.failure_message(
      [](const CLI::App* a, const CLI::Error& e) { return "udisc: " + CLI::FailureMessage::simple(a, e); });
  struct Options {
    std::string image;
    std::string output;
    bool json = false;
  };
  auto info_opts = std::make_shared<Options>();
  CLI::App* info = app.add_subcommand("info", "Show the table of contents a drive would report for an image");
  info->add_option("IMAGE", info_opts->image, "Disc image (ISO, BIN/CUE, ...)")->required();
  info->add_flag("--json", info_opts->json, "Print JSON instead of a table");
  info->callback(
      [info_opts, &exit_code] { exit_code = guarded([&] { return run_info(info_opts->image, info_opts->json); }); });

  auto verify_opts = std::make_shared<Options>();
  CLI::App* verify = app.add_subcommand(
      "verify", "Check every stored raw sector (sync, header, EDC/ECC) and print CRC32/MD5/SHA-1 per track");
  verify->add_option("IMAGE", verify_opts->image, "Disc image")->required();
  verify->callback([verify_opts, &exit_code] { exit_code = guarded([&] { return run_verify(verify_opts->image); }); });

  auto convert_opts = std::make_shared<Options>();
  CLI::App* convert =
      app.add_subcommand("convert", "Write a redump-style BIN/CUE (2352-byte sectors, one BIN per track)");
  convert->add_option("IMAGE", convert_opts->image, "Disc image")->required();
  convert->add_option("-o,--output", convert_opts->output, "Output cue sheet (X.cue); BINs go beside it")->required();
  convert->callback([convert_opts, &exit_code] {
    exit_code = guarded([&] { return run_convert(convert_opts->image, convert_opts->output); });
  });
}

}  // namespace udisc::cli
