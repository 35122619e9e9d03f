// Stand-ins used only while the MMC command code (mmc_commands.cc,
// mmc_audio.cc) is not part of udisc_device: an empty MMC table (every MMC
// opcode is then 05/20/00) and an AudioPlayer that never plays.
// CMakeLists.txt compiles each half only when its counterpart is absent.
#include "device/command.h"

namespace udisc::device {

#ifndef UDISC_HAVE_MMC_COMMANDS
std::span<const CommandSpec> mmc_command_table() { return {}; }
#endif

#ifndef UDISC_HAVE_MMC_AUDIO
class AudioPlayer {};
void AudioPlayerDeleter::operator()(AudioPlayer* p) const { delete p; }
AudioPlayerPtr make_audio_player() { return AudioPlayerPtr(new AudioPlayer); }
void audio_medium_changed(AudioPlayer& /*player*/) {}
Asc audio_sense_status(AudioPlayer& /*player*/) { return asc::kNoAdditionalSense; }
#endif

}  // namespace udisc::device
