// libFuzzer target: a whole connection (login, text negotiation, CHAP,
// full feature phase) fed arbitrary bytes in arbitrary pieces, with timer
// ticks in between. The connection must never crash, never emit a PDU
// larger than negotiated, and its output must always parse.
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "transport/iscsi/test_support.h"

using namespace udisc::iscsi;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static auto unit = std::make_shared<testing::FakeUnit>(32);
  TargetConfig config;
  config.name = "iqn.2025-01.org.udisc:test";
  config.luns = {unit};
  config.queue_depth = 16;
  config.max_command_buffer = 1 << 20;
  if (data[0] & 1) config.chap = ChapCredentials{"alice", "secret-of-alice"};
  if (data[0] & 2) config.mutual_chap = ChapCredentials{"target", "secret-of-target"};
  Connection::Context ctx;
  ctx.target = &config;
  ctx.peer = "fuzz";
  ctx.portal = "127.0.0.1:3260";
  auto now = std::chrono::steady_clock::now();
  Connection conn(ctx, now);
  const size_t chunk = 1 + (data[0] >> 2) * 16;
  size_t pos = 1;
  PduReader out_reader({1u << 24, false, false});
  while (pos < size && !conn.must_close()) {
    const size_t n = std::min(chunk, size - pos);
    conn.receive(std::span<const uint8_t>(data + pos, n), now);
    pos += n;
    now += std::chrono::milliseconds(700);
    conn.tick(now);
    // Drain output; it must be well-formed iSCSI.
    iovec iov[64];
    size_t count;
    while ((count = conn.gather(iov, 64)) > 0) {
      size_t total = 0;
      for (size_t i = 0; i < count; ++i) total += iov[i].iov_len;
      if (!conn.in_full_feature() || (!conn.params().header_digest && !conn.params().data_digest)) {
        for (size_t i = 0; i < count; ++i) {
          std::span<const uint8_t> s(static_cast<const uint8_t*>(iov[i].iov_base), iov[i].iov_len);
          while (!s.empty()) {
            bool complete = false;
            udisc::Status err;
            const size_t used = out_reader.feed(s, complete, err);
            if (!err.ok()) std::abort();
            s = s.subspan(used);
            if (complete) {
              Pdu p = out_reader.take();
              if ((p.opcode() == Opcode::data_in) && p.data.size() > conn.params().initiator_mrdsl) std::abort();
            }
          }
        }
      }
      conn.consume_output(total);
      conn.pump();
    }
    if (conn.in_full_feature() && (conn.params().header_digest || conn.params().data_digest)) {
      out_reader.set_limits({1u << 24, conn.params().header_digest, conn.params().data_digest});
    }
  }
  return 0;
}
