// resolve_reference (the Windows build's resolve_url) against libcurl's
// resolution (the Linux build's resolve_url) on the names images hold.
#include "remote/url_reference.h"

#include <gtest/gtest.h>

#include "remote/http_file.h"

namespace udisc::remote {
namespace {

TEST(UrlReference, SameAsLibcurl) {
  const char* bases[] = {"http://127.0.0.1:8080/images/disc.cue", "https://h/a/b/c.cue?token=x#frag",
                         "http://h/top.cue", "http://h"};
  const char* refs[] = {"disc (Track 1).bin", "sub\\x.bin", "../up.bin", "../../../over.bin", "./a.bin",
                        "/abs/path.bin", "http://other:81/x.bin", "caf\xc3\xa9 \xe3\x83\x87.bin", "a%20b.bin",
                        "dir/", "..", ".", "a/./b/../c.bin", "tab\there.bin"};
  for (const char* base : bases) {
    for (const char* ref : refs) {
      auto curl = resolve_url(base, ref);
      auto ours = resolve_reference(base, ref);
      ASSERT_EQ(ours.ok(), curl.ok()) << base << " + " << ref << ": "
                                      << (ours.ok() ? curl.status().message() : ours.status().message());
      if (curl.ok()) {
        EXPECT_EQ(*ours, *curl) << base << " + " << ref;
      }
    }
  }
}

TEST(UrlReference, NotAUrlBaseIsAnError) {
  EXPECT_FALSE(resolve_reference("/local/disc.cue", "a.bin").ok());
}

}  // namespace
}  // namespace udisc::remote
