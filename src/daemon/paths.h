// The daemon's default paths, in a header of their own (no POSIX types) so
// that portable code, e.g. the man page text of src/cli/manpage.cc, which the
// Windows build compiles too, can name them without the daemon's headers.
#pragma once

namespace udisc::daemon {

inline constexpr char kDefaultSocketPath[] = "/run/udisc/control.sock";
inline constexpr char kDefaultStatePath[] = "/var/lib/udisc/state.json";

}  // namespace udisc::daemon
