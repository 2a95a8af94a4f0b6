// ns/eval: the built-in sample (a camera panning and zooming over real photographs, textured cut-outs moving on
// their own, one scene cut) and the other SampleContent kinds; HR reference (lossless FFV1) + LR x3 streamer encodes
// (VP9, H.264). In: SampleOptions. Out: files + manifest.json in the dir (SampleManifest); render_sample_frame.
// Thread-safety: a SampleScene is read-only after construction; render from any number of threads.
// Errors: ns::Error not_found (photo missing: run scripts/setup), io (out dir unwritable), corrupt (manifest).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ns/core/frame.h"

namespace ns::eval {

inline constexpr int kSampleManifestVersion = 1;
inline constexpr int kSampleScale = 3;  // LR = HR / 3 (area filter)

// What the rendered content shows: the sample itself, or one of the other kinds of a selection set (issue 20),
// each deterministic by seed and with its own native frame rate.
enum class SampleContent {
  sample,     // camera pan and zoom at varying speed, moving cut-outs, one scene cut (60 fps)
  pan,        // a constant-speed camera pan over one photo, turning back at its edges; no cut-outs, no cut (60 fps)
  zoom,       // a steady zoom in, then out, over the largest photo; no cut-outs, no cut (60 fps)
  still,      // "static": a fixed camera, two small cut-outs moving slowly; no cut (60 fps)
  fast,       // fast camera and cut-outs, a scene cut every 2 to 3 s (60 fps)
  grain,      // the sample's scenes with film grain (24 fps)
  low_light,  // the sample's scenes under-exposed, crushed shadows, sensor noise (30 fps)
};
std::string_view sample_content_name(SampleContent content);  // "sample", "pan", ..., "static", "low-light"
const std::vector<SampleContent>& sample_contents();           // every kind, in the order above
// The kind a name stands for; throws invalid_argument naming the kinds.
SampleContent parse_sample_content(std::string_view name);
int sample_content_fps(SampleContent content);  // native frame rate

struct SampleOptions {
  std::filesystem::path out_dir;
  SampleContent content = SampleContent::sample;
  int hr_height = 1080;       // 1080 (LR 640x360) or 2160 (LR 1280x720); any multiple of 6 works
  int hr_width = 0;           // 0 = 16:9 from hr_height; must be a multiple of 6 (even LR sizes)
  uint32_t seed = 1;
  double train_seconds = 5;   // the train segment comes first,
  double test_seconds = 10;   // then the test segment, which holds the sample's scene cut (at 60 % of it)
  int fps = 0;                // 0 = the content's native rate (sample_content_fps)
  std::vector<std::string> photos;  // empty = the default photographs for the HR size (Debian packages)
  bool camera_motion = true;  // false: the camera stays where it starts (tests)
  bool object_motion = true;  // false: the moving objects stay where they start (tests)
  int render_threads = 0;     // threads rendering HR frames; 0 = one per core, at most 8 (encoders have their own)
  std::string command_line;   // recorded in the manifest; empty = rebuilt from the options
};

// One encoded file of the sample, as recorded in manifest.json.
struct SampleFile {
  std::string path;     // relative to the sample directory
  std::string segment;  // "train" or "test"
  std::string role;     // "hr" (lossless reference), "lr_vp9" or "lr_h264"
  std::string codec;    // FFmpeg codec name: "ffv1", "vp9", "h264"
  std::string encoder;  // FFmpeg encoder name
  int width = 0;
  int height = 0;
  int64_t frame_count = 0;
  int target_kbps = 0;         // 0 for the lossless reference
  double measured_kbps = 0;    // file size * 8 / segment seconds / 1000
  uint64_t bytes = 0;
  bool lossless = false;
};

struct SampleSegment {
  std::string name;          // "train" or "test"
  int64_t first_frame = 0;   // index in the whole rendered sequence
  int64_t frame_count = 0;
  double seconds = 0;
};

// One continuous shot: a background photo under a moving camera, with cut-outs moving over it.
struct SampleShot {
  int64_t first_frame = 0;
  int64_t frame_count = 0;
  std::string background;            // photo path
  std::vector<std::string> objects;  // photo path of each moving cut-out
  double min_photo_pixels_per_output_pixel = 0;  // < 1 means the photo had to be up-scaled
};

struct SampleManifest {
  std::filesystem::path dir;  // where manifest.json was read from or written to (not stored in it)
  int version = kSampleManifestVersion;
  // The rendered kind; empty for a sample made from the user's video ("video" in the file; a manifest without the
  // field is a sample's, as before the kinds existed).
  std::optional<SampleContent> content = SampleContent::sample;
  uint32_t seed = 0;
  int fps = 0;
  int hr_width = 0;
  int hr_height = 0;
  int lr_width = 0;
  int lr_height = 0;
  int scale = kSampleScale;
  std::string lr_filter;                 // "area"
  bool hr_lossless = true;               // the HR files decode to exactly the rendered frames
  int64_t scene_cut_frame = -1;          // first frame of the second shot (whole sequence); -1: one shot
  std::vector<SampleSegment> segments;   // train, then test
  std::vector<SampleFile> files;
  std::vector<SampleShot> shots;
  std::vector<std::string> photos;       // every photo used
  std::string command_line;
  double elapsed_seconds = 0;            // wall time of make_sample

