// Raw CD-TEXT packs into the disc model (see cd_text_packs.h).
#include "formats/cd_text_packs.h"

#include <string>
#include <vector>

namespace udisc::formats {
namespace {

constexpr size_t kPack = 18;
constexpr size_t kPayload = 12;

std::string* field(disc::CdText& text, uint8_t type) {
  switch (type) {
    case 0x80: return &text.title;
    case 0x81: return &text.performer;
    case 0x82: return &text.songwriter;
    default: return nullptr;
  }
}

}  // namespace

Status decode_cd_text_packs(std::span<const uint8_t> packs, disc::Disc& d) {
  if (packs.size() % kPack != 0) {
    return Status::Corruption("CD-TEXT: " + std::to_string(packs.size()) + " bytes is not a whole number of 18-byte packs");
  }
  for (uint8_t type : {uint8_t{0x80}, uint8_t{0x81}, uint8_t{0x82}}) {
    int first_track = -1;
    std::vector<uint8_t> stream;
    for (size_t at = 0; at < packs.size(); at += kPack) {
      const uint8_t* p = packs.data() + at;
      const bool block0 = (p[3] & 0x70) == 0, single_byte = (p[3] & 0x80) == 0;
      if (p[0] != type || !block0 || !single_byte || (p[1] & 0x80) != 0) continue;
      if (first_track < 0) first_track = p[1] & 0x7F;
      stream.insert(stream.end(), p + 4, p + 4 + kPayload);
    }
    if (first_track < 0) continue;
    int track = first_track;
    std::string previous, current;
    for (uint8_t c : stream) {
      if (c != 0) {
        current.push_back(static_cast<char>(c));
        continue;
      }
      if (current == "\t") current = previous;
      disc::CdText* text = nullptr;
      if (track == 0) {
        text = &d.cd_text;
      } else {
        for (auto& t : d.tracks) {
          if (t.number == track) text = &t.cd_text;
        }
      }
      if (text == nullptr && !current.empty()) {
        return Status::Corruption("CD-TEXT: pack type " + std::to_string(type) + " has text for track " +
                                  std::to_string(track) + ", which the disc does not have");
      }
      if (text != nullptr) {
        std::string* f = field(*text, type);
        if (f->empty()) *f = current;
      }
      previous = current;
      current.clear();
      if (++track > 99) break;
    }
  }
  return Status::Ok();
}

}  // namespace udisc::formats
