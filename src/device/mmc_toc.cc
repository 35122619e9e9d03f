// READ TOC/PMA/ATIP (43h), MMC-6 6.26.
#include "device/mmc_toc.h"

#include <algorithm>
#include <string>

#include "device/wire.h"
#include "disc/subchannel.h"

namespace udisc::device::mmc {
namespace {

constexpr uint8_t kLeadout = 0xAA;
constexpr uint8_t kPointFirstTrack = 0xA0;
constexpr uint8_t kPointLastTrack = 0xA1;
constexpr uint8_t kPointLeadout = 0xA2;
constexpr uint8_t kPointNextProgramArea = 0xB0;  // ADR 5, multisession
constexpr uint8_t kPointFirstLeadIn = 0xC0;      // ADR 5, session 1 of a multisession disc
constexpr uint8_t kAdrPosition = 1;
constexpr uint8_t kAdrMode5 = 5;
constexpr uint8_t kMode5Control = 0;                      // CONTROL of B0/C0 (see render_format2)
constexpr disc::Msf kPressedFirstLeadIn{95, 0, 0};        // C0 PMIN/PSEC/PFRAME (see render_format2)

// A TOC view that covers CD media (tracks of the model) and DVD/BD media
// (MMC-6 6.26.3.2.x: one track at LBA 0, lead-out at the capacity).
struct TocTrack {
  uint8_t number;
  uint8_t session;
  uint8_t control;
  int32_t start;
};

std::vector<TocTrack> toc_tracks(const disc::Disc& disc) {
  std::vector<TocTrack> out;
  if (!is_cd_media(disc) || disc.tracks.empty()) {
    out.push_back({1, 1, disc::control::kDataTrack, 0});
    return out;
  }
  for (const disc::Track& t : disc.tracks) out.push_back({t.number, t.session, track_control(t), t.start_lba});
  return out;
}

uint8_t last_session_number(const disc::Disc& disc) {
  return disc.sessions.empty() ? 1 : disc.sessions.back().number;
}

// MMC-6 6.26.3.2 Response Format 0000b: 4-byte header, 8-byte descriptors.
Outcome<Bytes> render_format0(const disc::Disc& disc, bool msf, uint8_t start_track) {
  const std::vector<TocTrack> tracks = toc_tracks(disc);
  const uint8_t first = tracks.front().number;
  const uint8_t last = tracks.back().number;
  // The lead-out carries the CONTROL of the last track, as real drives report.
  const uint8_t leadout_control = tracks.back().control;
  std::vector<TocTrack> selected;
  if (start_track == kLeadout) {
    // Only the lead-out descriptor.
  } else if (start_track <= last) {
    for (const TocTrack& t : tracks) {
      if (t.number >= start_track) selected.push_back(t);
    }
  } else {
    return ScsiError::invalid_field(6);  // Track/Session Number beyond the last track
  }
  selected.push_back({kLeadout, 0, leadout_control, disc.leadout_lba()});

  Bytes out(4 + 8 * selected.size());
  wire::ByteWriter w(out);
  w.u16(static_cast<uint16_t>(out.size() - 2));  // TOC Data Length
  w.u8(first).u8(last);                           // First / Last Track Number
  for (const TocTrack& t : selected) {
    w.u8(0);                                       // reserved
    w.u8(adr_control(kAdrPosition, t.control));    // ADR / CONTROL
    w.u8(t.number);                                // Track Number
    w.u8(0);                                       // reserved
    w.u32(address_field(t.start, msf));            // Track Start Address
  }
  return out;
}

// MMC-6 6.26.3.3 Response Format 0001b: first track of the last complete session.
Outcome<Bytes> render_format1(const disc::Disc& disc, bool msf) {
  const std::vector<TocTrack> tracks = toc_tracks(disc);
  const uint8_t last_session = last_session_number(disc);
  const TocTrack* first_in_last = &tracks.front();
  for (const TocTrack& t : tracks) {
    if (t.session == last_session) {
      first_in_last = &t;
      break;
    }
  }
  Bytes out(12);
  wire::ByteWriter w(out);
  w.u16(10);                                        // TOC Data Length
  w.u8(disc.sessions.empty() ? 1 : disc.sessions.front().number);  // First Complete Session Number
  w.u8(last_session);                               // Last Complete Session Number
  w.u8(0);
  w.u8(adr_control(kAdrPosition, first_in_last->control));
  w.u8(first_in_last->number);                      // First Track Number In Last Complete Session
  w.u8(0);
  w.u32(address_field(first_in_last->start, msf));  // Start Address of First Track in Last Session
  return out;
}

// One 11-byte full-TOC descriptor (MMC-6 6.26.3.4, Table 487).
void put_full_descriptor(wire::ByteWriter& w, uint8_t session, uint8_t adr, uint8_t control, uint8_t point,
                         disc::Msf time, uint8_t zero, disc::Msf ptime) {
  w.u8(session).u8(adr_control(adr, control)).u8(0 /* TNO */).u8(point);
  w.u8(time.minute).u8(time.second).u8(time.frame).u8(zero);
  w.u8(ptime.minute).u8(ptime.second).u8(ptime.frame);
}

// MMC-6 6.26.3.4 Response Format 0010b: the Q sub-channel points of the
// lead-in of each session >= the requested one. Addresses are always MSF
// (binary), whatever the MSF bit: drive firmware forces it (Sunext
// gp_rdtoc.c, format 2: "St_MSF = TRUE; /* Only MSF format */"). Order: A0,
// A1, A2, tracks, then B0/C0 (mode 5) when present.
Outcome<Bytes> render_format2(const disc::Disc& disc, uint8_t start_session) {
  if (!is_cd_media(disc) || disc.sessions.empty()) return ScsiError::invalid_field(2);
  const uint8_t first_session = disc.sessions.front().number;
  const uint8_t last_session = disc.sessions.back().number;
  if (start_session == 0) start_session = first_session;
  if (start_session > last_session) return ScsiError::invalid_field(6);
  const bool multisession = disc.sessions.size() > 1;

  Bytes out(4 + 11 * (disc.sessions.size() * 5 + disc.tracks.size()));
  wire::ByteWriter w(out);
  w.u16(0).u8(first_session).u8(last_session);
  for (size_t si = 0; si < disc.sessions.size(); ++si) {
    const disc::Session& s = disc.sessions[si];
    if (s.number < start_session) continue;
    const disc::Track* first = disc.track(s.first_track);
    const disc::Track* last = disc.track(s.last_track);
    if (first == nullptr || last == nullptr) continue;  // rejected by disc::validate
    const uint8_t first_ctl = track_control(*first);
    const uint8_t last_ctl = track_control(*last);
    // A0: PMIN = first track number, PSEC = disc type.
    put_full_descriptor(w, s.number, kAdrPosition, first_ctl, kPointFirstTrack, {}, 0,
                        {s.first_track, cd_disc_type(disc), 0});
    // A1: PMIN = last track number.
    put_full_descriptor(w, s.number, kAdrPosition, last_ctl, kPointLastTrack, {}, 0, {s.last_track, 0, 0});
    // A2: start of the session's lead-out.
    put_full_descriptor(w, s.number, kAdrPosition, last_ctl, kPointLeadout, {}, 0, disc::lba_to_msf(s.leadout_lba));
    for (const disc::Track& t : disc.tracks) {
      if (t.session != s.number) continue;
      put_full_descriptor(w, s.number, kAdrPosition, track_control(t), t.number, {}, 0, t.start_msf());
    }
    if (multisession && si + 1 < disc.sessions.size()) {
      // Mode-5 points of a pressed multisession disc, as real drives report
      // them from the lead-in of session 1 (values checked against dumps of
      // pressed discs: saramibreak/DiscImageCreator execScsiCmdforCD.cpp,
      // SetAndOutputTocFull, Full TOC of "Rayman (USA) [SS]" / "Wolfchild
      // (Europe) [MCD]"; saramibreak/DiscImageCreator issue #43 for C0 on
      // non-recordable media). CONTROL is 0 on both points whatever the
      // tracks are ("Session 1, Ctl 0, Adr 5, Point 0xb0/0xc0").
      //
      // B0 (MMC-6 Table 489, Orange Book): MIN/SEC/FRAME = start of the next
      // program area (the next session's first track, including its pregap),
      // ZERO = number of mode-5 pointers in this lead-in, PMIN/PSEC/PFRAME =
      // start of the outermost lead-out. A pressed disc has no ATIP "last
      // possible lead-out": it reports its real final lead-out (16:19:71 on
      // the dump above, equal to session 2's A2), not 79:59:74.
      const disc::Track* next_first = disc.track(disc.sessions[si + 1].first_track);
      const int32_t next_area = next_first != nullptr ? std::max(next_first->pregap_lba, 0) : s.leadout_lba;
      const uint8_t pointers = si == 0 ? 2 : 1;
      put_full_descriptor(w, s.number, kAdrMode5, kMode5Control, kPointNextProgramArea, disc::lba_to_msf(next_area),
                          pointers, disc::lba_to_msf(disc.leadout_lba()));
      if (si == 0) {
        // C0: MIN = optimum recording power, SEC = application code, FRAME =
        // disc type; all 00h on non-recordable media (no ATIP to copy them
        // from). PMIN/PSEC/PFRAME = start of the first lead-in: 95:00:00 on
        // the pressed dumps above (CDEmu uses the same value).
        put_full_descriptor(w, s.number, kAdrMode5, kMode5Control, kPointFirstLeadIn, {}, 0, kPressedFirstLeadIn);
      }
    }
  }
  out.resize(w.size());
  wire::ByteWriter(out).put_u16(0, static_cast<uint16_t>(out.size() - 2));
  return out;
}

// MMC-6 6.26.3.7 Response Format 0101b: CD-TEXT packs from the lead-in.
Outcome<Bytes> render_format5(const disc::Disc& disc) {
  if (!is_cd_media(disc)) return ScsiError::invalid_field(2);
  const Bytes packs = cd_text_packs(disc);
  // No CD-TEXT: the 4-byte header alone, data length 0002h.
  Bytes out(4 + packs.size());
  wire::ByteWriter w(out);
  w.u16(static_cast<uint16_t>(out.size() - 2)).u8(0).u8(0);
  w.bytes(packs);
  return out;
}

// The string of `type` for the disc (track 0) or a track.
const std::string& cd_text_field(const disc::CdText& t, uint8_t type) {
  switch (type) {
    case 0x80: return t.title;
    case 0x81: return t.performer;
    default: return t.songwriter;
  }
}

}  // namespace

Outcome<TocRequest> decode_read_toc(std::span<const uint8_t> cdb) {
  TocRequest r;
  r.msf = wire::get_bit(cdb, 1, 1);
  uint8_t format = wire::get_bits(cdb, 2, 0, 4);
  r.track_or_session = wire::get_u8(cdb, 6);
  r.allocation_length = wire::get_u16(cdb, 7);
  const uint8_t sff_format = wire::get_bits(cdb, 9, 6, 2);
  if (format == 0 && sff_format != 0) {
    // SFF-8020i: control byte bits 7-6 select the format (01b session
    // information, 10b full TOC); 11b is reserved.
    if (sff_format == 3) return ScsiError::invalid_field(9, 7);
    format = sff_format;
  }
  if (format > static_cast<uint8_t>(TocFormat::cd_text)) return ScsiError::invalid_field(2, 3);
  r.format = static_cast<TocFormat>(format);
  return r;
}

Outcome<Bytes> render_toc(const disc::Disc& disc, TocFormat format, bool msf, uint8_t track_or_session) {
  switch (format) {
    case TocFormat::toc: return render_format0(disc, msf, track_or_session);
    case TocFormat::session_info: return render_format1(disc, msf);
    case TocFormat::full_toc: return render_format2(disc, track_or_session);
    case TocFormat::pma:
    case TocFormat::atip:
      // A pressed (ROM) medium has no PMA and no ATIP. What a ROM drive
      // answers, from real firmware (Sunext DVD/BD-ROM drive firmware,
      // gp_rdtoc.c CDReadTOCCommand): on CD media formats 0011b and 0100b
      // end with ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE (05/20/00);
      // on DVD/BD media (dvrRdTOC.c DVDReadTOCCommand) every format above
      // 0001b is INVALID FIELD IN CDB (05/24/00).
      if (!is_cd_media(disc)) return ScsiError::invalid_field(2, 3);
      return ScsiError{SenseKey::illegal_request, asc::kInvalidCommandOperationCode, std::nullopt, std::nullopt};
    case TocFormat::cd_text: return render_format5(disc);
  }
  return ScsiError::invalid_field(2, 3);
}

uint16_t cd_text_crc(std::span<const uint8_t> pack16) { return disc::crc16_q(pack16.first(std::min<size_t>(16, pack16.size()))); }

Bytes cd_text_packs(const disc::Disc& disc) {
  if (!is_cd_media(disc) || disc.tracks.empty()) return {};
  const uint8_t first_track = disc.tracks.front().number;
  const uint8_t last_track = disc.tracks.back().number;
  static const std::string kNone;
  auto text_of = [&](uint8_t track, uint8_t type) -> const std::string& {
    if (track == 0) return cd_text_field(disc.cd_text, type);
    const disc::Track* t = disc.track(track);
    return t != nullptr ? cd_text_field(t->cd_text, type) : kNone;
  };
  // A CD-TEXT block holds at most 256 packs (8-bit sequence numbers), three
  // of them the size information.
  constexpr uint8_t kMaxTextPacks = 253;

  Bytes out;
  uint8_t sequence = 0;
  std::array<uint8_t, 16> packs_per_type{};  // 80h..8Fh
  auto emit = [&](uint8_t type, uint8_t track, uint8_t char_pos, std::span<const uint8_t, 12> text) {
    uint8_t pack[18] = {};
    pack[0] = type;
    pack[1] = track;
    pack[2] = sequence++;
    pack[3] = std::min<uint8_t>(char_pos, 15);  // DBCC 0, block 0, character position
    std::copy(text.begin(), text.end(), pack + 4);
    const uint16_t crc = cd_text_crc(std::span<const uint8_t>(pack, 16));
    pack[16] = static_cast<uint8_t>(crc >> 8);
    pack[17] = static_cast<uint8_t>(crc);
    out.insert(out.end(), pack, pack + 18);
    ++packs_per_type[type & 0x0F];
  };

  for (uint8_t type : {uint8_t{0x80}, uint8_t{0x81}, uint8_t{0x82}}) {
    bool any = !text_of(0, type).empty();
    for (uint8_t t = first_track; t <= last_track; ++t) any = any || !text_of(t, type).empty();
    if (!any) continue;
    // The text stream: NUL-terminated strings for the disc, then each track.
    struct Piece {
      uint8_t track;
      std::string s;
    };
    std::vector<Piece> pieces;
    pieces.push_back({0, text_of(0, type)});
    for (uint8_t t = first_track; t <= last_track; ++t) pieces.push_back({t, text_of(t, type)});
    std::vector<uint8_t> stream;
    std::vector<uint8_t> owner;     // track of each stream byte
    std::vector<uint8_t> position;  // character position within its string
    for (const Piece& p : pieces) {
      for (size_t i = 0; i <= p.s.size(); ++i) {
        stream.push_back(i < p.s.size() ? static_cast<uint8_t>(p.s[i]) : 0);
        owner.push_back(p.track);
        position.push_back(static_cast<uint8_t>(std::min<size_t>(i, 15)));
      }
    }
    for (size_t off = 0; off < stream.size() && sequence < kMaxTextPacks; off += 12) {
      std::array<uint8_t, 12> text{};
      for (size_t i = 0; i < 12 && off + i < stream.size(); ++i) text[i] = stream[off + i];
      emit(type, owner[off], position[off], text);
    }
  }
  if (out.empty()) return out;

  // Size information (8Fh): three packs carrying 36 bytes (Red Book CD-TEXT):
  // character code, first/last track, copyright, pack counts per type
  // 80h..8Fh, last sequence number per block, language code per block.
  packs_per_type[0x0F] = 3;
  const uint8_t last_sequence = static_cast<uint8_t>(sequence + 2);
  std::array<uint8_t, 36> info{};
  info[0] = 0x00;  // ISO 8859-1
  info[1] = first_track;
  info[2] = last_track;
  info[3] = 0x00;  // no copyright flags
  std::copy(packs_per_type.begin(), packs_per_type.end(), info.begin() + 4);
  info[20] = last_sequence;  // block 0
  info[28] = 0x09;           // language of block 0: English
  for (uint8_t i = 0; i < 3; ++i) {
    std::array<uint8_t, 12> text{};
    std::copy(info.begin() + 12 * i, info.begin() + 12 * (i + 1), text.begin());
    emit(0x8F, i, 0, text);
  }
  return out;
}

}  // namespace udisc::device::mmc
