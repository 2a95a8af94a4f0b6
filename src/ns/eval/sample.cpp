// The sample driver: renders the scene with several threads, hands frames in display order to the encoders
// (FFV1 HR reference, VP9 and H.264 LR streamer encodes) segment by segment, and writes manifest.json.
#include "ns/eval/sample.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "ns/core/atomic_file.h"
#include "ns/core/colour.h"
#include "ns/core/error.h"
#include "ns/core/json_fields.h"
#include "ns/core/log.h"
#include "ns/core/progress.h"
#include "ns/core/resize.h"
#include "ns/eval/sample_impl.h"
#include "ns/eval/scene_impl.h"
#include "ns/media/writer.h"

namespace ns::eval {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr const char* kManifestName = "manifest.json";
constexpr const char* kFormatName = "neuroscaler-sample";
constexpr const char* kVideoContent = "video";  // the manifest's content for make_sample_from_video

struct RenderedFrame {
  core::Frame hr;
  core::Frame lr;
};

// Frames rendered out of order by several threads, taken in display order: a bounded window of frames in
// flight (render threads wait while they are `window` frames ahead of the consumer).
class FrameWindow {
 public:
  FrameWindow(int64_t total, int64_t window) : total_(total), window_(window) {}

  // Blocks until frame `index` may be rendered; false when the job stopped.
  bool wait_turn(int64_t index) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return stopped_ || index < next_ + window_; });
    return !stopped_;
  }
  void put(int64_t index, RenderedFrame frame) {
    {
      std::lock_guard lock(mutex_);
      ready_.emplace(index, std::move(frame));
    }
    filled_.notify_all();
  }
  // Next frame in display order; rethrows a render thread's failure.
  RenderedFrame take() {
    std::unique_lock lock(mutex_);
    filled_.wait(lock, [&] { return failure_ || ready_.count(next_) > 0; });
    if (failure_) std::rethrow_exception(failure_);
    RenderedFrame frame = std::move(ready_.at(next_));
    ready_.erase(next_);
    ++next_;
    lock.unlock();
    space_.notify_all();
    return frame;
  }
  void fail(std::exception_ptr error) {
    {
      std::lock_guard lock(mutex_);
      if (!failure_) failure_ = error;
      stopped_ = true;
    }
    filled_.notify_all();
    space_.notify_all();
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    space_.notify_all();
  }
  int64_t total() const { return total_; }

 private:
  std::mutex mutex_;
  std::condition_variable space_;
  std::condition_variable filled_;
  std::map<int64_t, RenderedFrame> ready_;
  int64_t next_ = 0;
  bool stopped_ = false;
  std::exception_ptr failure_;
  const int64_t total_;
  const int64_t window_;
};

void render_worker(const SampleScene& scene, FrameWindow& window, int worker, int workers, int lr_width,
                   int lr_height) {
  try {
    core::RgbImage rgb(scene.width(), scene.height());
    for (int64_t i = worker; i < window.total(); i += workers) {
      if (!window.wait_turn(i)) return;
      detail::render_rows(scene.impl(), i, rgb, 0, scene.height());
      RenderedFrame out;
      out.hr = core::Frame(scene.width(), scene.height());
      core::rgb_to_i420(rgb, out.hr);
      out.hr.index = out.hr.pts = i;
      out.lr = core::resized(out.hr, lr_width, lr_height, core::ResizeFilter::area);
      window.put(i, std::move(out));
    }
  } catch (...) {
    window.fail(std::current_exception());
  }
}

std::string rebuilt_command_line(const SampleOptions& o, int fps) {
  std::ostringstream s;
  s << "neuroscaler sample --out " << o.out_dir.string();
  if (o.content != SampleContent::sample) s << " --content " << sample_content_name(o.content);
  s << " --hr " << o.hr_height << " --seed " << o.seed << " --train-seconds " << o.train_seconds
    << " --test-seconds " << o.test_seconds << " --fps " << fps;
  if (!o.photos.empty()) {
    s << " --photos";
    for (const std::string& p : o.photos) s << ' ' << p;
  }
  return s.str();
}

