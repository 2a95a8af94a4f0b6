// Training and validation sets (photographs, one stream's frames) and batches of random patches.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include "ns/core/colour.h"
#include "ns/core/error.h"
#include "ns/core/metrics.h"
#include "ns/eval/sample.h"
#include "ns/media/image.h"
#include "ns/media/reader.h"
#include "ns/sr/train/dataset_impl.h"

namespace ns::sr::train {

namespace fs = std::filesystem;

core::RgbImage crop_rgb(const core::RgbImage& src, int x, int y, int width, int height) {
  NS_ASSERT(x >= 0 && y >= 0 && x + width <= src.width && y + height <= src.height);
  core::RgbImage dst(width, height);
  for (int row = 0; row < height; ++row) {
    std::copy_n(src.row(y + row) + 3 * x, 3 * width, dst.row(row));
  }
  return dst;
}

uint64_t rgb_sse(const core::RgbImage& a, const core::RgbImage& b) {
  NS_ASSERT(a.width == b.width && a.height == b.height);
  uint64_t sse = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    const int d = static_cast<int>(a.pixels[i]) - static_cast<int>(b.pixels[i]);
    sse += static_cast<uint64_t>(d * d);
  }
  return sse;
}

void centre_crop(ImagePair& pair, int crop, int scale) {
  if (crop <= 0) return;
  const int c = std::min({crop, pair.lr.width, pair.lr.height});
  const int x = (pair.lr.width - c) / 2, y = (pair.lr.height - c) / 2;
  pair.hr = crop_rgb(pair.hr, scale * x, scale * y, scale * c, scale * c);
  pair.lr = crop_rgb(pair.lr, x, y, c, c);
}

namespace {

uint64_t bicubic_sse(const core::RgbImage& lr, const core::RgbImage& hr) {
  return rgb_sse(core::resized(lr, hr.width, hr.height, core::ResizeFilter::bicubic), hr);
}

}  // namespace

double bicubic_psnr(const std::vector<ImagePair>& pairs) {
  uint64_t sse = 0, samples = 0;
  for (const ImagePair& p : pairs) {
    sse += bicubic_sse(p.lr, p.hr);
    samples += p.hr.pixels.size();
  }
  return core::psnr_from_sse(sse, samples);
}

double bicubic_psnr(const core::RgbImage& lr, const core::RgbImage& hr) {
  return core::psnr_from_sse(bicubic_sse(lr, hr), hr.pixels.size());
}

void check_pairs(const std::vector<ImagePair>& pairs, int scale, int patch, const char* what) {
  for (const ImagePair& p : pairs) {
    if (p.hr.width != scale * p.lr.width || p.hr.height != scale * p.lr.height) {
      throw Error(ErrorCode::mismatch, std::string("train: ") + what + " image " + p.origin + " has HR " +
                                           std::to_string(p.hr.width) + "x" + std::to_string(p.hr.height) +
                                           " for LR " + std::to_string(p.lr.width) + "x" +
                                           std::to_string(p.lr.height) + " (scale " + std::to_string(scale) +
                                           "); give HR exactly scale x the LR size");
    }
    if (p.lr.width < patch || p.lr.height < patch) {
      throw Error(ErrorCode::invalid_argument,
                  std::string("train: ") + what + " image " + p.origin + " is smaller than a patch (LR " +
                      std::to_string(p.lr.width) + "x" + std::to_string(p.lr.height) + ", patch " +
                      std::to_string(patch) + "); use a smaller --patch or larger images");
    }
  }
}

namespace {

// Detail of the HR patch at LR (x, y): the sum of absolute horizontal and vertical neighbour differences of the
// green channel, every second row (a cheap texture measure).
uint64_t patch_detail(const core::RgbImage& hr, int x, int y, int edge) {
  uint64_t sum = 0;
  for (int row = y; row < y + edge - 1; row += 2) {
    const uint8_t* p = hr.row(row) + 3 * x + 1;
    const uint8_t* below = hr.row(row + 1) + 3 * x + 1;
    for (int col = 0; col < edge - 1; ++col) {
      sum += static_cast<uint64_t>(std::abs(p[3 * col] - p[3 * col + 3]) + std::abs(p[3 * col] - below[3 * col]));
    }
  }
  return sum;
}

// Copies the edge x edge RGB patch at (x, y) of `src` into `dst` (3 planes of floats in [0, 1]) in one of the 8
// orientations: bit 0 transposes, bit 1 flips rows, bit 2 flips columns. Output (row, col) reads the source's
// (a, b) below, so an LR patch and its HR patch (edge scale x larger) turned alike stay aligned.
void copy_oriented(const core::RgbImage& src, int x, int y, int edge, int orientation, float* dst) {
  const size_t plane = static_cast<size_t>(edge) * edge;
  for (int row = 0; row < edge; ++row) {
    for (int col = 0; col < edge; ++col) {
      int a = row, b = col;
      if (orientation & 1) std::swap(a, b);
      if (orientation & 2) a = edge - 1 - a;
      if (orientation & 4) b = edge - 1 - b;
      const uint8_t* px = src.row(y + a) + 3 * (x + b);
      for (int c = 0; c < 3; ++c) dst[c * plane + static_cast<size_t>(row) * edge + col] = px[c] / 255.0f;
    }
  }
}

}  // namespace

