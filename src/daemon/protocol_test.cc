// Control protocol: request validation and reply encoding.
#include "daemon/protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>

namespace udisc::daemon {
namespace {

using nlohmann::json;

Request parse_ok(const std::string& line) {
  auto r = parse_request(line);
  if (auto* e = std::get_if<ParseError>(&r)) {
    ADD_FAILURE() << "unexpected error for " << line << ": " << e->message;
    return {};
  }
  return std::get<Request>(r);
}

ParseError parse_err(const std::string& line) {
  auto r = parse_request(line);
  if (auto* e = std::get_if<ParseError>(&r)) return *e;
  ADD_FAILURE() << "accepted: " << line;
  return {};
}

TEST(Protocol, ParsesEveryOp) {
  EXPECT_EQ(parse_ok(R"({"v":1,"id":1,"op":"hello"})").op, Op::hello);
  EXPECT_EQ(parse_ok(R"({"v":1,"id":"a","op":"list"})").op, Op::list);
  EXPECT_EQ(parse_ok(R"({"v":1,"id":2,"op":"status","drive":3})").drive->number, 3u);
  Request c = parse_ok(R"({"v":1,"id":3,"op":"create","identity":{"vendor":"PIONEER","kind":"dvd"}})");
  EXPECT_EQ(c.op, Op::create);
  EXPECT_EQ(*c.identity->vendor, "PIONEER");
  EXPECT_EQ(*c.identity->kind, device::DriveKind::dvd_rom);
  Request i = parse_ok(
      R"({"v":1,"id":4,"op":"insert","drive":"/dev/sr1","image":{"path":"/x.cue","files":["a.bin","b.bin"]},"fds":3})");
  EXPECT_EQ(i.drive->device_node, "/dev/sr1");
  EXPECT_EQ(i.image->files.size(), 2u);
  EXPECT_EQ(i.fds, 3u);
  Request m = parse_ok(R"({"v":1,"id":5,"op":"mount","image":{"path":"/x.iso"},"fds":1})");
  EXPECT_EQ(m.op, Op::mount);
  EXPECT_FALSE(m.drive.has_value());
  Request e = parse_ok(R"({"v":1,"id":6,"op":"eject","drive":0,"force":true})");
  EXPECT_TRUE(e.force);
  EXPECT_EQ(parse_ok(R"({"v":1,"id":7,"op":"remove","drive":0})").op, Op::remove);
  Request s = parse_ok(R"({"v":1,"id":8,"op":"set_identity","drive":0,"identity":{"serial":"ABC"}})");
  EXPECT_EQ(*s.identity->serial, "ABC");
  EXPECT_EQ(s.id, json(8));
}

TEST(Protocol, ImageUrls) {
  Request m = parse_ok(
      R"({"v":1,"id":1,"op":"mount","image":{"url":"https://h.example/d.iso","auth":"bearer T","ca_pem":"PEM"}})");
  EXPECT_EQ(m.image->url, "https://h.example/d.iso");
  EXPECT_EQ(m.image->auth, "bearer T");
  EXPECT_EQ(m.image->ca_pem, "PEM");
  EXPECT_EQ(m.fds, 0u);
  EXPECT_EQ(parse_ok(R"({"v":1,"id":2,"op":"insert","drive":0,"image":{"url":"HTTP://h/d.cue"},"fds":0})").fds, 0u);
  struct Case {
    const char* line;
    const char* says;
  };
  const Case cases[] = {
      {R"({"v":1,"id":1,"op":"mount","image":{"url":"file:///etc/shadow"}})", "http:// or https://"},
      {R"({"v":1,"id":1,"op":"mount","image":{"url":"gopher://h/d.iso"}})", "http:// or https://"},
      {R"({"v":1,"id":1,"op":"mount","image":{"url":"http://a:b@h/d.iso"}})", "credentials"},
      {R"({"v":1,"id":1,"op":"mount","image":{"url":"http://h/a b.iso"}})", "space or control"},
      {R"({"v":1,"id":1,"op":"mount","image":{"url":7}})", "'image.url' must be a string"},
      {R"({"v":1,"id":1,"op":"mount","image":{"url":"http://h/d.iso"},"fds":1})", "without descriptors"},
      {R"({"v":1,"id":1,"op":"mount","image":{"url":"http://h/d.iso","files":["x"]}})", "image.files"},
      {R"({"v":1,"id":1,"op":"mount","image":{"url":"http://h/d.iso","auth":"token"}})", "bearer TOKEN"},
      {R"({"v":1,"id":1,"op":"mount","image":{"path":"/x.iso","auth":"bearer T"},"fds":1})", "needs field 'image.url'"},
      {R"({"v":1,"id":1,"op":"mount","image":{"path":"/x.iso","ca_pem":"P"},"fds":1})", "needs field 'image.url'"},
  };
  for (const auto& c : cases) {
    ParseError e = parse_err(c.line);
    EXPECT_EQ(e.code, ErrorCode::bad_request) << c.line;
    EXPECT_NE(e.message.find(c.says), std::string::npos) << c.line << " -> " << e.message;
  }
  const std::string long_url = "http://h/" + std::string(kMaxUrlLength, 'a');
  EXPECT_NE(parse_err(R"({"v":1,"id":1,"op":"mount","image":{"url":")" + long_url + R"("}})").message.find("longer"),
            std::string::npos);
  // The log never shows a query (it may be a signature).
  EXPECT_EQ(url_for_log("https://h/d.iso?X-Amz-Signature=abc"), "https://h/d.iso?…");
  EXPECT_EQ(url_for_log("https://h/d.iso"), "https://h/d.iso");
}

TEST(Protocol, UnknownFieldsAreIgnored) {
  EXPECT_EQ(parse_ok(R"({"v":1,"id":1,"op":"list","future":{"x":[1,2]}})").op, Op::list);
}

TEST(Protocol, ErrorsNameTheField) {
  struct Case {
    const char* line;
    ErrorCode code;
    const char* needle;
  };
  const Case cases[] = {
      {"", ErrorCode::bad_request, "not valid JSON"},
      {"{", ErrorCode::bad_request, "not valid JSON"},
      {"[1,2]", ErrorCode::bad_request, "JSON object"},
      {R"({"v":1,"op":"list"})", ErrorCode::bad_request, "'id'"},
      {R"({"v":1,"id":[1],"op":"list"})", ErrorCode::bad_request, "'id'"},
      {R"({"v":1,"id":1.5,"op":"list"})", ErrorCode::bad_request, "'id'"},
      {R"({"id":1,"op":"list"})", ErrorCode::bad_request, "'v'"},
      {R"({"v":"1","id":1,"op":"list"})", ErrorCode::bad_request, "'v'"},
      {R"({"v":2,"id":1,"op":"list"})", ErrorCode::unsupported_version, "version 2"},
      {R"({"v":1,"id":1})", ErrorCode::bad_request, "'op'"},
      {R"({"v":1,"id":1,"op":7})", ErrorCode::bad_request, "'op'"},
      {R"({"v":1,"id":1,"op":"format_c"})", ErrorCode::unknown_op, "format_c"},
      {R"({"v":1,"id":1,"op":"eject"})", ErrorCode::bad_request, "'drive'"},
      {R"({"v":1,"id":1,"op":"eject","drive":-1})", ErrorCode::bad_request, "'drive'"},
      {R"({"v":1,"id":1,"op":"eject","drive":100000})", ErrorCode::bad_request, "'drive'"},
      {R"({"v":1,"id":1,"op":"eject","drive":"sr0"})", ErrorCode::bad_request, "'drive'"},
      {R"({"v":1,"id":1,"op":"eject","drive":true})", ErrorCode::bad_request, "'drive'"},
      {R"({"v":1,"id":1,"op":"eject","drive":0,"force":"yes"})", ErrorCode::bad_request, "'force'"},
      {R"({"v":1,"id":1,"op":"insert","drive":0})", ErrorCode::bad_request, "'image'"},
      {R"({"v":1,"id":1,"op":"insert","drive":0,"image":"/x.iso","fds":1})", ErrorCode::bad_request, "'image'"},
      {R"({"v":1,"id":1,"op":"insert","drive":0,"image":{"path":3},"fds":1})", ErrorCode::bad_request, "'image.path'"},
      {R"({"v":1,"id":1,"op":"insert","drive":0,"image":{"files":[1]},"fds":2})", ErrorCode::bad_request,
       "image.files[0]"},
      {R"({"v":1,"id":1,"op":"insert","drive":0,"image":{"files":[""]},"fds":2})", ErrorCode::bad_request,
       "image.files[0]"},
      {R"({"v":1,"id":1,"op":"insert","drive":0,"image":{}})", ErrorCode::bad_request, "'fds'"},
      {R"({"v":1,"id":1,"op":"insert","drive":0,"image":{},"fds":2})", ErrorCode::bad_request, "'fds'"},
      {R"({"v":1,"id":1,"op":"insert","drive":0,"image":{},"fds":-1})", ErrorCode::bad_request, "'fds'"},
      {R"({"v":1,"id":1,"op":"list","fds":1})", ErrorCode::bad_request, "no image"},
      {R"({"v":1,"id":1,"op":"eject","drive":0,"image":{},"fds":1})", ErrorCode::bad_request, "takes no field 'image'"},
      {R"({"v":1,"id":1,"op":"set_identity","drive":0})", ErrorCode::bad_request, "'identity'"},
      {R"({"v":1,"id":1,"op":"set_identity","drive":0,"identity":{"vendor":"TOOLONGVENDOR"}})", ErrorCode::bad_request,
       "vendor"},
      {R"({"v":1,"id":1,"op":"set_identity","drive":0,"identity":{"product":"a\u0001b"}})", ErrorCode::bad_request,
       "printable ASCII"},
      {R"({"v":1,"id":1,"op":"set_identity","drive":0,"identity":{"revision":5}})", ErrorCode::bad_request,
       "identity.revision"},
      {R"({"v":1,"id":1,"op":"set_identity","drive":0,"identity":{"kind":"hddvd"}})", ErrorCode::bad_request,
       "identity.kind"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    ParseError e = parse_err(c.line);
    EXPECT_EQ(e.code, c.code) << e.message;
    EXPECT_NE(e.message.find(c.needle), std::string::npos) << e.message;
  }
}

TEST(Protocol, ErrorEchoesTheIdWhenKnown) {
  EXPECT_EQ(parse_err(R"({"v":1,"id":"x7","op":"nope"})").id, json("x7"));
  EXPECT_TRUE(parse_err(R"({"v":1,"op":"nope"})").id.is_null());
}

TEST(Protocol, TooManyCompanionFiles) {
  json files = json::array();
  for (int i = 0; i < 100; ++i) {
    // Built by appending: GCC 12 at -O3 warns (-Wrestrict, a false positive) on "t" + std::to_string(i).
    std::string name = "t";
    name.append(std::to_string(i)).append(".bin");
    files.push_back(name);
  }
  json req = {{"v", 1}, {"id", 1}, {"op", "mount"}, {"image", {{"files", files}}}, {"fds", 101}};
  EXPECT_NE(parse_err(req.dump()).message.find("at most 99"), std::string::npos);
}

TEST(Protocol, RepliesAreOneLineOfJson) {
  const std::string ok = make_ok_reply(json(3), json{{"drives", json::array()}});
  ASSERT_EQ(ok.back(), '\n');
  EXPECT_EQ(ok.find('\n'), ok.size() - 1);
  json j = json::parse(ok);
  EXPECT_EQ(j["v"], 1);
  EXPECT_EQ(j["id"], 3);
  EXPECT_TRUE(j["ok"].get<bool>());

  // Paths are bytes: invalid UTF-8 must not throw.
  const std::string err = make_error_reply(json("a"), ErrorCode::bad_image, std::string("'/tmp/\xff\xfe.iso' bad"));
  json e = json::parse(err);
  EXPECT_FALSE(e["ok"].get<bool>());
  EXPECT_EQ(e["error"]["code"], "bad_image");
  EXPECT_EQ(error_code_from_string("locked"), ErrorCode::locked);
  EXPECT_FALSE(error_code_from_string("nonsense").has_value());
}

TEST(Protocol, DeeplyNestedInputIsAnErrorNotACrash) {
  std::string deep(60000, '[');
  EXPECT_EQ(parse_err(deep).code, ErrorCode::bad_request);
  std::string nested = R"({"v":1,"id":1,"op":"list","x":)" + std::string(30000, '[') + std::string(30000, ']') + "}";
  EXPECT_EQ(parse_ok(nested).op, Op::list);
}

}  // namespace
}  // namespace udisc::daemon