Json manifest_to_json(const SampleManifest& m) {
  Json j;
  j["format"] = kFormatName;
  j["version"] = m.version;
  j["content"] = m.content ? std::string(sample_content_name(*m.content)) : kVideoContent;
  j["seed"] = m.seed;
  j["fps"] = m.fps;
  j["hr"] = {{"width", m.hr_width}, {"height", m.hr_height}};
  j["lr"] = {{"width", m.lr_width}, {"height", m.lr_height}};
  j["scale"] = m.scale;
  j["lr_filter"] = m.lr_filter;
  j["hr_reference"] = {
      {"lossless", m.hr_lossless},
      {"note", "HR files are FFV1 of the rendered I420 frames: decoding them gives exactly the frames that were "
               "rendered (the LR files are those frames down-scaled x3 with the area filter, then encoded)"}};
  j["scene_cut_frame"] = m.scene_cut_frame;
  j["segments"] = Json::array();
  for (const SampleSegment& s : m.segments) {
    j["segments"].push_back(
        {{"name", s.name}, {"first_frame", s.first_frame}, {"frame_count", s.frame_count}, {"seconds", s.seconds}});
  }
  j["files"] = Json::array();
  for (const SampleFile& f : m.files) {
    j["files"].push_back({{"path", f.path},
                          {"segment", f.segment},
                          {"role", f.role},
                          {"codec", f.codec},
                          {"encoder", f.encoder},
                          {"width", f.width},
                          {"height", f.height},
                          {"frame_count", f.frame_count},
                          {"target_kbps", f.target_kbps},
                          {"measured_kbps", std::round(f.measured_kbps * 10) / 10},
                          {"bytes", f.bytes},
                          {"lossless", f.lossless}});
  }
  j["shots"] = Json::array();
  for (const SampleShot& s : m.shots) {
    j["shots"].push_back({{"first_frame", s.first_frame},
                          {"frame_count", s.frame_count},
                          {"background", s.background},
                          {"objects", s.objects},
                          {"min_photo_pixels_per_output_pixel",
                           std::round(s.min_photo_pixels_per_output_pixel * 1000) / 1000}});
  }
  j["photos"] = m.photos;
  j["generator"] = {{"command", m.command_line}, {"elapsed_seconds", std::round(m.elapsed_seconds * 100) / 100}};
  return j;
}


}  // namespace

namespace detail {

void check_writable(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw Error(ErrorCode::io,
                "sample: cannot create the output directory (" + (ec ? ec.message() : "not a directory") +
                    "); choose a writable --out",
                ErrorContext{.file = dir.string()});
  }
  const fs::path probe = dir / ".ns-write-test";
  {
    std::ofstream f(probe);
    if (!f || !(f << "ok") || !f.flush()) {
      throw Error(ErrorCode::io, "sample: the output directory is not writable; choose a writable --out",
                  ErrorContext{.file = dir.string()});
    }
  }
  fs::remove(probe, ec);
}

SegmentWriters open_segment(const fs::path& dir, const std::string& segment, int hr_w, int hr_h, int lr_w, int lr_h,
                            int fps) {
  struct Spec {
    std::string role, file, codec;
    media::EncoderSettings settings;
    int width, height;
  };
  const std::vector<Spec> specs = {
      {"hr", "hr_" + segment + ".mkv", "ffv1", media::EncoderSettings::lossless(), hr_w, hr_h},
      {"lr_vp9", "lr_vp9_" + segment + ".webm", "vp9", media::EncoderSettings::streamer_vp9(lr_w, lr_h), lr_w, lr_h},
      {"lr_h264", "lr_h264_" + segment + ".mp4", "h264", media::EncoderSettings::streamer_h264(lr_w, lr_h), lr_w,
       lr_h},
  };
  SegmentWriters writers;
  for (const Spec& spec : specs) {
    SegmentWriters::Output out;
    out.file.path = spec.file;
    out.file.segment = segment;
    out.file.role = spec.role;
    out.file.codec = spec.codec;
    out.file.encoder = spec.settings.encoder;
    out.file.width = spec.width;
    out.file.height = spec.height;
    out.file.target_kbps = spec.settings.bitrate_kbps;
    out.file.lossless = spec.role == "hr";
    out.writer = std::make_unique<media::VideoWriter>((dir / spec.file).string(), spec.width, spec.height,
                                                      media::Rational{fps, 1}, spec.settings);
    writers.outputs.push_back(std::move(out));
  }
  return writers;
}

