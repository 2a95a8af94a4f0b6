// The stream-like training set (ns/sr/train/stream_set.h) and the PNG writer it stores pairs with: PNGs round-trip
// exactly; pairs have HR exactly 3 x LR; a still's HR and clean LR are exactly the photo's I420 and its area
// down-scale, its encoded LR really went through the encoder yet stays close; validation photos never reach the
// training part; the same seed gives the same set; every damaged set is refused with its own error code.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ns/core/colour.h"
#include "ns/core/error.h"
#include "ns/core/metrics.h"
#include "ns/core/resize.h"
#include "ns/media/image.h"
#include "ns/media/image_writer.h"
#include "ns/sr/train/dataset_impl.h"
#include "ns/sr/train/stream_set.h"
#include "support/fixtures.h"

namespace ns {
namespace {

namespace fs = std::filesystem;
using sr::train::StreamPair;
using sr::train::StreamSetManifest;
using sr::train::StreamSetOptions;

constexpr int kPhotoWidth = 192;  // multiples of 6: a still's HR is the whole photo, LR 64x48
constexpr int kPhotoHeight = 144;

core::RgbImage synthetic_rgb(int width, int height, uint32_t seed) {
  core::RgbImage rgb;
  core::i420_to_rgb(test::synthetic_frame(width, height, 0, seed), rgb);
  return rgb;
}

// Three tiny photographs (PNG) in `dir`: a.png, b.png, c.png; sorted, c.png is every 3rd photo.
std::vector<std::string> tiny_photos(const test::TempDir& dir) {
  std::vector<std::string> paths;
  uint32_t seed = 11;
  for (const char* name : {"a.png", "b.png", "c.png"}) {
    paths.push_back(dir.file(name));
    media::save_png(paths.back(), synthetic_rgb(kPhotoWidth, kPhotoHeight, seed++));
  }
  return paths;
}

StreamSetOptions tiny_options(const fs::path& out) {
  StreamSetOptions o;
  o.out_dir = out;
  o.clip_frames = 8;
  o.frames_per_clip = 2;
  o.validation_every = 3;
  o.threads = 2;
  return o;
}

double rgb_psnr(const core::RgbImage& a, const core::RgbImage& b) {
  return core::psnr_from_sse(sr::train::rgb_sse(a, b), a.pixels.size());
}

const std::string& photo_named(const std::vector<std::string>& photos, const std::string& name) {
  for (const std::string& p : photos) {
    if (fs::path(p).filename() == name) return p;
  }
  ADD_FAILURE() << "no photo " << name;
  return photos.front();
}

TEST(TrainDataTest, PngRoundTripsExactly) {
  test::TempDir dir;
  for (const auto& [w, h] : {std::pair{1, 1}, std::pair{7, 5}, std::pair{64, 33}}) {
    core::RgbImage image(w, h);
    std::mt19937 rng(static_cast<uint32_t>(w * 100 + h));
    for (uint8_t& v : image.pixels) v = static_cast<uint8_t>(rng() & 0xff);
    image.pixels.front() = 0;
    image.pixels.back() = 255;
    const std::string path = dir.file("image.png");
    media::save_png(path, image);
    const core::RgbImage back = media::load_image(path);
    ASSERT_EQ(back.width, w);
    ASSERT_EQ(back.height, h);
    EXPECT_EQ(back.pixels, image.pixels) << w << "x" << h;
    EXPECT_FALSE(fs::exists(path + ".tmp"));
  }
  EXPECT_EQ(test::error_code_of([&] { media::save_png(dir.file("none/x.png"), core::RgbImage(4, 4)); }),
            ErrorCode::io);
  EXPECT_EQ(test::error_code_of([&] { media::save_png(dir.file("empty.png"), core::RgbImage()); }),
            ErrorCode::invalid_argument);
}

TEST(TrainDataTest, BuildsPairsWithHrThreeTimesLrAndAManifestThatLoads) {
  test::TempDir photos_dir, out;
  const std::vector<std::string> photos = tiny_photos(photos_dir);
  StreamSetOptions o = tiny_options(out.path());
  o.clean_share = 0.25;
  const StreamSetManifest built = sr::train::build_stream_set(photos, o);

  // Per photo: one still pair (frame 0) and frames_per_clip video pairs, sampled from the last three quarters.
  ASSERT_EQ(built.pairs.size(), photos.size() * (1 + o.frames_per_clip));
  std::set<std::string> codecs;
  for (const StreamPair& p : built.pairs) {
    EXPECT_EQ(p.hr_width, 3 * p.lr_width) << p.hr;
    EXPECT_EQ(p.hr_height, 3 * p.lr_height) << p.hr;
    EXPECT_EQ(p.lr_width % 2, 0) << p.hr;
    EXPECT_EQ(p.lr_height % 2, 0) << p.hr;
    if (p.kind == "still") {
      EXPECT_EQ(p.frame, 0);
      EXPECT_EQ(p.hr_width, kPhotoWidth);
      EXPECT_EQ(p.hr_height, kPhotoHeight);
    } else {
      EXPECT_EQ(p.kind, "video");
      EXPECT_GE(p.frame, o.clip_frames / 4);
      EXPECT_LT(p.frame, o.clip_frames);
      // The largest 16:9 frame (multiples of 6) the photo covers at 1.1 photo pixels per pixel: 168x96.
      EXPECT_EQ(p.hr_width, 168);
      EXPECT_EQ(p.hr_height, 96);
    }
    EXPECT_EQ(p.kbps == 0, p.codec == "clean") << p.hr;
    EXPECT_TRUE(fs::is_regular_file(out.path() / p.hr)) << p.hr;
    EXPECT_TRUE(fs::is_regular_file(out.path() / p.lr)) << p.lr;
    codecs.insert(p.codec);
  }
  EXPECT_TRUE(codecs.count("clean")) << "a quarter of the 6 clips is clean";
  EXPECT_FALSE(fs::exists(out.path() / ".work")) << "encoded clips are removed";

  const StreamSetManifest read = sr::train::load_stream_set_manifest(out.path());
  ASSERT_EQ(read.pairs.size(), built.pairs.size());
  EXPECT_EQ(read.photos, built.photos);
  EXPECT_EQ(read.validation_photos, built.validation_photos);
  EXPECT_GT(read.bytes, 0u);
  for (size_t i = 0; i < read.pairs.size(); ++i) {
    EXPECT_EQ(read.pairs[i].lr, built.pairs[i].lr);
    EXPECT_EQ(read.pairs[i].codec, built.pairs[i].codec);
    EXPECT_EQ(read.pairs[i].kbps, built.pairs[i].kbps);
  }

  const sr::train::TrainingSet set = sr::train::load_stream_set(out.path());
  EXPECT_EQ(set.scale, 3);
  EXPECT_EQ(set.train.size() + set.validation.size(), built.pairs.size());
  for (const auto* part : {&set.train, &set.validation}) {
    for (const sr::train::ImagePair& p : *part) {
      EXPECT_EQ(p.hr.width, 3 * p.lr.width) << p.origin;
      EXPECT_EQ(p.hr.height, 3 * p.lr.height) << p.origin;
    }
  }
}

TEST(TrainDataTest, StillPairsAreThePhotoAndItsAreaDownscaleThroughTheEncoder) {
  test::TempDir photos_dir, clean_out, coded_out;
  const std::vector<std::string> photos = tiny_photos(photos_dir);
  StreamSetOptions o = tiny_options(clean_out.path());
  o.clean_share = 1;
  const StreamSetManifest clean = sr::train::build_stream_set(photos, o);
  o.out_dir = coded_out.path();
  o.clean_share = 0;
  o.codecs = {"vp9", "h264"};
  o.bitrate_factors = {1};
  const StreamSetManifest coded = sr::train::build_stream_set(photos, o);

  const auto expected = [&](const std::string& photo, core::RgbImage& hr, core::RgbImage& lr) {
    core::Frame hr_frame(kPhotoWidth, kPhotoHeight);
    core::rgb_to_i420(media::load_image(photo), hr_frame);
    core::i420_to_rgb(hr_frame, hr);
    core::i420_to_rgb(core::resized(hr_frame, kPhotoWidth / 3, kPhotoHeight / 3, core::ResizeFilter::area), lr);
  };
  int stills = 0;
  for (const StreamPair& p : clean.pairs) {
    EXPECT_EQ(p.codec, "clean");
    EXPECT_DOUBLE_EQ(p.lr_psnr_db, p.clean_psnr_db);
    if (p.kind != "still") continue;
    core::RgbImage hr, lr;
    expected(p.photo, hr, lr);
    EXPECT_EQ(media::load_image((clean_out.path() / p.hr).string()).pixels, hr.pixels) << p.hr;
    EXPECT_EQ(media::load_image((clean_out.path() / p.lr).string()).pixels, lr.pixels) << p.lr;
    ++stills;
  }
  EXPECT_EQ(stills, 3);
  std::set<std::string> codecs;
  double lr_sum = 0, clean_sum = 0;
  for (const StreamPair& p : coded.pairs) {
    ASSERT_NE(p.codec, "clean");
    codecs.insert(p.codec);
    lr_sum += p.lr_psnr_db;
    clean_sum += p.clean_psnr_db;
    if (p.kind != "still") continue;
    core::RgbImage hr, clean_lr;
    expected(p.photo, hr, clean_lr);
    EXPECT_EQ(media::load_image((coded_out.path() / p.hr).string()).pixels, hr.pixels) << p.hr;
    const core::RgbImage lr = media::load_image((coded_out.path() / p.lr).string());
    // Through the encoder: not the clean down-scale, but close to it.
    EXPECT_NE(lr.pixels, clean_lr.pixels) << p.lr << " (" << p.codec << ")";
    const double psnr = rgb_psnr(lr, clean_lr);
    EXPECT_GT(psnr, 24.0) << p.lr << " (" << p.codec << " at " << p.kbps << " kbps)";
    EXPECT_LT(psnr, 60.0) << p.lr << " (" << p.codec << ")";
    EXPECT_EQ(p.kbps, media::streamer_bitrate_kbps(kPhotoWidth / 3, kPhotoHeight / 3));
  }
  EXPECT_EQ(codecs, (std::set<std::string>{"vp9", "h264"}));
  EXPECT_LT(lr_sum, clean_sum) << "encoding loses detail on average";
}

TEST(TrainDataTest, ValidationPhotosNeverReachTheTrainingPart) {
  test::TempDir photos_dir, out;
  const std::vector<std::string> photos = tiny_photos(photos_dir);
  const StreamSetManifest m = sr::train::build_stream_set(photos, tiny_options(out.path()));
  // Sorted by path, every 3rd photo is held out: c.png.
  ASSERT_EQ(m.validation_photos, std::vector<std::string>{photo_named(photos, "c.png")});
  size_t validation_pairs = 0;
  for (const StreamPair& p : m.pairs) {
    EXPECT_EQ(p.validation, p.photo == m.validation_photos[0]) << p.hr;
    validation_pairs += p.validation ? 1 : 0;
  }
  const sr::train::TrainingSet set = sr::train::load_stream_set(out.path());
  ASSERT_EQ(set.validation.size(), validation_pairs);
  ASSERT_EQ(set.train.size(), m.pairs.size() - validation_pairs);
  for (const sr::train::ImagePair& p : set.train) {
    EXPECT_EQ(p.origin.rfind("c.png#", 0), std::string::npos) << p.origin;
  }
  for (const sr::train::ImagePair& p : set.validation) EXPECT_EQ(p.origin.rfind("c.png#", 0), 0u) << p.origin;

  // A validation crop cuts the held-out pairs only, keeping HR = 3 x LR.
  const sr::train::TrainingSet cropped = sr::train::load_stream_set(out.path(), {.validation_crop = 20});
  for (const sr::train::ImagePair& p : cropped.validation) {
    EXPECT_EQ(p.lr.width, 20);
    EXPECT_EQ(p.hr.width, 60);
  }
  // Loading only some kinds of LR.
  const sr::train::TrainingSet vp9_only = sr::train::load_stream_set(out.path(), {.codecs = {"vp9", "h264"}});
  for (const sr::train::ImagePair& p : vp9_only.train) EXPECT_EQ(p.origin.find("clean"), std::string::npos);
}

TEST(TrainDataTest, TheSameSeedGivesTheSameSetWithAnyThreadCount) {
  test::TempDir photos_dir, a, b, c;
  const std::vector<std::string> photos = tiny_photos(photos_dir);
  StreamSetOptions o = tiny_options(a.path());
  o.threads = 1;
  const StreamSetManifest first = sr::train::build_stream_set(photos, o);
  o.out_dir = b.path();
  o.threads = 3;
  const StreamSetManifest second = sr::train::build_stream_set(photos, o);
  ASSERT_EQ(first.pairs.size(), second.pairs.size());
  for (size_t i = 0; i < first.pairs.size(); ++i) {
    const StreamPair& p = first.pairs[i];
    const StreamPair& q = second.pairs[i];
    EXPECT_EQ(p.lr, q.lr);
    EXPECT_EQ(p.codec, q.codec);
    EXPECT_EQ(p.kbps, q.kbps);
    EXPECT_EQ(test::read_text_file((a.path() / p.hr).string()), test::read_text_file((b.path() / q.hr).string()))
        << p.hr;
    EXPECT_EQ(test::read_text_file((a.path() / p.lr).string()), test::read_text_file((b.path() / q.lr).string()))
        << p.lr;
  }
  // Another seed: other camera paths, frames or codec assignment.
  o.out_dir = c.path();
  o.seed = 2;
  const StreamSetManifest other = sr::train::build_stream_set(photos, o);
  bool differs = false;
  for (size_t i = 0; i < other.pairs.size(); ++i) {
    differs = differs || other.pairs[i].lr != first.pairs[i].lr || other.pairs[i].codec != first.pairs[i].codec ||
              test::read_text_file((c.path() / other.pairs[i].hr).string()) !=
                  test::read_text_file((a.path() / first.pairs[i].hr).string());
  }
  EXPECT_TRUE(differs);
}

TEST(TrainDataTest, RebuildingReplacesAnOlderSetButNotSomeoneElsesFiles) {
  test::TempDir photos_dir, out, foreign;
  const std::vector<std::string> photos = tiny_photos(photos_dir);
  StreamSetOptions o = tiny_options(out.path());
  sr::train::build_stream_set(photos, o);
  std::ofstream(out.path() / "hr" / "stale.png") << "old";
  sr::train::build_stream_set(photos, o);
  EXPECT_FALSE(fs::exists(out.path() / "hr" / "stale.png"));

  fs::create_directories(foreign.path() / "hr");
  std::ofstream(foreign.path() / "hr" / "mine.png") << "keep";
  o.out_dir = foreign.path();
  EXPECT_EQ(test::error_code_of([&] { sr::train::build_stream_set(photos, o); }), ErrorCode::invalid_argument);
  EXPECT_TRUE(fs::exists(foreign.path() / "hr" / "mine.png"));
}

TEST(TrainDataTest, BadOptionsAndPhotosAreRefused) {
  test::TempDir photos_dir, out;
  const std::vector<std::string> photos = tiny_photos(photos_dir);
  const auto code = [&](const std::vector<std::string>& list, const std::function<void(StreamSetOptions&)>& change) {
    StreamSetOptions o = tiny_options(out.path());
    change(o);
    return test::error_code_of([&] { sr::train::build_stream_set(list, o); });
  };
  const auto same = [](StreamSetOptions&) {};
  EXPECT_EQ(code({photos[0]}, same), ErrorCode::invalid_argument) << "one photo: no validation part";
  EXPECT_EQ(code({photos[0], photos[0]}, same), ErrorCode::invalid_argument) << "the same photo twice";
  EXPECT_EQ(code({photos[0], photos_dir.file("missing.jpg")}, same), ErrorCode::not_found);
  EXPECT_EQ(code(photos, [](StreamSetOptions& o) { o.codecs = {"av1"}; }), ErrorCode::invalid_argument);
  EXPECT_EQ(code(photos, [](StreamSetOptions& o) { o.codecs.clear(); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code(photos, [](StreamSetOptions& o) { o.bitrate_factors = {0}; }), ErrorCode::invalid_argument);
  EXPECT_EQ(code(photos, [](StreamSetOptions& o) { o.clean_share = 1.5; }), ErrorCode::invalid_argument);
  EXPECT_EQ(code(photos, [](StreamSetOptions& o) { o.frames_per_clip = 7; }), ErrorCode::invalid_argument)
      << "more frames than the last three quarters of an 8-frame clip";
  EXPECT_EQ(code(photos, [](StreamSetOptions& o) { o.validation_every = 1; }), ErrorCode::invalid_argument);

  const std::string tiny = photos_dir.file("tiny.png");
  media::save_png(tiny, synthetic_rgb(30, 30, 5));
  EXPECT_EQ(code({photos[0], tiny}, same), ErrorCode::invalid_argument) << "a photo too small for a still";
}

class DamagedSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    photos_ = tiny_photos(photos_dir_);
    manifest_ = sr::train::build_stream_set(photos_, tiny_options(out_.path()));
  }
  ErrorCode load_code() const {
    return test::error_code_of([&] { sr::train::load_stream_set(out_.path()); });
  }
  void write_manifest(const std::string& text) const { std::ofstream(out_.path() / "manifest.json") << text; }

  test::TempDir photos_dir_, out_;
  std::vector<std::string> photos_;
  StreamSetManifest manifest_;
};

TEST_F(DamagedSetTest, AMissingFolderOrManifestIsNotFound) {
  EXPECT_EQ(test::error_code_of([&] { sr::train::load_stream_set(out_.path() / "nothing"); }), ErrorCode::not_found);
  fs::remove(out_.path() / "manifest.json");
  EXPECT_EQ(load_code(), ErrorCode::not_found);
  try {
    sr::train::load_stream_set(out_.path());
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("neuroscaler train data"), std::string::npos) << e.what();
  }
}

TEST_F(DamagedSetTest, ADamagedManifestIsCorrupt) {
  const std::string text = test::read_text_file((out_.path() / "manifest.json").string());
  write_manifest(text.substr(0, text.size() / 2));  // cut short
  EXPECT_EQ(load_code(), ErrorCode::corrupt);
  write_manifest("{\"format\": \"something-else\"}");
  EXPECT_EQ(load_code(), ErrorCode::corrupt);
  nlohmann::json j = nlohmann::json::parse(text);
  j["pairs"][0].erase("lr");
  write_manifest(j.dump());
  EXPECT_EQ(load_code(), ErrorCode::corrupt);
  j = nlohmann::json::parse(text);
  j["pairs"][0]["hr_size"] = "wide";
  write_manifest(j.dump());
  EXPECT_EQ(load_code(), ErrorCode::corrupt);
  j = nlohmann::json::parse(text);
  for (auto& pair : j["pairs"]) pair["split"] = "train";  // a held-out photo's pairs moved into training
  write_manifest(j.dump());
  EXPECT_EQ(load_code(), ErrorCode::corrupt);
}

TEST_F(DamagedSetTest, AMissingImageIsNotFound) {
  fs::remove(out_.path() / manifest_.pairs.back().lr);
  EXPECT_EQ(load_code(), ErrorCode::not_found);
}

TEST_F(DamagedSetTest, ADamagedImageIsCorrupt) {
  const fs::path hr = out_.path() / manifest_.pairs.front().hr;
  test::truncate_copy(hr.string(), (out_.path() / "cut.png").string(), 40);
  fs::rename(out_.path() / "cut.png", hr);
  EXPECT_EQ(load_code(), ErrorCode::corrupt);
}

TEST_F(DamagedSetTest, AnLrOfTheWrongSizeIsAMismatch) {
  const StreamPair& p = manifest_.pairs.front();
  media::save_png((out_.path() / p.lr).string(), synthetic_rgb(p.lr_width + 2, p.lr_height, 3));
  EXPECT_EQ(load_code(), ErrorCode::mismatch);
}

TEST(TrainDataTest, TheCommandBuildsASetThatLoads) {
  test::TempDir photos_dir, out;
  const std::vector<std::string> photos = tiny_photos(photos_dir);
  const test::CliResult r =
      test::run_cli({"train", "data", "--out", out.path().string(), "--photos", photos_dir.path().string(),
                     "--clip-frames", "8", "--frames-per-clip", "1", "--validation-every", "3", "--codecs", "h264",
                     "--bitrate-factors", "0.5,2", "--clean-share", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["pairs"], 6);
  EXPECT_EQ(report["photos"], 3);
  const StreamSetManifest m = sr::train::load_stream_set_manifest(out.path());
  for (const StreamPair& p : m.pairs) {
    EXPECT_TRUE(p.codec == "clean" || p.codec == "h264") << p.codec;
  }
  EXPECT_NO_THROW(sr::train::load_stream_set(out.path()));

  const test::CliResult missing = test::run_cli({"train", "data", "--out", out.path().string(), "--photos",
                                                 photos_dir.file("missing.jpg")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("missing.jpg"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace ns
