// The sample renderer: photos prepared once, then per frame a camera view of the shot's background photo
// (bilinear, fixed point) with textured cut-outs composited over it (soft edges, soft drop shadow). What each
// shot holds is planned per content kind in scene_content.cpp, from the building blocks here.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <system_error>

#include "ns/core/colour.h"
#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/core/resize.h"
#include "ns/eval/sample.h"
#include "ns/eval/scene_impl.h"
#include "ns/media/image.h"

namespace ns::eval {

namespace {

namespace fs = std::filesystem;
using detail::Camera;
using detail::MovingObject;
using detail::Photo;
using detail::Rng;
using detail::Shot;

constexpr double kTwoPi = 2 * std::numbers::pi;
constexpr double kMaxZoom = 1.3;        // photo pixels per output pixel at the widest view
constexpr double kObjectPhotoSpan = 5.0;   // see object_photo_side
constexpr double kSpeedKeySeconds = 1.5;

double smoothstep(double e0, double e1, double x) {
  const double t = std::clamp((x - e0) / (e1 - e0), 0.0, 1.0);
  return t * t * (3 - 2 * t);
}

std::vector<std::string> resolve_photos(const SampleOptions& options) {
  std::vector<std::string> paths;
  if (options.photos.empty()) {
    for (const SamplePhoto& photo : default_sample_photos(options.hr_height)) {
      std::error_code ec;
      if (!fs::is_regular_file(photo.path, ec)) {
        throw Error(ErrorCode::not_found,
                    "sample: default photograph is missing (from Debian package " + photo.package +
                        "); run scripts/setup to install it, or pass your own with --photos",
                    ErrorContext{.file = photo.path});
      }
      paths.push_back(photo.path);
    }
  } else {
    for (const std::string& argument : options.photos) {
      for (std::string& p : expand_photo_argument(argument)) paths.push_back(std::move(p));
    }
  }
  if (paths.size() < 2) {
    throw Error(ErrorCode::invalid_argument,
                "sample: need at least 2 photos (" + std::to_string(paths.size()) +
                    " given); the scene cut goes from one photo to another");
  }
  return paths;
}

core::RgbImage load_photo(const std::string& path) {
  core::RgbImage image = media::load_image(path);
  if (image.width < 2 || image.height < 2) {
    throw Error(ErrorCode::invalid_argument, "sample: photo is too small (under 2x2 pixels)",
                ErrorContext{.file = path});
  }
  return image;
}

}  // namespace

// Down-scales a photo (bicubic, anti-aliased) to the smallest size that still covers min_width x min_height;
// photos that are not larger than that are kept as they are.
Photo detail::prepare_photo(const core::RgbImage& source, const std::string& path, double min_width,
                            double min_height) {
  Photo photo;
  photo.path = path;
  photo.source_width = source.width;
  photo.source_height = source.height;
  const double factor = std::max(min_width / source.width, min_height / source.height);
  if (factor >= 1.0) {
    photo.image = source;
    return photo;
  }
  const int w = std::max(2, static_cast<int>(std::lround(source.width * factor)));
  const int h = std::max(2, static_cast<int>(std::lround(source.height * factor)));
  photo.prescale = static_cast<double>(w) / source.width;
  photo.image = core::resized(source, w, h, core::ResizeFilter::bicubic);
  return photo;
}

// Camera path of one shot: a smooth pan (sum of two sines per axis) and zoom, run at a speed that
// changes smoothly between random key speeds every 1.5 s (the sample's: from almost still to fast).
void detail::plan_camera(Shot& shot, const Photo& photo, int out_width, int out_height, int fps, bool moving,
                         SpeedRange speeds, Rng& rng, Rng& speed_rng) {
  const double pw = photo.image.width;
  const double ph = photo.image.height;
  const double fit = std::min(pw / out_width, ph / out_height);
  const double zoom_hi = std::min(kMaxZoom, 0.92 * fit);
  const double zoom_lo = zoom_hi >= 1.0 ? 1.0 : 0.87 * zoom_hi;
  const double fx1 = rng.uniform(0.05, 0.12), fx2 = rng.uniform(0.15, 0.3);
  const double fy1 = rng.uniform(0.05, 0.12), fy2 = rng.uniform(0.15, 0.3);
  const double fz = rng.uniform(0.04, 0.1);
  const double px1 = rng.uniform(0, kTwoPi), px2 = rng.uniform(0, kTwoPi);
  const double py1 = rng.uniform(0, kTwoPi), py2 = rng.uniform(0, kTwoPi);
  const double pz = rng.uniform(0, kTwoPi);
  // Key speeds come from their own stream, so the paths above do not depend on the shot's length.
  const double key_frames = kSpeedKeySeconds * fps;
  std::vector<double> keys(static_cast<size_t>(shot.frame_count / key_frames) + 2);
  for (double& k : keys) k = speed_rng.uniform(speeds.lo, speeds.hi);

  shot.cameras.resize(static_cast<size_t>(shot.frame_count));
  shot.min_zoom = zoom_hi;
  double phase = 0;  // "seconds at unit speed" travelled along the path
  for (int64_t i = 0; i < shot.frame_count; ++i) {
    const double n = std::sin(kTwoPi * fx1 * phase + px1) * 0.6 + std::sin(kTwoPi * fx2 * phase + px2) * 0.4;
    const double m = std::sin(kTwoPi * fy1 * phase + py1) * 0.6 + std::sin(kTwoPi * fy2 * phase + py2) * 0.4;
    const double z = 0.5 + 0.5 * std::sin(kTwoPi * fz * phase + pz);
    Camera& cam = shot.cameras[static_cast<size_t>(i)];
    cam.zoom = zoom_lo + (zoom_hi - zoom_lo) * z;
    const double range_x = std::max(0.0, (pw - out_width * cam.zoom) / 2 - 1);
    const double range_y = std::max(0.0, (ph - out_height * cam.zoom) / 2 - 1);
    cam.x = pw / 2 + n * range_x;
    cam.y = ph / 2 + m * range_y;
    shot.min_zoom = std::min(shot.min_zoom, cam.zoom);
    if (moving) {
      const double k = static_cast<double>(i) / key_frames;
      const auto j = static_cast<size_t>(k);
      const double speed = keys[j] + (keys[j + 1] - keys[j]) * smoothstep(0, 1, k - static_cast<double>(j));
      phase += speed / fps;
    }
  }
}

// Shape, size and path of a cut-out (in output pixels); the texture is placed by place_texture.
MovingObject detail::plan_object(bool disc, int out_height, Rng& rng) {
  MovingObject o;
  o.disc = disc;
  const double h = out_height;
  if (disc) {
    o.half_width = o.half_height = h * rng.uniform(0.11, 0.15);
  } else {
    o.half_width = h * rng.uniform(0.16, 0.21);
    o.half_height = o.half_width * rng.uniform(0.6, 0.75);
    o.corner = 0.18 * o.half_height;
  }
  o.base_x = rng.uniform(0.35, 0.65);
  o.base_y = rng.uniform(0.4, 0.6);
  o.amp_x = rng.uniform(0.2, 0.3);
  o.amp_y = rng.uniform(0.15, 0.25);
  o.freq_x = rng.uniform(0.07, 0.16);
  o.freq_y = rng.uniform(0.09, 0.2);
  o.phase_x = rng.uniform(0, kTwoPi);
  o.phase_y = rng.uniform(0, kTwoPi);
  o.angle0 = rng.uniform(-0.4, 0.4);
  o.spin = rng.sign() * rng.uniform(0.1, 0.45);
  o.feather = std::max(1.0, h / 540);
  o.shadow_dx = 0.012 * h;
  o.shadow_dy = 0.02 * h;
  o.shadow_blur = std::max(1.0, 0.025 * h);
  o.shadow_opacity = 0.35;
  return o;
}

// The size of photo a cut-out is taken from: its short side spans this many times the object's half size,
// so the cut-out shows a recognisable part of the photo at about one photo pixel per output pixel.
double detail::object_photo_side(const MovingObject& o) {
  return kObjectPhotoSpan * std::max(o.half_width, o.half_height);
}

void detail::place_texture(MovingObject& o, int photo_index, const Photo& photo, Rng& rng) {
  o.photo = photo_index;
  const double reach = std::sqrt(o.half_width * o.half_width + o.half_height * o.half_height) + 2;
  const double pw = photo.image.width;
  const double ph = photo.image.height;
  o.tex_scale = std::min(1.0, std::min(pw, ph) / (2 * reach));
  const double room_x = std::max(0.0, pw / 2 - reach * o.tex_scale);
  const double room_y = std::max(0.0, ph / 2 - reach * o.tex_scale);
  o.tex_x = pw / 2 + rng.uniform(-0.6, 0.6) * room_x;
  o.tex_y = ph / 2 + rng.uniform(-0.6, 0.6) * room_y;
}

namespace {

// Signed distance from a point in object coordinates to the object's edge (negative inside).
double object_distance(const MovingObject& o, double x, double y) {
  if (o.disc) return std::sqrt(x * x + y * y) - o.half_width;
  const double qx = std::abs(x) - o.half_width + o.corner;
  const double qy = std::abs(y) - o.half_height + o.corner;
  const double ox = std::max(qx, 0.0);
  const double oy = std::max(qy, 0.0);
  return std::sqrt(ox * ox + oy * oy) + std::min(std::max(qx, qy), 0.0) - o.corner;
}

SampleObjectState object_state(const MovingObject& o, double t, int width, int height) {
  SampleObjectState s;
  s.centre_x = width * (o.base_x + o.amp_x * std::sin(kTwoPi * o.freq_x * t + o.phase_x));
  s.centre_y = height * (o.base_y + o.amp_y * std::sin(kTwoPi * o.freq_y * t + o.phase_y));
  s.angle = o.angle0 + o.spin * t;
  const double reach = std::hypot(o.half_width, o.half_height);
  const double r_obj = reach + o.feather + 1;
  const double r_shadow = reach + o.shadow_blur + 1;
  const double x0 = std::min(s.centre_x - r_obj, s.centre_x + o.shadow_dx - r_shadow);
  const double x1 = std::max(s.centre_x + r_obj, s.centre_x + o.shadow_dx + r_shadow);
  const double y0 = std::min(s.centre_y - r_obj, s.centre_y + o.shadow_dy - r_shadow);
  const double y1 = std::max(s.centre_y + r_obj, s.centre_y + o.shadow_dy + r_shadow);
  s.box_x0 = std::clamp(static_cast<int>(std::floor(x0)), 0, width);
  s.box_x1 = std::clamp(static_cast<int>(std::ceil(x1)) + 1, 0, width);
  s.box_y0 = std::clamp(static_cast<int>(std::floor(y0)), 0, height);
  s.box_y1 = std::clamp(static_cast<int>(std::ceil(y1)) + 1, 0, height);
  return s;
}

// Bilinear sample of one photo at continuous coordinates (pixel centres at integer + 0.5), in float.
void sample_bilinear(const core::RgbImage& img, double u, double v, float rgb[3]) {
  const double x = std::clamp(u - 0.5, 0.0, static_cast<double>(img.width - 1));
  const double y = std::clamp(v - 0.5, 0.0, static_cast<double>(img.height - 1));
  const int x0 = std::min(static_cast<int>(x), img.width - 2);
  const int y0 = std::min(static_cast<int>(y), img.height - 2);
  const auto fx = static_cast<float>(x - x0);
  const auto fy = static_cast<float>(y - y0);
  const uint8_t* r0 = img.row(y0) + x0 * 3;
  const uint8_t* r1 = img.row(y0 + 1) + x0 * 3;
  for (int c = 0; c < 3; ++c) {
    const float top = r0[c] + (r0[c + 3] - r0[c]) * fx;
    const float bottom = r1[c] + (r1[c + 3] - r1[c]) * fx;
    rgb[c] = top + (bottom - top) * fy;
  }
}

}  // namespace

void detail::render_background(const Photo& photo, const Camera& cam, core::RgbImage& out, int y0, int y1) {
  const core::RgbImage& img = photo.image;
  const int w = out.width;
  const int h = out.height;
  // Columns share one horizontal mapping per frame: photo column (relative to the first one used) and an
  // 8-bit weight. Rows blend vertically first over the span of columns used, then horizontally; the
  // result is the same integer bilinear value either way round.
  std::vector<int> col(static_cast<size_t>(w));
  std::vector<int> wx(static_cast<size_t>(w));
  int first = img.width;
  int last = 0;
  for (int x = 0; x < w; ++x) {
    const double u = std::clamp(cam.x + (x + 0.5 - w / 2.0) * cam.zoom - 0.5, 0.0, img.width - 1.0);
    const int x0 = std::min(static_cast<int>(u), img.width - 2);
    col[static_cast<size_t>(x)] = x0;
    wx[static_cast<size_t>(x)] = static_cast<int>(std::lround((u - x0) * 256));
    first = std::min(first, x0);
    last = std::max(last, x0 + 1);
  }
  for (int& c : col) c = (c - first) * 3;
  const size_t span = static_cast<size_t>(last - first + 1) * 3;
  std::vector<uint16_t> blended(span);
  for (int y = y0; y < y1; ++y) {
    const double v = std::clamp(cam.y + (y + 0.5 - h / 2.0) * cam.zoom - 0.5, 0.0, img.height - 1.0);
    const int r = std::min(static_cast<int>(v), img.height - 2);
    const int wy = static_cast<int>(std::lround((v - r) * 256));
    const uint8_t* top = img.row(r) + first * 3;
    const uint8_t* bottom = img.row(r + 1) + first * 3;
    for (size_t i = 0; i < span; ++i) {
      blended[i] = static_cast<uint16_t>(top[i] * (256 - wy) + bottom[i] * wy);
    }
    uint8_t* dst = out.row(y);
    for (int x = 0; x < w; ++x) {
      const uint16_t* p = blended.data() + col[static_cast<size_t>(x)];
      const int f = wx[static_cast<size_t>(x)];
      for (int c = 0; c < 3; ++c) {
        dst[x * 3 + c] = static_cast<uint8_t>((p[c] * (256 - f) + p[c + 3] * f + 32768) >> 16);
      }
    }
  }
}

namespace {

void composite_object(const MovingObject& o, const SampleObjectState& s, const Photo& photo, core::RgbImage& out,
                      int y0, int y1) {
  const double ca = std::cos(s.angle);
  const double sa = std::sin(s.angle);
  const double reach = std::sqrt(o.half_width * o.half_width + o.half_height * o.half_height);
  const double object_r = reach + o.feather;
  const double shadow_r = reach + o.shadow_blur;
  const int ya = std::max(y0, s.box_y0);
  const int yb = std::min(y1, s.box_y1);
  for (int y = ya; y < yb; ++y) {
    uint8_t* dst = out.row(y);
    const double dy = y + 0.5 - s.centre_y;
    const double sy = dy - o.shadow_dy;
    // Columns this row can touch: inside the circles around the object and around its shadow.
    double lo = s.box_x1;
    double hi = s.box_x0;
    if (std::abs(dy) < object_r) {
      const double half = std::sqrt(object_r * object_r - dy * dy);
      lo = std::min(lo, s.centre_x - half);
      hi = std::max(hi, s.centre_x + half);
    }
    if (std::abs(sy) < shadow_r) {
      const double half = std::sqrt(shadow_r * shadow_r - sy * sy);
      lo = std::min(lo, s.centre_x + o.shadow_dx - half);
      hi = std::max(hi, s.centre_x + o.shadow_dx + half);
    }
    const int xa = std::max(s.box_x0, static_cast<int>(std::floor(lo)));
    const int xb = std::min(s.box_x1, static_cast<int>(std::ceil(hi)) + 1);
    for (int x = xa; x < xb; ++x) {
      const double dx = x + 0.5 - s.centre_x;
      // Object: rotated into its own frame; alpha ramps linearly over `feather` pixels at the edge.
      const double lx = ca * dx + sa * dy;
      const double ly = -sa * dx + ca * dy;
      const double alpha = std::clamp(0.5 - object_distance(o, lx, ly) / o.feather, 0.0, 1.0);
      // Shadow (only seen where the object does not cover it fully): the same shape, offset and blurred.
      double shade = 0;
      if (alpha < 1) {
        const double sx = dx - o.shadow_dx;
        const double d = object_distance(o, ca * sx + sa * sy, -sa * sx + ca * sy);
        shade = o.shadow_opacity * smoothstep(o.shadow_blur, -o.shadow_blur, d);
      }
      if (shade <= 0 && alpha <= 0) continue;
      float tex[3] = {0, 0, 0};
      if (alpha > 0) sample_bilinear(photo.image, o.tex_x + lx * o.tex_scale, o.tex_y + ly * o.tex_scale, tex);
      const auto keep = static_cast<float>((1 - shade) * (1 - alpha));
      const auto a = static_cast<float>(alpha);
      for (int c = 0; c < 3; ++c) {
        const float v = dst[x * 3 + c] * keep + tex[c] * a;
        dst[x * 3 + c] = static_cast<uint8_t>(std::min(static_cast<int>(v + 0.5f), 255));
      }
    }
  }
}

double shot_time(const SampleScene::Impl& scene, const Shot& shot, int64_t index) {
  if (!scene.options.object_motion) return 0;
  return static_cast<double>(index - shot.first_frame) / scene.options.fps;
}

void check_index(const SampleScene::Impl& scene, int64_t index) {
  const int64_t total = scene.train_frames + scene.test_frames;
  if (index < 0 || index >= total) {
    throw Error(ErrorCode::invalid_argument,
                "sample: frame index out of range (" + std::to_string(index) + " of " + std::to_string(total) +
                    " frames)",
                ErrorContext{.frame_index = index});
  }
}

}  // namespace

bool is_photo_file(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp";
}

std::vector<std::string> expand_photo_argument(const std::string& argument) {
  std::error_code ec;
  const fs::path p(argument);
  if (!fs::exists(p, ec)) {
    throw Error(ErrorCode::not_found, "photos: photo does not exist", ErrorContext{.file = argument});
  }
  if (!fs::is_directory(p, ec)) return {argument};
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(p, ec)) {
    if (entry.is_regular_file() && is_photo_file(entry.path())) found.push_back(entry.path().string());
  }
  std::sort(found.begin(), found.end());
  if (found.empty() && fs::is_directory(p / "contents" / "images", ec)) {
    // Plasma names each size "<W>x<H>.jpg"; pick the most pixels (file size when the name says nothing).
    std::string best;
    double best_score = -1;
    for (const auto& entry : fs::directory_iterator(p / "contents" / "images", ec)) {
      if (!entry.is_regular_file() || !is_photo_file(entry.path())) continue;
      int w = 0;
      int h = 0;
      char tail = 0;
      const std::string stem = entry.path().stem().string();
      const bool named = std::sscanf(stem.c_str(), "%dx%d%c", &w, &h, &tail) == 2 && w > 0 && h > 0;
      const double score = named ? static_cast<double>(w) * h : static_cast<double>(entry.file_size(ec)) * 1e-9;
      const std::string path = entry.path().string();
      if (score > best_score || (score == best_score && path < best)) {
        best = path;
        best_score = score;
      }
    }
    if (!best.empty()) found.push_back(best);
  }
  if (found.empty()) {
    throw Error(ErrorCode::not_found, "photos: no .jpg/.png images in this directory",
                ErrorContext{.file = argument});
  }
  return found;
}

