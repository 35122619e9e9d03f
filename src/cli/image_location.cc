#include "cli/image_location.h"

#include <cstdio>

namespace udisc::cli {

void add_location_options(CLI::App* command, LocationOptions& options) {
  command->add_option("--ca-file", options.ca_file, "For https:// images: also trust this CA bundle (PEM)")
      ->type_name("FILE");
  command->add_option("--auth-file", options.auth_file,
                      "For http(s):// images: credentials, one line 'bearer TOKEN' or 'basic USER:PASSWORD' "
                      "(default: $UDISC_HTTP_AUTH)")
      ->type_name("FILE");
  command->add_option("--parent", options.parent,
                      "For a child CHD: its parent CHD (default: the .chd beside it whose SHA-1 the child names)")
      ->type_name("FILE");
}

Result<remote::OpenedLocation> open_location_or_report(const std::string& location, const LocationOptions& options) {
  remote::HttpOptions http;
  http.ca_file = options.ca_file;
  if (remote::is_url(location)) {
    auto credentials = remote::load_credentials(options.auth_file);
    if (!credentials.ok()) {
      std::fprintf(stderr, "udisc: %s\n", credentials.status().message().c_str());
      return credentials.status();
    }
    http.credentials = *credentials;
  }
  auto opened = remote::open_location(location, http, options.parent);
  if (!opened.ok()) std::fprintf(stderr, "udisc: %s\n", opened.status().message().c_str());
  return opened;
}

}  // namespace udisc::cli