void close_segment(SegmentWriters& writers, const fs::path& dir, const SampleSegment& segment,
                   std::vector<SampleFile>& files) {
  for (SegmentWriters::Output& out : writers.outputs) {
    out.writer->finish();
    out.writer.reset();
    std::error_code ec;
    const uintmax_t size = fs::file_size(dir / out.file.path, ec);
    if (ec) {
      throw Error(ErrorCode::io, "sample: encoded file is missing after writing (" + ec.message() + ")",
                  ErrorContext{.file = (dir / out.file.path).string()});
    }
    out.file.bytes = size;
    out.file.frame_count = segment.frame_count;
    out.file.measured_kbps = static_cast<double>(size) * 8 / segment.seconds / 1000;
    files.push_back(out.file);
  }
  writers.outputs.clear();
}

void remove_manifest(const fs::path& dir) {
  std::error_code removed;
  fs::remove(dir / kManifestName, removed);
}

void write_manifest(const SampleManifest& m) {
  core::write_text_atomically(m.dir / kManifestName, manifest_to_json(m).dump(2) + '\n', "sample");
}

}  // namespace detail

const SampleSegment& SampleManifest::segment(std::string_view name) const {
  for (const SampleSegment& s : segments) {
    if (s.name == name) return s;
  }
  throw Error(ErrorCode::not_found, "sample: no segment '" + std::string(name) + "' in the manifest",
              ErrorContext{.file = (dir / kManifestName).string()});
}

const SampleFile& SampleManifest::file(std::string_view segment_name, std::string_view role) const {
  for (const SampleFile& f : files) {
    if (f.segment == segment_name && f.role == role) return f;
  }
  throw Error(ErrorCode::not_found,
              "sample: no file for segment '" + std::string(segment_name) + "', role '" + std::string(role) +
                  "' in the manifest (roles: hr, lr_vp9, lr_h264)",
              ErrorContext{.file = (dir / kManifestName).string()});
}

fs::path SampleManifest::file_path(std::string_view segment_name, std::string_view role) const {
  return dir / file(segment_name, role).path;
}

int64_t SampleManifest::total_frames() const {
  int64_t n = 0;
  for (const SampleSegment& s : segments) n += s.frame_count;
  return n;
}