std::vector<SamplePhoto> default_sample_photos(int hr_height) {
  const std::string lomiri = "lomiri-wallpapers-20.04";
  const std::string plasma = "plasma-workspace-wallpapers";
  const SamplePhoto kleiber{"/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg", lomiri};  // 6028x3391
  const SamplePhoto evening{"/usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg", plasma};
  const SamplePhoto path{"/usr/share/wallpapers/Path/contents/images/2560x1600.jpg", plasma};
  const SamplePhoto cups{"/usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg", plasma};
  const SamplePhoto leaf{"/usr/share/wallpapers/FallenLeaf/contents/images/2560x1600.jpg", plasma};
  // Order: background of shot 1, background of shot 2, then the cut-outs' photos.
  // Kleiber is the only photograph in these packages that is wider than 3840, so it leads at 2160p.
  if (hr_height > 1600) return {kleiber, evening, leaf, cups, path};
  return {evening, path, kleiber, cups, leaf};
}

int SampleScene::Impl::shot_of(int64_t index) const {
  const auto after = std::upper_bound(shots.begin(), shots.end(), index,
                                      [](int64_t i, const Shot& shot) { return i < shot.first_frame; });
  return static_cast<int>(after - shots.begin()) - 1;
}

int detail::PhotoSource::add(int source, double min_width, double min_height) {
  const auto key = std::make_tuple(source, min_width, min_height);
  if (const auto it = prepared.find(key); it != prepared.end()) return it->second;
  scene.photos.push_back(prepare_photo(images[static_cast<size_t>(source)],
                                       scene.photo_paths[static_cast<size_t>(source)], min_width, min_height));
  const int index = static_cast<int>(scene.photos.size()) - 1;
  prepared.emplace(key, index);
  return index;
}

