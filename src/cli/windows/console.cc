// The Windows console shows what udisc.exe prints as UTF-8. The manifest makes
// the program's own strings UTF-8 (file names included); the console's output
// code page is still the OEM one (437, 850, ...) unless set, and would show
// any non-ASCII name garbled. Set once, before main, for every command; it is
// a no-op when output goes to a file or pipe.
#include <windows.h>

namespace {

const bool g_console_utf8 = SetConsoleOutputCP(CP_UTF8) != 0;

}  // namespace