SampleManifest make_sample(const SampleOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.out_dir.empty()) {
    throw Error(ErrorCode::invalid_argument, "sample: no output directory given; pass --out DIR");
  }
  detail::check_writable(options.out_dir);
  const SampleScene scene(options);  // validates the options and loads the photos
  const fs::path dir = options.out_dir;
  // A manifest left from an earlier run would describe files this run is about to replace.
  detail::remove_manifest(dir);

  SampleManifest m;
  m.dir = dir;
  m.content = options.content;
  m.seed = options.seed;
  m.fps = scene.fps();
  m.hr_width = scene.width();
  m.hr_height = scene.height();
  m.lr_width = scene.width() / kSampleScale;
  m.lr_height = scene.height() / kSampleScale;
  m.lr_filter = core::resize_filter_name(core::ResizeFilter::area);
  m.scene_cut_frame = scene.scene_cut_frame();
  m.shots = scene.shots();
  m.photos = scene.impl().photo_paths;
  m.command_line = options.command_line.empty() ? rebuilt_command_line(options, m.fps) : options.command_line;
  const int64_t train = scene.train_frame_count();
  const int64_t total = scene.frame_count();
  m.segments = {{"train", 0, train, static_cast<double>(train) / m.fps},
                {"test", train, total - train, static_cast<double>(total - train) / m.fps}};

  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const int workers = options.render_threads > 0 ? std::min(options.render_threads, 64) : std::clamp(cores, 1, 8);
  FrameWindow window(total, 2 * workers + 2);
  std::vector<std::jthread> threads;
  // Stop the render threads on every way out (they may be waiting for room in the window).
  struct StopOnExit {
    FrameWindow& w;
    std::vector<std::jthread>& t;
    ~StopOnExit() {
      w.stop();
      t.clear();
    }
  } stop_on_exit{window, threads};
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back(render_worker, std::cref(scene), std::ref(window), w, workers, m.lr_width, m.lr_height);
  }

  core::Progress progress(std::string(sample_content_name(options.content)) + " " + std::to_string(m.hr_height) + "p",
                          total);
  for (const SampleSegment& segment : m.segments) {
    detail::SegmentWriters writers =
        detail::open_segment(dir, segment.name, m.hr_width, m.hr_height, m.lr_width, m.lr_height, m.fps);
    for (int64_t i = segment.first_frame; i < segment.first_frame + segment.frame_count; ++i) {
      RenderedFrame frame = window.take();
      NS_ASSERT(frame.hr.index == i);
      writers.outputs[0].writer->write(frame.hr);
      writers.outputs[1].writer->write(frame.lr);
      writers.outputs[2].writer->write(frame.lr);
      progress.update(i + 1);
    }
    detail::close_segment(writers, dir, segment, m.files);
  }
  progress.finish();
  m.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  detail::write_manifest(m);
  log::info("eval.sample", "wrote {} frames ({}x{} -> {}x{}) to {} in {:.1f} s", total, m.hr_width, m.hr_height,
            m.lr_width, m.lr_height, dir.string(), m.elapsed_seconds);
  return m;
}