void fill_batch(const std::vector<ImagePair>& pairs, int scale, int patch, int batch, uint64_t seed, int64_t step,
                float* lr, float* hr, const PatchSampling& sampling) {
  NS_ASSERT(!pairs.empty() && sampling.detail_tries >= 1);
  // One generator per (seed, step): a resumed training draws exactly the batches it would have drawn.
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(step),
                    static_cast<uint32_t>(static_cast<uint64_t>(step) >> 32)};
  std::mt19937_64 rng(seq);
  const int hp = patch * scale;
  const size_t lr_item_size = 3 * static_cast<size_t>(patch) * patch;
  const size_t hr_item_size = 3 * static_cast<size_t>(hp) * hp;
  for (int n = 0; n < batch; ++n) {
    const ImagePair& p = pairs[std::uniform_int_distribution<size_t>(0, pairs.size() - 1)(rng)];
    int x = 0, y = 0;
    uint64_t best = 0;
    for (int t = 0; t < sampling.detail_tries; ++t) {
      const int cx = std::uniform_int_distribution<int>(0, p.lr.width - patch)(rng);
      const int cy = std::uniform_int_distribution<int>(0, p.lr.height - patch)(rng);
      const uint64_t detail = sampling.detail_tries > 1 ? patch_detail(p.hr, scale * cx, scale * cy, hp) : 0;
      if (t == 0 || detail > best) x = cx, y = cy, best = detail;
    }
    const int orientation = sampling.augment ? std::uniform_int_distribution<int>(0, 7)(rng) : 0;
    copy_oriented(p.lr, x, y, patch, orientation, lr + n * lr_item_size);
    copy_oriented(p.hr, scale * x, scale * y, hp, orientation, hr + n * hr_item_size);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Photographs
// ---------------------------------------------------------------------------------------------------------

namespace {

// The files dpkg records for an installed package, one absolute path per line (none when it is not installed).
std::vector<fs::path> package_files(const fs::path& dpkg_info, const std::string& package) {
  std::vector<fs::path> files;
  std::ifstream list(dpkg_info / (package + ".list"));
  for (std::string line; std::getline(list, line);) files.emplace_back(line);
  return files;
}

}  // namespace

std::vector<std::string> default_photos(bool exclude_sample_photos, const fs::path& dpkg_info) {
  std::set<std::string> excluded;
  if (exclude_sample_photos) {
    for (int height : {1080, 2160}) {
      for (const eval::SamplePhoto& p : eval::default_sample_photos(height)) {
        excluded.insert(p.path);  // a Lomiri photo, or a Plasma wallpaper: NAME/contents/images/WxH.jpg
        excluded.insert(fs::path(p.path).parent_path().parent_path().parent_path().string());
      }
    }
  }
  // Not a photograph: a smooth colour gradient (lomiri-wallpapers-16.04), nothing for SR to learn from.
  excluded.insert("/usr/share/backgrounds/umang_by_Abhishek_Mudgal.jpg");
  // Each package's own files, as dpkg lists them: other packages put drawings in the same folders
  // (ukui-wallpapers in /usr/share/backgrounds), and the set must not change with what else is installed.
  std::set<std::string> chosen;  // photo files, and Plasma wallpaper folders (their largest image is taken)
  for (const char* lomiri : {"lomiri-wallpapers-20.04", "lomiri-wallpapers-16.04"}) {
    for (const fs::path& f : package_files(dpkg_info, lomiri)) {
      if (eval::is_photo_file(f)) chosen.insert(f.string());
    }
  }
  for (const fs::path& f : package_files(dpkg_info, "mate-backgrounds")) {  // nature/ holds its photographs
    if (eval::is_photo_file(f) && f.parent_path().filename() == "nature") chosen.insert(f.string());
  }
  for (const fs::path& f : package_files(dpkg_info, "plasma-workspace-wallpapers")) {  // NAME/contents/images/*
    if (eval::is_photo_file(f) && f.parent_path().filename() == "images") {
      chosen.insert(f.parent_path().parent_path().parent_path().string());
    }
  }
  std::vector<std::string> photos;
  for (const std::string& argument : chosen) {
    if (excluded.count(argument)) continue;
    for (std::string& p : eval::expand_photo_argument(argument)) {
      if (!excluded.count(p)) photos.push_back(std::move(p));
    }
  }
  std::sort(photos.begin(), photos.end());
  return photos;
}

TrainingSet photo_set(const std::vector<std::string>& photos, const PhotoSetOptions& options) {
  if (options.scale < 2 || options.scale > 4 || options.validation_every < 2 || options.max_side < 64 ||
      options.validation_crop < 0) {
    throw Error(ErrorCode::invalid_argument, "train: photo set options out of range (scale 2..4, validation every "
                                             ">= 2 photos, max side >= 64, validation crop >= 0)");
  }
  if (photos.size() < 2) {
    throw Error(ErrorCode::invalid_argument,
                "train: need at least 2 photos, one for training and one for validation (" +
                    std::to_string(photos.size()) + " given); run scripts/setup to install the wallpaper "
                                                    "packages or pass --photos");
  }
  std::vector<std::string> sorted = photos;
  std::sort(sorted.begin(), sorted.end());
  TrainingSet set;
  set.scale = options.scale;
  const int s = options.scale;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (!fs::is_regular_file(sorted[i])) {
      throw Error(ErrorCode::not_found, "train: photo not found; check the path or run scripts/setup",
                  ErrorContext{.file = sorted[i]});
    }
    core::RgbImage photo = media::load_image(sorted[i]);
    const double shrink = std::min(1.0, static_cast<double>(options.max_side) / std::max(photo.width, photo.height));
    if (shrink < 1) {
      photo = core::resized(photo, std::max(s, static_cast<int>(photo.width * shrink)),
                         std::max(s, static_cast<int>(photo.height * shrink)), core::ResizeFilter::area);
    }
    ImagePair pair;
    pair.origin = fs::path(sorted[i]).filename().string();
    pair.hr = crop_rgb(photo, 0, 0, photo.width / s * s, photo.height / s * s);
    pair.lr = core::resized(pair.hr, pair.hr.width / s, pair.hr.height / s, core::ResizeFilter::area);
    const bool held_out = static_cast<int>(i % options.validation_every) == options.validation_every - 1;
    if (held_out) {
      centre_crop(pair, options.validation_crop, s);
      set.validation.push_back(std::move(pair));
    } else {
      set.train.push_back(std::move(pair));
    }
  }
  if (set.validation.empty()) {  // fewer photos than validation_every: hold out the last one
    set.validation.push_back(std::move(set.train.back()));
    set.train.pop_back();
  }
  return set;
}

