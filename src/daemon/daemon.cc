#include "daemon/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "daemon/background.h"
#include "daemon/image_source.h"
#include "daemon/safe_dir.h"
#include "util/process_limits.h"

namespace udisc::daemon {

using nlohmann::json;

struct Controller::Entry {
  DriveRecord record;
  std::shared_ptr<device::Drive> engine;
  formats::ImagePtr image;
  remote::OpenedLocation from_url;  // the HTTP files of a URL image (watched by RemoteMedia)
  std::string attach_error;  // last backend failure, shown by list
};

namespace {

std::string random_serial() {
  uint8_t bytes[5] = {};
  // GRND_NONBLOCK: early in a boot the kernel's random generator may not be
  // ready yet, and a serial number is not worth waiting for (a guest under
  // QEMU waited 1.2 s here in its first `udisc mount`).
  if (::getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != sizeof bytes) {
    const uint64_t t = static_cast<uint64_t>(::getpid()) * 2654435761u ^ static_cast<uint64_t>(::time(nullptr));
    std::memcpy(bytes, &t, sizeof bytes);
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "UD%02X%02X%02X%02X%02X", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4]);
  return buf;
}

std::shared_ptr<device::Drive> make_engine(const device::Identity& identity) {
  return std::make_shared<device::Drive>(identity);
}

const char* tray_name(device::TrayState t) { return t == device::TrayState::open ? "open" : "closed"; }

// How the log names an image: its path, or its URL without query.
std::string image_name_for_log(const ImageRecord& image) {
  return image.url.empty() ? image.image.path : url_for_log(image.url);
}

}  // namespace

// ---------------------------------------------------------------- Controller

Controller::Controller(DaemonOptions options, Backend& backend) : options_(std::move(options)), backend_(backend) {
  remote_media_ = std::make_unique<remote::RemoteMedia>(
      [this](const remote::RemoteMedia::NewVersion& version) {
        // RemoteMedia's thread: the drive table is the controller thread's, so
        // the version waits there (apply_new_versions).
        std::lock_guard lock(new_versions_mu_);
        new_versions_.push_back(version);
        if (wake_) wake_();
        return Status::Ok();
      },
      [this](const std::string& line) { log(line); }, options_.url_revalidate_every);
}
Controller::~Controller() { remote_media_.reset(); }

void Controller::set_wake(std::function<void()> wake) {
  std::lock_guard lock(new_versions_mu_);
  wake_ = std::move(wake);
}

void Controller::watch_url(Entry& e) {
  if (!e.from_url.http || !e.record.image) {
    remote_media_->forget(e.record.number);
    return;
  }
  remote_media_->watch(e.record.number, url_for_log(e.record.image->url), e.from_url,
                       [record = *e.record.image, uid = e.record.owner_uid, gid = e.record.owner_gid]()
                           -> Result<remote::OpenedLocation> {
                         auto again = reopen_image(record, uid, gid);
                         if (!again.ok()) return again.status();
                         return std::move(again->from_url);
                       });
}

void Controller::apply_new_versions() {
  std::vector<remote::RemoteMedia::NewVersion> versions;
  {
    std::lock_guard lock(new_versions_mu_);
    versions.swap(new_versions_);
  }
  for (remote::RemoteMedia::NewVersion& v : versions) {
    auto it = drives_.find(v.key);
    // Ejected, removed or given another disc since: that change stands.
    if (it == drives_.end() || it->second->from_url.http != v.replaced || !it->second->record.image) continue;
    Entry& e = *it->second;
    if (Status s = e.engine->insert(v.opened.image); !s.ok()) {
      log("drive " + std::to_string(e.record.number) + ": cannot insert the new version of '" + v.name + "': " +
          s.message());
      watch_url(e);  // the old version, whose new one is offered again on the next pass
      continue;
    }
    e.image = v.opened.image;
    e.from_url = std::move(v.opened);
    e.record.image->format = e.image->format_name();
    persist();
    log("drive " + std::to_string(e.record.number) + ": '" + v.name + "' changed on the server (" + v.old_version +
        " -> " + v.new_version + "); its new version is now in the drive as a new medium");
  }
}

void Controller::log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::fprintf(stderr, "udisc daemon: %s\n", line.c_str());
  }
}

std::shared_ptr<device::Drive> Controller::engine(uint32_t number) const {
  auto it = drives_.find(number);
  return it == drives_.end() ? nullptr : it->second->engine;
}

