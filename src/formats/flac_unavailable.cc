// open_flac where the build has no libFLAC (the Windows build: Debian ships no
// mingw-w64 libFLAC). A cue sheet with FLAC tracks fails with this message
// instead of reading garbage; WAVE and raw tracks are unaffected.
#include "formats/audio_checks.h"
#include "formats/audio_source.h"

namespace udisc::formats {

Result<std::unique_ptr<AudioSource>> open_flac(std::shared_ptr<RandomAccessFile> file) {
  return Status::NotSupported(quoted(file->name()) +
                              ": FLAC audio is not supported by this build of udisc (built without libFLAC); "
                              "decode the track to WAV (flac -d) and name the .wav in the cue sheet");
}

}  // namespace udisc::formats
