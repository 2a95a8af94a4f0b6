// ns/sr/train: a generic training set whose LR looks like what the SR model gets in use: a streamer's encode.
// HR = frames of the built-in sample's renderer (camera moving over each photograph, cut-outs moving over it) and
// the photographs as stills; LR = HR / 3 (area), encoded like a streamer (VP9 realtime, H.264 zerolatency, at a
// mix of bitrates around streamer_bitrate_kbps, reference §9.1-9.2) and decoded, or left clean for a share.
// In: photo paths and StreamSetOptions. Out: PNG pairs (hr/, lr/) + manifest.json in a directory; load_stream_set
// reads them back as a TrainingSet. Thread-safety: free functions; building runs its own bounded worker threads.
// Errors: ns::Error: invalid_argument (options, too few photos), not_found (photo, set or PNG missing: run
// `neuroscaler train data`), io (folder unwritable), corrupt (damaged manifest or PNG), mismatch (HR not 3 x LR).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ns/sr/train/train.h"

namespace ns::sr::train {

inline constexpr int kStreamSetVersion = 1;
inline constexpr int kStreamSetFps = 60;  // the rate clips are rendered and encoded at (the sample's)

struct StreamSetOptions {
  std::filesystem::path out_dir;           // created if needed; an older set there is replaced
  std::vector<std::string> codecs = {"vp9", "h264"};      // streamer encoders: EncoderSettings::streamer_*
  std::vector<double> bitrate_factors = {0.5, 1.0, 1.5};  // x streamer_bitrate_kbps(LR size), one per clip
  double clean_share = 0.25;  // share of clips whose LR is the area down-scale alone, 0..1 (stills and videos
                              // alike, so about that share of pairs too)
  int frames_per_clip = 4;    // frames sampled from each video clip (from its last three quarters)
  int clip_frames = 120;      // frames rendered per video clip: 2 s at 60 fps, one GOP of the streamer encoders
                              // (a still's clip has 8 frames)
  int validation_every = 8;   // every N-th photo (sorted by path) and all its pairs are held out; >= 2
  int max_side = 1920;        // HR: stills scaled down (area) to this longest side; video frames 16:9, at most
                              // this wide and 1080 lines, and small enough that the photo is never up-scaled
  uint32_t seed = 1;          // camera paths, sampled frames and the clip -> codec/bitrate/clean assignment
  int threads = 0;            // photos processed at once (each encoder runs single-threaded, so that the
                              // bitstreams do not depend on the machine); 0 = min(2, cores)
  std::string command_line;   // recorded in the manifest
};

// One LR/HR pair as recorded in manifest.json.
struct StreamPair {
  std::string hr;           // PNG path relative to the set's directory ("hr/p007-video-f042.png")
  std::string lr;           // "lr/p007-video-f042.png"
  std::string photo;        // source photograph
  std::string kind;         // "video" (camera motion over the photo) or "still" (the photo, first frame: intra)
  std::string codec;        // "vp9", "h264" or "clean" (area down-scale only)
  int kbps = 0;             // target bitrate of the encode; 0 for clean
  int64_t frame = 0;        // index in its clip
  bool validation = false;  // the photo is held out
  int hr_width = 0, hr_height = 0, lr_width = 0, lr_height = 0;
  double lr_psnr_db = 0;     // LR up-scaled (bicubic) vs HR, RGB: how hard the pair is
  double clean_psnr_db = 0;  // the same for the clean area down-scale of this frame (the encoder's loss is the
                             // difference; equal for clean pairs)
};

struct StreamSetManifest {
  std::filesystem::path dir;  // where manifest.json was read from or written to (not stored in it)
  int version = kStreamSetVersion;
  int scale = 3;
  int fps = kStreamSetFps;
  uint32_t seed = 0;
  std::vector<std::string> photos;             // sorted by path
  std::vector<std::string> validation_photos;  // the held-out subset
  std::vector<StreamPair> pairs;
  uint64_t bytes = 0;           // PNGs on disk
  std::string command_line;
  double elapsed_seconds = 0;   // wall time of build_stream_set
};

// Pairs per LR kind ("clean", "vp9", "h264", in that order; kinds without pairs left out) and their mean PSNRs.
struct StreamSetGroup {
  std::string codec;
  int pairs = 0;
  int train_pairs = 0;
  double mean_lr_psnr_db = 0;     // mean over the pairs of StreamPair::lr_psnr_db
  double mean_clean_psnr_db = 0;  // the same frames down-scaled only: the difference is what the encoder lost
};
std::vector<StreamSetGroup> summarize_stream_set(const StreamSetManifest& manifest);

// Builds the set in options.out_dir from `photos` (at least 2; at least 1 train and 1 validation photo): per photo
// a still clip and, when the photo covers a 16:9 frame of at least 96 lines, a video clip, each encoded with one
// codec at one bitrate or left clean (balanced over the set, seeded). Shows progress on a terminal. The same photos
// and options give the same set whatever `threads` is. Returns the manifest it wrote. Throws invalid_argument for
// bad options, not_found for a missing photo, io for an unwritable folder.
StreamSetManifest build_stream_set(const std::vector<std::string>& photos, const StreamSetOptions& options);

// Reads and validates dir/manifest.json (fields, sizes; not the PNGs).
StreamSetManifest load_stream_set_manifest(const std::filesystem::path& dir);

struct StreamSetLoadOptions {
  std::vector<std::string> codecs;  // keep only pairs of these ("clean", "vp9", "h264"); empty = all
  int validation_crop = 0;          // LR centre-crop size of each validation pair; 0 = whole frames
};

// The pairs of a set built by build_stream_set: train from the training photos, validation from the held-out ones.
TrainingSet load_stream_set(const std::filesystem::path& dir, const StreamSetLoadOptions& options = {});

}  // namespace ns::sr::train
