// ns/sr/train: building the stream-like training set: the plan (which photo's still and video clip gets which
// codec and bitrate, or stays clean), rendering and encoding each clip and decoding it, writing the sampled frames
// as PNG pairs, preparing the output folder, and build_stream_set, which runs the photos on worker threads. The
// manifest's JSON and the loader are in stream_set_manifest.cpp.
#include "ns/sr/train/stream_set.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "ns/core/colour.h"
#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/core/progress.h"
#include "ns/core/resize.h"
#include "ns/eval/sample.h"
#include "ns/media/image.h"
#include "ns/media/image_writer.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"
#include "ns/sr/train/dataset_impl.h"
#include "ns/sr/train/stream_set_impl.h"

namespace ns::sr::train {

namespace {

namespace fs = std::filesystem;

constexpr const char* kMarkerName = ".neuroscaler-stream-set";  // marks a folder as ours (also while building)
constexpr int kScale = eval::kSampleScale;
constexpr int kUnit = 2 * kScale;          // HR sizes are multiples of this: the LR (HR / 3) is even, as I420 needs
constexpr int kMinVideoHeight = 96;
constexpr int kMaxVideoHeight = 1080;      // LR 640x360: the streamer size of reference §9.1 the sample uses
constexpr int kMinStillSide = 8 * kUnit;   // LR 16 pixels: one macroblock
// Photo pixels per HR pixel at least: the renderer's camera then zooms between 1.0 and 1.3 photo pixels per output
// pixel (0.92 x this > 1), so HR frames never show an up-scaled photo.
constexpr double kPhotoMargin = 1.1;

// How one clip's LR is made.
struct Variant {
  std::string codec = "clean";  // "clean", "vp9", "h264"
  double factor = 0;            // x streamer_bitrate_kbps of the LR size
};

// One photo's work: a still clip and (if the photo is large enough) a video clip.
struct Job {
  size_t index = 0;
  std::string photo;
  bool validation = false;
  Variant still;
  Variant video;
};

struct JobResult {
  std::vector<StreamPair> pairs;
  uint64_t bytes = 0;
};

// A seeded stream of 32-bit numbers from mt19937's specified output (the <random> distributions differ between
// standard libraries; these helpers do not).
class Rng {
 public:
  explicit Rng(std::initializer_list<uint32_t> seeds) {
    std::seed_seq seq(seeds);
    gen_.seed(seq);
  }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>((static_cast<uint64_t>(gen_()) * n) >> 32); }
  template <typename T>
  void shuffle(std::vector<T>& v) {  // Fisher-Yates
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(static_cast<uint32_t>(i))]);
  }

 private:
  std::mt19937 gen_;
};

[[noreturn]] void bad_option(const std::string& what) {
  throw Error(ErrorCode::invalid_argument, "train data: " + what);
}

void check_options(const StreamSetOptions& o) {
  if (o.out_dir.empty()) bad_option("no output folder given; pass --out DIR");
  if (!(o.clean_share >= 0 && o.clean_share <= 1)) bad_option("--clean-share must be in 0..1");
  if (o.clean_share < 1 && o.codecs.empty()) bad_option("no codec given; pass --codecs vp9,h264 (or --clean-share 1)");
  for (const std::string& c : o.codecs) {
    if (c != "vp9" && c != "h264") bad_option("unknown codec '" + c + "'; use vp9 and/or h264");
  }
  if (o.clean_share < 1 && o.bitrate_factors.empty()) bad_option("no bitrate factor given; pass --bitrate-factors");
  for (double f : o.bitrate_factors) {
    if (!(f >= 0.05 && f <= 20)) bad_option("bitrate factor " + fmt::format("{:g}", f) + " is out of range (0.05..20)");
  }
  if (o.frames_per_clip < 1) bad_option("--frames-per-clip must be >= 1");
  if (o.clip_frames < 4 || o.clip_frames > 100000) bad_option("--clip-frames must be in 4..100000");
  if (o.frames_per_clip > o.clip_frames - o.clip_frames / 4) {
    bad_option("--frames-per-clip (" + std::to_string(o.frames_per_clip) +
               ") is more than the last three quarters of a clip (" +
               std::to_string(o.clip_frames - o.clip_frames / 4) + " frames); use longer --clip-frames");
  }
  if (o.validation_every < 2) bad_option("--validation-every must be >= 2");
  if (o.max_side < kMinStillSide) bad_option("--max-side must be >= " + std::to_string(kMinStillSide));
  if (o.threads < 0) bad_option("--threads must be >= 0");
}

