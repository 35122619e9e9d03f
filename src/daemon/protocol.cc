#include "daemon/protocol.h"

#include <array>
#include <utility>

#include "remote/http_file.h"

namespace udisc::daemon {
namespace {

using nlohmann::json;

struct OpName {
  Op op;
  const char* name;
};
constexpr std::array<OpName, 9> kOps{{
    {Op::hello, "hello"},
    {Op::list, "list"},
    {Op::status, "status"},
    {Op::create, "create"},
    {Op::insert, "insert"},
    {Op::mount, "mount"},
    {Op::eject, "eject"},
    {Op::remove, "remove"},
    {Op::set_identity, "set_identity"},
}};

struct CodeName {
  ErrorCode code;
  const char* name;
};
constexpr std::array<CodeName, 10> kCodes{{
    {ErrorCode::bad_request, "bad_request"},
    {ErrorCode::unsupported_version, "unsupported_version"},
    {ErrorCode::unknown_op, "unknown_op"},
    {ErrorCode::not_found, "not_found"},
    {ErrorCode::permission_denied, "permission_denied"},
    {ErrorCode::locked, "locked"},
    {ErrorCode::limit, "limit"},
    {ErrorCode::bad_image, "bad_image"},
    {ErrorCode::unavailable, "unavailable"},
    {ErrorCode::internal, "internal"},
}};

// Serialises without throwing on invalid UTF-8 (paths are bytes).
std::string dump_line(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  s.push_back('\n');
  return s;
}

ParseError bad(std::string message, const json& id = nullptr) {
  return ParseError{ErrorCode::bad_request, std::move(message), id};
}

bool is_integer(const json& v) { return v.is_number_integer() || v.is_number_unsigned(); }

// Reads an optional string member; error names the field.
std::optional<ParseError> get_string(const json& obj, const char* field, size_t max_length, std::string* out,
                                     const json& id) {
  const json& v = obj.at(field);
  if (!v.is_string()) return bad(std::string("field '") + field + "' must be a string", id);
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() > max_length) {
    return bad(std::string("field '") + field + "' is longer than " + std::to_string(max_length) + " bytes", id);
  }
  *out = s;
  return std::nullopt;
}

}  // namespace

const char* to_string(Op op) {
  for (const auto& o : kOps) {
    if (o.op == op) return o.name;
  }
  return "?";
}

const char* to_string(ErrorCode code) {
  for (const auto& c : kCodes) {
    if (c.code == code) return c.name;
  }
  return "internal";
}

std::optional<ErrorCode> error_code_from_string(std::string_view s) {
  for (const auto& c : kCodes) {
    if (s == c.name) return c.code;
  }
  return std::nullopt;
}

std::string DriveRef::to_string() const {
  if (number) return "drive " + std::to_string(*number);
  return device_node;
}

void IdentitySpec::apply(device::Identity& identity) const {
  if (vendor) identity.vendor = *vendor;
  if (product) identity.product = *product;
  if (revision) identity.revision = *revision;
  if (serial) identity.serial = *serial;
  if (kind) identity.kind = *kind;
}

const char* to_string(device::DriveKind kind) {
  switch (kind) {
    case device::DriveKind::cd_rom:
      return "cd";
    case device::DriveKind::dvd_rom:
      return "dvd";
    case device::DriveKind::bd_rom:
      return "bd";
  }
  return "bd";
}

std::optional<device::DriveKind> drive_kind_from_string(std::string_view s) {
  if (s == "cd") return device::DriveKind::cd_rom;
  if (s == "dvd") return device::DriveKind::dvd_rom;
  if (s == "bd") return device::DriveKind::bd_rom;
  return std::nullopt;
}