void detail::PhotoSource::add_object(MovingObject& o, int background_source, Rng& rng) {
  int source = next_object_photo++ % count();
  if (source == background_source) source = (source + 1) % count();
  const double side = object_photo_side(o);
  const int photo = add(source, side, side);
  place_texture(o, photo, scene.photos[static_cast<size_t>(photo)], rng);
}

SampleScene::SampleScene(const SampleOptions& options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.options = options;
  if (options.hr_height <= 0 || options.hr_width < 0) {
    throw Error(ErrorCode::invalid_argument, "sample: the HR size must be positive");
  }
  s.height = options.hr_height;
  s.width = options.hr_width > 0 ? options.hr_width : static_cast<int>(std::lround(options.hr_height * 16.0 / 9));
  const int unit = 2 * kSampleScale;
  if (s.width % unit || s.height % unit) {
    throw Error(ErrorCode::invalid_argument,
                "sample: HR size " + std::to_string(s.width) + "x" + std::to_string(s.height) +
                    " is not a multiple of " + std::to_string(unit) + "; the LR size (HR / 3) must be even");
  }
  if (options.fps == 0) s.options.fps = sample_content_fps(options.content);
  const int fps = s.options.fps;
  if (fps <= 0 || fps > 240) {
    throw Error(ErrorCode::invalid_argument, "sample: fps must be in 1..240 (" + std::to_string(fps) + ")");
  }
  s.train_frames = std::llround(options.train_seconds * fps);
  s.test_frames = std::llround(options.test_seconds * fps);
  if (s.train_frames < 1 || s.test_frames < 2) {
    throw Error(ErrorCode::invalid_argument,
                "sample: the train segment needs at least 1 frame and the test segment at least 2 (" +
                    std::to_string(s.train_frames) + " and " + std::to_string(s.test_frames) +
                    "); use longer --train-seconds / --test-seconds");
  }

  s.photo_paths = resolve_photos(options);
  std::vector<core::RgbImage> images;
  for (const std::string& p : s.photo_paths) images.push_back(load_photo(p));
  detail::PhotoSource photos{.scene = s, .images = images};

  std::vector<int64_t> starts = detail::plan_shot_starts(s);
  NS_ASSERT(!starts.empty() && starts[0] == 0);
  starts.push_back(s.train_frames + s.test_frames);
  s.cut_frame = starts.size() > 2 ? starts[1] : -1;
  for (size_t k = 0; k + 1 < starts.size(); ++k) {
    Rng rng(options.seed, static_cast<uint32_t>(k));
    Rng speed_rng(options.seed, static_cast<uint32_t>(100 + k));
    Shot shot;
    shot.first_frame = starts[k];
    shot.frame_count = starts[k + 1] - starts[k];
    detail::plan_shot(s, static_cast<int>(k), shot, photos, rng, speed_rng);
    SampleShot info;
    info.first_frame = shot.first_frame;
    info.frame_count = shot.frame_count;
    info.background = s.photos[static_cast<size_t>(shot.background)].path;
    for (const MovingObject& o : shot.objects) info.objects.push_back(s.photos[static_cast<size_t>(o.photo)].path);
    info.min_photo_pixels_per_output_pixel = shot.min_zoom;
    if (shot.min_zoom < 1.0) {
      log::warn("eval.sample", "{}: up-scaled x{:.2f} for a {}x{} output; a photo at least {} pixels wide avoids it",
                info.background, 1.0 / shot.min_zoom, s.width, s.height,
                static_cast<int>(std::ceil(s.width * 1.1)));
    }
    s.shots.push_back(std::move(shot));
    s.shot_info.push_back(std::move(info));
  }
}

