#include "cli/image_location.h"

#include <cstdio>

namespace udisc::cli {

void add_password_file_option(CLI::App* command, formats::ExtraCompanions& extra) {
  command->add_option("--password-file", extra.password_file,
                      "For an MDS/MDX image whose track data is protected by a password: a file whose first line "
                      "is the password")
      ->type_name("FILE");
}

void add_location_options(CLI::App* command, LocationOptions& options, bool disk_cache) {
  command->add_option("--ca-file", options.ca_file, "For https:// images: also trust this CA bundle (PEM)")
      ->type_name("FILE");
  command->add_option("--auth-file", options.auth_file,
                      "For http(s):// images: credentials, one line 'bearer TOKEN' or 'basic USER:PASSWORD' "
                      "(default: $UDISC_HTTP_AUTH)")
      ->type_name("FILE");
  command->add_option("--parent", options.extra.chd_parent,
                      "For a child CHD: its parent CHD (default: the .chd beside it whose SHA-1 the child names)")
      ->type_name("FILE");
  add_password_file_option(command, options.extra);
  if (!disk_cache) return;
  command->add_option("--cache-dir", options.cache_dir,
                      "For http(s):// images: besides memory, keep fetched blocks in a private file in DIR "
                      "(deleted at exit), so a second pass does not fetch them again")
      ->type_name("DIR");
  command->add_option("--cache-size", options.cache_size, "At most SIZE bytes in --cache-dir for each file fetched (K, M, G suffixes; default 1G)")
      ->type_name("SIZE")
      ->transform(CLI::AsSizeValue(false));
}

Result<remote::HttpOptions> http_options(const LocationOptions& options) {
  remote::HttpOptions http;
  http.ca_file = options.ca_file;
  http.disk_cache_dir = options.cache_dir;
  http.disk_cache_bytes = options.cache_size;
  auto credentials = remote::load_credentials(options.auth_file);
  if (!credentials.ok()) return credentials.status();
  http.credentials = *credentials;
  return http;
}

Result<remote::OpenedLocation> open_location_or_report(const std::string& location, const LocationOptions& options) {
  remote::HttpOptions http;
  if (remote::is_url(location)) {
    auto from_options = http_options(options);
    if (!from_options.ok()) {
      std::fprintf(stderr, "udisc: %s\n", from_options.status().message().c_str());
      return from_options.status();
    }
    http = std::move(from_options).value();
  }
  auto opened = remote::open_location(location, http, options.extra);
  if (!opened.ok()) std::fprintf(stderr, "udisc: %s\n", opened.status().message().c_str());
  return opened;
}

}  // namespace udisc::cli