// The clip -> LR variant assignment: over all clips (a still and a video per photo) in a seeded order, a share
// clean_share is clean (evenly spread: Bresenham), the others cycle through codec x factor in a seeded order, so
// every combination gets the same number of clips (within one) and which photo gets which is random.
std::vector<Job> plan_jobs(const std::vector<std::string>& photos, const StreamSetOptions& o) {
  std::vector<Job> jobs(photos.size());
  const size_t n = photos.size();
  const size_t every = static_cast<size_t>(o.validation_every);
  bool any_validation = false;
  for (size_t i = 0; i < n; ++i) {
    jobs[i].index = i;
    jobs[i].photo = photos[i];
    jobs[i].validation = i % every == every - 1;
    any_validation = any_validation || jobs[i].validation;
  }
  if (!any_validation) jobs.back().validation = true;  // fewer photos than validation_every: hold out the last

  std::vector<Variant> variants;
  for (const std::string& codec : o.codecs) {
    for (double factor : o.bitrate_factors) variants.push_back({codec, factor});
  }
  Rng rng({o.seed, 0x5e7u});
  rng.shuffle(variants);
  std::vector<size_t> order(2 * n);
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  rng.shuffle(order);
  size_t next_variant = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const double share = o.clean_share;
    const bool clean = variants.empty() || std::floor((k + 1) * share + 1e-9) > std::floor(k * share + 1e-9);
    const Variant v = clean ? Variant{} : variants[next_variant++ % variants.size()];
    Job& job = jobs[order[k] / 2];
    (order[k] % 2 == 0 ? job.still : job.video) = v;
  }
  return jobs;
}

// The largest 16:9 frame (sides multiples of kUnit) of at most 1080 lines and max_side columns that the photo
// covers with kPhotoMargin photo pixels per pixel; {0, 0} when that is under kMinVideoHeight lines.
std::pair<int, int> video_size(int photo_width, int photo_height, int max_side) {
  const double h = std::min({static_cast<double>(kMaxVideoHeight), photo_height / kPhotoMargin,
                             photo_width / kPhotoMargin * 9 / 16, max_side * 9.0 / 16});
  const int height = static_cast<int>(h) / kUnit * kUnit;
  const int width = static_cast<int>(height * 16.0 / 9) / kUnit * kUnit;
  if (height < kMinVideoHeight) return {0, 0};
  return {width, height};
}

// The still's HR: the photo scaled down (area) to fit max_side, centre-cropped to multiples of kUnit, in I420.
core::Frame still_frame(const core::RgbImage& photo, int max_side, const std::string& path) {
  core::RgbImage image;
  const core::RgbImage* source = &photo;
  const double shrink = std::min(1.0, static_cast<double>(max_side) / std::max(photo.width, photo.height));
  if (shrink < 1) {
    image = core::resized(photo, std::max(1, static_cast<int>(photo.width * shrink)),
                          std::max(1, static_cast<int>(photo.height * shrink)), core::ResizeFilter::area);
    source = &image;
  }
  const int w = source->width / kUnit * kUnit;
  const int h = source->height / kUnit * kUnit;
  if (w < kMinStillSide || h < kMinStillSide) {
    throw Error(ErrorCode::invalid_argument,
                "train data: photo is too small (" + std::to_string(photo.width) + "x" + std::to_string(photo.height) +
                    ", at least " + std::to_string(kMinStillSide) + "x" + std::to_string(kMinStillSide) +
                    " needed); leave it out of --photos",
                ErrorContext{.file = path});
  }
  const core::RgbImage cropped = crop_rgb(*source, (source->width - w) / 2, (source->height - h) / 2, w, h);
  core::Frame frame(w, h);
  core::rgb_to_i420(cropped, frame);
  return frame;
}

media::EncoderSettings encoder_settings(const std::string& codec, int width, int height, int kbps) {
  media::EncoderSettings s = codec == "vp9" ? media::EncoderSettings::streamer_vp9(width, height, kbps)
                                            : media::EncoderSettings::streamer_h264(width, height, kbps);
  s.threads = 1;  // bitstreams independent of the machine (x264's sliced threads depend on the core count)
  return s;
}

// One sampled frame of a clip, in RGB: HR, the LR the pair uses, and how far each LR is from the HR.
struct SampledFrame {
  int64_t frame = 0;
  core::RgbImage hr;
  core::RgbImage lr;
  double lr_psnr_db = 0;
  double clean_psnr_db = 0;
};

