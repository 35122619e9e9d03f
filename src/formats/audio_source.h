// Audio files referenced by a cue sheet's FILE ... WAVE: PCM in RIFF/WAVE,
// or FLAC decoded with libFLAC.
//
// An AudioSource presents CD-DA samples: 16-bit signed, stereo, 44100 Hz,
// little-endian, left then right (4 bytes per sample frame; 588 frames = one
// 2352-byte sector), exactly as a raw audio sector stores them.
//
// Opening reads only headers (WAVE: the 'fmt ' and 'data' chunk headers;
// FLAC: STREAMINFO), never the audio. read_pcm is thread-safe and stateless
// from the caller's view (FLAC serialises access to its decoders internally
// and seeks sample-accurately). Files that are not 16-bit stereo 44100 Hz
// PCM are rejected with NotSupported naming the file and what it is.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "formats/file.h"
#include "util/status.h"

namespace udisc::formats {

inline constexpr uint32_t kBytesPerSampleFrame = 4;
inline constexpr uint32_t kSampleFramesPerSector = 588;

class AudioSource {
 public:
  virtual ~AudioSource() = default;
  // Number of sample frames in the file.
  virtual uint64_t frames() const = 0;
  // Reads out.size() / 4 sample frames starting at `frame` (out.size() must be
  // a multiple of 4). Reading past frames() is OutOfRange; a damaged file is
  // Corruption; failing storage IoError. Messages name the file.
  virtual Status read_pcm(uint64_t frame, std::span<uint8_t> out) const = 0;
  virtual const std::string& name() const = 0;
};

// RIFF/WAVE with a PCM (or WAVE_FORMAT_EXTENSIBLE PCM) 'fmt ' chunk.
Result<std::unique_ptr<AudioSource>> open_wave(std::shared_ptr<RandomAccessFile> file);
// A native FLAC stream ("fLaC", optionally after an ID3v2 tag).
Result<std::unique_ptr<AudioSource>> open_flac(std::shared_ptr<RandomAccessFile> file);
// Chooses by content: RIFF/WAVE, FLAC; AIFF, MP3, Ogg and others are
// NotSupported. A file with none of these signatures is read as headerless
// little-endian PCM (what some tools write for FILE "x.bin" WAVE); `headerless`
// is set so the caller can warn.
Result<std::unique_ptr<AudioSource>> open_audio(std::shared_ptr<RandomAccessFile> file, bool* headerless = nullptr);

}  // namespace udisc::formats
