#include "remote/http_headers.h"

#include <gtest/gtest.h>

namespace udisc::remote {
namespace {

TEST(HttpHeaders, StatusAndHeadersOfTheLastResponse) {
  ResponseHeaders h;
  parse_header_line("HTTP/1.1 302 Found\r\n", h);
  parse_header_line("ETag: \"old\"\r\n", h);
  parse_header_line("HTTP/1.1 206 Partial Content\r\n", h);
  parse_header_line("content-range: bytes 0-0/3375104\r\n", h);
  parse_header_line("ETag:   \"6b15cb37-338000\"  \r\n", h);
  parse_header_line("Last-Modified: Sun, 06 Dec 2026 20:46:15 GMT\r\n", h);
  parse_header_line("Accept-Ranges: bytes\r\n", h);
  parse_header_line("\r\n", h);
  EXPECT_EQ(h.status, 206);
  EXPECT_EQ(h.content_range, "bytes 0-0/3375104");
  EXPECT_EQ(h.etag, "\"6b15cb37-338000\"");
  EXPECT_EQ(h.last_modified, "Sun, 06 Dec 2026 20:46:15 GMT");
  EXPECT_EQ(h.accept_ranges, "bytes");
}

TEST(HttpHeaders, ContentRangeTotal) {
  EXPECT_EQ(content_range_total("bytes 0-0/3375104"), 3375104);
  EXPECT_EQ(content_range_total("bytes 0-0/*"), -1);
  EXPECT_EQ(content_range_total("bytes */100"), 100);  // a 416's form
  EXPECT_EQ(content_range_total("bytes 0-0/"), -1);
  EXPECT_EQ(content_range_total("bytes 0-0/12x"), -1);
  EXPECT_EQ(content_range_total("bytes 0-0/99999999999999999999999"), -1);
  EXPECT_EQ(content_range_total("items 0-0/5"), -1);
  EXPECT_EQ(content_range_total(""), -1);
}

TEST(HttpHeaders, MalformedStatusLines) {
  ResponseHeaders h;
  parse_header_line("HTTP/1.1", h);
  EXPECT_EQ(h.status, 0);
  parse_header_line("HTTP/2 20", h);
  EXPECT_EQ(h.status, 0);
  parse_header_line("HTTP/2 200", h);
  EXPECT_EQ(h.status, 200);
}

}  // namespace
}  // namespace udisc::remote