// Makes the frames of one clip (`source` gives HR frame i in I420), down-scales them (area) and, for an encoded
// variant, encodes the whole clip into `work_file`, decodes it and keeps the frames `sampled` (ascending). A clean
// variant renders only the sampled frames.
std::vector<SampledFrame> make_clip(const std::function<core::Frame(int64_t)>& source, int64_t frame_count,
                                    const std::vector<int64_t>& sampled, const Variant& variant, int kbps,
                                    const fs::path& work_file) {
  std::map<int64_t, core::Frame> hr, clean, lr;
  const auto is_sampled = [&](int64_t i) { return std::binary_search(sampled.begin(), sampled.end(), i); };
  int lr_width = 0, lr_height = 0;
  const auto make = [&](int64_t i) {
    core::Frame frame = source(i);
    lr_width = frame.width() / kScale;
    lr_height = frame.height() / kScale;
    core::Frame small = core::resized(frame, lr_width, lr_height, core::ResizeFilter::area);
    small.index = small.pts = i;
    if (is_sampled(i)) hr.emplace(i, std::move(frame));
    return small;
  };
  if (variant.codec == "clean") {
    for (int64_t i : sampled) {
      core::Frame small = make(i);
      lr.emplace(i, small.clone());
      clean.emplace(i, std::move(small));
    }
  } else {
    {
      std::unique_ptr<media::VideoWriter> writer;
      for (int64_t i = 0; i < frame_count; ++i) {
        core::Frame small = make(i);
        if (!writer) {
          writer = std::make_unique<media::VideoWriter>(work_file.string(), lr_width, lr_height,
                                                        media::Rational{kStreamSetFps, 1},
                                                        encoder_settings(variant.codec, lr_width, lr_height, kbps));
        }
        writer->write(small);
        if (is_sampled(i)) clean.emplace(i, std::move(small));
      }
      writer->finish();
    }
    media::VideoReader reader(work_file.string(), media::ReaderOptions{.threads = 1});
    core::Frame decoded;
    int64_t index = 0;
    for (; reader.read(decoded); ++index) {
      if (decoded.width() != lr_width || decoded.height() != lr_height) {
        throw Error(ErrorCode::corrupt, "train data: decoded frame has another size than was encoded",
                    ErrorContext{.file = work_file.string(), .frame_index = index});
      }
      if (is_sampled(index)) lr.emplace(index, decoded.clone());
    }
    if (index != frame_count) {
      throw Error(ErrorCode::corrupt,
                  "train data: the encoded clip decodes to " + std::to_string(index) + " frames instead of " +
                      std::to_string(frame_count) + "; check the FFmpeg installation",
                  ErrorContext{.file = work_file.string()});
    }
    std::error_code ignored;
    fs::remove(work_file, ignored);
  }
  std::vector<SampledFrame> out;
  for (int64_t i : sampled) {
    SampledFrame f;
    f.frame = i;
    core::RgbImage clean_rgb;
    core::i420_to_rgb(hr.at(i), f.hr);
    core::i420_to_rgb(clean.at(i), clean_rgb);
    core::i420_to_rgb(lr.at(i), f.lr);
    f.clean_psnr_db = bicubic_psnr(clean_rgb, f.hr);
    f.lr_psnr_db = variant.codec == "clean" ? f.clean_psnr_db : bicubic_psnr(f.lr, f.hr);
    out.push_back(std::move(f));
  }
  return out;
}

int variant_kbps(const Variant& v, int lr_width, int lr_height) {
  if (v.codec == "clean") return 0;
  return std::max(1, static_cast<int>(std::lround(v.factor * media::streamer_bitrate_kbps(lr_width, lr_height))));
}

// Writes a clip's sampled frames as PNG pairs (freeing their images) and adds their manifest entries to `result`.
void write_pairs(const fs::path& dir, const Job& job, const std::string& kind, const Variant& variant, int kbps,
                 std::vector<SampledFrame>& frames, JobResult& result) {
  char stem[64];
  for (SampledFrame& f : frames) {
    std::snprintf(stem, sizeof stem, "p%03zu-%s-f%03lld.png", job.index, kind.c_str(), static_cast<long long>(f.frame));
    StreamPair p;
    p.hr = std::string("hr/") + stem;
    p.lr = std::string("lr/") + stem;
    p.photo = job.photo;
    p.kind = kind;
    p.codec = variant.codec;
    p.kbps = kbps;
    p.frame = f.frame;
    p.validation = job.validation;
    p.hr_width = f.hr.width;
    p.hr_height = f.hr.height;
    p.lr_width = f.lr.width;
    p.lr_height = f.lr.height;
    p.lr_psnr_db = f.lr_psnr_db;
    p.clean_psnr_db = f.clean_psnr_db;
    media::save_png((dir / p.hr).string(), f.hr);
    media::save_png((dir / p.lr).string(), f.lr);
    for (const std::string* file : {&p.hr, &p.lr}) {
      std::error_code ec;
      const uintmax_t size = fs::file_size(dir / *file, ec);
      result.bytes += ec ? 0 : size;
    }
    result.pairs.push_back(std::move(p));
    f = SampledFrame{};
  }
}

