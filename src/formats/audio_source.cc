#include "formats/audio_source.h"

#include "formats/audio_checks.h"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <vector>

namespace udisc::formats {
namespace {

uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}
uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }

}  // namespace

std::string quoted(const std::string& name) { return "'" + name + "'"; }

Status check_read(const std::string& name, uint64_t frames, uint64_t frame, size_t bytes) {
  if (bytes % kBytesPerSampleFrame != 0) {
    return Status::InvalidArgument(quoted(name) + ": read of " + std::to_string(bytes) + " bytes is not whole sample frames");
  }
  const uint64_t n = bytes / kBytesPerSampleFrame;
  if (frame > frames || n > frames - frame) {
    return Status::OutOfRange(quoted(name) + ": sample frames " + std::to_string(frame) + "+" + std::to_string(n) +
                              " past the end (" + std::to_string(frames) + " frames)");
  }
  return Status::Ok();
}

namespace {

// ---- PCM at a fixed offset: RIFF/WAVE data chunk, or headerless ------------

class PcmSource final : public AudioSource {
 public:
  PcmSource(std::shared_ptr<RandomAccessFile> file, uint64_t offset, uint64_t frames)
      : file_(std::move(file)), offset_(offset), frames_(frames) {}
  uint64_t frames() const override { return frames_; }
  const std::string& name() const override { return file_->name(); }
  Status read_pcm(uint64_t frame, std::span<uint8_t> out) const override {
    Status s = check_read(name(), frames_, frame, out.size());
    if (!s.ok() || out.empty()) return s;
    return file_->read_at(offset_ + frame * kBytesPerSampleFrame, out);
  }

 private:
  std::shared_ptr<RandomAccessFile> file_;
  uint64_t offset_;
  uint64_t frames_;
};

}  // namespace

std::string describe_format(unsigned channels, unsigned bits, unsigned rate) {
  return std::to_string(bits) + "-bit " + std::to_string(channels) + "-channel " + std::to_string(rate) + " Hz";
}

Status require_cd_format(const std::string& name, const char* kind, unsigned channels, unsigned bits, unsigned rate) {
  if (channels == 2 && bits == 16 && rate == 44100) return Status::Ok();
  return Status::NotSupported(quoted(name) + ": " + kind + " is " + describe_format(channels, bits, rate) +
                              "; a cue sheet's WAVE file must be 16-bit stereo 44100 Hz");
}

Result<std::unique_ptr<AudioSource>> open_wave(std::shared_ptr<RandomAccessFile> file) {
  const std::string& name = file->name();
  const uint64_t size = file->size();
  std::array<uint8_t, 12> riff{};
  if (size < riff.size() || !file->read_at(0, riff).ok() || std::memcmp(riff.data(), "RIFF", 4) != 0 ||
      std::memcmp(riff.data() + 8, "WAVE", 4) != 0) {
    return Status::Corruption(quoted(name) + ": not a RIFF/WAVE file");
  }
  uint64_t pos = 12;
  bool have_fmt = false;
  for (int chunks = 0; chunks < 1000 && pos + 8 <= size; ++chunks) {
    std::array<uint8_t, 8> hdr{};
    Status s = file->read_at(pos, hdr);
    if (!s.ok()) return s;
    const uint32_t len = le32(hdr.data() + 4);
    const uint64_t body = pos + 8;
    if (std::memcmp(hdr.data(), "fmt ", 4) == 0) {
      if (len < 16 || body + 16 > size) return Status::Corruption(quoted(name) + ": 'fmt ' chunk too short");
      std::array<uint8_t, 40> fmt{};
      const size_t n = static_cast<size_t>(std::min<uint64_t>({len, fmt.size(), size - body}));
      s = file->read_at(body, std::span<uint8_t>(fmt.data(), n));
      if (!s.ok()) return s;
      uint16_t tag = le16(fmt.data());
      if (tag == 0xFFFE && n >= 26) tag = le16(fmt.data() + 24);  // WAVE_FORMAT_EXTENSIBLE: SubFormat GUID
      const unsigned channels = le16(fmt.data() + 2);
      const unsigned rate = le32(fmt.data() + 4);
      const unsigned bits = le16(fmt.data() + 14);
      if (tag != 1) {
        return Status::NotSupported(quoted(name) + ": WAVE format tag " + std::to_string(tag) +
                                    " is not PCM (compressed WAVE is not supported)");
      }
      s = require_cd_format(name, "WAVE PCM", channels, bits, rate);
      if (!s.ok()) return s;
      have_fmt = true;
    } else if (std::memcmp(hdr.data(), "data", 4) == 0) {
      if (!have_fmt) return Status::Corruption(quoted(name) + ": 'data' chunk before 'fmt ' chunk");
      uint64_t bytes = len;
      if (len == 0xFFFFFFFFu || len == 0) {
        bytes = size - body;  // streamed WAVE: data runs to the end of the file
      } else if (bytes > size - body) {
        return Status::Corruption(quoted(name) + ": 'data' chunk says " + std::to_string(bytes) + " bytes but only " +
                                  std::to_string(size - body) + " follow (file truncated)");
      }
      return std::unique_ptr<AudioSource>(
          std::make_unique<PcmSource>(std::move(file), body, bytes / kBytesPerSampleFrame));
    }
    pos = body + len + (len & 1);
  }
  return Status::Corruption(quoted(name) + (have_fmt ? ": no 'data' chunk" : ": no 'fmt ' chunk"));
}

