// The built-in sample: deterministic rendering, the scene cut where the manifest says, objects moving on
// their own, the encoded files (lengths, sizes, lossless HR, key frames first) and the manifest's checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>

#include "ns/core/colour.h"
#include "ns/core/error.h"
#include "ns/eval/sample.h"
#include "ns/media/probe.h"
#include "ns/media/reader.h"
#include "support/fixtures.h"

namespace ns {
namespace {

namespace fs = std::filesystem;

// Tiny sample: 192x108 (LR 64x36), 0.5 s train + 1 s test at 60 fps = 30 + 60 frames, cut at 30 + 36.
eval::SampleOptions tiny_options(uint32_t seed = 1) {
  eval::SampleOptions o = test::tiny_sample_options();
  o.seed = seed;
  o.train_seconds = 0.5;
  o.test_seconds = 1;
  return o;
}

bool same_pixels(const core::Frame& a, const core::Frame& b) {
  if (!core::same_size(a, b)) return false;
  for (int p = 0; p < core::kPlaneCount; ++p) {
    for (int y = 0; y < a.plane_height(p); ++y) {
      if (std::memcmp(a.row(p, y), b.row(p, y), static_cast<size_t>(a.plane_width(p))) != 0) return false;
    }
  }
  return true;
}

double mean_abs_diff_y(const core::Frame& a, const core::Frame& b) {
  uint64_t sum = 0;
  for (int y = 0; y < a.height(); ++y) {
    for (int x = 0; x < a.width(); ++x) sum += static_cast<uint64_t>(std::abs(a.row(0, y)[x] - b.row(0, y)[x]));
  }
  return static_cast<double>(sum) / (static_cast<double>(a.width()) * a.height());
}

bool pixel_equal(const core::RgbImage& a, const core::RgbImage& b, int x, int y) {
  return std::memcmp(a.row(y) + x * 3, b.row(y) + x * 3, 3) == 0;
}

bool inside(const eval::SampleObjectState& o, int x, int y) {
  return x >= o.box_x0 && x < o.box_x1 && y >= o.box_y0 && y < o.box_y1;
}

class SampleScene : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { scene_ = std::make_unique<eval::SampleScene>(tiny_options()); }
  static void TearDownTestSuite() { scene_.reset(); }
  static std::unique_ptr<eval::SampleScene> scene_;
};
std::unique_ptr<eval::SampleScene> SampleScene::scene_;

TEST_F(SampleScene, SizesAndSegmentsFollowOptions) {
  EXPECT_EQ(scene_->width(), 192);
  EXPECT_EQ(scene_->height(), 108);
  EXPECT_EQ(scene_->frame_count(), 90);
  EXPECT_EQ(scene_->train_frame_count(), 30);
  EXPECT_EQ(scene_->scene_cut_frame(), 30 + 36);  // 60 % into the test segment
  ASSERT_EQ(scene_->shots().size(), 2u);
  EXPECT_EQ(scene_->shots()[0].frame_count, 66);
  EXPECT_EQ(scene_->shots()[1].first_frame, 66);
  EXPECT_NE(scene_->shots()[0].background, scene_->shots()[1].background);
  EXPECT_GE(scene_->shots()[0].min_photo_pixels_per_output_pixel, 1.0);  // no up-scaling at this size
}

TEST_F(SampleScene, SameSeedGivesIdenticalFrames) {
  const eval::SampleScene again(tiny_options(1));
  for (const int64_t i : {0, 29, 30, 65, 66, 89}) {
    EXPECT_TRUE(same_pixels(eval::render_sample_frame(*scene_, i), eval::render_sample_frame(again, i))) << i;
  }
}

TEST_F(SampleScene, OtherSeedGivesOtherFrames) {
  const eval::SampleScene other(tiny_options(2));
  for (const int64_t i : {0, 45, 80}) {
    EXPECT_GT(mean_abs_diff_y(eval::render_sample_frame(*scene_, i), eval::render_sample_frame(other, i)), 1.0) << i;
  }
}

TEST_F(SampleScene, RenderedFrameIsTheRgbRenderConverted) {
  const core::RgbImage rgb = eval::render_sample_rgb(*scene_, 10);
  core::Frame expected(rgb.width, rgb.height);
  core::rgb_to_i420(rgb, expected);
  const core::Frame frame = eval::render_sample_frame(*scene_, 10);
  EXPECT_TRUE(same_pixels(frame, expected));
  EXPECT_EQ(frame.index, 10);
}

TEST_F(SampleScene, SceneCutIsTheOnlyLargeJump) {
  std::vector<core::Frame> frames;
  for (int64_t i = 0; i < scene_->frame_count(); ++i) frames.push_back(eval::render_sample_frame(*scene_, i));
  std::vector<double> jumps;  // jumps[i] = difference between frame i and frame i + 1
  for (size_t i = 0; i + 1 < frames.size(); ++i) jumps.push_back(mean_abs_diff_y(frames[i], frames[i + 1]));
  const auto largest = std::max_element(jumps.begin(), jumps.end());
  EXPECT_EQ(largest - jumps.begin() + 1, scene_->scene_cut_frame());
  double second = 0;
  for (auto it = jumps.begin(); it != jumps.end(); ++it) {
    if (it != largest) second = std::max(second, *it);
  }
  EXPECT_GT(*largest, 3 * second) << "cut " << *largest << ", next largest " << second;
  EXPECT_GT(*largest, 10.0);
  EXPECT_GT(second, 0.0);  // the content moves everywhere else too
}

TEST(SampleSceneMotion, CameraSpeedVaries) {
  eval::SampleOptions o = tiny_options();
  o.train_seconds = 5;
  o.test_seconds = 10;
  const eval::SampleScene scene(o);
  // Mean camera speed (output pixels per frame) over each second of the first shot.
  std::vector<double> speeds;
  const int64_t shot_end = scene.scene_cut_frame();
  for (int64_t start = 0; start + 60 <= shot_end; start += 60) {
    double travelled = 0;
    for (int64_t i = start + 1; i < start + 60; ++i) {
      const eval::SampleFrameState a = eval::describe_sample_frame(scene, i - 1);
      const eval::SampleFrameState b = eval::describe_sample_frame(scene, i);
      travelled += std::hypot(b.camera_x - a.camera_x, b.camera_y - a.camera_y) / b.zoom;
    }
    speeds.push_back(travelled / 59);
  }
  ASSERT_GE(speeds.size(), 5u);
  const auto [slowest, fastest] = std::minmax_element(speeds.begin(), speeds.end());
  EXPECT_GT(*fastest, 3 * *slowest) << "slowest " << *slowest << ", fastest " << *fastest;
  EXPECT_GT(*slowest, 0.0);
}

TEST(SampleSceneMotion, ObjectMovesOverStillCamera) {
  eval::SampleOptions o = tiny_options();
  o.camera_motion = false;
  const eval::SampleScene scene(o);
  const eval::SampleFrameState a = eval::describe_sample_frame(scene, 5);
  const eval::SampleFrameState b = eval::describe_sample_frame(scene, 40);
  EXPECT_EQ(a.camera_x, b.camera_x);
  EXPECT_EQ(a.camera_y, b.camera_y);
  EXPECT_EQ(a.zoom, b.zoom);
  ASSERT_EQ(a.objects.size(), 2u);
  EXPECT_GT(std::hypot(b.objects[0].centre_x - a.objects[0].centre_x, b.objects[0].centre_y - a.objects[0].centre_y),
            2.0);
  // Only pixels the objects (or their shadows) cover in one of the two frames may change.
  const core::RgbImage ra = eval::render_sample_rgb(scene, 5);
  const core::RgbImage rb = eval::render_sample_rgb(scene, 40);
  int changed = 0;
  int changed_outside = 0;
  for (int y = 0; y < ra.height; ++y) {
    for (int x = 0; x < ra.width; ++x) {
      if (pixel_equal(ra, rb, x, y)) continue;
      ++changed;
      bool covered = false;
      for (const auto* state : {&a, &b}) {
        for (const eval::SampleObjectState& obj : state->objects) covered = covered || inside(obj, x, y);
      }
      if (!covered) ++changed_outside;
    }
  }
  EXPECT_GT(changed, 200);
  EXPECT_EQ(changed_outside, 0);
}

TEST(SampleSceneMotion, CameraMovesUnderStillObject) {
  eval::SampleOptions o = tiny_options();
  o.object_motion = false;
  const eval::SampleScene scene(o);
  const eval::SampleFrameState a = eval::describe_sample_frame(scene, 5);
  const eval::SampleFrameState b = eval::describe_sample_frame(scene, 40);
  EXPECT_GT(std::hypot(b.camera_x - a.camera_x, b.camera_y - a.camera_y), 1.0);
  ASSERT_EQ(a.objects.size(), 2u);
  const eval::SampleObjectState& top = a.objects.back();  // drawn last, nothing covers it
  EXPECT_EQ(top.centre_x, b.objects.back().centre_x);
  EXPECT_EQ(top.centre_y, b.objects.back().centre_y);
  const core::RgbImage ra = eval::render_sample_rgb(scene, 5);
  const core::RgbImage rb = eval::render_sample_rgb(scene, 40);
  // The object's middle is the same although the photo behind it moved; the background changed.
  const int cx = static_cast<int>(top.centre_x);
  const int cy = static_cast<int>(top.centre_y);
  for (int y = cy - 3; y <= cy + 3; ++y) {
    for (int x = cx - 3; x <= cx + 3; ++x) EXPECT_TRUE(pixel_equal(ra, rb, x, y)) << x << "," << y;
  }
  int background_changed = 0;
  for (int y = 0; y < ra.height; ++y) {
    for (int x = 0; x < ra.width; ++x) {
      bool covered = false;
      for (const eval::SampleObjectState& obj : a.objects) covered = covered || inside(obj, x, y);
      if (!covered && !pixel_equal(ra, rb, x, y)) ++background_changed;
    }
  }
  EXPECT_GT(background_changed, 1000);
}

TEST(SampleSceneMotion, StillCameraAndObjectsGiveStillShot) {
  eval::SampleOptions o = tiny_options();
  o.camera_motion = false;
  o.object_motion = false;
  const eval::SampleScene scene(o);
  EXPECT_TRUE(same_pixels(eval::render_sample_frame(scene, 0), eval::render_sample_frame(scene, 65)));
  EXPECT_FALSE(same_pixels(eval::render_sample_frame(scene, 65), eval::render_sample_frame(scene, 66)));
}

TEST(SampleSceneErrors, RejectsSizesThatGiveOddLrSizes) {
  eval::SampleOptions o = tiny_options();
  o.hr_width = 100;  // LR would be 33.3 wide
  o.hr_height = 60;
  const Error e = test::error_of([&] { eval::SampleScene scene(o); });
  EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
  EXPECT_NE(std::string(e.what()).find("multiple of 6"), std::string::npos) << e.what();
}

TEST(SampleSceneErrors, MissingPhotoIsNamed) {
  test::TempDir dir;
  eval::SampleOptions o = tiny_options();
  o.photos[0] = dir.file("no-such-photo.jpg");
  const Error e = test::error_of([&] { eval::SampleScene scene(o); });
  EXPECT_EQ(e.code(), ErrorCode::not_found);
  EXPECT_NE(std::string(e.what()).find("no-such-photo.jpg"), std::string::npos) << e.what();
}

TEST(SampleSceneErrors, OnePhotoIsNotEnoughForACut) {
  eval::SampleOptions o = tiny_options();
  o.photos.resize(1);
  EXPECT_EQ(test::error_of([&] { eval::SampleScene scene(o); }).code(), ErrorCode::invalid_argument);
}

TEST(SampleSceneErrors, FrameIndexOutOfRange) {
  const eval::SampleScene scene(tiny_options());
  EXPECT_EQ(test::error_of([&] { eval::render_sample_frame(scene, 90); }).code(), ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_of([&] { eval::describe_sample_frame(scene, -1); }).code(), ErrorCode::invalid_argument);
}

TEST(SamplePhotos, DirectoryArgumentsExpand) {
  test::TempDir dir;
  const std::string small = "/contents/images/640x480.jpg";
  fs::create_symlink("/usr/share/wallpapers/Path" + small, dir.path() / "b.jpg");
  fs::create_symlink("/usr/share/wallpapers/EveningGlow" + small, dir.path() / "a.jpg");
  { std::ofstream(dir.file("notes.txt")) << "not a photo"; }
  eval::SampleOptions o = tiny_options();
  o.photos = {dir.path().string()};
  const eval::SampleScene scene(o);
  EXPECT_EQ(scene.shots()[0].background, dir.file("a.jpg"));  // sorted by name
  EXPECT_EQ(scene.shots()[1].background, dir.file("b.jpg"));
  // A Plasma wallpaper package directory stands for its largest size.
  o.photos = {"/usr/share/wallpapers/Path", dir.file("a.jpg")};
  o.train_seconds = 0.1;  // only the photo choice matters here
  o.test_seconds = 0.1;
  const eval::SampleScene plasma(o);
  EXPECT_EQ(plasma.shots()[0].background, "/usr/share/wallpapers/Path/contents/images/2560x1600.jpg");
}

TEST(SamplePhotos, DefaultsAreInstalledWithTheirPackages) {
  for (const int height : {1080, 2160}) {
    const std::vector<eval::SamplePhoto> photos = eval::default_sample_photos(height);
    ASSERT_GE(photos.size(), 3u);
    for (const eval::SamplePhoto& p : photos) {
      EXPECT_TRUE(fs::is_regular_file(p.path)) << p.path << " (package " << p.package << "; run scripts/setup)";
      EXPECT_FALSE(p.package.empty());
    }
  }
}

TEST(SampleOutput, UnwritableOutDirIsAnIoError) {
  test::TempDir dir;
  { std::ofstream(dir.file("a-file")) << "x"; }
  eval::SampleOptions o = tiny_options();
  o.out_dir = dir.path() / "a-file" / "sample";  // a directory cannot be made under a file
  const Error e = test::error_of([&] { eval::make_sample(o); });
  EXPECT_EQ(e.code(), ErrorCode::io);
  EXPECT_NE(std::string(e.what()).find("a-file"), std::string::npos) << e.what();
}

// One tiny sample written to disk, shared by the tests of the files and the manifest.
class SampleFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<test::TempDir>();
    eval::SampleOptions o = tiny_options();
    o.out_dir = dir_->path() / "sample";
    o.command_line = "sample_test";
    manifest_ = std::make_unique<eval::SampleManifest>(eval::make_sample(o));
    scene_ = std::make_unique<eval::SampleScene>(o);
  }
  static void TearDownTestSuite() {
    scene_.reset();
    manifest_.reset();
    dir_.reset();
  }
  static fs::path sample_dir() { return dir_->path() / "sample"; }
  static std::unique_ptr<test::TempDir> dir_;
  static std::unique_ptr<eval::SampleManifest> manifest_;
  static std::unique_ptr<eval::SampleScene> scene_;
};
std::unique_ptr<test::TempDir> SampleFiles::dir_;
std::unique_ptr<eval::SampleManifest> SampleFiles::manifest_;
std::unique_ptr<eval::SampleScene> SampleFiles::scene_;