Status Controller::restore() {
  DaemonState loaded;
  if (!options_.state_path.empty()) {
    auto st = load_state(options_.state_path);
    if (!st.ok()) {
      return st.status().with_context("cannot restore the drives (move the file aside to start without them)");
    }
    loaded = std::move(st).value();
  }
  // Every image is reopened on a thread of its own, all at once, and waited
  // for until one deadline: a file that hangs (FIFO, stalled FUSE/NFS) costs
  // the start at most restore_timeout, and only its own drive comes back
  // empty.
  std::map<uint32_t, BackgroundJob<Result<OpenedImage>>> reopening;
  for (const DriveRecord& rec : loaded.drives) {
    if (!rec.image) continue;
    reopening.emplace(rec.number, BackgroundJob<Result<OpenedImage>>([rec]() -> Result<OpenedImage> {
                        return reopen_image(*rec.image, rec.owner_uid, rec.owner_gid);
                      }));
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.restore_timeout;
  std::map<uint32_t, std::shared_ptr<device::Drive>> known;
  for (const DriveRecord& rec : loaded.drives) {
    auto e = std::make_unique<Entry>();
    e->record = rec;
    e->engine = make_engine(rec.identity);
    if (rec.image) {
      auto done = reopening.at(rec.number).wait_until(deadline);
      Result<OpenedImage> opened =
          done ? std::move(*done)
               : Result<OpenedImage>(Status::IoError("'" + image_name_for_log(*rec.image) + "' did not open within " +
                                                     std::to_string(options_.restore_timeout.count()) +
                                                     " ms (a stalled file system?)"));
      if (opened.ok()) {
        if (Status s = e->engine->insert(opened->image); s.ok()) {
          e->image = opened->image;
          e->record.image = opened->record;
          e->from_url = opened->from_url;
          watch_url(*e);
        } else {
          log("drive " + std::to_string(rec.number) + ": " + s.message());
          e->record.image.reset();
        }
      } else {
        log("drive " + std::to_string(rec.number) + ": image not restored: " + opened.status().message());
        e->record.image.reset();
        e->record.tray_open = true;
      }
    }
    if (!e->image && e->record.tray_open) (void)e->engine->eject(true);
    known.emplace(rec.number, e->engine);
    drives_.emplace(rec.number, std::move(e));
  }
  std::map<uint32_t, Status> failures;
  if (Status s = backend_.recover(known, &failures); !s.ok()) {
    log("recovering " + backend_.name() + " devices: " + s.message());
  }
  for (const auto& [n, s] : failures) {
    auto it = drives_.find(n);
    if (it != drives_.end()) it->second->attach_error = s.message();
    log("drive " + std::to_string(n) + ": " + s.message());
  }
  if (!drives_.empty()) log("restored " + std::to_string(drives_.size()) + " drive(s)");
  persist();
  return Status::Ok();
}

void Controller::shutdown() {
  persist();
  backend_.release_all();
}

void Controller::persist() {
  state_.drives.clear();
  for (const auto& [n, e] : drives_) {
    DriveRecord r = e->record;
    if (e->engine) {
      const auto st = e->engine->status();
      r.tray_open = st.tray == device::TrayState::open;
    }
    state_.drives.push_back(std::move(r));
  }
  if (options_.state_path.empty()) return;
  if (Status s = save_state(state_, options_.state_path); !s.ok()) log("saving state: " + s.message());
}

std::string Controller::handle_line(std::string_view line, const Credentials& who, std::deque<UniqueFd>& fds) {
  auto begun = begin_line(line, who, fds, {});
  if (auto* reply = std::get_if<std::string>(&begun)) return std::move(*reply);
  PendingRequest& pending = std::get<PendingRequest>(begun);
  // Waiting until the deadline either gets the result or gives up on it.
  auto reply = finish(pending, pending.deadline());
  return reply ? std::move(*reply) : make_error_reply(nullptr, ErrorCode::internal, "image read not finished");
}

std::optional<std::string> Controller::stalled_reads_of(uid_t uid) {
  auto it = probes_by_uid_.find(uid);
  if (it == probes_by_uid_.end()) return std::nullopt;
  std::erase_if(it->second, [](const std::function<bool()>& running) { return !running(); });
  if (it->second.empty()) {
    probes_by_uid_.erase(it);
    return std::nullopt;
  }
  return "an image uid " + std::to_string(uid) +
         " sent earlier is still being read (a stalled file system?); try again once it answers";
}

std::variant<std::string, PendingRequest> Controller::begin_line(std::string_view line, const Credentials& who,
                                                                 std::deque<UniqueFd>& fds,
                                                                 std::function<void()> wake) {
  try {
    auto parsed = parse_request(line);
    if (auto* err = std::get_if<ParseError>(&parsed)) {
      // The descriptors sent with a malformed request cannot be matched to it.
      fds.clear();
      return make_error_reply(err->id, err->code, err->message);
    }
    const Request& req = std::get<Request>(parsed);
    if (fds.size() < req.fds) {
      const size_t got = fds.size();
      fds.clear();
      return make_error_reply(req.id, ErrorCode::bad_request,
                              "request declares " + std::to_string(req.fds) + " descriptors but " +
                                  std::to_string(got) + " arrived with it (send them with SCM_RIGHTS)");
    }
    std::vector<UniqueFd> mine;
    for (size_t i = 0; i < req.fds; ++i) {
      mine.push_back(std::move(fds.front()));
      fds.pop_front();
    }
    if (req.image && (req.op == Op::create || req.op == Op::insert || req.op == Op::mount)) {
      // Reading the image (a file the user chose: FUSE, NFS ...) happens on
      // a worker; the drive table is touched only in finish(), here.
      if (auto refused = stalled_reads_of(who.uid)) return make_error_reply(req.id, ErrorCode::limit, *refused);
      PendingRequest pending;
      pending.req_ = req;
      pending.who_ = who;
      pending.deadline_ = std::chrono::steady_clock::now() + options_.probe_timeout;
      pending.job_ = std::make_unique<BackgroundJob<Result<OpenedImage>>>(
          [image = *req.image, files = std::make_shared<std::vector<UniqueFd>>(std::move(mine)),
           reader = options_.read_image]() {
            // A URL is fetched here too: the deadline bounds a slow server as
            // it bounds a stalled file system.
            if (!image.url.empty()) return open_url_image(image);
            return reader ? reader(image, std::move(*files)) : open_received_image(image, std::move(*files));
          },
          std::move(wake));
      return pending;
    }
    Reply r = dispatch(req, who, std::move(mine));
    if (r.first) return make_error_reply(req.id, *r.first, r.second.get<std::string>());
    return make_ok_reply(req.id, std::move(r.second));
  } catch (const std::exception& e) {
    // Unexpected (e.g. out of memory, no thread): the request fails, the daemon goes on.
    log(std::string("internal error handling a request: ") + e.what());
    return make_error_reply(nullptr, ErrorCode::internal, std::string("internal error: ") + e.what());
  }
}

std::optional<std::string> Controller::finish(PendingRequest& pending, std::chrono::steady_clock::time_point now) {
  auto done = pending.job_ ? pending.job_->wait_until(now) : std::nullopt;
  const Request& req = pending.req_;
  if (!done) {
    if (now < pending.deadline_) return std::nullopt;
    abandon(pending);
    const std::string ms = std::to_string(options_.probe_timeout.count());
    const bool url = !req.image->url.empty();
    log("uid " + std::to_string(pending.who_.uid) + ": reading '" + (url ? url_for_log(req.image->url) : req.image->path) +
        "' takes longer than " + ms + " ms; request refused");
    return make_error_reply(req.id, ErrorCode::bad_image,
                            "'" + (url ? req.image->url : req.image->path) + "' did not answer within " + ms +
                                (url ? " ms (is the server slow or down?)" : " ms (is it on a slow or stalled file system?)"));
  }
  pending.job_.reset();
  try {
    read_ahead_ = std::move(*done);
    Reply r = dispatch(req, pending.who_, {});
    read_ahead_.reset();
    if (r.first) return make_error_reply(req.id, *r.first, r.second.get<std::string>());
    return make_ok_reply(req.id, std::move(r.second));
  } catch (const std::exception& e) {
    read_ahead_.reset();
    log(std::string("internal error handling a request: ") + e.what());
    return make_error_reply(nullptr, ErrorCode::internal, std::string("internal error: ") + e.what());
  }
}

void Controller::abandon(PendingRequest& pending) {
  if (!pending.job_) return;
  auto running = pending.job_->running_probe();
  if (running()) probes_by_uid_[pending.who_.uid].push_back(std::move(running));
  pending.job_.reset();
}

Result<OpenedImage> Controller::image_for(const ImageSpec& image, std::vector<UniqueFd> fds) {
  if (read_ahead_) {
    Result<OpenedImage> r = std::move(*read_ahead_);
    read_ahead_.reset();
    return r;
  }
  if (!image.url.empty()) return open_url_image(image);
  return open_received_image(image, std::move(fds));
}

Controller::Reply Controller::dispatch(const Request& req, const Credentials& who, std::vector<UniqueFd> fds) {
  switch (req.op) {
    case Op::hello:
      return op_hello(who);
    case Op::list:
    case Op::status:
      return op_list(req, who);
    case Op::create:
      return op_create(req, who, std::move(fds));
    case Op::insert:
      return op_insert(req, who, std::move(fds));
    case Op::mount:
      return op_mount(req, who, std::move(fds));
    case Op::eject:
      return op_eject(req, who);
    case Op::remove:
      return op_remove(req, who);
    case Op::set_identity:
      return op_set_identity(req, who);
  }
  return {ErrorCode::internal, "unhandled op"};
}

Controller::Reply Controller::op_hello(const Credentials& who) {
  const Status avail = backend_.available();
  json r = {{"protocol", kProtocolVersion},
            {"version", kDaemonVersion},
            {"backend", backend_.name()},
            {"backend_available", avail.ok()},
            {"uid", who.uid},
            {"pid", static_cast<int64_t>(::getpid())},
            {"drives", drives_.size()},
            {"features", json::array({"image_url"})}};
  if (!avail.ok()) r["backend_problem"] = avail.message();
  return {std::nullopt, r};
}

json Controller::drive_json(const Entry& e, const Credentials& who) const {
  const bool mine = who.is_root() || who.uid == e.record.owner_uid;
  const auto st = e.engine->status();
  const auto& id = e.engine->identity();
  json j = {{"drive", e.record.number},
            {"owner_uid", e.record.owner_uid},
            {"device", nullptr},
            {"attached", backend_.attached(e.record.number)},
            {"tray", tray_name(st.tray)},
            {"medium", st.medium_present},
            {"locked", st.locked},
            {"image", nullptr},
            {"identity",
             {{"vendor", id.vendor},
              {"product", id.product},
              {"revision", id.revision},
              {"serial", id.serial},
              {"kind", to_string(id.kind)}}},
            {"counters", {{"commands", st.commands}, {"bytes", st.bytes_read}, {"errors", st.errors}}}};
  const std::string node = backend_.device_node(e.record.number);
  if (!node.empty()) j["device"] = node;
  if (!e.attach_error.empty()) j["attach_error"] = e.attach_error;
  if (e.image && e.record.image) {
    json img = {{"format", e.record.image->format},
                {"sectors", e.image->disc().leadout_lba()},
                {"persistent", e.record.image->reopenable}};
    if (mine && !e.record.image->url.empty()) {
      // The URL is the owner's to see, as a path is; credentials and the CA
      // bundle are never shown to anyone.
      img["url"] = e.record.image->url;
      img["path"] = e.record.image->url;
      img["files"] = json::array();
      if (e.from_url.http) {
        // Which version of the object is in the drive (a replaced object
        // becomes a new medium), and what reading it has cost so far.
        img["version"] = e.from_url.http->validator();
        const remote::HttpStats t = e.from_url.http->stats();
        img["http"] = {{"requests", t.requests},     {"retries", t.retries},
                       {"bytes", t.bytes_received},  {"cache_hits", t.cache.hits},
                       {"cache_misses", t.cache.misses}};
      }
    } else if (mine) {
      img["path"] = e.record.image->image.path;
      json files = json::array();
      for (const auto& f : e.record.image->files) files.push_back(f.path);
      img["files"] = files;
    }
    j["image"] = img;
  }
  json backend_info = backend_.describe(e.record.number);
  if (!backend_info.is_null()) j["backend"] = backend_info;
  return j;
}

Controller::Entry* Controller::find(const DriveRef& ref, const Credentials& who, bool for_change, Reply* error) {
  Entry* found = nullptr;
  if (ref.number) {
    auto it = drives_.find(*ref.number);
    if (it != drives_.end()) found = it->second.get();
  } else {
    for (auto& [n, e] : drives_) {
      if (backend_.device_node(n) == ref.device_node) found = e.get();
    }
  }
  if (found == nullptr) {
    *error = {ErrorCode::not_found, "no " + ref.to_string() + " (see `udisc list`)"};
    return nullptr;
  }
  if (for_change && !who.is_root() && who.uid != found->record.owner_uid) {
    *error = {ErrorCode::permission_denied, "drive " + std::to_string(found->record.number) + " belongs to uid " +
                                                std::to_string(found->record.owner_uid) +
                                                "; only its owner or root may change it"};
    return nullptr;
  }
  return found;
}

std::string Controller::locked_message(const Entry& e, const char* action) const {
  const std::string node = backend_.device_node(e.record.number);
  std::string name = "drive " + std::to_string(e.record.number) + (node.empty() ? "" : " (" + node + ")");
  return "cannot " + std::string(action) + " " + name +
         ": it is locked — a program or a mounted file system on this machine prevents medium removal. "
         "Unmount it first" +
         (node.empty() ? std::string() : " (umount " + node + ")") +
         ", or use --force (whatever has it mounted then loses its disc).";
}

Controller::Reply Controller::op_list(const Request& req, const Credentials& who) {
  json drives = json::array();
  if (req.drive) {
    Reply err;
    Entry* e = find(*req.drive, who, false, &err);
    if (e == nullptr) return err;
    drives.push_back(drive_json(*e, who));
  } else {
    for (const auto& [n, e] : drives_) drives.push_back(drive_json(*e, who));
  }
  json r = {{"drives", drives}, {"backend", backend_.name()}};
  return {std::nullopt, r};
}

Controller::Reply Controller::create_drive(std::optional<uint32_t> number, const std::optional<IdentitySpec>& identity,
                                           const std::optional<ImageSpec>& image, const Credentials& who,
                                           std::vector<UniqueFd> fds) {
  if (drives_.size() >= options_.max_drives) {
    return {ErrorCode::limit, "this daemon already has " + std::to_string(drives_.size()) + " drives (at most " +
                                  std::to_string(options_.max_drives) + ")"};
  }
  if (!who.is_root()) {
    size_t owned = 0;
    for (const auto& [n, e] : drives_) owned += e->record.owner_uid == who.uid;
    if (owned >= options_.max_drives_per_user) {
      return {ErrorCode::limit, "uid " + std::to_string(who.uid) + " already has " + std::to_string(owned) +
                                    " drives (at most " + std::to_string(options_.max_drives_per_user) + " per user)"};
    }
  }
  if (number) {
    if (drives_.count(*number)) return {ErrorCode::bad_request, "drive " + std::to_string(*number) + " already exists"};
  } else {
    uint32_t n = 0;
    while (drives_.count(n)) ++n;
    number = n;
  }
  if (Status s = backend_.available(); !s.ok()) return {ErrorCode::unavailable, s.message()};

  auto e = std::make_unique<Entry>();
  e->record.number = *number;
  e->record.owner_uid = who.uid;
  e->record.owner_gid = who.gid;
  e->record.identity.serial = random_serial();
  if (identity) identity->apply(e->record.identity);
  e->engine = make_engine(e->record.identity);
  if (image) {
    auto opened = image_for(*image, std::move(fds));
    if (!opened.ok()) return {ErrorCode::bad_image, opened.status().message()};
    if (Status s = e->engine->insert(opened->image); !s.ok()) return {ErrorCode::bad_image, s.message()};
    e->image = opened->image;
    e->record.image = opened->record;
    e->from_url = opened->from_url;
  }
  if (Status s = backend_.attach(*number, e->engine); !s.ok()) {
    return {ErrorCode::unavailable, "creating drive " + std::to_string(*number) + ": " + s.message()};
  }
  Entry& ref = *e;
  watch_url(ref);
  drives_.emplace(*number, std::move(e));
  persist();
  log("drive " + std::to_string(*number) + " created by uid " + std::to_string(who.uid) +
      (ref.record.image ? " with '" + image_name_for_log(*ref.record.image) + "'" : ""));
  return {std::nullopt, json{{"drive", drive_json(ref, who)}, {"created", true}}};
}

Controller::Reply Controller::op_create(const Request& req, const Credentials& who, std::vector<UniqueFd> fds) {
  if (req.drive && !req.drive->number)
    return {ErrorCode::bad_request, "op 'create' takes a drive number, not a device node"};
  return create_drive(req.drive ? req.drive->number : std::nullopt, req.identity, req.image, who, std::move(fds));
}

Controller::Reply Controller::insert_into(Entry& e, const ImageSpec& image, bool force, std::vector<UniqueFd> fds) {
  const auto st = e.engine->status();
  if (st.medium_present && st.locked && !force) return {ErrorCode::locked, locked_message(e, "replace the disc in")};
  auto opened = image_for(image, std::move(fds));
  if (!opened.ok()) return {ErrorCode::bad_image, opened.status().message()};
  if (Status s = e.engine->insert(opened->image); !s.ok()) return {ErrorCode::bad_image, s.message()};
  e.image = opened->image;
  e.record.image = opened->record;
  e.from_url = opened->from_url;
  e.record.tray_open = false;
  watch_url(e);
  // A drive that could not be attached at start (e.g. the kernel lacked a
  // module then) gets another chance now.
  if (!backend_.attached(e.record.number)) {
    if (Status s = backend_.attach(e.record.number, e.engine); s.ok()) {
      e.attach_error.clear();
    } else {
      e.attach_error = s.message();
    }
  }
  persist();
  log("drive " + std::to_string(e.record.number) + ": inserted '" + image_name_for_log(*e.record.image) + "'");
  return {std::nullopt, json{}};
}

Controller::Reply Controller::op_insert(const Request& req, const Credentials& who, std::vector<UniqueFd> fds) {
  Reply err;
  Entry* e = find(*req.drive, who, true, &err);
  if (e == nullptr) return err;
  Reply r = insert_into(*e, *req.image, req.force, std::move(fds));
  if (r.first) return r;
  return {std::nullopt, json{{"drive", drive_json(*e, who)}, {"created", false}}};
}

Controller::Reply Controller::op_mount(const Request& req, const Credentials& who, std::vector<UniqueFd> fds) {
  Entry* target = nullptr;
  if (req.drive) {
    Reply err;
    if (req.drive->number && !drives_.count(*req.drive->number)) {
      return create_drive(req.drive->number, req.identity, req.image, who, std::move(fds));
    }
    target = find(*req.drive, who, true, &err);
    if (target == nullptr) return err;
  } else {
    // A drive of the caller's with no disc in it, else a new one.
    for (auto& [n, e] : drives_) {
      if (e->record.owner_uid == who.uid && !e->engine->status().medium_present && e->attach_error.empty() &&
          backend_.attached(n)) {
        target = e.get();
        break;
      }
    }
    if (target == nullptr) return create_drive(std::nullopt, req.identity, req.image, who, std::move(fds));
  }
  Reply r = insert_into(*target, *req.image, req.force, std::move(fds));
  if (r.first) return r;
  return {std::nullopt, json{{"drive", drive_json(*target, who)}, {"created", false}}};
}

Controller::Reply Controller::op_eject(const Request& req, const Credentials& who) {
  Reply err;
  Entry* e = find(*req.drive, who, true, &err);
  if (e == nullptr) return err;
  // A locked drive refuses in the engine, which also reports an eject-request
  // media event to the host (as a real drive's button does): desktops then
  // unmount and eject by themselves.
  if (Status s = e->engine->eject(req.force); !s.ok()) {
    if (!req.force) return {ErrorCode::locked, locked_message(*e, "eject") + " (" + s.message() + ")"};
    return {ErrorCode::internal, s.message()};
  }
  e->image.reset();
  e->record.image.reset();
  e->record.tray_open = true;
  e->from_url = {};
  watch_url(*e);
  persist();
  log("drive " + std::to_string(e->record.number) + ": ejected" + (req.force ? " (forced)" : ""));
  return {std::nullopt, json{{"drive", drive_json(*e, who)}}};
}

Controller::Reply Controller::op_remove(const Request& req, const Credentials& who) {
  Reply err;
  Entry* e = find(*req.drive, who, true, &err);
  if (e == nullptr) return err;
  const auto st = e->engine->status();
  if (st.locked && !req.force) return {ErrorCode::locked, locked_message(*e, "remove")};
  const uint32_t number = e->record.number;
  const std::string node = backend_.device_node(number);
  if (backend_.attached(number)) {
    if (Status s = backend_.detach(number); !s.ok()) {
      return {ErrorCode::internal, "removing drive " + std::to_string(number) + ": " + s.message()};
    }
  }
  remote_media_->forget(number);
  drives_.erase(number);
  persist();
  log("drive " + std::to_string(number) + " removed");
  json r = {{"drive", number}};
  if (!node.empty()) r["device"] = node;
  return {std::nullopt, r};
}

Controller::Reply Controller::op_set_identity(const Request& req, const Credentials& who) {
  Reply err;
  Entry* e = find(*req.drive, who, true, &err);
  if (e == nullptr) return err;
  const auto st = e->engine->status();
  if (st.locked && !req.force) return {ErrorCode::locked, locked_message(*e, "change the identity of")};
  device::Identity identity = e->record.identity;
  req.identity->apply(identity);
  // The host reads the identity when it probes the device: a new engine is
  // attached in place of the old one, so the host probes again.
  auto engine = make_engine(identity);
  if (e->image) {
    if (Status s = engine->insert(e->image); !s.ok()) return {ErrorCode::internal, s.message()};
  } else if (st.tray == device::TrayState::open) {
    (void)engine->eject(true);
  }
  const uint32_t number = e->record.number;
  if (backend_.attached(number)) {
    if (Status s = backend_.detach(number); !s.ok()) {
      return {ErrorCode::internal, "detaching drive " + std::to_string(number) + ": " + s.message()};
    }
  }
  e->engine = engine;
  e->record.identity = identity;
  if (Status s = backend_.attach(number, engine); !s.ok()) {
    e->attach_error = s.message();
    persist();
    return {ErrorCode::unavailable, "drive " + std::to_string(number) +
                                        " has its new identity but could not be attached again: " + s.message()};
  }
  e->attach_error.clear();
  persist();
  return {std::nullopt, json{{"drive", drive_json(*e, who)}}};
}

// -------------------------------------------------------------------- Daemon

using Clock = std::chrono::steady_clock;

struct Daemon::Client {
  UniqueFd fd;
  Credentials who;
  std::string in;
  std::string out;
  std::deque<UniqueFd> fds;
  bool closing = false;  // close once `out` is flushed (and `waiting` answered)
  bool broken = false;   // the peer is gone: close now
  bool pending = false;  // complete requests wait in `in` (handled next round)
  Clock::time_point last_activity = Clock::now();
  Clock::time_point partial_since{};  // when `in` last became non-empty
  // A request whose image a worker reads; later lines wait behind it.
  std::optional<PendingRequest> waiting;
};

Daemon::Daemon(DaemonOptions options, std::unique_ptr<Backend> backend)
    : options_(std::move(options)), backend_(std::move(backend)) {
  controller_ = std::make_unique<Controller>(options_, *backend_);
}

Daemon::~Daemon() {
  controller_.reset();  // its RemoteMedia thread writes to wake_fd_
  if (owns_socket_file_) ::unlink(options_.socket_path.c_str());
}

void Daemon::log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::fprintf(stderr, "udisc daemon: %s\n", line.c_str());
  }
}

