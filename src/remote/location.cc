#include "remote/location.h"

namespace udisc::remote {

Result<OpenedLocation> open_location(const std::string& location, const HttpOptions& http) {
  OpenedLocation out;
  if (!is_url(location)) {
    auto image = formats::open_image(location);
    if (!image.ok()) return image.status();
    out.image = std::move(image).value();
    return out;
  }
  auto file = HttpFile::open(location, http);
  if (!file.ok()) return file.status();
  out.http = *file;
  auto image = formats::open_image(std::move(file).value(), url_resolver(location, http));
  if (!image.ok()) return image.status();
  out.image = std::move(image).value();
  return out;
}

}  // namespace udisc::remote