TEST_F(SampleFiles, ManifestDescribesSegmentsAndFiles) {
  const eval::SampleManifest& m = *manifest_;
  EXPECT_EQ(m.hr_width, 192);
  EXPECT_EQ(m.hr_height, 108);
  EXPECT_EQ(m.lr_width, 64);
  EXPECT_EQ(m.lr_height, 36);
  EXPECT_EQ(m.scale, 3);
  EXPECT_EQ(m.fps, 60);
  EXPECT_EQ(m.lr_filter, "area");
  EXPECT_TRUE(m.hr_lossless);
  EXPECT_EQ(m.scene_cut_frame, 66);
  ASSERT_EQ(m.segments.size(), 2u);
  EXPECT_EQ(m.segments[0].name, "train");
  EXPECT_EQ(m.segments[0].first_frame, 0);
  EXPECT_EQ(m.segments[0].frame_count, 30);
  EXPECT_EQ(m.segments[1].name, "test");
  EXPECT_EQ(m.segments[1].first_frame, 30);
  EXPECT_EQ(m.segments[1].frame_count, 60);
  EXPECT_DOUBLE_EQ(m.segments[1].seconds, 1.0);
  EXPECT_EQ(m.files.size(), 6u);
  EXPECT_EQ(m.file("train", "hr").path, "hr_train.mkv");
  EXPECT_EQ(m.file("test", "lr_vp9").path, "lr_vp9_test.webm");
  EXPECT_EQ(m.file("test", "lr_h264").path, "lr_h264_test.mp4");
  EXPECT_EQ(m.file("train", "lr_vp9").codec, "vp9");
  EXPECT_GT(m.file("train", "lr_vp9").target_kbps, 0);
  EXPECT_EQ(m.file("train", "hr").target_kbps, 0);
  for (const eval::SampleFile& f : m.files) {
    EXPECT_EQ(f.bytes, fs::file_size(sample_dir() / f.path)) << f.path;
    EXPECT_NEAR(f.measured_kbps, static_cast<double>(f.bytes) * 8 / m.segment(f.segment).seconds / 1000, 1e-6);
  }
  EXPECT_EQ(m.photos.size(), 4u);
  EXPECT_EQ(m.command_line, "sample_test");
  EXPECT_EQ(test::error_of([&] { (void)m.file("train", "lr_av1"); }).code(), ErrorCode::not_found);
}