// ---------------------------------------------------------------------------------------------------------
// One stream: decoded encode (LR) against its reference (HR)
// ---------------------------------------------------------------------------------------------------------

TrainingSet video_set(const std::string& lr_video, const std::string& hr_video, int scale,
                      const VideoSetOptions& options) {
  if (!(options.sample_fps > 0) || options.validation_frames < 0 || options.validation_crop < 0) {
    throw Error(ErrorCode::invalid_argument, "train: --sample-fps must be > 0 and the validation counts >= 0");
  }
  media::VideoReader lr_reader(lr_video);
  media::VideoReader hr_reader(hr_video);
  const double fps = lr_reader.info().frame_rate.value() > 0 ? lr_reader.info().frame_rate.value() : 30.0;
  const double interval = std::max(1.0, fps / options.sample_fps);  // frames between training samples
  TrainingSet set;
  set.scale = scale;
  std::vector<ImagePair> between;  // frames halfway between training samples: validation candidates
  core::Frame lr, hr;
  int64_t index = 0;
  int64_t next_train = 0;
  for (; options.max_frames < 0 || index < options.max_frames; ++index) {
    const bool got_lr = lr_reader.read(lr);
    const bool got_hr = hr_reader.read(hr);
    if (got_lr != got_hr) {
      throw Error(ErrorCode::mismatch, "train: " + std::string(got_lr ? hr_video : lr_video) + " ends at frame " +
                                           std::to_string(index) + " but the other video goes on; give the LR "
                                           "encode and the HR reference of the same segment");
    }
    if (!got_lr) break;
    if (hr.width() != scale * lr.width() || hr.height() != scale * lr.height()) {
      throw Error(ErrorCode::mismatch, "train: HR " + std::to_string(hr.width()) + "x" + std::to_string(hr.height()) +
                                           " is not " + std::to_string(scale) + " x LR " +
                                           std::to_string(lr.width()) + "x" + std::to_string(lr.height()) +
                                           "; give the reference of this encode or another --scale",
                  ErrorContext{.file = hr_video});
    }
    const int64_t train_at = static_cast<int64_t>(std::llround(next_train * interval));
    const bool is_train = index == train_at;
    const bool is_between = index == static_cast<int64_t>(std::llround((next_train - 0.5) * interval));
    if (!is_train && !is_between) continue;
    ImagePair pair;
    pair.origin = fs::path(lr_video).filename().string() + "#" + std::to_string(index);
    core::i420_to_rgb(lr, pair.lr);
    core::i420_to_rgb(hr, pair.hr);
    if (is_train) {
      set.train.push_back(std::move(pair));
      ++next_train;
    } else {
      between.push_back(std::move(pair));
    }
  }
  if (set.train.empty()) {
    throw Error(ErrorCode::invalid_argument, "train: " + lr_video + " has no frames", ErrorContext{.file = lr_video});
  }
  // Evenly spaced validation frames from those in between.
  const size_t want = std::min<size_t>(options.validation_frames, between.size());
  for (size_t k = 0; k < want; ++k) {
    ImagePair& pair = between[k * between.size() / want];
    centre_crop(pair, options.validation_crop, scale);
    set.validation.push_back(std::move(pair));
  }
  return set;
}

}  // namespace ns::sr::train
