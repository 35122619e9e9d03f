// Resolving a companion's name (as an image writes it) against the image's
// URL without libcurl: what the Windows build's resolve_url is. Portable, so
// it is tested against libcurl's resolution (url_reference_test) and fuzzed
// (fuzz_http_headers) in the Linux builds. The input is untrusted (any image).
#pragma once

#include <string>

#include "util/status.h"

namespace udisc::remote {

// RFC 3986 5.2 for the references images hold (a file name, a relative or
// absolute path, or a whole URL; "\" read as "/"), encoding as libcurl's
// CURLU_URLENCODE does: spaces and bytes outside printable ASCII.
Result<std::string> resolve_reference(const std::string& base, const std::string& ref);

}  // namespace udisc::remote
