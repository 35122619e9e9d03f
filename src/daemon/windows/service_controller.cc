#include "daemon/windows/service_controller.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "daemon/image_files.h"

namespace udisc::win {
namespace {

using daemon::ErrorCode;
using daemon::Op;
using nlohmann::json;

constexpr int kStateVersion = 1;

const char* tray_name(device::TrayState t) { return t == device::TrayState::open ? "open" : "closed"; }

}  // namespace

struct ServiceController::Entry {
  uint32_t number = 0;
  std::string owner_sid;
  std::string owner_name;
  device::Identity identity;
  std::shared_ptr<device::Drive> engine;
  std::optional<RecordedImage> image;
  std::optional<Attachment> attachment;
  std::string attach_error;
};

ServiceController::ServiceController(ServiceOptions options, Initiator& initiator, DriveHost& host,
                                     ImageReopener reopen)
    : options_(std::move(options)), initiator_(initiator), host_(host), reopen_(std::move(reopen)) {}

ServiceController::~ServiceController() = default;

void ServiceController::log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

// ---- state file ----

void ServiceController::persist() {
  if (options_.state_path.empty()) return;
  json drives = json::array();
  for (const auto& [n, e] : drives_) {
    json d = {{"drive", n},
              {"owner_sid", e->owner_sid},
              {"owner_name", e->owner_name},
              {"tray_open", e->engine->status().tray == device::TrayState::open},
              {"identity",
               {{"vendor", e->identity.vendor},
                {"product", e->identity.product},
                {"revision", e->identity.revision},
                {"serial", e->identity.serial},
                {"kind", daemon::to_string(e->identity.kind)}}}};
    if (e->image && e->engine->image()) {
      d["image"] = {{"path", e->image->path}, {"files", e->image->companion_paths}};
    }
    drives.push_back(std::move(d));
  }
  const json doc = {{"version", kStateVersion}, {"drives", drives}};
  namespace fs = std::filesystem;
  const fs::path path = fs::u8path(options_.state_path);
  const fs::path tmp = fs::u8path(options_.state_path + ".tmp");
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << doc.dump(2) << '\n';
    out.flush();
    if (!out) {
      log("cannot write the state file " + options_.state_path + ".tmp");
      return;
    }
  }
  if (options_.replace_file) {
    if (Status s = options_.replace_file(options_.state_path + ".tmp", options_.state_path); !s.ok()) {
      log("cannot replace the state file " + options_.state_path + ": " + s.message());
    }
    return;
  }
  fs::rename(tmp, path, ec);
  if (ec) log("cannot replace the state file " + options_.state_path + ": " + ec.message());
}

Status ServiceController::restore() {
  if (options_.state_path.empty()) return Status::Ok();
  // A crash leaves sessions to our targets behind; their ports are gone.
  if (auto leftovers = leftover_sessions(initiator_, kTargetPrefix); leftovers.ok()) {
    for (const SessionInfo& s : *leftovers) {
      log("logging out a session a previous run left: " + s.target_name);
      (void)initiator_.logout(s.id);
      (void)initiator_.remove_target(s.target_name);
    }
  }
  std::ifstream in(std::filesystem::u8path(options_.state_path), std::ios::binary);
  if (!in) return Status::Ok();  // first start
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  const std::string name = "'" + options_.state_path + "'";
  if (doc.is_discarded() || !doc.is_object()) return Status::Corruption(name + ": not JSON");
  if (!doc.contains("version") || !doc["version"].is_number_integer() || doc["version"].get<int64_t>() != kStateVersion) {
    return Status::Corruption(name + ": field 'version' is not 1");
  }
  if (!doc.contains("drives") || !doc["drives"].is_array()) return Status::Corruption(name + ": no 'drives' array");
  // A field of the wrong type (written by hand, damaged) makes nlohmann's
  // value()/get() throw: the file is named as corrupt instead.
  try {
  for (const json& d : doc["drives"]) {
    if (!d.is_object() || !d.contains("drive") || !d["drive"].is_number_unsigned() || !d.contains("owner_sid") ||
        !d["owner_sid"].is_string()) {
      return Status::Corruption(name + ": a drive entry lacks 'drive' or 'owner_sid'");
    }
    auto e = std::make_unique<Entry>();
    e->number = d["drive"].get<uint32_t>();
    e->owner_sid = d["owner_sid"].get<std::string>();
    e->owner_name = d.value("owner_name", "");
    if (d.contains("identity") && d["identity"].is_object()) {
      const json& id = d["identity"];
      e->identity.vendor = id.value("vendor", e->identity.vendor);
      e->identity.product = id.value("product", e->identity.product);
      e->identity.revision = id.value("revision", e->identity.revision);
      e->identity.serial = id.value("serial", e->identity.serial);
      if (auto kind = daemon::drive_kind_from_string(id.value("kind", "bd"))) e->identity.kind = *kind;
    }
    e->engine = std::make_shared<device::Drive>(e->identity);
    if (d.contains("image") && d["image"].is_object() && d["image"].contains("path")) {
      RecordedImage rec;
      rec.path = d["image"].value("path", "");
      if (d["image"].contains("files") && d["image"]["files"].is_object()) {
        rec.companion_paths = d["image"]["files"].get<std::map<std::string, std::string>>();
      }
      Result<ReceivedImage> files = reopen_ ? reopen_(rec, e->owner_sid)
                                            : Result<ReceivedImage>(Status::NotSupported("no reopener"));
      Result<formats::ImagePtr> image =
          files.ok() ? daemon::open_image_from_files(files->main, files->companions) : files.status();
      if (image.ok() && e->engine->insert(*image).ok()) {
        e->image = rec;
      } else {
        log("drive " + std::to_string(e->number) + " comes back empty: " + image.status().message());
      }
    }
    if (d.value("tray_open", false)) (void)e->engine->eject(true);
    Entry& ref = *e;
    drives_[e->number] = std::move(e);
    if (Status s = bring_up(ref); !s.ok()) {
      ref.attach_error = s.message();
      log("drive " + std::to_string(ref.number) + ": " + s.message());
    }
  }
  } catch (const json::exception& ex) {
    persist();
    return Status::Corruption(name + ": " + ex.what());
  }
  persist();
  return Status::Ok();
}