SampleManifest load_sample_manifest(const fs::path& dir) {
  const fs::path path = dir / kManifestName;
  const std::string file = path.string();
  std::ifstream in(path);
  if (!in) {
    throw Error(ErrorCode::not_found, "sample manifest not found; run 'neuroscaler sample --out DIR' first",
                ErrorContext{.file = file});
  }
  Json j;
  try {
    j = Json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::corrupt, std::string("sample manifest is not valid JSON (") + e.what() +
                                        "); run 'neuroscaler sample' again to rewrite it",
                ErrorContext{.file = file});
  }
  const core::JsonFieldReader r(file, "sample manifest: ", "; run 'neuroscaler sample' again to rewrite it");
  if (!j.is_object()) r.fail("not a JSON object");
  if (r.get<std::string>(j, "format") != kFormatName) r.fail("'format' is not " + std::string(kFormatName));
  SampleManifest m;
  m.dir = dir;
  m.version = r.get<int>(j, "version");
  if (m.version != kSampleManifestVersion) {
    throw Error(ErrorCode::unsupported,
                "sample manifest version " + std::to_string(m.version) + " is not supported (this program reads " +
                    std::to_string(kSampleManifestVersion) + "); run 'neuroscaler sample' again",
                ErrorContext{.file = file});
  }
  if (j.contains("content")) {  // older manifests have none: they are samples
    const std::string name = r.get<std::string>(j, "content");
    const std::vector<SampleContent>& kinds = sample_contents();
    const auto kind = std::find_if(kinds.begin(), kinds.end(),
                                   [&](SampleContent c) { return sample_content_name(c) == name; });
    if (kind != kinds.end()) {
      m.content = *kind;
    } else if (name == kVideoContent) {
      m.content = std::nullopt;
    } else {
      r.fail("unknown content '" + name + "'");
    }
  }
  m.seed = r.get<uint32_t>(j, "seed");
  m.fps = r.get<int>(j, "fps");
  const Json& hr = j.contains("hr") ? j.at("hr") : Json();
  const Json& lr = j.contains("lr") ? j.at("lr") : Json();
  m.hr_width = r.get<int>(hr, "width", "hr.");
  m.hr_height = r.get<int>(hr, "height", "hr.");
  m.lr_width = r.get<int>(lr, "width", "lr.");
  m.lr_height = r.get<int>(lr, "height", "lr.");
  m.scale = r.get<int>(j, "scale");
  m.lr_filter = r.get<std::string>(j, "lr_filter");
  const Json& ref = j.contains("hr_reference") ? j.at("hr_reference") : Json();
  m.hr_lossless = r.get<bool>(ref, "lossless", "hr_reference.");
  m.scene_cut_frame = r.get<int64_t>(j, "scene_cut_frame");
  if (m.fps <= 0 || m.hr_width <= 0 || m.hr_height <= 0 || m.scale <= 0 || m.lr_width * m.scale != m.hr_width ||
      m.lr_height * m.scale != m.hr_height) {
    r.fail("fps, sizes and scale do not agree (HR must be LR x scale)");
  }
  for (const Json& s : r.array(j, "segments")) {
    SampleSegment seg;
    seg.name = r.get<std::string>(s, "name", "segments[].");
    seg.first_frame = r.get<int64_t>(s, "first_frame", "segments[].");
    seg.frame_count = r.get<int64_t>(s, "frame_count", "segments[].");
    seg.seconds = r.get<double>(s, "seconds", "segments[].");
    if (seg.first_frame < 0 || seg.frame_count <= 0) r.fail("segment '" + seg.name + "' has no frames");
    m.segments.push_back(seg);
  }
  if (m.segments.empty()) r.fail("no segments");
  for (const Json& f : r.array(j, "files")) {
    SampleFile sf;
    sf.path = r.get<std::string>(f, "path", "files[].");
    sf.segment = r.get<std::string>(f, "segment", "files[].");
    sf.role = r.get<std::string>(f, "role", "files[].");
    sf.codec = r.get<std::string>(f, "codec", "files[].");
    sf.encoder = r.get<std::string>(f, "encoder", "files[].");
    sf.width = r.get<int>(f, "width", "files[].");
    sf.height = r.get<int>(f, "height", "files[].");
    sf.frame_count = r.get<int64_t>(f, "frame_count", "files[].");
    sf.target_kbps = r.get<int>(f, "target_kbps", "files[].");
    sf.measured_kbps = r.get<double>(f, "measured_kbps", "files[].");
    sf.bytes = r.get<uint64_t>(f, "bytes", "files[].");
    sf.lossless = r.get<bool>(f, "lossless", "files[].");
    if (fs::path(sf.path).is_absolute() || sf.path.find("..") != std::string::npos) {
      r.fail("file path '" + sf.path + "' is not inside the sample directory");
    }
    const bool known_segment = std::any_of(m.segments.begin(), m.segments.end(),
                                           [&](const SampleSegment& s) { return s.name == sf.segment; });
    if (!known_segment) r.fail("file '" + sf.path + "' names an unknown segment '" + sf.segment + "'");
    std::error_code ec;
    if (!fs::is_regular_file(dir / sf.path, ec)) {
      throw Error(ErrorCode::not_found,
                  "sample file listed in manifest.json is missing; run 'neuroscaler sample' again",
                  ErrorContext{.file = (dir / sf.path).string()});
    }
    m.files.push_back(sf);
  }
  if (j.contains("shots") && j.at("shots").is_array()) {
    for (const Json& s : j.at("shots")) {
      SampleShot shot;
      shot.first_frame = r.get<int64_t>(s, "first_frame", "shots[].");
      shot.frame_count = r.get<int64_t>(s, "frame_count", "shots[].");
      shot.background = r.get<std::string>(s, "background", "shots[].");
      shot.objects = r.get<std::vector<std::string>>(s, "objects", "shots[].");
      shot.min_photo_pixels_per_output_pixel = r.get<double>(s, "min_photo_pixels_per_output_pixel", "shots[].");
      m.shots.push_back(shot);
    }
  }
  if (j.contains("photos")) m.photos = r.get<std::vector<std::string>>(j, "photos");
  const Json& gen = j.contains("generator") ? j.at("generator") : Json();
  m.command_line = r.get<std::string>(gen, "command", "generator.");
  m.elapsed_seconds = r.get<double>(gen, "elapsed_seconds", "generator.");
  return m;
}

}  // namespace ns::eval
