// ns/eval (internal): the sample renderer's data: prepared photos, shots with per-frame camera states and
// moving cut-outs. Used by scene.cpp (photos, renderer), scene_content.cpp (the kinds' shots), scene_effects.cpp
// (grain, low light) and sample.cpp (driver) only.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "ns/core/frame.h"
#include "ns/eval/sample.h"

namespace ns::eval {

namespace detail {

// Uniform numbers from mt19937's specified output, so a seed gives the same scene with any library.
class Rng {
 public:
  Rng(uint32_t seed, uint32_t stream) {
    std::seed_seq seq{seed, stream, 0x6e73u};
    gen_.seed(seq);
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * (static_cast<double>(gen_()) / 4294967296.0); }
  double sign() { return (gen_() & 1u) ? 1.0 : -1.0; }

 private:
  std::mt19937 gen_;
};

// A photograph prepared for sampling: down-scaled (anti-aliased) once so that the camera's zoom range
// maps about one photo pixel to one output pixel.
struct Photo {
  std::string path;
  int source_width = 0;
  int source_height = 0;
  double prescale = 1;  // prepared size / source size (<= 1)
  core::RgbImage image;
};

struct Camera {
  double x = 0;     // view centre in photo pixels (pixel centres at integer + 0.5)
  double y = 0;
  double zoom = 1;  // photo pixels per output pixel
};

// A textured cut-out (disc or rounded rectangle) that moves over the frame on its own path.
struct MovingObject {
  int photo = 0;
  bool disc = true;
  double half_width = 0;   // output pixels
  double half_height = 0;
  double corner = 0;       // rounded-rectangle corner radius
  double base_x = 0.5, base_y = 0.5;    // path centre, fraction of the frame
  double amp_x = 0, amp_y = 0;          // path amplitude, fraction of the frame
  double freq_x = 0, freq_y = 0;        // Hz
  double phase_x = 0, phase_y = 0;
  double angle0 = 0, spin = 0;          // radians, radians per second
  double tex_x = 0, tex_y = 0;          // texture centre in the object photo (photo pixels)
  double tex_scale = 1;                 // photo pixels per output pixel
  double feather = 1;                   // soft edge width, output pixels
  double shadow_dx = 0, shadow_dy = 0, shadow_blur = 1, shadow_opacity = 0;
};

struct Shot {
  int background = 0;
  // The background at half-octave steps of size, largest (= background) first, for views that zoom over a wide
  // range (SampleContent::zoom); empty: the background alone. Camera zoom is in pixels of the largest.
  std::vector<int> pyramid;
  int64_t first_frame = 0;
  int64_t frame_count = 0;
  std::vector<Camera> cameras;  // one per frame of the shot
  std::vector<MovingObject> objects;
  double min_zoom = 1;
};

}  // namespace detail

struct SampleScene::Impl {
  SampleOptions options;  // fps resolved to the content's native rate when it was 0
  int width = 0;
  int height = 0;
  int64_t train_frames = 0;
  int64_t test_frames = 0;
  int64_t cut_frame = -1;
  std::vector<std::string> photo_paths;  // every photo used, as given
  std::vector<detail::Photo> photos;     // prepared images (a photo may appear at several sizes)
  std::vector<detail::Shot> shots;       // in order, covering every frame
  std::vector<SampleShot> shot_info;

  int shot_of(int64_t index) const;
};

namespace detail {

// scene.cpp: the sample's building blocks, also used by the other kinds (scene_content.cpp).
Photo prepare_photo(const core::RgbImage& source, const std::string& path, double min_width, double min_height);
struct SpeedRange {  // of the camera's key speeds, in "unit speeds" of plan_camera's path
  double lo = 0.05;
  double hi = 1.6;
};
void plan_camera(Shot& shot, const Photo& photo, int out_width, int out_height, int fps, bool moving,
                 SpeedRange speeds, Rng& rng, Rng& speed_rng);
MovingObject plan_object(bool disc, int out_height, Rng& rng);
double object_photo_side(const MovingObject& o);
void place_texture(MovingObject& o, int photo_index, const Photo& photo, Rng& rng);

// The loaded photos, from which shots take prepared copies (scene.cpp).
struct PhotoSource {
  SampleScene::Impl& scene;
  const std::vector<core::RgbImage>& images;  // as loaded, one per photo path
  int next_object_photo = 2;                  // the cut-outs' photos follow the two backgrounds
  std::map<std::tuple<int, double, double>, int> prepared = {};  // (source, min size) -> index in scene.photos

  // Index in scene.photos of `source` prepared to cover min_width x min_height (shared when asked twice).
  int add(int source, double min_width, double min_height);
  // The next photo for a cut-out, never `background_source`; prepared for `o` and placed.
  void add_object(MovingObject& o, int background_source, Rng& rng);
  int count() const { return static_cast<int>(images.size()); }
};

// scene_content.cpp: where each kind's shots start (the first at 0), and one shot's background, camera and
// cut-outs (shot.first_frame and frame_count already set; rng streams fixed per shot by the seed).
std::vector<int64_t> plan_shot_starts(const SampleScene::Impl& scene);
void plan_shot(const SampleScene::Impl& scene, int k, Shot& shot, PhotoSource& photos, Rng& rng, Rng& speed_rng);

// Renders rows [y0, y1) of frame `index` into `out` (already width x height).
void render_rows(const SampleScene::Impl& scene, int64_t index, core::RgbImage& out, int y0, int y1);
// scene.cpp: a camera's view of a photo (bilinear). scene_content.cpp: the view of a Shot::pyramid.
void render_background(const Photo& photo, const Camera& cam, core::RgbImage& out, int y0, int y1);
void render_pyramid(const SampleScene::Impl& scene, const std::vector<int>& pyramid, const Camera& cam,
                    core::RgbImage& out, int y0, int y1);

// scene_effects.cpp: the kind's effect on rendered rows (film grain, low light); none for the others. Noise is a
// function of (seed, frame, pixel), so any split of a frame into rows renders the same pixels.
void apply_content_effect(const SampleScene::Impl& scene, int64_t index, core::RgbImage& out, int y0, int y1);

}  // namespace detail

}  // namespace ns::eval
