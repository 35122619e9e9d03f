// LZ4 raw blocks (no frame), as ZSO stores each block: liblz4 where the build
// has it (lz4_block.cc), elsewhere (the Windows build: Debian ships no
// mingw-w64 liblz4) a clear NotSupported (lz4_unavailable.cc).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "util/status.h"

namespace udisc::formats {

// Decodes one block into exactly out.size() bytes; `where` names it in errors.
Status lz4_decode_block(std::span<const uint8_t> in, std::span<uint8_t> out, const std::string& where);
// Encodes one block (for the project's test writer of ZSO files).
Result<std::vector<uint8_t>> lz4_encode_block(std::span<const uint8_t> in);

}  // namespace udisc::formats