Result<std::unique_ptr<AudioSource>> open_audio(std::shared_ptr<RandomAccessFile> file, bool* headerless) {
  if (headerless != nullptr) *headerless = false;
  std::array<uint8_t, 12> head{};
  const size_t n = static_cast<size_t>(std::min<uint64_t>(file->size(), head.size()));
  if (n > 0) {
    Status s = file->read_at(0, std::span<uint8_t>(head.data(), n));
    if (!s.ok()) return s;
  }
  auto is = [&](const char* magic, size_t at = 0) {
    const size_t len = std::strlen(magic);
    return n >= at + len && std::memcmp(head.data() + at, magic, len) == 0;
  };
  if (is("RIFF") && is("WAVE", 8)) return open_wave(std::move(file));
  if (is("fLaC")) return open_flac(std::move(file));
  if (is("ID3") && n >= 10) {
    // ID3v2 tag: FLAC if "fLaC" follows it, otherwise MP3.
    const uint64_t tag = 10 + ((uint64_t{head[6]} & 0x7F) << 21 | (uint64_t{head[7]} & 0x7F) << 14 |
                               (uint64_t{head[8]} & 0x7F) << 7 | (uint64_t{head[9]} & 0x7F));
    std::array<uint8_t, 4> magic{};
    if (tag + 4 <= file->size() && file->read_at(tag, magic).ok() && std::memcmp(magic.data(), "fLaC", 4) == 0) {
      return open_flac(std::move(file));
    }
    return Status::NotSupported("'" + file->name() + "': MP3 audio is not supported (use WAV or FLAC)");
  }
  const char* unsupported = nullptr;
  if (is("FORM") && (is("AIFF", 8) || is("AIFC", 8))) unsupported = "AIFF";
  if (is("OggS")) unsupported = "Ogg";
  if (is("RIFF")) unsupported = "RIFF but not WAVE";
  if (is("RF64")) unsupported = "RF64";
  if (is("MAC ")) unsupported = "Monkey's Audio (APE)";
  if (is("wvpk")) unsupported = "WavPack";
  if (is("TTA1")) unsupported = "TTA";
  if (n >= 2 && head[0] == 0xFF && (head[1] & 0xE0) == 0xE0 && (head[1] & 0x06) != 0) unsupported = "MP3";
  if (unsupported != nullptr) {
    return Status::NotSupported("'" + file->name() + "': " + unsupported + " audio is not supported (use WAV or FLAC)");
  }
  if (headerless != nullptr) *headerless = true;
  const uint64_t frames = file->size() / kBytesPerSampleFrame;
  return std::unique_ptr<AudioSource>(std::make_unique<PcmSource>(std::move(file), 0, frames));
}

}  // namespace udisc::formats