  const SampleSegment& segment(std::string_view name) const;  // throws not_found
  const SampleFile& file(std::string_view segment, std::string_view role) const;  // throws not_found
  std::filesystem::path file_path(std::string_view segment, std::string_view role) const;  // dir / path
  int64_t total_frames() const;
};

// The rendered content (photos loaded and prepared, camera and object paths fixed by the seed).
class SampleScene {
 public:
  explicit SampleScene(const SampleOptions& options);  // loads the photos; throws not_found
  ~SampleScene();
  SampleScene(const SampleScene&) = delete;
  SampleScene& operator=(const SampleScene&) = delete;

  int width() const;
  int height() const;
  int fps() const;                   // the options' fps, or the content's native rate
  int64_t frame_count() const;       // train + test
  int64_t train_frame_count() const;
  int64_t scene_cut_frame() const;   // first frame of the second shot; -1 when there is one shot
  SampleContent content() const;
  const std::vector<SampleShot>& shots() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// Where things are in one frame (output pixel coordinates unless said otherwise).
struct SampleObjectState {
  double centre_x = 0;
  double centre_y = 0;
  double angle = 0;  // radians
  int box_x0 = 0, box_y0 = 0, box_x1 = 0, box_y1 = 0;  // pixels it (and its shadow) may touch: [x0, x1)
};
struct SampleFrameState {
  int shot = 0;
  double camera_x = 0;  // view centre in the (prepared) background photo, photo pixels
  double camera_y = 0;
  double zoom = 1;      // photo pixels per output pixel
  std::vector<SampleObjectState> objects;
};

SampleFrameState describe_sample_frame(const SampleScene& scene, int64_t index);
// Renders HR frame `index` (0 <= index < frame_count()) as I420 (BT.709 limited range).
core::Frame render_sample_frame(const SampleScene& scene, int64_t index);
// The same in packed RGB, before colour conversion.
core::RgbImage render_sample_rgb(const SampleScene& scene, int64_t index);

// The default photographs for an HR height, and the Debian package each comes from.
struct SamplePhoto {
  std::string path;
  std::string package;
};
std::vector<SamplePhoto> default_sample_photos(int hr_height);

// Whether the file's name says JPEG, PNG or WebP (what --photos takes from a folder).
bool is_photo_file(const std::filesystem::path& p);

// The photos a --photos argument stands for: a file itself; a directory, the images directly inside it, or for
// a Plasma wallpaper package (<name>/contents/images/<W>x<H>.jpg) its largest image. Throws not_found.
std::vector<std::string> expand_photo_argument(const std::string& argument);

// Renders, encodes and writes the whole sample into options.out_dir (created if needed); shows progress on a
// terminal. Returns the manifest it wrote.
SampleManifest make_sample(const SampleOptions& options);

// The same layout made from the user's own HR video (`neuroscaler eval`): its first train_seconds are the train
// segment, the next test_seconds (or the rest) the test segment; frames are cropped (centred) to a multiple of
// 2 x scale so that the LR size is even, LR = HR / scale (area), encoded like a streamer. Throws not_found /
// corrupt for an unreadable video, invalid_argument when it is too short or too small.
struct VideoSampleOptions {
  std::filesystem::path out_dir;
  std::string reference;      // HR video, any input FFmpeg reads
  double train_seconds = 5;
  double test_seconds = 10;   // at most; the video may end sooner
  std::string command_line;   // recorded in the manifest
};
SampleManifest make_sample_from_video(const VideoSampleOptions& options);

// Reads and validates dir/manifest.json (fields, sizes, that every listed file exists).
SampleManifest load_sample_manifest(const std::filesystem::path& dir);

}  // namespace ns::eval
