// The content kinds of the sample (SampleContent): their names and native rates, where their shots start and what
// each shot shows, from the building blocks in scene.cpp: the sample's wandering camera and cut-outs (also under
// grain and low light, whose effects are in scene_effects.cpp; faster for `fast`), a steady pan or zoom over one
// photo, a fixed camera with small slow cut-outs. Zoom views come from a pyramid of the photo, rendered here.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "ns/core/error.h"
#include "ns/eval/sample.h"
#include "ns/eval/scene_impl.h"

namespace ns::eval {

namespace {

using detail::Camera;
using detail::MovingObject;
using detail::Photo;
using detail::PhotoSource;
using detail::Rng;
using detail::Shot;

struct Kind {
  SampleContent content;
  std::string_view name;
  int fps;
};
constexpr Kind kKinds[] = {
    {SampleContent::sample, "sample", 60}, {SampleContent::pan, "pan", 60},
    {SampleContent::zoom, "zoom", 60},     {SampleContent::still, "static", 60},
    {SampleContent::fast, "fast", 60},     {SampleContent::grain, "grain", 24},  // film's rate
    {SampleContent::low_light, "low-light", 30},
};

constexpr double kCutFraction = 0.6;     // where in the test segment the sample's scene cut falls
constexpr double kPrepareMargin = 1.4;   // the sample's photos are prepared at up to this many times the output size
constexpr double kWidePrepare = 3.0;     // pan and zoom: up to this many times, for room to move and zoom in
constexpr double kFastShotSeconds[2] = {2.0, 3.0};  // fast: shot lengths
constexpr detail::SpeedRange kFastSpeeds = {2.5, 5.0};  // fast: camera key speeds (the sample's: 0.05 to 1.6)
constexpr double kFastObjectSpeedUp = 3;
constexpr double kPanSpeed[2] = {0.11, 0.17};  // pan: output heights per second (120 to 180 pixels/s at 1080p)
constexpr double kZoomSeconds = 5;             // zoom: from the widest view to the closest, then back as long

const Kind& kind_of(SampleContent content) {
  for (const Kind& k : kKinds) {
    if (k.content == content) return k;
  }
  NS_ASSERT(false && "every SampleContent is in kKinds");
  return kKinds[0];
}

// Triangle wave: v folded back and forth into [lo, hi] (a camera that turns back at the photo's edge).
double fold(double v, double lo, double hi) {
  const double span = hi - lo;
  if (span <= 0) return lo;
  double t = std::fmod(v - lo, 2 * span);
  if (t < 0) t += 2 * span;
  return lo + (t <= span ? t : 2 * span - t);
}

// The photo with the most pixels: zoom needs room to zoom in.
int largest_photo(const PhotoSource& photos) {
  int best = 0;
  for (int i = 1; i < photos.count(); ++i) {
    const auto pixels = [&](int j) {
      const core::RgbImage& image = photos.images[static_cast<size_t>(j)];
      return static_cast<int64_t>(image.width) * image.height;
    };
    if (pixels(i) > pixels(best)) best = i;
  }
  return best;
}

// The sample's shot (and fast's, with faster camera and cut-outs): a wandering camera over a photo, cut-outs from
// other photos moving on their own.
void plan_wandering_shot(const SampleScene::Impl& s, int k, Shot& shot, PhotoSource& photos, Rng& rng,
                         Rng& speed_rng) {
  const bool fast = s.options.content == SampleContent::fast;
  const int background = k % photos.count();
  shot.background = photos.add(background, kPrepareMargin * s.width, kPrepareMargin * s.height);
  detail::plan_camera(shot, s.photos[static_cast<size_t>(shot.background)], s.width, s.height, s.options.fps,
                      s.options.camera_motion, fast ? kFastSpeeds : detail::SpeedRange{}, rng, speed_rng);
  // The sample: shot 1 has a disc and a rounded rectangle, shot 2 one disc; each cut from another photo.
  const int object_count = k == 0 || fast ? 2 : 1;
  for (int j = 0; j < object_count; ++j) {
    MovingObject o = detail::plan_object(j == 0, s.height, rng);
    if (fast) {
      o.freq_x *= kFastObjectSpeedUp;
      o.freq_y *= kFastObjectSpeedUp;
      o.spin *= kFastObjectSpeedUp;
    }
    photos.add_object(o, background, rng);
    shot.objects.push_back(o);
  }
}

// A fixed camera (a random view of the first photo) and two small cut-outs moving slowly.
void plan_still_shot(const SampleScene::Impl& s, Shot& shot, PhotoSource& photos, Rng& rng) {
  shot.background = photos.add(0, kPrepareMargin * s.width, kPrepareMargin * s.height);
  const core::RgbImage& image = s.photos[static_cast<size_t>(shot.background)].image;
  Camera cam;
  cam.zoom = std::min(1.0, 0.92 * std::min(static_cast<double>(image.width) / s.width,
                                           static_cast<double>(image.height) / s.height));
  const double room_x = std::max(0.0, (image.width - s.width * cam.zoom) / 2 - 1);
  const double room_y = std::max(0.0, (image.height - s.height * cam.zoom) / 2 - 1);
  cam.x = image.width / 2.0 + rng.uniform(-1, 1) * room_x;
  cam.y = image.height / 2.0 + rng.uniform(-1, 1) * room_y;
  shot.cameras.assign(static_cast<size_t>(shot.frame_count), cam);
  shot.min_zoom = cam.zoom;
  for (int j = 0; j < 2; ++j) {
    // The sample's cut-outs at 0.4 of the size (about 100 pixels across at 1080p), moving at most about one pixel
    // per frame at 60 fps.
    MovingObject o = detail::plan_object(j == 0, s.height, rng);
    o.half_width *= 0.4;
    o.half_height *= 0.4;
    o.corner *= 0.4;
    o.shadow_dx *= 0.5;
    o.shadow_dy *= 0.5;
    o.shadow_blur *= 0.5;
    o.amp_x *= 0.3;
    o.amp_y *= 0.3;
    o.freq_x *= 0.6;
    o.freq_y *= 0.6;
    o.spin *= 0.3;
    photos.add_object(o, 0, rng);
    shot.objects.push_back(o);
  }
}

// A camera moving in a straight line at constant speed over the first photo (the sample's first background: the
// largest one is mostly out of focus at 1080p), turning back at its edges.
void plan_pan_shot(const SampleScene::Impl& s, Shot& shot, PhotoSource& photos, Rng& rng) {
  shot.background = photos.add(0, kWidePrepare * s.width, kWidePrepare * s.height);
  const core::RgbImage& image = s.photos[static_cast<size_t>(shot.background)].image;
  const double pw = image.width;
  const double ph = image.height;
  // At most 5/6 of the photo in view, so that there is room to pan (up-scaled only for small photos).
  const double zoom = std::min(1.0, std::min(pw / s.width, ph / s.height) / 1.2);
  const double angle = rng.uniform(-0.35, 0.35) + (rng.sign() > 0 ? 0 : std::numbers::pi);  // mostly sideways
  const double step = rng.uniform(kPanSpeed[0], kPanSpeed[1]) * s.height * zoom / s.options.fps;  // photo pixels
  const double vx = step * std::cos(angle);
  const double vy = step * std::sin(angle);
  const double room_x = std::max(0.0, (pw - s.width * zoom) / 2 - 1);
  const double room_y = std::max(0.0, (ph - s.height * zoom) / 2 - 1);
  // Start near the edge it moves away from, so that it crosses the photo before it turns back.
  const double x0 = pw / 2 - std::copysign(0.9 * room_x, vx);
  const double y0 = ph / 2 - std::copysign(0.9 * room_y, vy);
  shot.cameras.resize(static_cast<size_t>(shot.frame_count));
  for (int64_t i = 0; i < shot.frame_count; ++i) {
    const double t = s.options.camera_motion ? static_cast<double>(i) : 0;
    Camera& cam = shot.cameras[static_cast<size_t>(i)];
    cam.x = fold(x0 + vx * t, pw / 2 - room_x, pw / 2 + room_x);
    cam.y = fold(y0 + vy * t, ph / 2 - room_y, ph / 2 + room_y);
    cam.zoom = zoom;
  }
  shot.min_zoom = zoom;
}

// Half-octave position of a zoom in the pyramid: level floor(p) and the next one, blended by p - floor(p).
double pyramid_position(double zoom) { return 2 * std::log2(std::max(zoom, 1.0)); }

// A steady zoom (the same ratio every frame) from the widest view of the largest photo to one photo pixel per
// output pixel, then back out, and so on, about a fixed point: a random point of the frame that shows the same
// photo point throughout, so each frame is the one before it scaled about that point.
void plan_zoom_shot(const SampleScene::Impl& s, Shot& shot, PhotoSource& photos, Rng& rng) {
  const int source = largest_photo(photos);
  shot.background = photos.add(source, kWidePrepare * s.width, kWidePrepare * s.height);
  const double pw = s.photos[static_cast<size_t>(shot.background)].image.width;
  const double ph = s.photos[static_cast<size_t>(shot.background)].image.height;
  const double fit = std::min(pw / s.width, ph / s.height);
  const double close = std::min(1.0, fit / 1.5);  // up-scaled only for small photos
  const double wide = std::max(close, 0.95 * fit);
  // Levels at 1/sqrt(2) steps from the prepared photo, down to the one the widest view needs.
  shot.pyramid = {shot.background};
  const int levels = static_cast<int>(std::floor(pyramid_position(wide))) + 2;
  for (int k = 1; k < levels; ++k) {
    const double scale = std::pow(0.5, k / 2.0);
    shot.pyramid.push_back(photos.add(source, pw * scale, ph * scale));
  }
  // The fixed point, as a fraction of the frame, and the photo point it shows: the widest view (anywhere inside
  // the photo) holds it, so every closer view does too.
  const double fx = rng.uniform(0.3, 0.7);
  const double fy = rng.uniform(0.3, 0.7);
  const double point_x = rng.uniform(0, 1) * std::max(0.0, pw - s.width * wide) + fx * s.width * wide;
  const double point_y = rng.uniform(0, 1) * std::max(0.0, ph - s.height * wide) + fy * s.height * wide;
  const double span = std::log(wide / close);
  shot.cameras.resize(static_cast<size_t>(shot.frame_count));
  for (int64_t i = 0; i < shot.frame_count; ++i) {
    const double seconds = s.options.camera_motion ? static_cast<double>(i) / s.options.fps : 0;
    Camera& cam = shot.cameras[static_cast<size_t>(i)];
    cam.zoom = wide * std::exp(-fold(seconds / kZoomSeconds * span, 0, span));
    cam.x = point_x - (fx - 0.5) * s.width * cam.zoom;
    cam.y = point_y - (fy - 0.5) * s.height * cam.zoom;
  }
  shot.min_zoom = close;
}

}  // namespace

std::string_view sample_content_name(SampleContent content) { return kind_of(content).name; }

int sample_content_fps(SampleContent content) { return kind_of(content).fps; }

const std::vector<SampleContent>& sample_contents() {
  static const std::vector<SampleContent> all = [] {
    std::vector<SampleContent> v;
    for (const Kind& k : kKinds) v.push_back(k.content);
    return v;
  }();
  return all;
}

SampleContent parse_sample_content(std::string_view name) {
  std::string names;
  for (const Kind& k : kKinds) {
    if (k.name == name) return k.content;
    names += (names.empty() ? "" : ", ") + std::string(k.name);
  }
  throw Error(ErrorCode::invalid_argument,
              "sample: unknown content '" + std::string(name) + "'; choose one of " + names);
}

std::vector<int64_t> detail::plan_shot_starts(const SampleScene::Impl& s) {
  switch (s.options.content) {
    case SampleContent::pan:
    case SampleContent::zoom:
    case SampleContent::still:
      return {0};
    case SampleContent::fast: {
      // Cuts every 2 to 3 s; a last piece under a second joins the shot before it.
      Rng rng(s.options.seed, 0x10000);  // apart from the shots' streams
      const int64_t total = s.train_frames + s.test_frames;
      std::vector<int64_t> starts = {0};
      for (;;) {
        const double seconds = rng.uniform(kFastShotSeconds[0], kFastShotSeconds[1]);
        const int64_t next = starts.back() + std::max<int64_t>(1, std::llround(seconds * s.options.fps));
        if (next + s.options.fps > total) return starts;
        starts.push_back(next);
      }
    }
    case SampleContent::sample:
    case SampleContent::grain:
    case SampleContent::low_light:
      break;
  }
  const int64_t cut_offset = std::llround(kCutFraction * static_cast<double>(s.test_frames));
  return {0, s.train_frames + std::clamp<int64_t>(cut_offset, 1, s.test_frames - 1)};
}

void detail::plan_shot(const SampleScene::Impl& s, int k, Shot& shot, PhotoSource& photos, Rng& rng,
                       Rng& speed_rng) {
  switch (s.options.content) {
    case SampleContent::pan:
      return plan_pan_shot(s, shot, photos, rng);
    case SampleContent::zoom:
      return plan_zoom_shot(s, shot, photos, rng);
    case SampleContent::still:
      return plan_still_shot(s, shot, photos, rng);
    case SampleContent::sample:
    case SampleContent::fast:
    case SampleContent::grain:
    case SampleContent::low_light:
      return plan_wandering_shot(s, k, shot, photos, rng, speed_rng);
  }
}

// Trilinear: the two levels whose scale is nearest the zoom (one at 1 to 1.41 photo pixels per output pixel, the
// next at 0.71 to 1), blended by where the zoom lies between them, so the view neither aliases nor jumps.
void detail::render_pyramid(const SampleScene::Impl& s, const std::vector<int>& pyramid, const Camera& cam,
                            core::RgbImage& out, int y0, int y1) {
  const auto level_count = static_cast<int>(pyramid.size());
  const double p = pyramid_position(cam.zoom);
  const int a = std::min(static_cast<int>(p), level_count - 1);
  const int b = std::min(a + 1, level_count - 1);
  const int weight = b > a ? static_cast<int>(std::lround((p - a) * 256)) : 0;
  const auto level = [&](int k) -> const Photo& {
    return s.photos[static_cast<size_t>(pyramid[static_cast<size_t>(k)])];
  };
  const auto view_of = [&](int k) {  // the camera in level k's pixels
    const double sx = static_cast<double>(level(k).image.width) / level(0).image.width;
    const double sy = static_cast<double>(level(k).image.height) / level(0).image.height;
    return Camera{.x = cam.x * sx, .y = cam.y * sy, .zoom = cam.zoom * sx};
  };
  render_background(level(a), view_of(a), out, y0, y1);
  if (weight == 0) return;
  thread_local core::RgbImage next;
  if (next.width != out.width || next.height != out.height) next = core::RgbImage(out.width, out.height);
  render_background(level(b), view_of(b), next, y0, y1);
  for (int y = y0; y < y1; ++y) {
    uint8_t* dst = out.row(y);
    const uint8_t* src = next.row(y);
    for (int i = 0; i < out.width * 3; ++i) {
      dst[i] = static_cast<uint8_t>((dst[i] * (256 - weight) + src[i] * weight + 128) >> 8);
    }
  }
}

}  // namespace ns::eval
