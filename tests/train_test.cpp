// The libtorch trainer: its module computes exactly the network of the reference backend, training lowers
// the loss on a tiny generated set, a resumed run continues exactly, and bad data or checkpoints are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ns/core/colour.h"
#include "ns/core/error.h"
#include "ns/media/writer.h"
#include "ns/sr/sr.h"
#include "ns/sr/train/dataset_impl.h"
#include "ns/sr/train/train.h"
#include "support/fixtures.h"

namespace ns {
namespace {

using sr::train::ImagePair;
using sr::train::TrainingSet;

sr::ModelDesc tiny_desc(int scale = 3) {
  sr::ModelDesc desc;
  desc.blocks = 2;
  desc.channels = 8;
  desc.scale = scale;
  return desc;
}

core::RgbImage synthetic_rgb(int width, int height, uint32_t seed) {
  core::RgbImage rgb;
  core::i420_to_rgb(test::synthetic_frame(width, height, 0, seed), rgb);
  return rgb;
}

// HR = synthetic content, LR = its area down-scale (how photo_set makes pairs).
ImagePair synthetic_pair(int lr_size, int scale, uint32_t seed) {
  ImagePair pair;
  pair.hr = synthetic_rgb(lr_size * scale, lr_size * scale, seed);
  pair.lr = core::resized(pair.hr, lr_size, lr_size, core::ResizeFilter::area);
  pair.origin = "synthetic" + std::to_string(seed);
  return pair;
}

TrainingSet tiny_set() {
  TrainingSet set;
  set.scale = 3;
  for (uint32_t seed = 1; seed <= 3; ++seed) set.train.push_back(synthetic_pair(32, 3, seed));
  set.validation.push_back(synthetic_pair(24, 3, 9));
  return set;
}

float max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

#ifdef NS_WITH_TORCH
TEST(TrainTest, TorchModuleComputesTheReferenceNetwork) {
  for (int scale : {2, 3, 4}) {
    const sr::Model model = sr::random_model(tiny_desc(scale), 7);
    const int w = 19, h = 13;
    std::vector<float> in(3 * w * h);
    std::mt19937 rng(3);
    for (float& v : in) v = std::uniform_real_distribution<float>(0, 1)(rng);
    std::vector<float> ref_out(3 * w * h * scale * scale), torch_out(ref_out.size());
    auto ref = sr::create_backend("ref", model.desc);
    auto torch = sr::train::create_torch_backend({}, "cpu");
    ref->prepare(model, {w, h});
    torch->prepare(model, {w, h});
    ref->run({in.data(), 3, w, h}, {ref_out.data(), 3, scale * w, scale * h});
    torch->run({in.data(), 3, w, h}, {torch_out.data(), 3, scale * w, scale * h});
    EXPECT_LE(max_abs_difference(ref_out, torch_out), 1e-4f) << "scale " << scale;
  }
}
#endif

TEST(TrainTest, BilinearStartUpscalesBilinearly) {
  for (int scale : {2, 3}) {  // x4 is two x2 stages: close to, not exactly, bilinear x4
    const sr::Model model = sr::train::bilinear_start_model(tiny_desc(scale), 5);
    const core::RgbImage lr = synthetic_rgb(24, 18, 3);
    std::vector<float> in(3 * lr.width * lr.height), out(in.size() * scale * scale);
    sr::rgb_to_planar(lr, in.data());
    auto ref = sr::create_backend("ref", model.desc);
    ref->prepare(model, {lr.width, lr.height});
    ref->run({in.data(), 3, lr.width, lr.height}, {out.data(), 3, scale * lr.width, scale * lr.height});
    core::RgbImage hr;
    ASSERT_TRUE(sr::planar_to_rgb(out.data(), scale * lr.width, scale * lr.height, hr));
    const core::RgbImage expected = core::resized(lr, hr.width, hr.height, core::ResizeFilter::bilinear);
    // Away from the border (the network pads with zeros, the resizer replicates edges) they agree to rounding.
    int worst = 0;
    for (int y = 2 * scale; y < hr.height - 2 * scale; ++y) {
      for (int x = 3 * 2 * scale; x < 3 * (hr.width - 2 * scale); ++x) {
        worst = std::max(worst, std::abs(hr.row(y)[x] - expected.row(y)[x]));
      }
    }
    EXPECT_LE(worst, 1) << "scale " << scale;
  }
}

// Item n of a batch of planar float patches (edge x edge, 3 planes), as an RGB image.
core::RgbImage batch_item(const std::vector<float>& batch, int n, int edge) {
  core::RgbImage image(edge, edge);
  const size_t plane = static_cast<size_t>(edge) * edge;
  for (int c = 0; c < 3; ++c) {
    for (size_t i = 0; i < plane; ++i) {
      image.pixels[3 * i + c] = static_cast<uint8_t>(std::lround(batch[(3 * n + c) * plane + i] * 255));
    }
  }
  return image;
}

// Each LR patch is the area down-scale of its HR patch (the pairs were made that way, and patches are aligned).
void expect_lr_patches_match_hr(const std::vector<float>& lr, const std::vector<float>& hr, int batch, int patch,
                                int scale) {
  for (int n = 0; n < batch; ++n) {
    const core::RgbImage expected =
        core::resized(batch_item(hr, n, scale * patch), patch, patch, core::ResizeFilter::area);
    EXPECT_EQ(expected.pixels, batch_item(lr, n, patch).pixels) << "patch " << n;
  }
}

TEST(TrainTest, BatchesAreDeterministicAndCutFromThePairs) {
  const std::vector<ImagePair> pairs = {synthetic_pair(40, 3, 1), synthetic_pair(30, 3, 2)};
  const int patch = 12, batch = 5, hp = 36;
  std::vector<float> lr1(batch * 3 * patch * patch), hr1(batch * 3 * hp * hp), lr2(lr1.size()), hr2(hr1.size());
  sr::train::fill_batch(pairs, 3, patch, batch, 11, 4, lr1.data(), hr1.data());
  sr::train::fill_batch(pairs, 3, patch, batch, 11, 4, lr2.data(), hr2.data());
  EXPECT_EQ(lr1, lr2);
  EXPECT_EQ(hr1, hr2);
  sr::train::fill_batch(pairs, 3, patch, batch, 11, 5, lr2.data(), hr2.data());
  EXPECT_NE(lr1, lr2);
  expect_lr_patches_match_hr(lr1, hr1, batch, patch, 3);
}

// The image mirrored left to right, and turned a quarter (transposed, then mirrored).
core::RgbImage mirrored(const core::RgbImage& src) {
  core::RgbImage out(src.width, src.height);
  for (int y = 0; y < src.height; ++y) {
    for (int x = 0; x < src.width; ++x) std::copy_n(src.row(y) + 3 * x, 3, out.row(y) + 3 * (src.width - 1 - x));
  }
  return out;
}
core::RgbImage quarter_turned(const core::RgbImage& src) {
  core::RgbImage t(src.height, src.width);
  for (int y = 0; y < src.height; ++y) {
    for (int x = 0; x < src.width; ++x) std::copy_n(src.row(y) + 3 * x, 3, t.row(x) + 3 * y);
  }
  return mirrored(t);
}

// Which of `views` holds `patch` somewhere (-1: none).
int view_holding(const std::vector<core::RgbImage>& views, const core::RgbImage& patch) {
  for (size_t v = 0; v < views.size(); ++v) {
    for (int y = 0; y + patch.height <= views[v].height; ++y) {
      for (int x = 0; x + patch.width <= views[v].width; ++x) {
        bool equal = true;
        for (int row = 0; row < patch.height && equal; ++row) {
          equal = std::equal(patch.row(row), patch.row(row) + 3 * patch.width, views[v].row(y + row) + 3 * x);
        }
        if (equal) return static_cast<int>(v);
      }
    }
  }
  return -1;
}

TEST(TrainTest, AugmentedPatchesAreFlippedOrTurnedAlikeInLrAndHr) {
  const ImagePair pair = synthetic_pair(30, 3, 1);
  // The 8 views of the LR image: four quarter turns, each also mirrored.
  std::vector<core::RgbImage> views = {pair.lr};
  for (int turn = 1; turn < 4; ++turn) views.push_back(quarter_turned(views.back()));
  for (int turn = 0; turn < 4; ++turn) views.push_back(mirrored(views[turn]));
  const int patch = 10, batch = 40;
  std::vector<float> lr(batch * 3 * patch * patch), hr(lr.size() * 9);
  const auto views_used = [&](bool augment) {
    sr::train::fill_batch({pair}, 3, patch, batch, 3, 0, lr.data(), hr.data(), {.augment = augment});
    expect_lr_patches_match_hr(lr, hr, batch, patch, 3);
    std::set<int> used;
    for (int n = 0; n < batch; ++n) {
      const int view = view_holding(views, batch_item(lr, n, patch));
      EXPECT_GE(view, 0) << "patch " << n << " is no view of the LR image";
      used.insert(view);
    }
    return used;
  };
  EXPECT_EQ(views_used(false), std::set<int>{0});
  EXPECT_EQ(views_used(true).size(), 8u);  // 40 uniform draws miss one of 8 views with probability 8 (7/8)^40 = 0.004
}

TEST(TrainTest, DefaultPhotosAreTheWallpaperPackagesOwnFiles) {
  test::TempDir dir;
  const std::filesystem::path root = dir.path(), info = root / "dpkg-info";
  const auto make = [&](const std::string& name) {
    std::filesystem::create_directories((root / name).parent_path());
    std::ofstream(root / name) << "x";
    return (root / name).string();
  };
  const std::string lomiri_photo = make("backgrounds/lake.jpg");
  make("backgrounds/drawing.png");  // another package's file in the same folder
  const std::string readme = make("backgrounds/README.txt");
  const std::string mate_photo = make("backgrounds/mate/nature/fern.png");
  const std::string mate_drawing = make("backgrounds/mate/abstract/swirl.png");
  const std::string small = make("wallpapers/Dune/contents/images/1280x800.jpg");
  const std::string large = make("wallpapers/Dune/contents/images/2560x1600.jpg");
  std::filesystem::create_directories(info);
  std::ofstream(info / "lomiri-wallpapers-20.04.list") << "/.\n" << (root / "backgrounds").string() << "\n"
                                                      << lomiri_photo << "\n" << readme << "\n";
  std::ofstream(info / "mate-backgrounds.list") << mate_photo << "\n" << mate_drawing << "\n";
  std::ofstream(info / "plasma-workspace-wallpapers.list") << small << "\n" << large << "\n";
  // lomiri-wallpapers-16.04 is not installed: no list, no photos from it.
  EXPECT_EQ(sr::train::default_photos(false, info), (std::vector<std::string>{lomiri_photo, mate_photo, large}));
}

TEST(TrainTest, TrainingLowersTheLossOnATinySet) {
  sr::Model model = sr::random_model(tiny_desc(), 1);
  sr::train::TrainOptions options;
  options.batch = 4;
  options.patch = 16;
  options.steps = 150;
  options.learning_rate = 1e-3;
  options.validate_every = 1000;
  options.device = "cpu";
  options.threads = 1;
  const sr::Model before = model;
  const sr::train::TrainReport report = sr::train::train(model, tiny_set(), options);
  EXPECT_EQ(report.steps_done, 150);
  EXPECT_LT(report.last_loss, 0.5 * report.first_loss);
  EXPECT_GT(report.final.psnr, report.initial.psnr + 3);
  EXPECT_NE(model.tensor("head.0.weight").data, before.tensor("head.0.weight").data);
  // The returned weights are the trained ones: validating them again gives the report's number.
  const sr::train::Validation again = sr::train::validate(model, tiny_set().validation);
  EXPECT_NEAR(again.psnr, report.final.psnr, 1e-6);
}

TEST(TrainTest, DetailTriesFavourTexturedPatches) {
  // Left half flat grey, right half the synthetic texture: with 8 tries nearly every patch starts on the right.
  ImagePair pair = synthetic_pair(64, 3, 4);
  for (int y = 0; y < pair.hr.height; ++y) std::fill_n(pair.hr.row(y), 3 * pair.hr.width / 2, uint8_t{128});
  pair.lr = core::resized(pair.hr, 64, 64, core::ResizeFilter::area);
  const int batch = 64, patch = 8;
  std::vector<float> lr(static_cast<size_t>(batch) * 3 * patch * patch), hr(lr.size() * 9);
  const auto textured = [&](int tries) {
    sr::train::fill_batch({pair}, 3, patch, batch, 1, 0, lr.data(), hr.data(), {.detail_tries = tries});
    int count = 0;
    for (int n = 0; n < batch; ++n) {  // a flat patch has every LR value equal
      const float* p = lr.data() + static_cast<size_t>(n) * 3 * patch * patch;
      count += !std::all_of(p, p + 3 * patch * patch, [&](float v) { return v == p[0]; });
    }
    return count;
  };
  EXPECT_LT(textured(1), batch * 7 / 8);
  EXPECT_GE(textured(8), batch * 62 / 64);
}

TEST(TrainTest, PatienceStopsATrainingThatNoLongerImproves) {
  sr::Model model = sr::random_model(tiny_desc(), 1);
  sr::train::TrainOptions options;
  options.batch = 1;
  options.patch = 8;
  options.steps = 1000;
  options.learning_rate = 1e-20;  // updates below float precision: the validation PSNR never improves
  options.validate_every = 1;
  options.patience = 2;
  options.threads = 1;
  const sr::train::TrainReport report = sr::train::train(model, tiny_set(), options);
  EXPECT_TRUE(report.stopped_early);
  EXPECT_EQ(report.steps_done, 2);
  EXPECT_EQ(report.best_step, 0);
}

// The learning rate each report gives: cosine falls from the rate to 1 % of it at --steps; cosine-time at the end of
// --minutes, however many steps were planned; constant stays.
TEST(TrainTest, SchedulesDecayOverStepsOrTime) {
  const auto rates = [](const std::string& schedule, int64_t steps, double minutes) {
    sr::Model model = sr::random_model(tiny_desc(), 1);
    sr::train::TrainOptions options;
    options.batch = 1;
    options.patch = 8;
    options.steps = steps;
    options.minutes = minutes;
    options.learning_rate = 1e-3;
    options.schedule = schedule;
    options.validate_every = 1;
    options.threads = 1;
    std::vector<double> seen;
    sr::train::train(model, tiny_set(), options, [&](const sr::train::TrainProgress& p) {
      if (p.step > 0) seen.push_back(p.learning_rate);
    });
    return seen;
  };
  const std::vector<double> cosine = rates("cosine", 20, 0);
  ASSERT_GE(cosine.size(), 20u);
  EXPECT_DOUBLE_EQ(cosine.front(), 1e-3);
  EXPECT_TRUE(std::is_sorted(cosine.rbegin(), cosine.rend()));
  EXPECT_LT(cosine.back(), 0.02 * 1e-3);
  EXPECT_NEAR(cosine[9], 1e-3 * (0.01 + 0.99 * 0.5 * (1 + std::cos(3.14159265358979323846 * 9 / 20))), 1e-12);

  const std::vector<double> constant = rates("constant", 20, 0);
  EXPECT_DOUBLE_EQ(constant.back(), 1e-3);

  // 0.01 minutes of a run planned for a million steps: the time ends it, in the second half of the decay (below
  // half the rate; by step count it would still be at the start).
  const std::vector<double> timed = rates("cosine-time", 1000000, 0.01);
  ASSERT_GE(timed.size(), 3u);
  EXPECT_TRUE(std::is_sorted(timed.rbegin(), timed.rend()));
  EXPECT_LT(timed.back(), 0.5 * 1e-3);
  EXPECT_THROW(rates("cosine-time", 20, 0), Error);
}

TEST(TrainTest, AResumedTrainingContinuesExactly) {
  test::TempDir dir;
  sr::train::TrainOptions options;
  options.batch = 2;
  options.patch = 8;
  options.device = "cpu";
  options.threads = 1;
  options.validate_every = 1000;

  sr::Model straight = sr::random_model(tiny_desc(), 2);
  options.steps = 6;
  sr::train::train(straight, tiny_set(), options);

  sr::Model resumed = sr::random_model(tiny_desc(), 2);
  options.steps = 3;
  options.checkpoint_dir = dir.path() / "ckpt";
  sr::train::train(resumed, tiny_set(), options);
  sr::Model fresh = sr::random_model(tiny_desc(), 99);  // the checkpoint's weights replace these
  options.steps = 6;
  options.resume = true;
  const sr::train::TrainReport report = sr::train::train(fresh, tiny_set(), options);
  EXPECT_EQ(report.first_step, 3);
  EXPECT_EQ(report.steps_done, 6);
  for (const auto& [name, tensor] : straight.tensors) {
    EXPECT_LE(max_abs_difference(tensor.data, fresh.tensor(name).data), 1e-6f) << name;
  }
}

TEST(TrainTest, ResumingAnotherModelOrNothingIsRefused) {
  test::TempDir dir;
  sr::train::TrainOptions options;
  options.batch = 1;
  options.patch = 8;
  options.steps = 1;
  options.device = "cpu";
  options.checkpoint_dir = dir.path() / "ckpt";
  options.resume = true;
  sr::Model model = sr::random_model(tiny_desc(), 1);
  EXPECT_EQ(test::error_code_of([&] { sr::train::train(model, tiny_set(), options); }), ErrorCode::not_found);
  options.resume = false;
  sr::train::train(model, tiny_set(), options);
  options.resume = true;
  sr::ModelDesc other = tiny_desc();
  other.channels = 4;
  sr::Model other_model = sr::random_model(other, 1);
  EXPECT_EQ(test::error_code_of([&] { sr::train::train(other_model, tiny_set(), options); }), ErrorCode::mismatch);
}

TEST(TrainTest, BadSetsAndOptionsAreRefused) {
  sr::Model model = sr::random_model(tiny_desc(), 1);
  sr::train::TrainOptions options;
  options.steps = 1;
  options.patch = 64;  // larger than the 32 px training images
  EXPECT_EQ(test::error_code_of([&] { sr::train::train(model, tiny_set(), options); }),
            ErrorCode::invalid_argument);
  options.patch = 8;
  TrainingSet wrong_scale = tiny_set();
  wrong_scale.train[0].hr = synthetic_rgb(64, 64, 1);
  EXPECT_EQ(test::error_code_of([&] { sr::train::train(model, wrong_scale, options); }), ErrorCode::mismatch);
  TrainingSet no_validation = tiny_set();
  no_validation.validation.clear();
  EXPECT_EQ(test::error_code_of([&] { sr::train::train(model, no_validation, options); }),
            ErrorCode::invalid_argument);
  options.batch = 0;
  EXPECT_EQ(test::error_code_of([&] { sr::train::train(model, tiny_set(), options); }),
            ErrorCode::invalid_argument);
}

void write_ppm(const std::string& path, const core::RgbImage& image) {
  std::ofstream out(path, std::ios::binary);
  out << "P6\n" << image.width << ' ' << image.height << "\n255\n";
  out.write(reinterpret_cast<const char*>(image.pixels.data()), static_cast<std::streamsize>(image.pixels.size()));
}

TEST(TrainTest, PhotoSetHoldsOutEveryNthPhoto) {
  test::TempDir dir;
  std::vector<std::string> photos;
  for (int i = 0; i < 5; ++i) {
    photos.push_back(dir.file("photo" + std::to_string(i) + ".ppm"));
    write_ppm(photos.back(), synthetic_rgb(100 + 2 * i, 80, i + 1));
  }
  sr::train::PhotoSetOptions options;
  options.validation_every = 2;
  options.max_side = 90;  // photos are scaled down to fit first
  const TrainingSet set = sr::train::photo_set(photos, options);
  ASSERT_EQ(set.train.size(), 3u);
  ASSERT_EQ(set.validation.size(), 2u);
  EXPECT_EQ(set.validation[0].origin, "photo1.ppm");
  for (const ImagePair& p : set.train) {
    EXPECT_LE(p.hr.width, 90);
    EXPECT_EQ(p.hr.width, 3 * p.lr.width);
    EXPECT_EQ(p.hr.height, 3 * p.lr.height);
  }
  EXPECT_EQ(test::error_code_of([&] { sr::train::photo_set({photos[0]}); }), ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([&] { sr::train::photo_set({photos[0], dir.file("missing.ppm")}); }),
            ErrorCode::not_found);
}

TEST(TrainTest, VideoSetSamplesTheStreamAndChecksItsReference) {
  test::TempDir dir;
  const std::string lr = dir.file("lr.mkv"), hr = dir.file("hr.mkv"), short_hr = dir.file("short.mkv");
  const std::string wrong = dir.file("wrong.mkv");
  test::write_synthetic_video(lr, 32, 32, 12, media::EncoderSettings::lossless());
  test::write_synthetic_video(hr, 96, 96, 12, media::EncoderSettings::lossless());
  test::write_synthetic_video(short_hr, 96, 96, 8, media::EncoderSettings::lossless());
  test::write_synthetic_video(wrong, 64, 64, 12, media::EncoderSettings::lossless());
  sr::train::VideoSetOptions options;
  options.sample_fps = 15;  // the fixtures are 60 fps: every 4th frame, 0, 4 and 8
  options.validation_frames = 2;
  const TrainingSet set = sr::train::video_set(lr, hr, 3, options);
  ASSERT_EQ(set.train.size(), 3u);
  EXPECT_EQ(set.train[1].origin, "lr.mkv#4");
  ASSERT_EQ(set.validation.size(), 2u);
  EXPECT_EQ(set.validation[0].origin, "lr.mkv#2");
  EXPECT_EQ(test::error_code_of([&] { sr::train::video_set(lr, short_hr, 3, options); }), ErrorCode::mismatch);
  EXPECT_EQ(test::error_code_of([&] { sr::train::video_set(lr, wrong, 3, options); }), ErrorCode::mismatch);
}

TEST(TrainTest, CliFinetuneNeedsData) {
  test::TempDir dir;
  sr::save_model(sr::random_model(tiny_desc(), 1), dir.file("m.safetensors"));
  const test::CliResult r =
      test::run_cli({"train", "finetune", "--model", dir.file("m.safetensors"), "--out", dir.file("out.safetensors")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--sample"), std::string::npos) << r.err;
}

TEST(TrainTest, CliCreatesTheFoldersOfItsOutputs) {
  test::TempDir dir;
  const std::string lr = dir.file("lr.mkv"), hr = dir.file("hr.mkv");
  test::write_synthetic_video(lr, 32, 32, 8, media::EncoderSettings::lossless());
  test::write_synthetic_video(hr, 96, 96, 8, media::EncoderSettings::lossless());
  sr::save_model(sr::random_model(tiny_desc(), 1), dir.file("m.safetensors"));
  const std::string out = (dir.path() / "new" / "models" / "out.safetensors").string();
  const std::string report = (dir.path() / "new" / "logs" / "report.json").string();
  const test::CliResult r = test::run_cli({"train", "finetune", "--model", dir.file("m.safetensors"), "--lr-video", lr,
                                           "--hr-video", hr, "--sample-fps", "15", "--validation-frames", "1",
                                           "--patch", "16", "--batch", "2", "--steps", "2", "--threads", "1",
                                           "--out", out, "--report", report});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sr::load_model(out).desc, tiny_desc());
  EXPECT_TRUE(std::filesystem::exists(report));
}

}  // namespace
}  // namespace ns