TEST_F(SampleFiles, ManifestRoundTrips) {
  const eval::SampleManifest loaded = eval::load_sample_manifest(sample_dir());
  const eval::SampleManifest& m = *manifest_;
  EXPECT_EQ(loaded.dir, sample_dir());
  EXPECT_EQ(loaded.seed, m.seed);
  EXPECT_EQ(loaded.fps, m.fps);
  EXPECT_EQ(loaded.hr_width, m.hr_width);
  EXPECT_EQ(loaded.lr_height, m.lr_height);
  EXPECT_EQ(loaded.scene_cut_frame, m.scene_cut_frame);
  EXPECT_EQ(loaded.total_frames(), 90);
  ASSERT_EQ(loaded.files.size(), m.files.size());
  for (size_t i = 0; i < m.files.size(); ++i) {
    EXPECT_EQ(loaded.files[i].path, m.files[i].path);
    EXPECT_EQ(loaded.files[i].role, m.files[i].role);
    EXPECT_EQ(loaded.files[i].bytes, m.files[i].bytes);
    EXPECT_EQ(loaded.files[i].lossless, m.files[i].lossless);
    EXPECT_NEAR(loaded.files[i].measured_kbps, m.files[i].measured_kbps, 0.05);
  }
  ASSERT_EQ(loaded.shots.size(), 2u);
  EXPECT_EQ(loaded.shots[1].first_frame, 66);
  EXPECT_EQ(loaded.shots[0].background, m.shots[0].background);
  EXPECT_EQ(loaded.photos, m.photos);
  EXPECT_EQ(loaded.command_line, "sample_test");
  EXPECT_EQ(loaded.file_path("test", "hr"), sample_dir() / "hr_test.mkv");
}