Status check_identity_field(std::string_view field, std::string_view value, size_t max_length) {
  if (value.size() > max_length) {
    return Status::InvalidArgument("identity " + std::string(field) + " '" + std::string(value) + "' is longer than " +
                                   std::to_string(max_length) + " characters");
  }
  for (char c : value) {
    if (c < 0x20 || c > 0x7E) {
      return Status::InvalidArgument("identity " + std::string(field) +
                                     " may hold printable ASCII only (SPC-5 4.3.1), found byte " +
                                     std::to_string(static_cast<unsigned char>(c)));
    }
  }
  return Status::Ok();
}

std::variant<Request, ParseError> parse_request(std::string_view line) {
  json doc = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    // Parse again with exceptions only to learn where it failed.
    std::string where;
    try {
      json ignored = json::parse(line.begin(), line.end());
    } catch (const json::exception& e) {  // parse_error, or out_of_range for a number too large
      where = std::string(": ") + e.what();
    }
    return bad("request is not valid JSON" + where);
  }
  if (!doc.is_object()) return bad("request must be a JSON object");

  Request req;
  // id first, so every later error can echo it.
  if (!doc.contains("id")) return bad("missing field 'id'");
  const json& id = doc["id"];
  if (is_integer(id)) {
    req.id = id;
  } else if (id.is_string()) {
    if (id.get_ref<const std::string&>().size() > kMaxIdLength) {
      return bad("field 'id' is longer than " + std::to_string(kMaxIdLength) + " bytes");
    }
    req.id = id;
  } else {
    return bad("field 'id' must be an integer or a string");
  }

  if (!doc.contains("v")) return bad("missing field 'v' (protocol version; this daemon speaks v=1)", req.id);
  const json& v = doc["v"];
  if (!is_integer(v)) return bad("field 'v' must be an integer", req.id);
  if (!v.is_number_integer() || v.get<int64_t>() != kProtocolVersion) {
    return ParseError{ErrorCode::unsupported_version,
                      "protocol version " + v.dump() + " is not supported; this daemon speaks v=1", req.id};
  }

  if (!doc.contains("op")) return bad("missing field 'op'", req.id);
  if (!doc["op"].is_string()) return bad("field 'op' must be a string", req.id);
  const auto& op_name = doc["op"].get_ref<const std::string&>();
  bool known = false;
  for (const auto& o : kOps) {
    if (op_name == o.name) {
      req.op = o.op;
      known = true;
    }
  }
  if (!known) {
    std::string shown = op_name.size() > 64 ? op_name.substr(0, 64) + "..." : op_name;
    return ParseError{ErrorCode::unknown_op, "unknown op '" + shown + "'", req.id};
  }

  if (doc.contains("drive")) {
    const json& d = doc["drive"];
    DriveRef ref;
    if (is_integer(d)) {
      if (d.is_number_unsigned() ? d.get<uint64_t>() > 9999 : (d.get<int64_t>() < 0 || d.get<int64_t>() > 9999)) {
        return bad("field 'drive' must be a drive number 0..9999", req.id);
      }
      ref.number = static_cast<uint32_t>(d.get<int64_t>());
    } else if (d.is_string()) {
      const auto& s = d.get_ref<const std::string&>();
      if (s.rfind("/dev/", 0) != 0 || s.size() > 64) {
        return bad("field 'drive' must be a drive number or a device node such as /dev/sr0", req.id);
      }
      ref.device_node = s;
    } else {
      return bad("field 'drive' must be a drive number or a device node such as /dev/sr0", req.id);
    }
    req.drive = std::move(ref);
  }

  if (doc.contains("force")) {
    if (!doc["force"].is_boolean()) return bad("field 'force' must be true or false", req.id);
    req.force = doc["force"].get<bool>();
  }

  if (doc.contains("identity")) {
    const json& ident = doc["identity"];
    if (!ident.is_object()) return bad("field 'identity' must be an object", req.id);
    IdentitySpec spec;
    struct Field {
      const char* name;
      size_t max;
      std::optional<std::string> IdentitySpec::*member;
    };
    static constexpr Field kFields[] = {{"vendor", 8, &IdentitySpec::vendor},
                                        {"product", 16, &IdentitySpec::product},
                                        {"revision", 4, &IdentitySpec::revision},
                                        {"serial", 32, &IdentitySpec::serial}};
    for (const auto& f : kFields) {
      if (!ident.contains(f.name)) continue;
      std::string value;
      const std::string qualified = std::string("identity.") + f.name;
      if (!ident[f.name].is_string()) return bad("field '" + qualified + "' must be a string", req.id);
      value = ident[f.name].get<std::string>();
      if (Status s = check_identity_field(f.name, value, f.max); !s.ok()) return bad(s.message(), req.id);
      spec.*(f.member) = std::move(value);
    }
    if (ident.contains("kind")) {
      const json& k = ident["kind"];
      std::optional<device::DriveKind> kind;
      if (k.is_string()) kind = drive_kind_from_string(k.get_ref<const std::string&>());
      if (!kind) return bad("field 'identity.kind' must be \"cd\", \"dvd\" or \"bd\"", req.id);
      spec.kind = kind;
    }
    req.identity = std::move(spec);
  }

  if (doc.contains("image")) {
    const json& img = doc["image"];
    if (!img.is_object()) return bad("field 'image' must be an object", req.id);
    ImageSpec spec;
    if (img.contains("path")) {
      if (auto e = get_string(img, "path", kMaxPathLength, &spec.path, req.id)) {
        e->message.replace(e->message.find("'path'"), 6, "'image.path'");
        return *e;
      }
    }
    if (img.contains("files")) {
      const json& files = img["files"];
      if (!files.is_array()) return bad("field 'image.files' must be an array of strings", req.id);
      if (files.size() > kMaxImageFiles - 1) {
        return bad("field 'image.files' names " + std::to_string(files.size()) + " files; at most " +
                       std::to_string(kMaxImageFiles - 1),
                   req.id);
      }
      for (size_t i = 0; i < files.size(); ++i) {
        const std::string field = "image.files[" + std::to_string(i) + "]";
        if (!files[i].is_string()) return bad("field '" + field + "' must be a string", req.id);
        const auto& f = files[i].get_ref<const std::string&>();
        if (f.empty() || f.size() > kMaxPathLength) {
          return bad("field '" + field + "' must hold 1.." + std::to_string(kMaxPathLength) + " bytes", req.id);
        }
        spec.files.push_back(f);
      }
    }
    if (img.contains("url")) {
      if (auto e = get_string(img, "url", kMaxUrlLength, &spec.url, req.id)) {
        e->message.replace(e->message.find("'url'"), 5, "'image.url'");
        return *e;
      }
      if (Status s = check_image_url(spec.url); !s.ok()) return bad(s.message(), req.id);
      if (!spec.files.empty()) {
        return bad("field 'image.files' is for descriptors; an image.url's companions resolve against the URL",
                   req.id);
      }
    }
    // What the daemon fetches the URL with: the caller's credentials and CA bundle, as text.
    struct UrlField {
      const char* name;
      size_t max;
      std::string ImageSpec::*member;
    };
    static constexpr UrlField kUrlFields[] = {{"auth", kMaxAuthLength, &ImageSpec::auth},
                                              {"ca_pem", kMaxCaPemBytes, &ImageSpec::ca_pem}};
    for (const auto& f : kUrlFields) {
      if (!img.contains(f.name)) continue;
      const std::string field = std::string("image.") + f.name;
      if (spec.url.empty()) return bad("field '" + field + "' needs field 'image.url'", req.id);
      if (!img[f.name].is_string() || img[f.name].get_ref<const std::string&>().size() > f.max) {
        return bad("field '" + field + "' must be a string of at most " + std::to_string(f.max) + " bytes", req.id);
      }
      spec.*(f.member) = img[f.name].get<std::string>();
    }
    if (!spec.auth.empty()) {
      if (auto c = remote::parse_credentials(spec.auth, "field 'image.auth'"); !c.ok()) {
        return bad(c.status().message(), req.id);
      }
    }
    req.image = std::move(spec);
  }

  if (doc.contains("fds")) {
    const json& f = doc["fds"];
    if (!is_integer(f) || (f.is_number_integer() && f.get<int64_t>() < 0) ||
        (f.is_number_unsigned() ? f.get<uint64_t>() : static_cast<uint64_t>(f.get<int64_t>())) > kMaxImageFiles) {
      return bad("field 'fds' must be a count 0.." + std::to_string(kMaxImageFiles), req.id);
    }
    req.fds = static_cast<size_t>(f.get<int64_t>());
  }

  // Arguments each operation needs, and their consistency.
  const bool needs_drive =
      req.op == Op::insert || req.op == Op::eject || req.op == Op::remove || req.op == Op::set_identity;
  if (needs_drive && !req.drive) return bad(std::string("op '") + to_string(req.op) + "' needs field 'drive'", req.id);
  if ((req.op == Op::insert || req.op == Op::mount) && !req.image) {
    return bad(std::string("op '") + to_string(req.op) + "' needs field 'image'", req.id);
  }
  if (req.op == Op::set_identity && !req.identity) return bad("op 'set_identity' needs field 'identity'", req.id);
  const bool takes_image = req.op == Op::insert || req.op == Op::mount || req.op == Op::create;
  if (req.image && !takes_image) {
    return bad(std::string("op '") + to_string(req.op) + "' takes no field 'image'", req.id);
  }
  if (req.image && !req.image->url.empty()) {
    if (req.fds != 0) {
      return bad("field 'fds' is " + std::to_string(req.fds) + " but an image.url travels without descriptors",
                 req.id);
    }
  } else if (req.image) {
    const size_t expected = 1 + req.image->files.size();
    if (req.fds != expected) {
      return bad("field 'fds' is " + std::to_string(req.fds) + " but the image needs " + std::to_string(expected) +
                     " descriptors (the image itself plus one per entry of image.files)",
                 req.id);
    }
  } else if (req.fds != 0) {
    return bad("field 'fds' is " + std::to_string(req.fds) + " but the request carries no image", req.id);
  }
  return req;
}