int systemd_listen_fd() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (pid == nullptr || fds == nullptr) return -1;
  if (std::strtol(pid, nullptr, 10) != static_cast<long>(::getpid())) return -1;
  if (std::strtol(fds, nullptr, 10) < 1) return -1;
  constexpr int kFirst = 3;  // SD_LISTEN_FDS_START
  struct stat st {};
  if (::fstat(kFirst, &st) != 0 || !S_ISSOCK(st.st_mode)) return -1;
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  return kFirst;
}

Status Daemon::start() {
  // Every client costs descriptors (its connection, the image files it
  // sends): meet the daemon's own caps, not the process limit.
  if (auto limit = raise_descriptor_limit(); limit.ok()) {
    // Room for the drives' images and the backend besides the clients'
    // share: clients and queued descriptors get at most half.
    const size_t share = static_cast<size_t>(*limit) / 2;
    options_.max_clients = std::min(options_.max_clients, std::max<size_t>(share / 8, 1));
    options_.max_queued_fds_total = std::min(options_.max_queued_fds_total, share);
    options_.max_queued_fds_per_user = std::min(options_.max_queued_fds_per_user, share / 4);
    options_.max_queued_fds = std::min(options_.max_queued_fds, options_.max_queued_fds_per_user);
  } else {
    log(limit.status().message());
  }
  spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  stop_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  wake_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd_.valid() || !wake_fd_.valid()) return Status::IoError(std::string("eventfd: ") + std::strerror(errno));
  controller_->set_wake([fd = wake_fd_.get()] {
    const uint64_t one = 1;
    (void)!::write(fd, &one, sizeof one);
  });
  // The socket first: binding it proves no other daemon answers there, before
  // this one touches any drive. Clients that connect meanwhile wait in the
  // backlog until run().
  if (options_.listen_fd >= 0) {
    listen_fd_.reset(options_.listen_fd);
    const int flags = ::fcntl(listen_fd_.get(), F_GETFL);
    ::fcntl(listen_fd_.get(), F_SETFL, flags | O_NONBLOCK);
    log("serving the socket handed over by systemd");
  } else {
    bool group_applied = false;
    auto fd = listen_unix(options_.socket_path, options_.socket_mode, options_.socket_group, &group_applied);
    if (!fd.ok()) return fd.status();
    listen_fd_ = std::move(fd).value();
    owns_socket_file_ = true;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(options_.socket_mode));
    log("listening on " + options_.socket_path + " (mode " + mode +
        (group_applied ? ", group " + options_.socket_group
                       : std::string(", no group '") + options_.socket_group + "' here: root only") +
        "), backend " + backend_->name());
  }
  // One daemon per state file.
  if (!options_.state_path.empty()) {
    // The folder is created on first start (0700: the state names every
    // user's image paths) and refused when others may write to it.
    if (Status s = ensure_private_dir(folder_of_path(options_.state_path), 0700, "state folder"); !s.ok()) return s;
    const std::string lock_path = options_.state_path + ".lock";
    auto lock = open_own_file(lock_path, O_RDWR | O_CREAT);
    if (!lock.ok()) return lock.status();
    state_lock_.reset(*lock);
    if (::flock(state_lock_.get(), LOCK_EX | LOCK_NB) != 0) {
      return Status::InvalidArgument("another udisc daemon uses the state file '" + options_.state_path + "'");
    }
  }
  if (Status s = controller_->restore(); !s.ok()) return s;
  if (Status s = backend_->available(); !s.ok())
    log("backend '" + backend_->name() + "' cannot attach drives here: " + s.message());
  return Status::Ok();
}

