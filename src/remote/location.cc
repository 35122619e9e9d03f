#include "remote/location.h"

namespace udisc::remote {

Result<OpenedLocation> open_location(const std::string& location, const HttpOptions& http,
                                     const formats::ExtraCompanions& extra) {
  OpenedLocation out;
  if (!is_url(location)) {
    auto image = formats::open_image(location, extra);
    if (!image.ok()) return image.status();
    out.image = std::move(image).value();
    return out;
  }
  auto file = HttpFile::open(location, http);
  if (!file.ok()) return file.status();
  out.http = *file;
  // The companions are kept too: a replaced BIN is a changed disc as much as
  // a replaced cue sheet (RemoteMedia watches them all).
  auto companions = std::make_shared<std::vector<std::shared_ptr<HttpFile>>>();
  formats::FileResolver resolve = [location, http, companions](const std::string& name)
      -> Result<std::shared_ptr<formats::RandomAccessFile>> {
    auto url = resolve_url(location, name);
    if (!url.ok()) return url.status();
    auto companion = HttpFile::open(*url, http);
    if (!companion.ok()) return companion.status();
    companions->push_back(*companion);
    return std::shared_ptr<formats::RandomAccessFile>(std::move(companion).value());
  };
  if (!extra.empty()) resolve = formats::with_extra_companions(std::move(resolve), extra);
  auto image = formats::open_image(std::move(file).value(), std::move(resolve));
  if (!image.ok()) return image.status();
  out.image = std::move(image).value();
  out.companions = *companions;
  return out;
}

}  // namespace udisc::remote
