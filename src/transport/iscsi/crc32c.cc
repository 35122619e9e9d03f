#include "transport/iscsi/crc32c.h"

#include <isa-l/crc.h>

#include <climits>

namespace udisc::iscsi {

uint32_t crc32c_update(uint32_t crc, const uint8_t* data, size_t length) {
  while (length > 0) {
    const int chunk = length > static_cast<size_t>(INT_MAX / 2) ? INT_MAX / 2 : static_cast<int>(length);
    crc = crc32_iscsi(const_cast<unsigned char*>(data), chunk, crc);
    data += chunk;
    length -= static_cast<size_t>(chunk);
  }
  return crc;
}

}  // namespace udisc::iscsi
