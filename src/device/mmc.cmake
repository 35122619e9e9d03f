# MMC disc-content commands (READ TOC, READ CD, PLAY AUDIO ...), included by
# src/device/CMakeLists.txt after udisc_device and udisc_device_testing exist.
target_sources(udisc_device PRIVATE
  mmc_audio.cc
  mmc_commands.cc
  mmc_info.cc
  mmc_read_cd.cc
  mmc_toc.cc
)

udisc_test(mmc_test
  SOURCES mmc_toc_test.cc mmc_info_test.cc mmc_read_cd_test.cc mmc_audio_test.cc mmc_commands_test.cc
          mmc_drive_test.cc
  LIBS udisc_device udisc_device_testing)

udisc_fuzzer(fuzz_mmc SOURCES mmc_fuzz.cc LIBS udisc_device udisc_device_testing)
