#include "daemon/image_files.h"

#include "daemon/protocol.h"
#include "formats/companions.h"

namespace udisc::daemon {

Result<formats::ImagePtr> open_image_from_files(
    std::shared_ptr<formats::RandomAccessFile> main,
    std::map<std::string, std::shared_ptr<formats::RandomAccessFile>> companions) {
  if (main == nullptr) return Status::InvalidArgument("no image descriptor");
  auto wanted = formats::companion_names(*main);
  if (!wanted.ok()) return wanted.status();
  if (wanted->empty() && !companions.empty()) {
    return Status::InvalidArgument("'" + main->name() + "' is an image of one file, yet " +
                                   std::to_string(companions.size()) + " companion files were sent with it");
  }
  const std::string& name = main->name();
  formats::FileResolver resolve =
      [&companions, &name](const std::string& ref) -> Result<std::shared_ptr<formats::RandomAccessFile>> {
    auto it = companions.find(ref);
    if (it == companions.end()) {
      return Status::NotFound("'" + name + "': file '" + ref +
                              "' that the image needs was not sent with it (send one descriptor per companion file)");
    }
    return it->second;
  };
  return formats::open_image(std::move(main), resolve);
}

Status companion_files(const std::string& image_path, std::vector<std::string>* refs, std::vector<std::string>* paths,
                       const formats::ExtraCompanions& extra) {
  refs->clear();
  paths->clear();
  auto main = formats::open_file(image_path);
  if (!main.ok()) return Status::Ok();  // the caller's open() reports the error
  if ((*main)->size() == 0) return Status::Ok();
  auto names = formats::companion_names(**main);
  if (!names.ok()) return names.status();
  if (names->size() > kMaxImageFiles - 1) {
    return Status::InvalidArgument("'" + image_path + "' names " + std::to_string(names->size()) +
                                   " files; at most " + std::to_string(kMaxImageFiles - 1));
  }
  const std::string folder = formats::folder_of(image_path);
  for (const std::string& ref : *names) {
    refs->push_back(ref);
    const std::string given = formats::extra_companion_path(extra, ref);
    paths->push_back(given.empty() ? formats::companion_path(folder, ref) : given);
  }
  return Status::Ok();
}

}  // namespace udisc::daemon