// ---- requests ----

std::string ServiceController::handle_line(std::string_view line, const Caller& who,
                                           std::optional<ReceivedImage> image) {
  auto parsed = daemon::parse_request(line);
  if (auto* err = std::get_if<daemon::ParseError>(&parsed)) {
    return daemon::make_error_reply(err->id, err->code, err->message);
  }
  const daemon::Request& req = std::get<daemon::Request>(parsed);
  Reply r;
  try {
    r = dispatch(req, who, std::move(image));
  } catch (const std::exception& ex) {
    r = {ErrorCode::internal, json(std::string("internal error: ") + ex.what())};
  }
  if (r.first) return daemon::make_error_reply(req.id, *r.first, r.second.get<std::string>());
  return daemon::make_ok_reply(req.id, std::move(r.second));
}

ServiceController::Reply ServiceController::dispatch(const daemon::Request& req, const Caller& who,
                                                     std::optional<ReceivedImage> image) {
  // A request that declares an image must arrive with one (the pipe layer
  // duplicated its handles), and one that declares none must not.
  if (req.image.has_value() != image.has_value()) {
    return {ErrorCode::bad_request, json(req.image ? "the image's handles did not arrive with the request"
                                                   : "handles were sent with a request that carries no image")};
  }
  switch (req.op) {
    case Op::hello: {
      InitiatorStatus st = initiator_.status();
      json r = {{"protocol", daemon::kProtocolVersion},
                {"platform", "windows"},
                {"backend", "iscsi-initiator"},
                {"initiator", initiator_.name()},
                {"backend_available", st.api_loaded && st.service == InitiatorServiceState::running},
                {"sid", who.sid},
                {"admin", who.admin},
                {"drives", drives_.size()}};
      if (!st.api_loaded) {
        r["backend_problem"] = st.api_error;
      } else if (st.service != InitiatorServiceState::running) {
        r["backend_problem"] = std::string("the Microsoft iSCSI Initiator service (MSiSCSI) is ") + to_string(st.service);
      }
      return {std::nullopt, r};
    }
    case Op::list: {
      json list = json::array();
      for (const auto& [n, e] : drives_) list.push_back(drive_json(*e, who));
      return {std::nullopt, json{{"drives", list}}};
    }
    case Op::status: {
      if (!req.drive) return dispatch(daemon::Request{req.version, req.id, Op::list}, who, std::nullopt);
      Reply err;
      Entry* e = find(*req.drive, who, false, &err);
      if (!e) return err;
      return {std::nullopt, json{{"drive", drive_json(*e, who)}}};
    }
    case Op::create:
    case Op::mount:
      return create_drive(req, who, std::move(image));
    case Op::insert:
      return op_insert(req, who, std::move(image));
    case Op::eject:
      return op_eject(req, who);
    case Op::remove:
      return op_remove(req, who);
    case Op::set_identity:
      return op_set_identity(req, who);
  }
  return {ErrorCode::unknown_op, json("unknown op")};
}

ServiceController::Entry* ServiceController::find(const daemon::DriveRef& ref, const Caller& who, bool for_change,
                                                  Reply* error) {
  Entry* found = nullptr;
  if (ref.number) {
    auto it = drives_.find(*ref.number);
    if (it != drives_.end()) found = it->second.get();
  }
  if (!found) {
    *error = {ErrorCode::not_found, json("no drive " + ref.to_string())};
    return nullptr;
  }
  if (for_change && !who.admin && who.sid != found->owner_sid) {
    *error = {ErrorCode::permission_denied,
              json("drive " + std::to_string(found->number) + " belongs to " +
                   (found->owner_name.empty() ? found->owner_sid : found->owner_name) + "; access denied")};
    return nullptr;
  }
  return found;
}

