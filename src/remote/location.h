// Opening an image by where it is: a path on this machine or an http(s) URL.
//
// The CLI's image arguments go through here, so every format reads from a
// URL exactly as from a file: the main file becomes an HttpFile and its
// companions (a cue sheet's BINs, ...) resolve against its URL.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "formats/open.h"
#include "remote/http_file.h"

namespace udisc::remote {

struct OpenedLocation {
  formats::ImagePtr image;
  std::shared_ptr<HttpFile> http;  // the main file when it came from a URL (for stats and change checks)
  std::vector<std::shared_ptr<HttpFile>> companions;  // the other files it opened from URLs (a cue sheet's BINs)
};

// `extra`: files the user named (--parent, --password-file); a CHD parent not
// given is found beside the image.
Result<OpenedLocation> open_location(const std::string& location, const HttpOptions& http,
                                     const formats::ExtraCompanions& extra = {});

}  // namespace udisc::remote
