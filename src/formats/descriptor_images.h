// Readers of the descriptor formats dumping tools write (each in its own
// file, each building a TrackImage; docs/formats/<format>.md):
//   ccd_image.cc  CloneCD .ccd + .img (+ .sub)
//   mds_image.cc  Alcohol 120% .mds (v1, v2) + .mdf, DAEMON Tools .mdx (mds_v2.cc)
//   nrg_image.cc  Nero .nrg (v1 "NERO" and v2 "NER5" footers)
//   toc_image.cc  cdrdao .toc + its data files
//   cdi_image.cc  DiscJuggler .cdi (v2, v3, v3.5)
// open_image (open.h) picks among them by content; these entry points let
// tests and fuzzers open one format directly. Companions come only through
// `resolve`, under the names *_companions returns.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "formats/companions.h"
#include "formats/file.h"
#include "formats/open.h"
#include "util/status.h"

namespace udisc::formats {

// Whether the head of a file is a CloneCD control file ("[CloneCD]" first section).
bool looks_like_ccd(std::span<const uint8_t> head);
Result<ImagePtr> open_ccd(const RandomAccessFile& ccd, const FileResolver& resolve);
// "<base>.img" and "<base>.sub" for "<base>.ccd" (the .sub may be absent).
std::vector<std::string> ccd_companions(const std::string& ccd_name);

// "MEDIA DESCRIPTOR" signature.
bool looks_like_mds(std::span<const uint8_t> head);
// An MDX keeps its data in itself: open it through the shared_ptr overload
// (the reference one asks `resolve` for the file's own name).
Result<ImagePtr> open_mds(const RandomAccessFile& mds, const FileResolver& resolve);
Result<ImagePtr> open_mds(std::shared_ptr<RandomAccessFile> mds, const FileResolver& resolve);
Result<std::vector<std::string>> mds_companions(const RandomAccessFile& mds);
// A version 2 descriptor as mds_v2 decrypts it (its 18 bytes of signature and
// version first), read as if it came from `named_as`: lets the fuzzer reach
// the version 2 layout without going through the cipher.
Result<ImagePtr> open_mds_v2_descriptor(std::vector<uint8_t> descriptor, const RandomAccessFile& named_as, bool mdx,
                                        const FileResolver& resolve);

// Nero footer ("NER5" 12 bytes before the end, or "NERO" 8 bytes before it).
bool looks_like_nrg(const RandomAccessFile& file);
Result<ImagePtr> open_nrg(std::shared_ptr<RandomAccessFile> nrg);

// DiscJuggler footer: version 0x80000004..6 and a descriptor offset in the last
// 8 bytes, pointing at a session count of 1..99.
bool looks_like_cdi(const RandomAccessFile& file);
Result<ImagePtr> open_cdi(std::shared_ptr<RandomAccessFile> cdi);

// Text whose first word (after // comments) is a TOC header keyword
// (CD_DA, CD_ROM, CD_ROM_XA, CD_I, CATALOG, TRACK, CD_TEXT).
bool looks_like_toc(std::span<const uint8_t> head);
Result<ImagePtr> open_toc(const RandomAccessFile& toc, const FileResolver& resolve);
// The files its FILE / AUDIOFILE / DATAFILE statements name.
Result<std::vector<std::string>> toc_companions(const RandomAccessFile& toc);

}  // namespace udisc::formats