Status ServiceController::bring_up(Entry& e) {
  Result<TargetSpec> target = host_.start(e.number, e.engine);
  if (!target.ok()) return target.status().with_context("starting the loopback target");
  AttachOptions attach = options_.attach;
  const uint32_t number = e.number;
  attach.listen_on = [this, number](const std::string& address) { return host_.listen_also(number, address); };
  if (!attach.log) attach.log = options_.log;
  Result<Attachment> a = attach_drive(initiator_, *target, attach);
  if (!a.ok()) {
    host_.stop(e.number);
    return a.status();
  }
  e.attachment = *a;
  e.attach_error.clear();
  return Status::Ok();
}

ServiceController::Reply ServiceController::create_drive(const daemon::Request& req, const Caller& who,
                                                         std::optional<ReceivedImage> image) {
  if (drives_.size() >= options_.max_drives) {
    return {ErrorCode::limit, json("the service already has " + std::to_string(drives_.size()) + " drives (limit)")};
  }
  size_t mine = 0;
  for (const auto& [n, e] : drives_) mine += e->owner_sid == who.sid;
  if (mine >= options_.max_drives_per_user) {
    return {ErrorCode::limit, json("you already have " + std::to_string(mine) + " drives (limit per user)")};
  }
  uint32_t number = 0;
  if (req.drive && req.drive->number) {
    number = *req.drive->number;
    if (drives_.count(number)) return {ErrorCode::bad_request, json("drive " + std::to_string(number) + " exists")};
  } else {
    while (drives_.count(number)) ++number;
  }
  auto e = std::make_unique<Entry>();
  e->number = number;
  e->owner_sid = who.sid;
  e->owner_name = who.name;
  if (req.identity) req.identity->apply(e->identity);
  e->engine = std::make_shared<device::Drive>(e->identity);
  if (image) {
    Result<formats::ImagePtr> opened = daemon::open_image_from_files(image->main, image->companions);
    if (!opened.ok()) return {ErrorCode::bad_image, json(opened.status().message())};
    if (Status s = e->engine->insert(*opened); !s.ok()) return {ErrorCode::bad_image, json(s.message())};
    e->image = RecordedImage{image->path, image->companion_paths};
  }
  // All or nothing: a drive that cannot reach Windows is not kept.
  if (Status s = bring_up(*e); !s.ok()) return {ErrorCode::unavailable, json(s.message())};
  Entry& ref = *e;
  drives_[number] = std::move(e);
  persist();
  log("drive " + std::to_string(number) + " created for " + who.name + " as " + ref.attachment->drive_letter);
  return {std::nullopt, json{{"drive", drive_json(ref, who)}, {"created", true}}};
}

ServiceController::Reply ServiceController::op_insert(const daemon::Request& req, const Caller& who,
                                                      std::optional<ReceivedImage> image) {
  if (!req.drive) return {ErrorCode::bad_request, json("insert needs a drive")};
  if (!image) return {ErrorCode::bad_request, json("insert needs an image")};
  Reply err;
  Entry* e = find(*req.drive, who, true, &err);
  if (!e) return err;
  Result<formats::ImagePtr> opened = daemon::open_image_from_files(image->main, image->companions);
  if (!opened.ok()) return {ErrorCode::bad_image, json(opened.status().message())};
  if (e->engine->image()) {
    if (!req.force && e->attachment && !e->attachment->drive_letter.empty()) {
      if (Status s = initiator_.volume_free(e->attachment->drive_letter); !s.ok()) {
        return {ErrorCode::locked, json(s.message())};
      }
    }
    if (Status s = e->engine->eject(req.force); !s.ok()) return {ErrorCode::locked, json(s.message())};
  }
  // The engine queues the media events cdrom.sys polls for (GESN).
  if (Status s = e->engine->insert(*opened); !s.ok()) return {ErrorCode::bad_image, json(s.message())};
  e->image = RecordedImage{image->path, image->companion_paths};
  persist();
  return {std::nullopt, json{{"drive", drive_json(*e, who)}}};
}

ServiceController::Reply ServiceController::op_eject(const daemon::Request& req, const Caller& who) {
  if (!req.drive) return {ErrorCode::bad_request, json("eject needs a drive")};
  Reply err;
  Entry* e = find(*req.drive, who, true, &err);
  if (!e) return err;
  if (!req.force && e->attachment && !e->attachment->drive_letter.empty()) {
    if (Status s = initiator_.volume_free(e->attachment->drive_letter); !s.ok()) {
      return {ErrorCode::locked, json(s.message())};
    }
  }
  if (Status s = e->engine->eject(req.force); !s.ok()) return {ErrorCode::locked, json(s.message())};
  e->image.reset();
  persist();
  return {std::nullopt, json{{"drive", drive_json(*e, who)}}};
}