void Daemon::request_stop() {
  const uint64_t one = 1;
  if (stop_fd_.valid()) (void)!::write(stop_fd_.get(), &one, sizeof one);
}

size_t Daemon::connections_of(uid_t uid) const {
  size_t n = 0;
  for (const auto& [fd, c] : clients_) n += c->who.uid == uid ? 1 : 0;
  return n;
}

size_t Daemon::queued_fds_of(std::optional<uid_t> uid) const {
  size_t n = 0;
  for (const auto& [fd, c] : clients_) n += !uid || c->who.uid == *uid ? c->fds.size() : 0;
  return n;
}

void Daemon::refuse_connection(int fd, const std::string& why) {
  const std::string msg = make_error_reply(nullptr, ErrorCode::limit, why);
  (void)!::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void Daemon::accept_clients() {
  for (;;) {
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: the connection would stay in the backlog and
        // the listener readable, so poll() would spin. Tell one client to
        // come back (with the spare descriptor) and rest the listener.
        if (spare_fd_.valid()) {
          spare_fd_.reset();
          const int late = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (late >= 0) {
            refuse_connection(late, "the daemon is out of descriptors; try again later");
            ::close(late);
          }
          spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        }
        listener_resumes_ = Clock::now() + std::chrono::milliseconds(options_.accept_backoff_ms);
        if (!logged_out_of_fds_) {
          log("out of descriptors accepting a connection; pausing the listener (further such events not logged)");
          logged_out_of_fds_ = true;
        }
      }
      return;  // EAGAIN, or a transient error: try again on the next poll
    }
    UniqueFd cfd(fd);
    auto who = peer_credentials(cfd.get());
    if (!who.ok()) continue;
    // Root is always admitted: no user may lock the administrator out.
    if (who->is_root() ? connections_of(0) >= options_.max_clients
                       : clients_.size() - connections_of(0) >= options_.max_clients) {
      refuse_connection(cfd.get(), "too many clients connected; try again later");
      continue;
    }
    if (!who->is_root() && connections_of(who->uid) >= options_.max_clients_per_user) {
      refuse_connection(cfd.get(), "uid " + std::to_string(who->uid) + " already has " +
                                       std::to_string(options_.max_clients_per_user) +
                                       " connections open; close one and try again");
      continue;
    }
    auto c = std::make_unique<Client>();
    c->who = *who;
    c->fd = std::move(cfd);
    clients_.emplace(c->fd.get(), std::move(c));
  }
}

