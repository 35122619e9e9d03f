// CUE/BIN reader internals that tests and fuzzers use directly.
//
// open_cue(path) (declared in open.h) reads the sheet, resolves each FILE
// relative to the sheet's folder and calls open_cue_sheet. Callers that keep
// files elsewhere (the fuzzer keeps them in memory) pass their own resolver.
// Layout rules (pregaps, postgaps, sessions, file offsets) are described in
// docs/formats/cue.md. The resulting image is immutable and thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "formats/companions.h"
#include "formats/cue_sheet.h"
#include "formats/file.h"
#include "formats/open.h"
#include "util/status.h"

namespace udisc::formats {

// Given a FILE name exactly as written in the sheet, returns the opened file.
using CueFileResolver = FileResolver;

// Distance from one session's lead-out start to the next session's first
// track: lead-out (6750 sectors after the first session, 2250 after later
// ones) plus the next lead-in (4500). The next track's pregap (150 sectors
// when the sheet gives none) follows, so index 01 lies 11400 / 6900 sectors
// after the previous lead-out start (Orange Book; cdrecord -msinfo; libmirage).
inline constexpr int32_t kFirstSessionGap = 6750 + 4500;
inline constexpr int32_t kLaterSessionGap = 2250 + 4500;
inline constexpr int32_t kSessionPregap = 150;

// Builds the image of the cue sheet `text` named `cue_name` (used in every
// message). Warnings (ignored keywords, trailing bytes, ...) are appended to
// `warnings` when given.
Result<ImagePtr> open_cue_sheet(std::string_view text, const std::string& cue_name, const CueFileResolver& resolve,
                                std::vector<std::string>* warnings = nullptr);

// The sheet's text (at most 1 MiB; Corruption naming the file beyond that).
Result<std::string> read_cue_text(const RandomAccessFile& sheet);
// open_cue_sheet on the text of `sheet`, named by sheet.name().
Result<ImagePtr> open_cue_file(const RandomAccessFile& sheet, const FileResolver& resolve);

}  // namespace udisc::formats