SampleScene::~SampleScene() = default;

int SampleScene::width() const { return impl_->width; }
int SampleScene::height() const { return impl_->height; }
int SampleScene::fps() const { return impl_->options.fps; }
SampleContent SampleScene::content() const { return impl_->options.content; }
int64_t SampleScene::frame_count() const { return impl_->train_frames + impl_->test_frames; }
int64_t SampleScene::train_frame_count() const { return impl_->train_frames; }
int64_t SampleScene::scene_cut_frame() const { return impl_->cut_frame; }
const std::vector<SampleShot>& SampleScene::shots() const { return impl_->shot_info; }

SampleFrameState describe_sample_frame(const SampleScene& scene, int64_t index) {
  const SampleScene::Impl& s = scene.impl();
  check_index(s, index);
  SampleFrameState state;
  state.shot = s.shot_of(index);
  const Shot& shot = s.shots[static_cast<size_t>(state.shot)];
  const Camera& cam = shot.cameras[static_cast<size_t>(index - shot.first_frame)];
  state.camera_x = cam.x;
  state.camera_y = cam.y;
  state.zoom = cam.zoom;
  const double t = shot_time(s, shot, index);
  for (const MovingObject& o : shot.objects) state.objects.push_back(object_state(o, t, s.width, s.height));
  return state;
}