int Daemon::expire_clients() {
  const auto now = Clock::now();
  Clock::time_point next = Clock::time_point::max();
  for (auto& [fd, c] : clients_) {
    if (c->waiting) {
      next = std::min(next, c->waiting->deadline());
      continue;
    }
    if (c->closing) continue;
    if (!c->in.empty() && !c->pending) {
      const auto deadline = c->partial_since + std::chrono::milliseconds(options_.partial_timeout_ms);
      if (now >= deadline) {
        c->out += make_error_reply(nullptr, ErrorCode::bad_request,
                                   "request incomplete after " + std::to_string(options_.partial_timeout_ms) +
                                       " ms (no newline); closing the connection");
        c->in.clear();
        c->fds.clear();
        c->closing = true;
        continue;
      }
      next = std::min(next, deadline);
    } else if (c->in.empty() && c->out.empty()) {
      const auto deadline = c->last_activity + std::chrono::milliseconds(options_.idle_timeout_ms);
      if (now >= deadline) {
        c->fds.clear();
        c->closing = true;
        continue;
      }
      next = std::min(next, deadline);
    }
  }
  if (now < listener_resumes_) next = std::min(next, listener_resumes_);
  if (next == Clock::time_point::max()) return -1;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60'000));
}

void Daemon::read_client(Client& c) {
  std::vector<char> buf(kMaxMessageBytes);
  // Take in no more descriptors than this connection and its uid may still
  // queue (one more shows the excess); the kernel closes the rest.
  // Root counts only against its per-connection cap (and its own number of
  // connections), so other users filling the shared budget cannot lock it out.
  const bool root = c.who.is_root();
  const size_t uid_room = root ? SIZE_MAX
                               : options_.max_queued_fds_per_user -
                                     std::min(options_.max_queued_fds_per_user, queued_fds_of(c.who.uid));
  const size_t conn_room = options_.max_queued_fds - std::min(options_.max_queued_fds, c.fds.size());
  const size_t total_room =
      root ? SIZE_MAX
           : options_.max_queued_fds_total - std::min(options_.max_queued_fds_total, queued_fds_of(std::nullopt));
  auto r = receive_with_fds(c.fd.get(), buf, true, std::min({uid_room, conn_room, total_room}) + 1);
  if (!r.ok()) {
    if (r.status().message() != "EAGAIN") {
      c.closing = true;
      c.broken = true;
      c.out.clear();
    }
    return;
  }
  if (r->bytes == 0) {  // the client finished sending; replies still go out
    c.closing = true;
    c.fds.clear();
    return;
  }
  c.last_activity = Clock::now();
  for (auto& fd : r->fds) c.fds.push_back(std::move(fd));
  if (r->fds_truncated || c.fds.size() > options_.max_queued_fds ||
      (!root && (queued_fds_of(c.who.uid) > options_.max_queued_fds_per_user ||
                 queued_fds_of(std::nullopt) > options_.max_queued_fds_total))) {
    c.out += make_error_reply(nullptr, ErrorCode::limit,
                              "too many descriptors sent (at most " + std::to_string(options_.max_queued_fds) +
                                  " per request and " + std::to_string(options_.max_queued_fds_per_user) +
                                  " waiting per user); closing the connection");
    c.fds.clear();
    c.in.clear();
    c.closing = true;
    return;
  }
  if (c.in.empty()) c.partial_since = c.last_activity;
  c.in.append(buf.data(), r->bytes);
  process_lines(c);
}

