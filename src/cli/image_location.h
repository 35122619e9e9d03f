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
  std::string parent;     // --parent: a child CHD's parent CHD (default: the .chd beside it with the right SHA-1)
};

void add_location_options(CLI::App* command, LocationOptions& options);

// Opens `location`; on failure prints "udisc: <message>" and returns the error.
Result<remote::OpenedLocation> open_location_or_report(const std::string& location, const LocationOptions& options);

}  // namespace udisc::cli