TEST_F(SampleFiles, EveryFileDecodesToItsSegment) {
  for (const eval::SampleFile& f : manifest_->files) {
    media::VideoReader reader((sample_dir() / f.path).string());
    EXPECT_EQ(reader.info().codec, f.codec) << f.path;
    EXPECT_EQ(reader.info().width, f.width) << f.path;
    EXPECT_EQ(reader.info().height, f.height) << f.path;
    EXPECT_EQ(reader.info().frame_rate.num, 60) << f.path;
    int64_t count = 0;
    core::Frame frame;
    while (reader.read(frame)) {
      EXPECT_EQ(frame.width(), f.width);
      ++count;
    }
    EXPECT_EQ(count, manifest_->segment(f.segment).frame_count) << f.path;
  }
}

TEST_F(SampleFiles, HrReferenceIsExactlyTheRenderedFrames) {
  for (const eval::SampleSegment& seg : manifest_->segments) {
    media::VideoReader reader(manifest_->file_path(seg.name, "hr").string());
    core::Frame frame;
    for (int64_t i = 0; reader.read(frame); ++i) {
      ASSERT_TRUE(same_pixels(frame, eval::render_sample_frame(*scene_, seg.first_frame + i)))
          << seg.name << " frame " << i;
    }
  }
}

TEST_F(SampleFiles, LrSegmentsStartWithKeyFrames) {
  for (const eval::SampleFile& f : manifest_->files) {
    media::Demuxer demuxer((sample_dir() / f.path).string());
    const std::optional<media::Packet> first = demuxer.read();
    ASSERT_TRUE(first.has_value()) << f.path;
    EXPECT_TRUE(first->key) << f.path;
    if (f.codec == "ffv1") continue;
    // The bitstream says so too: the first coded frame is a VP9 key frame / an H.264 IDR picture.
    const std::vector<media::CodedFrame> coded = media::probe_file((sample_dir() / f.path).string());
    ASSERT_FALSE(coded.empty()) << f.path;
    EXPECT_EQ(coded[0].cls, media::FrameClass::key) << f.path;
  }
}