void Daemon::process_lines(Client& c) {
  // Fairness: a few requests per client per round, so a flooding client
  // delays the others by at most that much.
  constexpr int kLinesPerRound = 16;
  if (c.waiting) return;  // replies go out in request order
  size_t start = 0;
  c.pending = false;
  for (int handled = 0;;) {
    const size_t nl = c.in.find('\n', start);
    if (nl == std::string::npos) break;
    if (handled == kLinesPerRound) {
      c.pending = true;
      break;
    }
    std::string_view line(c.in.data() + start, nl - start);
    start = nl + 1;
    if (line.size() + 1 > kMaxMessageBytes) {
      c.out += make_error_reply(nullptr, ErrorCode::bad_request,
                                "message longer than " + std::to_string(kMaxMessageBytes) + " bytes");
      c.fds.clear();
      ++handled;
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto begun = controller_->begin_line(line, c.who, c.fds, [fd = wake_fd_.get()] {
      const uint64_t one = 1;
      (void)!::write(fd, &one, sizeof one);
    });
    ++handled;
    if (auto* reply = std::get_if<std::string>(&begun)) {
      c.out += *reply;
      continue;
    }
    c.waiting.emplace(std::move(std::get<PendingRequest>(begun)));
    c.pending = c.in.find('\n', start) != std::string::npos;
    break;
  }
  c.in.erase(0, start);
  if (start > 0 && !c.in.empty()) c.partial_since = Clock::now();
  if (!c.pending && c.in.size() >= kMaxMessageBytes) {
    c.out += make_error_reply(
        nullptr, ErrorCode::bad_request,
        "message longer than " + std::to_string(kMaxMessageBytes) + " bytes without a newline; closing the connection");
    c.closing = true;
    c.in.clear();
  }
  // Descriptors that arrived with no request still pending belong to none.
  if (c.in.empty()) c.fds.clear();
}

void Daemon::finish_pending(Client& c) {
  if (!c.waiting) return;
  auto reply = controller_->finish(*c.waiting, Clock::now());
  if (!reply) return;
  c.waiting.reset();
  c.last_activity = Clock::now();
  c.out += *reply;
  if (!c.closing && c.out.size() < options_.max_output_bytes) process_lines(c);
}

void Daemon::flush_client(Client& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      c.out.clear();
      c.closing = true;
      return;
    }
    c.out.erase(0, static_cast<size_t>(n));
  }
}

