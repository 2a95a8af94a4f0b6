// ns/eval (internal): the sample renderer's data: prepared photos, shots with per-frame camera states and
// moving cut-outs. Used by scene.cpp (renderer) and sample.cpp (driver) only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ns/core/frame.h"
#include "ns/eval/sample.h"

namespace ns::eval {

namespace detail {

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
  int64_t first_frame = 0;
  int64_t frame_count = 0;
  std::vector<Camera> cameras;  // one per frame of the shot
  std::vector<MovingObject> objects;
  double min_zoom = 1;
};

}  // namespace detail

struct SampleScene::Impl {
  SampleOptions options;
  int width = 0;
  int height = 0;
  int64_t train_frames = 0;
  int64_t test_frames = 0;
  int64_t cut_frame = 0;
  std::vector<std::string> photo_paths;  // every photo used, as given
  std::vector<detail::Photo> photos;     // prepared images (a photo may appear at several sizes)
  std::vector<detail::Shot> shots;
  std::vector<SampleShot> shot_info;

  int shot_of(int64_t index) const;
};

namespace detail {

// Renders rows [y0, y1) of frame `index` into `out` (already width x height).
void render_rows(const SampleScene::Impl& scene, int64_t index, core::RgbImage& out, int y0, int y1);

}  // namespace detail

}  // namespace ns::eval