ServiceController::Reply ServiceController::op_remove(const daemon::Request& req, const Caller& who) {
  if (!req.drive) return {ErrorCode::bad_request, json("remove needs a drive")};
  Reply err;
  Entry* e = find(*req.drive, who, true, &err);
  if (!e) return err;
  if (e->attachment) {
    if (Status s = detach_drive(initiator_, *e->attachment, req.force); !s.ok()) {
      return {ErrorCode::locked, json(s.message())};
    }
  }
  host_.stop(e->number);
  const uint32_t number = e->number;
  drives_.erase(number);
  persist();
  return {std::nullopt, json{{"removed", number}}};
}

// Windows reads the identity (INQUIRY, VPD) when Plug and Play enumerates the
// LUN, so a new identity means a new device: the drive is logged out, given a
// new engine holding the same medium, and logged in again, as on Linux. The
// drive letter may change; the reply carries the new one.
ServiceController::Reply ServiceController::op_set_identity(const daemon::Request& req, const Caller& who) {
  Reply err;
  Entry* e = find(*req.drive, who, true, &err);
  if (!e) return err;
  const auto st = e->engine->status();
  if (!req.force && st.locked) {
    return {ErrorCode::locked, json("drive " + std::to_string(e->number) +
                                    " is locked by a program (medium removal prevented); close it first or use --force")};
  }
  device::Identity identity = e->identity;
  req.identity->apply(identity);
  auto engine = std::make_shared<device::Drive>(identity);
  if (e->engine->image()) {
    if (Status s = engine->insert(e->engine->image()); !s.ok()) return {ErrorCode::internal, json(s.message())};
  } else if (st.tray == device::TrayState::open) {
    (void)engine->eject(true);
  }
  if (e->attachment) {
    // The logout itself fails while a program holds the volume (Windows checks
    // that the device can be removed): nothing has changed then.
    if (Status s = detach_drive(initiator_, *e->attachment, req.force); !s.ok()) {
      return {ErrorCode::locked, json(s.message())};
    }
    e->attachment.reset();
  }
  host_.stop(e->number);
  e->engine = std::move(engine);
  e->identity = identity;
  if (Status s = bring_up(*e); !s.ok()) {
    e->attach_error = s.message();
    persist();
    return {ErrorCode::unavailable, json("drive " + std::to_string(e->number) +
                                         " has its new identity but could not be attached again: " + s.message())};
  }
  persist();
  log("drive " + std::to_string(e->number) + " re-attached with a new identity as " + e->attachment->drive_letter);
  return {std::nullopt, json{{"drive", drive_json(*e, who)}}};
}

json ServiceController::drive_json(const Entry& e, const Caller& who) const {
  const bool mine = who.admin || who.sid == e.owner_sid;
  const auto st = e.engine->status();
  json j = {{"drive", e.number},
            {"owner", e.owner_name.empty() ? e.owner_sid : e.owner_name},
            {"device", nullptr},
            {"letter", nullptr},
            {"attached", e.attachment.has_value()},
            {"tray", tray_name(st.tray)},
            {"medium", st.medium_present},
            {"locked", st.locked},
            {"image", nullptr},
            {"identity",
             {{"vendor", e.identity.vendor},
              {"product", e.identity.product},
              {"revision", e.identity.revision},
              {"serial", e.identity.serial},
              {"kind", daemon::to_string(e.identity.kind)}}},
            {"counters", {{"commands", st.commands}, {"bytes", st.bytes_read}, {"errors", st.errors}}}};
  if (e.attachment) {
    j["device"] = e.attachment->device_path;
    if (!e.attachment->drive_letter.empty()) j["letter"] = e.attachment->drive_letter;
    j["backend"] = {{"target", e.attachment->target_name},
                    {"portal", e.attachment->address + ":" + std::to_string(e.attachment->port)},
                    {"local_address_fallback", e.attachment->local_address_fallback}};
  }
  if (!e.attach_error.empty()) j["attach_error"] = e.attach_error;
  if (e.image && e.engine->image()) {
    json img = {{"format", e.engine->image()->format_name()}, {"sectors", e.engine->image()->disc().leadout_lba()}};
    if (mine) img["path"] = e.image->path;
    j["image"] = img;
  }
  return j;
}

void ServiceController::shutdown() {
  for (auto& [n, e] : drives_) {
    if (e->attachment) (void)detach_drive(initiator_, *e->attachment, /*force=*/true);
    host_.stop(n);
    e->attachment.reset();
  }
  persist();
}

}  // namespace udisc::win
