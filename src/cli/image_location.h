// Where the CLI's image arguments come from: a path, or an http(s) URL read
// on demand (remote/). Commands that take an image add the URL options with
// add_location_options and open it with open_location_or_report.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "remote/location.h"

namespace udisc::cli {

struct LocationOptions {
  std::string ca_file;    // --ca-file: CA bundle trusted for https:// images
  std::string auth_file;  // --auth-file: "bearer TOKEN" or "basic USER:PASSWORD"
  // --parent: a child CHD's parent CHD (default: the .chd beside it with the
  // right SHA-1); --password-file: the password of an MDS v2 / MDX image's track data.
  formats::ExtraCompanions extra;
  std::string cache_dir;  // --cache-dir: also keep fetched blocks in a private file there
  uint64_t cache_size = 1ull << 30;  // --cache-size: at most this many bytes in it
};

// `disk_cache`: whether the command offers --cache-dir/--cache-size (those
// that read an image more than once: serve, verify).
void add_location_options(CLI::App* command, LocationOptions& options, bool disk_cache = false);

// --password-file FILE alone (the Windows client's mount and insert take no URL options).
void add_password_file_option(CLI::App* command, formats::ExtraCompanions& extra);

// The HTTP options for a URL: CA bundle, credentials (read now from
// --auth-file or $UDISC_HTTP_AUTH), disk cache.
Result<remote::HttpOptions> http_options(const LocationOptions& options);

// Opens `location`; on failure prints "udisc: <message>" and returns the error.
Result<remote::OpenedLocation> open_location_or_report(const std::string& location, const LocationOptions& options);

}  // namespace udisc::cli