TEST_F(SampleFiles, MissingListedFileIsNamed) {
  test::TempDir copy;
  fs::copy_file(sample_dir() / "manifest.json", copy.path() / "manifest.json");
  const Error e = test::error_of([&] { eval::load_sample_manifest(copy.path()); });
  EXPECT_EQ(e.code(), ErrorCode::not_found);
  EXPECT_NE(std::string(e.what()).find("hr_train.mkv"), std::string::npos) << e.what();
}

TEST(SampleManifest, MissingManifestIsNamed) {
  test::TempDir dir;
  const Error e = test::error_of([&] { eval::load_sample_manifest(dir.path()); });
  EXPECT_EQ(e.code(), ErrorCode::not_found);
  EXPECT_NE(std::string(e.what()).find("manifest.json"), std::string::npos) << e.what();
}

TEST(SampleManifest, MalformedManifestIsCorrupt) {
  test::TempDir dir;
  const auto write = [&](const std::string& text) { std::ofstream(dir.file("manifest.json")) << text; };
  write("{\"format\": \"neuroscaler-sample\", ");  // cut short
  EXPECT_EQ(test::error_of([&] { eval::load_sample_manifest(dir.path()); }).code(), ErrorCode::corrupt);
  write(R"({"format": "neuroscaler-sample", "version": 1, "seed": 1, "fps": 60})");  // no sizes
  const Error missing = test::error_of([&] { eval::load_sample_manifest(dir.path()); });
  EXPECT_EQ(missing.code(), ErrorCode::corrupt);
  EXPECT_NE(std::string(missing.what()).find("hr.width"), std::string::npos) << missing.what();
  write(R"({"format": "neuroscaler-sample", "version": "one"})");
  EXPECT_EQ(test::error_of([&] { eval::load_sample_manifest(dir.path()); }).code(), ErrorCode::corrupt);
  write(R"({"format": "neuroscaler-sample", "version": 99})");
  EXPECT_EQ(test::error_of([&] { eval::load_sample_manifest(dir.path()); }).code(), ErrorCode::unsupported);
  write(R"({"format": "something-else"})");
  EXPECT_EQ(test::error_of([&] { eval::load_sample_manifest(dir.path()); }).code(), ErrorCode::corrupt);
}

TEST(SampleCli, RejectsUnsupportedHrHeight) {
  test::TempDir dir;
  const test::CliResult r = test::run_cli({"sample", "--out", dir.file("s"), "--hr", "720"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("720"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / "s"));
}

TEST(SampleCli, RequiresOut) {
  const test::CliResult r = test::run_cli({"sample"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ns
