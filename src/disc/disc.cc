#include "disc/disc.h"

#include <algorithm>
#include <string>

namespace udisc::disc {

const char* to_string(TrackMode m) {
  switch (m) {
    case TrackMode::audio: return "audio";
    case TrackMode::mode1: return "mode1";
    case TrackMode::mode2: return "mode2";
    case TrackMode::mode2_form1: return "mode2_form1";
    case TrackMode::mode2_form2: return "mode2_form2";
  }
  return "?";
}

bool is_data(TrackMode m) { return m != TrackMode::audio; }

uint32_t user_data_size(TrackMode m) {
  switch (m) {
    case TrackMode::audio: return 2352;
    case TrackMode::mode1: return 2048;
    case TrackMode::mode2: return 2336;
    case TrackMode::mode2_form1: return 2048;
    case TrackMode::mode2_form2: return 2324;
  }
  return 2048;
}

const char* to_string(DiscClass c) {
  switch (c) {
    case DiscClass::cd_da: return "cd-da";
    case DiscClass::cd_rom: return "cd-rom";
    case DiscClass::cd_rom_xa: return "cd-rom-xa";
    case DiscClass::dvd_rom_single_layer: return "dvd-rom-sl";
    case DiscClass::dvd_rom_dual_layer: return "dvd-rom-dl";
    case DiscClass::bd_rom: return "bd-rom";
  }
  return "?";
}

bool is_cd(DiscClass c) { return c == DiscClass::cd_da || c == DiscClass::cd_rom || c == DiscClass::cd_rom_xa; }
bool is_dvd(DiscClass c) { return c == DiscClass::dvd_rom_single_layer || c == DiscClass::dvd_rom_dual_layer; }

const Track* Disc::track_at(int32_t lba) const {
  for (const Track& t : tracks) {
    if (lba >= t.pregap_lba && lba < t.end_lba) return &t;
  }
  return nullptr;
}

const Track* Disc::track(uint8_t number) const {
  for (const Track& t : tracks) {
    if (t.number == number) return &t;
  }
  return nullptr;
}

const Session* Disc::session(uint8_t number) const {
  for (const Session& s : sessions) {
    if (s.number == number) return &s;
  }
  return nullptr;
}

uint8_t Disc::index_at(int32_t lba) const {
  const Track* t = track_at(lba);
  if (t == nullptr) return 1;
  if (lba < t->start_lba) return 0;
  uint8_t index = 1;
  for (const Index& i : t->indices) {
    if (i.number >= 1 && i.lba <= lba) index = i.number;
  }
  return index;
}

// Plain 2048-byte images carry no medium type, so we infer it from the size,
// the way users expect a drive to present them (docs/formats/iso.md):
//   <= 405000 sectors (90 min CD, 829 MB)            -> CD-ROM
//   <= 2295104 sectors (DVD-ROM single layer, 4.7 GB) -> DVD-ROM SL
//   <= 4173824 sectors (DVD-ROM dual layer, 8.5 GB)   -> DVD-ROM DL
//   larger                                           -> BD-ROM
DiscClass classify_plain_image(uint64_t sectors) {
  if (sectors <= 405000) return DiscClass::cd_rom;
  if (sectors <= 2295104) return DiscClass::dvd_rom_single_layer;
  if (sectors <= 4173824) return DiscClass::dvd_rom_dual_layer;
  return DiscClass::bd_rom;
}

Status validate(const Disc& disc) {
  if (disc.tracks.empty()) return Status::Corruption("disc has no tracks");
  if (disc.tracks.size() > 99) return Status::Corruption("disc has more than 99 tracks");
  if (disc.sessions.empty()) return Status::Corruption("disc has no sessions");
  int expected = disc.tracks.front().number;
  int32_t previous_end = disc.tracks.front().pregap_lba;
  for (const Track& t : disc.tracks) {
    const std::string where = "track " + std::to_string(t.number);
    if (t.number < 1 || t.number > 99) return Status::Corruption(where + ": number outside 1..99");
    if (t.number != expected) return Status::Corruption(where + ": expected track " + std::to_string(expected));
    ++expected;
    if (t.pregap_lba > t.start_lba) return Status::Corruption(where + ": pregap starts after index 1");
    if (t.start_lba >= t.end_lba) return Status::Corruption(where + ": has no sectors after index 1");
    if (t.pregap_lba < previous_end) return Status::Corruption(where + ": overlaps the previous track");
    if (t.postgap < 0 || t.postgap >= t.length() + 1) return Status::Corruption(where + ": bad postgap");
    previous_end = t.end_lba;
    if (disc.session(t.session) == nullptr) return Status::Corruption(where + ": session " + std::to_string(t.session) + " not on disc");
    for (size_t i = 1; i < t.indices.size(); ++i) {
      if (t.indices[i].number <= t.indices[i - 1].number || t.indices[i].lba < t.indices[i - 1].lba) {
        return Status::Corruption(where + ": indices out of order");
      }
    }
  }
  for (const Session& s : disc.sessions) {
    const Track* first = disc.track(s.first_track);
    const Track* last = disc.track(s.last_track);
    if (first == nullptr || last == nullptr || s.first_track > s.last_track) {
      return Status::Corruption("session " + std::to_string(s.number) + ": bad track range");
    }
    if (s.leadout_lba < last->end_lba) return Status::Corruption("session " + std::to_string(s.number) + ": lead-out before last track ends");
  }
  return Status::Ok();
}

}  // namespace udisc::disc