void detail::render_rows(const SampleScene::Impl& s, int64_t index, core::RgbImage& out, int y0, int y1) {
  NS_ASSERT(out.width == s.width && out.height == s.height);
  NS_ASSERT(0 <= y0 && y0 <= y1 && y1 <= s.height);
  const Shot& shot = s.shots[static_cast<size_t>(s.shot_of(index))];
  const Camera& cam = shot.cameras[static_cast<size_t>(index - shot.first_frame)];
  if (shot.pyramid.empty()) {
    render_background(s.photos[static_cast<size_t>(shot.background)], cam, out, y0, y1);
  } else {
    render_pyramid(s, shot.pyramid, cam, out, y0, y1);
  }
  const double t = shot_time(s, shot, index);
  for (const MovingObject& o : shot.objects) {
    composite_object(o, object_state(o, t, s.width, s.height), s.photos[static_cast<size_t>(o.photo)], out, y0, y1);
  }
  apply_content_effect(s, index, out, y0, y1);
}

core::RgbImage render_sample_rgb(const SampleScene& scene, int64_t index) {
  check_index(scene.impl(), index);
  core::RgbImage rgb(scene.width(), scene.height());
  detail::render_rows(scene.impl(), index, rgb, 0, scene.height());
  return rgb;
}

core::Frame render_sample_frame(const SampleScene& scene, int64_t index) {
  const core::RgbImage rgb = render_sample_rgb(scene, index);
  core::Frame frame(scene.width(), scene.height());
  core::rgb_to_i420(rgb, frame);
  frame.index = index;
  frame.pts = index;
  return frame;
}

}  // namespace ns::eval