Status Daemon::run() {
  if (!listen_fd_.valid()) return Status::InvalidArgument("Daemon::run before a successful start()");
  std::vector<pollfd> pfds;
  std::vector<Client*> order;
  for (;;) {
    pfds.clear();
    order.clear();
    const int next_deadline_ms = expire_clients();
    pfds.push_back({stop_fd_.get(), POLLIN, 0});
    pfds.push_back({wake_fd_.get(), POLLIN, 0});
    // While resting after EMFILE the listener is not watched (fd -1 is skipped).
    pfds.push_back({Clock::now() < listener_resumes_ ? -1 : listen_fd_.get(), POLLIN, 0});
    bool any_pending = false;
    for (auto& [fd, c] : clients_) {
      short events = 0;
      // Backpressure: a client that does not read its replies is not read
      // from, nor one whose earlier requests still wait.
      const bool can_take = !c->closing && !c->waiting && c->out.size() < options_.max_output_bytes;
      if (can_take && !c->pending) events |= POLLIN;
      any_pending = any_pending || (can_take && c->pending);
      if (!c->out.empty()) events |= POLLOUT;
      pfds.push_back({fd, events, 0});
      order.push_back(c.get());
    }
    int n = ::poll(pfds.data(), pfds.size(), any_pending ? 0 : next_deadline_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(std::string("poll: ") + std::strerror(errno));
    }
    if (pfds[0].revents & POLLIN) break;
    if (pfds[1].revents & POLLIN) {
      uint64_t count;
      (void)!::read(wake_fd_.get(), &count, sizeof count);
      controller_->apply_new_versions();
    }
    if (pfds[2].revents & POLLIN) accept_clients();
    for (size_t i = 0; i < order.size(); ++i) {
      Client& c = *order[i];
      const short re = pfds[i + 3].revents;
      finish_pending(c);  // a read done, or past its deadline
      if (re & POLLIN) {
        read_client(c);
      } else if (re & (POLLHUP | POLLERR)) {
        c.closing = true;
        c.broken = true;
        c.out.clear();
      } else if (c.pending && !c.closing && c.out.size() < options_.max_output_bytes) {
        process_lines(c);
      }
      flush_client(c);
    }
    for (auto it = clients_.begin(); it != clients_.end();) {
      Client& c = *it->second;
      if (c.closing && (c.broken || (c.out.empty() && !c.waiting))) {
        if (c.waiting) controller_->abandon(*c.waiting);
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
  }
  log("stopping: keeping every drive for the next start");
  clients_.clear();
  controller_->shutdown();
  return Status::Ok();
}

}  // namespace udisc::daemon
