// Sub-channel generation (ECMA-130 22): P and Q from the disc model,
// Q CRC, MCN / ISRC encoding and the P–W (de)interleaving.
#include "disc/subchannel.h"

#include <cstring>

namespace udisc::disc {
namespace {

// Q CRC: x^16 + x^12 + x^5 + 1, MSB first, initial value 0.
constexpr std::array<uint16_t, 256> make_crc16_table() {
  std::array<uint16_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint16_t c = static_cast<uint16_t>(i << 8);
    for (int k = 0; k < 8; ++k) c = static_cast<uint16_t>((c & 0x8000) ? (c << 1) ^ 0x1021 : (c << 1));
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint16_t, 256> kCrc16Table = make_crc16_table();

// ISRC six-bit character codes (Red Book / ECMA-130 22.3.4.3): '0'..'9' ->
// 0x00..0x09, 'A'..'Z' -> 0x11..0x2A.
int isrc_char_code(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return 0x11 + (c - 'A');
  if (c >= 'a' && c <= 'z') return 0x11 + (c - 'a');
  return -1;
}
char isrc_code_char(unsigned v) {
  if (v <= 9) return static_cast<char>('0' + v);
  if (v >= 0x11 && v <= 0x2A) return static_cast<char>('A' + (v - 0x11));
  return '\0';
}

// Writes `bits` low bits of `value` at bit offset `pos` (MSB first) of q.
void put_bits(QFrame& q, unsigned pos, unsigned bits, unsigned value) {
  for (unsigned i = 0; i < bits; ++i) {
    const unsigned bit = (value >> (bits - 1 - i)) & 1;
    const unsigned at = pos + i;
    if (bit) q[at / 8] = static_cast<uint8_t>(q[at / 8] | (0x80 >> (at % 8)));
  }
}
unsigned get_bits(std::span<const uint8_t, 12> q, unsigned pos, unsigned bits) {
  unsigned v = 0;
  for (unsigned i = 0; i < bits; ++i) {
    const unsigned at = pos + i;
    v = (v << 1) | ((q[at / 8] >> (7 - at % 8)) & 1);
  }
  return v;
}

bool valid_bcd_byte(uint8_t b) { return (b >> 4) <= 9 && (b & 0x0F) <= 9; }

Msf frames_msf_wrapped(int64_t frames) {
  constexpr int64_t kWrap = 100 * kSecondsPerMinute * kFramesPerSecond;
  frames %= kWrap;
  if (frames < 0) frames += kWrap;
  return frames_to_msf(static_cast<int32_t>(frames));
}

// Where lba lies on the disc, as the Q channel reports it.
struct Place {
  const Track* track = nullptr;  // null in a lead-out or with no tracks
  uint8_t index = 1;
  bool leadout = false;
  int64_t relative = 0;          // frames, never negative
  uint8_t control = 0;
  bool first_of_index = false;   // first frame of the pregap or of an index
  bool last_of_area = false;     // last frame of the pregap or of the track
};

Place locate(const Disc& disc, int32_t lba) {
  Place p;
  if (disc.tracks.empty()) {
    p.relative = lba < 0 ? 0 : lba;
    return p;
  }
  const Track* t = disc.track_at(lba);
  if (t == nullptr && lba < disc.tracks.front().pregap_lba) t = &disc.tracks.front();  // before the first pregap
  if (t == nullptr) {
    // After the last track of a session: its lead-out (relative time from the
    // session's lead-out start, or from the track's end if that comes first).
    const Track* last = &disc.tracks.front();
    for (const Track& tr : disc.tracks) {
      if (tr.end_lba <= lba) last = &tr;
    }
    int32_t leadout = last->end_lba;
    if (const Session* s = disc.session(last->session); s != nullptr && s->leadout_lba <= lba) {
      leadout = s->leadout_lba;
    }
    p.leadout = true;
    p.control = last->control;
    p.relative = int64_t{lba} - leadout;
    p.index = 1;
    return p;
  }
  p.track = t;
  p.control = t->control;
  if (lba < t->start_lba) {
    p.index = 0;
    p.relative = int64_t{t->start_lba} - lba;  // counts down; 1 on the last pregap frame
    p.first_of_index = lba <= t->pregap_lba;
    p.last_of_area = lba == t->start_lba - 1;
    return p;
  }
  p.relative = int64_t{lba} - t->start_lba;
  p.index = 1;
  p.first_of_index = lba == t->start_lba;
  for (const Index& i : t->indices) {
    if (i.number >= 1 && i.lba <= lba) {
      p.index = i.number;
      if (i.lba == lba) p.first_of_index = true;
    }
  }
  p.last_of_area = lba == t->end_lba - 1;
  return p;
}

constexpr int kMcnPhase = 10;   // (lba + 150) % 100 of MCN frames
constexpr int kIsrcPhase = 60;  // (lba + 150) % 100 of ISRC frames

int phase_of(int32_t lba) {
  int v = static_cast<int>((int64_t{lba} + kMsfLbaShift) % 100);
  return v < 0 ? v + 100 : v;
}

}  // namespace

uint16_t crc16_q(std::span<const uint8_t> data) {
  uint16_t crc = 0;
  for (uint8_t b : data) crc = static_cast<uint16_t>((crc << 8) ^ kCrc16Table[((crc >> 8) ^ b) & 0xFF]);
  return static_cast<uint16_t>(~crc);
}

bool q_crc_ok(std::span<const uint8_t, 12> q) {
  const uint16_t crc = crc16_q(q.first<10>());
  return q[10] == (crc >> 8) && q[11] == (crc & 0xFF);
}

void set_q_crc(std::span<uint8_t, 12> q) {
  const uint16_t crc = crc16_q(std::span<const uint8_t>(q.data(), 10));
  q[10] = static_cast<uint8_t>(crc >> 8);
  q[11] = static_cast<uint8_t>(crc);
}

QFrame encode_position(const QPosition& p) {
  QFrame q{};
  q[0] = static_cast<uint8_t>((p.control << 4) | qadr::kPosition);
  q[1] = p.track == kLeadoutTrack ? kLeadoutTrack : to_bcd(p.track);
  q[2] = to_bcd(p.index);
  q[3] = to_bcd(p.relative.minute);
  q[4] = to_bcd(p.relative.second);
  q[5] = to_bcd(p.relative.frame);
  q[6] = 0;
  q[7] = to_bcd(p.absolute.minute);
  q[8] = to_bcd(p.absolute.second);
  q[9] = to_bcd(p.absolute.frame);
  set_q_crc(q);
  return q;
}

Result<QFrame> encode_mcn(uint8_t control, std::string_view mcn, uint8_t aframe) {
  if (aframe >= kFramesPerSecond) return Status::InvalidArgument("MCN frame: AFRAME " + std::to_string(aframe) + " > 74");
  if (mcn.size() != 13) return Status::InvalidArgument("MCN '" + std::string(mcn) + "': must be 13 digits");
  QFrame q{};
  q[0] = static_cast<uint8_t>((control << 4) | qadr::kMcn);
  for (unsigned i = 0; i < 13; ++i) {
    const char c = mcn[i];
    if (c < '0' || c > '9') return Status::InvalidArgument("MCN '" + std::string(mcn) + "': must be 13 digits");
    put_bits(q, 8 + 4 * i, 4, static_cast<unsigned>(c - '0'));
  }
  // bits 60..71 zero (12 bits), then AFRAME.
  q[9] = to_bcd(aframe);
  set_q_crc(q);
  return q;
}

Result<QFrame> encode_isrc(uint8_t control, std::string_view isrc, uint8_t aframe) {
  auto bad = [&] {
    return Status::InvalidArgument("ISRC '" + std::string(isrc) +
                                   "': must be 5 letters/digits then 7 digits (CCOOOYYSSSSS)");
  };
  if (aframe >= kFramesPerSecond) return Status::InvalidArgument("ISRC frame: AFRAME " + std::to_string(aframe) + " > 74");
  if (isrc.size() != 12) return bad();
  QFrame q{};
  q[0] = static_cast<uint8_t>((control << 4) | qadr::kIsrc);
  unsigned pos = 8;
  for (unsigned i = 0; i < 5; ++i, pos += 6) {
    const int code = isrc_char_code(isrc[i]);
    if (code < 0) return bad();
    put_bits(q, pos, 6, static_cast<unsigned>(code));
  }
  pos += 2;  // two zero bits
  for (unsigned i = 5; i < 12; ++i, pos += 4) {
    const char c = isrc[i];
    if (c < '0' || c > '9') return bad();
    put_bits(q, pos, 4, static_cast<unsigned>(c - '0'));
  }
  // pos == 68: four zero bits, then AFRAME in byte 9.
  q[9] = to_bcd(aframe);
  set_q_crc(q);
  return q;
}

uint8_t q_adr(std::span<const uint8_t, 12> q) { return q[0] & 0x0F; }

std::optional<QPosition> decode_position(std::span<const uint8_t, 12> q) {
  if (q_adr(q) != qadr::kPosition) return std::nullopt;
  for (int i = 2; i <= 9; ++i) {
    if (!valid_bcd_byte(q[i])) return std::nullopt;
  }
  if (q[1] != kLeadoutTrack && !valid_bcd_byte(q[1])) return std::nullopt;
  QPosition p;
  p.control = static_cast<uint8_t>(q[0] >> 4);
  p.track = q[1] == kLeadoutTrack ? kLeadoutTrack : from_bcd(q[1]);
  p.index = from_bcd(q[2]);
  p.relative = Msf{from_bcd(q[3]), from_bcd(q[4]), from_bcd(q[5])};
  p.absolute = Msf{from_bcd(q[7]), from_bcd(q[8]), from_bcd(q[9])};
  return p;
}

std::optional<std::string> decode_mcn(std::span<const uint8_t, 12> q) {
  if (q_adr(q) != qadr::kMcn) return std::nullopt;
  std::string out;
  for (unsigned i = 0; i < 13; ++i) {
    const unsigned d = get_bits(q, 8 + 4 * i, 4);
    if (d > 9) return std::nullopt;
    out.push_back(static_cast<char>('0' + d));
  }
  return out;
}

std::optional<std::string> decode_isrc(std::span<const uint8_t, 12> q) {
  if (q_adr(q) != qadr::kIsrc) return std::nullopt;
  std::string out;
  unsigned pos = 8;
  for (unsigned i = 0; i < 5; ++i, pos += 6) {
    const char c = isrc_code_char(get_bits(q, pos, 6));
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  pos += 2;
  for (unsigned i = 0; i < 7; ++i, pos += 4) {
    const unsigned d = get_bits(q, pos, 4);
    if (d > 9) return std::nullopt;
    out.push_back(static_cast<char>('0' + d));
  }
  return out;
}

QFrame build_q(const Disc& disc, int32_t lba) {
  const Place p = locate(disc, lba);
  const Msf absolute = frames_msf_wrapped(int64_t{lba} + kMsfLbaShift);
  const bool edge = p.first_of_index || p.last_of_area;
  if (p.track != nullptr && !edge) {
    const int phase = phase_of(lba);
    if (phase == kMcnPhase && !disc.mcn.empty()) {
      auto q = encode_mcn(p.control, disc.mcn, absolute.frame);
      if (q.ok()) return q.value();
    }
    if (phase == kIsrcPhase && p.index >= 1 && !p.track->isrc.empty()) {
      auto q = encode_isrc(p.control, p.track->isrc, absolute.frame);
      if (q.ok()) return q.value();
    }
  }
  QPosition pos;
  pos.control = p.control;
  pos.track = p.leadout ? kLeadoutTrack : (p.track ? p.track->number : 1);
  pos.index = p.index;
  pos.relative = frames_msf_wrapped(p.relative);
  pos.absolute = absolute;
  return encode_position(pos);
}

bool build_p(const Disc& disc, int32_t lba) {
  const Place p = locate(disc, lba);
  if (p.leadout) {
    // 2 Hz square wave: 1 for the first half of every 37.5 frames.
    return (p.relative * 4 / kFramesPerSecond) % 2 == 0;
  }
  return p.track != nullptr && p.index == 0;
}

void build_subchannel(const Disc& disc, int32_t lba, std::span<uint8_t, 96> out) {
  const QFrame q = build_q(disc, lba);
  const uint8_t p = build_p(disc, lba) ? 0x80 : 0x00;
  for (size_t i = 0; i < 96; ++i) {
    const uint8_t qbit = static_cast<uint8_t>((q[i / 8] >> (7 - i % 8)) & 1);
    out[i] = static_cast<uint8_t>(p | (qbit << 6));
  }
}

void interleave(const SubchannelChannels& channels, std::span<uint8_t, 96> out) {
  for (size_t i = 0; i < 96; ++i) {
    uint8_t v = 0;
    for (size_t c = 0; c < 8; ++c) {
      const uint8_t bit = static_cast<uint8_t>((channels[c][i / 8] >> (7 - i % 8)) & 1);
      v = static_cast<uint8_t>(v | (bit << (7 - c)));
    }
    out[i] = v;
  }
}

SubchannelChannels deinterleave(std::span<const uint8_t, 96> raw) {
  SubchannelChannels ch{};
  for (size_t i = 0; i < 96; ++i) {
    for (size_t c = 0; c < 8; ++c) {
      const uint8_t bit = static_cast<uint8_t>((raw[i] >> (7 - c)) & 1);
      ch[c][i / 8] = static_cast<uint8_t>(ch[c][i / 8] | (bit << (7 - i % 8)));
    }
  }
  return ch;
}

QFrame extract_q(std::span<const uint8_t, 96> raw) {
  QFrame q{};
  for (size_t i = 0; i < 96; ++i) {
    const uint8_t bit = static_cast<uint8_t>((raw[i] >> 6) & 1);
    q[i / 8] = static_cast<uint8_t>(q[i / 8] | (bit << (7 - i % 8)));
  }
  return q;
}

}  // namespace udisc::disc
