#include "remote/location.h"

namespace udisc::remote {

Result<OpenedLocation> open_location(const std::string& location, const HttpOptions& http,
                                     const std::string& chd_parent) {
  OpenedLocation out;
  if (!is_url(location)) {
    auto image = formats::open_image(location, chd_parent);
    if (!image.ok()) return image.status();
    out.image = std::move(image).value();
    return out;
  }
  auto file = HttpFile::open(location, http);
  if (!file.ok()) return file.status();
  out.http = *file;
  formats::FileResolver resolve = url_resolver(location, http);
  if (!chd_parent.empty()) resolve = formats::with_chd_parent(std::move(resolve), chd_parent);
  auto image = formats::open_image(std::move(file).value(), resolve);
  if (!image.ok()) return image.status();
  out.image = std::move(image).value();
  return out;
}

}  // namespace udisc::remote