Status check_image_url(const std::string& url) {
  if (!remote::is_url(url)) return Status::InvalidArgument("field 'image.url' must be an http:// or https:// URL");
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7F) {
      return Status::InvalidArgument("field 'image.url' holds a space or control character (percent-encode it)");
    }
  }
  const size_t start = url.find("://") + 3;
  const size_t end = url.find_first_of("/?#", start);
  if (url.substr(start, end == std::string::npos ? std::string::npos : end - start).find('@') != std::string::npos) {
    return Status::InvalidArgument(
        "field 'image.url' holds credentials (user@host); send them in field 'image.auth' (udisc: --auth-file)");
  }
  return Status::Ok();
}

std::string url_for_log(const std::string& url) {
  const size_t cut = url.find_first_of("?#");
  return cut == std::string::npos ? url : url.substr(0, cut) + "?…";
}

std::string make_ok_reply(const nlohmann::json& id, nlohmann::json result) {
  json r = {{"v", kProtocolVersion}, {"id", id}, {"ok", true}, {"result", std::move(result)}};
  return dump_line(r);
}

std::string make_error_reply(const nlohmann::json& id, ErrorCode code, const std::string& message) {
  json r = {
      {"v", kProtocolVersion}, {"id", id}, {"ok", false}, {"error", {{"code", to_string(code)}, {"message", message}}}};
  return dump_line(r);
}

nlohmann::json make_request(Op op, int64_t id) {
  return json{{"v", kProtocolVersion}, {"id", id}, {"op", to_string(op)}};
}

}  // namespace udisc::daemon