JobResult run_job(const Job& job, const StreamSetOptions& o) {
  JobResult result;
  const fs::path work = o.out_dir / ".work";
  int photo_width = 0, photo_height = 0;

  // The still: the photo itself, encoded as a short clip of copies; its first frame is intra-coded.
  {
    const core::RgbImage photo = media::load_image(job.photo);
    photo_width = photo.width;
    photo_height = photo.height;
    const core::Frame frame = still_frame(photo, o.max_side, job.photo);
    const int kbps = variant_kbps(job.still, frame.width() / kScale, frame.height() / kScale);
    const auto source = [&](int64_t) { return frame.clone(); };
    std::vector<SampledFrame> frames =
        make_clip(source, kStillClipFrames, {0}, job.still, kbps,
                  work / ("p" + std::to_string(job.index) + "-still" + (job.still.codec == "vp9" ? ".webm" : ".mp4")));
    write_pairs(o.out_dir, job, "still", job.still, kbps, frames, result);
  }

  // The video: the camera moving over the photo (the sample's renderer: the same photo as both shots' background
  // and as the cut-outs, so no other photo leaks in), one shot of clip_frames frames.
  const auto [width, height] = video_size(photo_width, photo_height, o.max_side);
  if (width == 0) {
    log::info("train.data", "{}: too small for a video clip ({}x{}); only its still is used", job.photo, photo_width,
              photo_height);
    return result;
  }
  eval::SampleOptions scene_options;
  scene_options.hr_width = width;
  scene_options.hr_height = height;
  scene_options.fps = kStreamSetFps;
  {
    std::seed_seq seq{o.seed, static_cast<uint32_t>(job.index), 0x71deu};
    uint32_t value = 0;
    seq.generate(&value, &value + 1);
    scene_options.seed = value;
  }
  scene_options.train_seconds = static_cast<double>(o.clip_frames) / kStreamSetFps;
  scene_options.test_seconds = 2.0 / kStreamSetFps;  // the scene cut falls after the clip
  scene_options.photos = {job.photo, job.photo};
  const eval::SampleScene scene(scene_options);
  NS_ASSERT(scene.scene_cut_frame() >= o.clip_frames);

  // Sampled frames: distinct, from the last three quarters (the first ones are the key frame and its neighbours,
  // which the still covers), seeded.
  Rng rng({o.seed, static_cast<uint32_t>(job.index), 0xf4a3u});
  std::vector<int64_t> candidates;
  for (int64_t i = o.clip_frames / 4; i < o.clip_frames; ++i) candidates.push_back(i);
  rng.shuffle(candidates);
  std::vector<int64_t> sampled(candidates.begin(), candidates.begin() + o.frames_per_clip);
  std::sort(sampled.begin(), sampled.end());

  const int kbps = variant_kbps(job.video, width / kScale, height / kScale);
  const auto source = [&](int64_t i) { return eval::render_sample_frame(scene, i); };
  std::vector<SampledFrame> frames =
      make_clip(source, o.clip_frames, sampled, job.video, kbps,
                work / ("p" + std::to_string(job.index) + "-video" + (job.video.codec == "vp9" ? ".webm" : ".mp4")));
  write_pairs(o.out_dir, job, "video", job.video, kbps, frames, result);
  return result;
}

bool text_mentions(const fs::path& file, const std::string& needle) {
  std::ifstream f(file);
  std::stringstream text;
  text << f.rdbuf();
  return text.str().find(needle) != std::string::npos;
}

// Creates `dir` and empties what an older set left there (hr/, lr/, .work/, the manifest); refuses a folder whose
// hr/ or lr/ or manifest.json are someone else's.
void prepare_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw Error(ErrorCode::io,
                "train data: cannot create the output folder (" + (ec ? ec.message() : "not a folder") +
                    "); choose a writable --out",
                ErrorContext{.file = dir.string()});
  }
  const bool manifest_exists = fs::exists(dir / kManifestName, ec);
  const bool ours = fs::exists(dir / kMarkerName, ec) ||
                    (manifest_exists && text_mentions(dir / kManifestName, kFormatName));
  if (manifest_exists && !ours) {
    throw Error(ErrorCode::invalid_argument,
                "train data: the output folder holds a manifest.json that is not a stream set; choose another --out",
                ErrorContext{.file = dir.string()});
  }
  for (const char* sub : {"hr", "lr", ".work"}) {
    const fs::path p = dir / sub;
    if (!fs::exists(p, ec)) continue;
    if (!ours && !fs::is_empty(p, ec)) {
      throw Error(ErrorCode::invalid_argument,
                  std::string("train data: the output folder has a ") + sub +
                      "/ folder that `neuroscaler train data` did not write; choose an empty --out or remove it",
                  ErrorContext{.file = dir.string()});
    }
    fs::remove_all(p, ec);
    if (ec) {
      throw Error(ErrorCode::io, "train data: cannot remove the older set's " + std::string(sub) + "/ (" +
                                     ec.message() + "); check the permissions or choose another --out",
                  ErrorContext{.file = dir.string()});
    }
  }
  fs::remove(dir / kManifestName, ec);
  {
    std::ofstream marker(dir / kMarkerName);
    if (!marker || !(marker << kFormatName << '\n') || !marker.flush()) {
      throw Error(ErrorCode::io, "train data: the output folder is not writable; choose a writable --out",
                  ErrorContext{.file = dir.string()});
    }
  }
  for (const char* sub : {"hr", "lr", ".work"}) {
    fs::create_directories(dir / sub, ec);
    if (ec) {
      throw Error(ErrorCode::io, "train data: cannot create " + std::string(sub) + "/ (" + ec.message() + ")",
                  ErrorContext{.file = dir.string()});
    }
  }
}

}  // namespace

StreamSetManifest build_stream_set(const std::vector<std::string>& photos, const StreamSetOptions& options) {
  check_options(options);
  std::vector<std::string> sorted = photos;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());  // a photo twice could land in both parts
  if (sorted.size() < 2) {
    throw Error(ErrorCode::invalid_argument,
                "train data: need at least 2 photos, one for training and one for validation (" +
                    std::to_string(sorted.size()) + " given); run scripts/setup to install the wallpaper packages "
                                                    "or pass --photos");
  }
  for (const std::string& p : sorted) {
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) {
      throw Error(ErrorCode::not_found, "train data: photo not found; check the path or run scripts/setup",
                  ErrorContext{.file = p});
    }
  }
  const auto start = std::chrono::steady_clock::now();
  prepare_dir(options.out_dir);
  const std::vector<Job> jobs = plan_jobs(sorted, options);

  // Photos run on a few worker threads; results land in their slot, so the manifest's order (and the set) does
  // not depend on which thread finished first. The first failure stops the others before their next photo.
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const size_t workers =
      std::min(jobs.size(), static_cast<size_t>(options.threads > 0 ? options.threads : std::min(2, hardware)));
  std::vector<JobResult> results(jobs.size());
  std::mutex mutex;
  std::condition_variable changed;
  size_t next = 0, done = 0;
  std::exception_ptr failure;
  const auto work = [&] {
    for (;;) {
      size_t j = 0;
      {
        std::lock_guard lock(mutex);
        if (failure || next == jobs.size()) return;
        j = next++;
      }
      try {
        results[j] = run_job(jobs[j], options);
      } catch (...) {
        {
          std::lock_guard lock(mutex);
          if (!failure) failure = std::current_exception();
        }
        changed.notify_all();
        return;
      }
      {
        std::lock_guard lock(mutex);
        ++done;
      }
      changed.notify_all();
    }
  };
  {
    core::Progress progress("train data", static_cast<int64_t>(jobs.size()), "photos");
    std::vector<std::jthread> threads;
    for (size_t w = 0; w < workers; ++w) threads.emplace_back(work);
    std::unique_lock lock(mutex);
    size_t shown = 0;
    while (!failure && shown < jobs.size()) {
      changed.wait(lock, [&] { return failure || done != shown; });
      shown = done;
      lock.unlock();
      progress.update(static_cast<int64_t>(shown));
      lock.lock();
    }
    lock.unlock();
    for (std::jthread& t : threads) t.join();
    if (failure) std::rethrow_exception(failure);
    progress.finish();
  }

  StreamSetManifest m;
  m.dir = options.out_dir;
  m.scale = kScale;
  m.seed = options.seed;
  m.photos = sorted;
  for (const Job& job : jobs) {
    if (job.validation) m.validation_photos.push_back(job.photo);
  }
  for (JobResult& r : results) {
    m.bytes += r.bytes;
    for (StreamPair& p : r.pairs) m.pairs.push_back(std::move(p));
  }
  std::error_code ec;
  fs::remove_all(options.out_dir / ".work", ec);
  m.command_line = options.command_line;
  m.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_manifest(m, options);
  return m;
}

}  // namespace ns::sr::train
