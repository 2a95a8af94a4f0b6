// ns_fuzz_seeds OUT_DIR: writes the seed corpus of every fuzz target into OUT_DIR/<target>/, made here with the
// library's own writers (VP9 and H.264 via FFmpeg, hybrid files, Y4M, anchor images, safetensors) from synthetic
// frames, plus hand-written JSON. Nothing is downloaded or committed; every seed is a few KB. Deterministic apart
// from what the encoders put in their headers.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ns/core/error.h"
#include "ns/core/frame.h"
#include "ns/hybrid/hybrid.h"
#include "ns/imagecodec/imagecodec.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"
#include "ns/media/y4m.h"
#include "ns/sr/sr.h"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

constexpr int kWidth = 64;  // LR size of the video seeds
constexpr int kHeight = 36;
constexpr int kScale = 2;   // hybrid anchors: kScale x LR

// Gradients that move with the frame index, plus a hashed texture: enough motion and detail for the encoders to
// make key, inter and (VP9) hidden alt-ref frames.
ns::core::Frame synthetic_frame(int width, int height, int index) {
  ns::core::Frame frame(width, height);
  for (int p = 0; p < ns::core::kPlaneCount; ++p) {
    for (int y = 0; y < frame.plane_height(p); ++y) {
      for (int x = 0; x < frame.plane_width(p); ++x) {
        const unsigned hash = (static_cast<unsigned>(x) * 73856093u) ^ (static_cast<unsigned>(y) * 19349663u);
        frame.row(p, y)[x] = static_cast<uint8_t>(p == 0 ? (x + 2 * index) * 3 + (y + index) * 2 + (hash >> 28)
                                                         : 128 + (p == 1 ? x - index : y + index));
      }
    }
  }
  frame.pts = frame.index = index;
  return frame;
}

void write_file(const fs::path& path, const Bytes& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!file) throw ns::Error(ns::ErrorCode::io, "cannot write the seed", {.file = path.string()});
}
void write_text(const fs::path& path, const std::string& text) { write_file(path, Bytes(text.begin(), text.end())); }

Bytes read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

// fuzz_common.h's Input framing: a 16-bit little-endian length, then the bytes.
void append_sized(Bytes& out, const Bytes& bytes) {
  const size_t size = std::min<size_t>(bytes.size(), 0xffff);
  out.push_back(static_cast<uint8_t>(size & 0xff));
  out.push_back(static_cast<uint8_t>(size >> 8));
  out.insert(out.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(size));
}
void append_sized(Bytes& out, const std::string& text) { append_sized(out, Bytes(text.begin(), text.end())); }

std::string encode_video(const fs::path& path, const ns::media::EncoderSettings& settings, int frames) {
  ns::media::VideoWriter writer(path.string(), kWidth, kHeight, {30, 1}, settings);
  for (int i = 0; i < frames; ++i) writer.write(synthetic_frame(kWidth, kHeight, i));
  writer.finish();
  return path.string();
}

// A probe target's input: [extradata] (H.264 only), then the first `max_packets` packets of the file.
Bytes probe_input(const std::string& video, bool with_extradata, int max_packets) {
  ns::media::Demuxer demuxer(video);
  Bytes out;
  if (with_extradata) append_sized(out, demuxer.info().extradata);
  for (int i = 0; i < max_packets; ++i) {
    const auto packet = demuxer.read();
    if (!packet) break;
    append_sized(out, packet->data);
  }
  return out;
}

void write_hybrid(const fs::path& path, const std::string& vp9_video, ns::imagecodec::Codec codec) {
  ns::media::Demuxer demuxer(vp9_video);
  ns::hybrid::HybridTags tags;
  tags.scale = kScale;
  tags.model = "EDSR_B1_F2_S2";
  tags.method = "uniform";
  tags.fraction = 0.25;
  tags.anchor_codec = codec;
  ns::hybrid::HybridWriter writer(path.string(), demuxer.info(), tags, kWidth * kScale, kHeight * kScale);
  const ns::imagecodec::EncodeSettings settings{.codec = codec, .quality = codec == ns::imagecodec::Codec::j2k ? 30.0 : 20.0};
  for (int i = 0; i < 8; ++i) {
    const auto packet = demuxer.read();
    if (!packet) break;
    writer.write_video(*packet);
    if (i % 4 == 0) {
      writer.write_anchor(packet->pts, ns::imagecodec::encode(synthetic_frame(kWidth * kScale, kHeight * kScale, i),
                                                              settings));
    }
  }
  writer.finish();
}

void write_y4m(const fs::path& path, int width, int height, int frames) {
  ns::media::Y4mWriter writer(path.string(), width, height, {25, 1});
  for (int i = 0; i < frames; ++i) writer.write(synthetic_frame(width, height, i));
  writer.close();
}

void write_images(const fs::path& dir, ns::imagecodec::Codec codec) {
  const int sizes[][2] = {{32, 32}, {17, 11}, {1, 1}};
  for (const auto& [width, height] : sizes) {
    const ns::core::Frame frame = synthetic_frame(width, height, 1);
    const std::string name = std::to_string(width) + "x" + std::to_string(height);
    write_file(dir / (name + ".bin"), ns::imagecodec::encode(frame, {.codec = codec}));
    if (codec == ns::imagecodec::Codec::jpeg) {
      write_file(dir / (name + "_444.bin"), ns::imagecodec::encode(frame, {.codec = codec, .chroma_444 = true}));
    }
  }
}

void write_models(const fs::path& dir) {
  const ns::sr::StorageType types[] = {ns::sr::StorageType::f32, ns::sr::StorageType::f16, ns::sr::StorageType::bf16};
  for (int scale = 2; scale <= 4; ++scale) {
    const ns::sr::ModelDesc desc{.blocks = 1, .channels = 2, .scale = scale};
    write_file(dir / (desc.name() + ".safetensors"),
               ns::sr::serialize_model(ns::sr::random_model(desc, 1), types[scale - 2]));
  }
}

const char* const kStreamJson =
    R"({"name": "cam1", "input": "cam1.webm", "model": "edsr.safetensors", "output": "cam1.mkv", "frames": 120,
        "realtime": false, "anchor_codec": "jpeg", "anchor_quality": 85})";
const char* const kBaselineStreamJson =
    R"({"name": "cam2", "input": "tcp://127.0.0.1:9000", "model": "/m.safetensors", "output": "out/cam2.webm",
        "method": "selective", "fraction": 0.2})";
const char* const kConfigJson =
    R"({"method": "neuroscaler-q", "fraction": 0.075, "epoch_frames": 40, "fps": 60, "backend": "auto",
        "precision": "fp32", "devices": [0, 1], "sr_workers": 2, "sr_threads": 0, "sr_batch": 4, "encode_workers": 1,
        "sr_queue": 64, "encode_queue": 64, "stall_timeout_s": 10, "streams": [)";

void write_json_seeds(const fs::path& config_dir, const fs::path& admin_dir) {
  const std::string config = std::string(kConfigJson) + kStreamJson + ", " + kBaselineStreamJson + "]}";
  write_text(config_dir / "config.json", "\x01" + config);
  write_text(config_dir / "stream.json", std::string("\x00", 1) + kStreamJson);
  write_text(config_dir / "baseline_stream.json", std::string("\x00", 1) + kBaselineStreamJson);
  struct AdminSeed {
    const char* name;
    std::string token, authorization, body;
  };
  const AdminSeed admin[] = {{"open", "", "", kStreamJson},
                             {"bearer", "s3cret", "Bearer s3cret", kBaselineStreamJson},
                             {"refused", "s3cret", "Bearer wrong!", "{\"name\": 1}"}};
  for (const AdminSeed& seed : admin) {
    Bytes input;
    append_sized(input, seed.token);
    append_sized(input, seed.authorization);
    input.insert(input.end(), seed.body.begin(), seed.body.end());
    write_file(admin_dir / (std::string(seed.name) + ".bin"), input);
  }
}

void write_all(const fs::path& out) {
  for (const char* target : {"probe_vp9", "probe_h264", "safetensors", "hybrid_reader", "y4m_reader", "jpeg", "j2k",
                             "htj2k", "engine_config", "admin_request"}) {
    fs::create_directories(out / target);
  }
  const fs::path scratch = out / ".scratch";
  fs::create_directories(scratch);
  ns::media::EncoderSettings vp9 = ns::media::EncoderSettings::streamer_vp9(kWidth, kHeight);
  vp9.threads = 1;
  const std::string webm = encode_video(scratch / "lr.webm", vp9, 24);  // alt-refs: superframes
  ns::media::EncoderSettings h264 = ns::media::EncoderSettings::streamer_h264(kWidth, kHeight);
  h264.threads = 1;
  const std::string mp4 = encode_video(scratch / "lr.mp4", h264, 12);   // avcC, length-prefixed NAL units
  const std::string annexb = encode_video(scratch / "lr.h264", h264, 12);
  ns::media::EncoderSettings h264_b = h264;  // B-frames: POC order differs from decode order
  h264_b.options = {{"preset", "veryfast"}, {"bf", "2"}};
  const std::string bframes = encode_video(scratch / "lr_b.mp4", h264_b, 12);

  write_file(out / "probe_vp9" / "superframes.bin", probe_input(webm, false, 24));
  write_file(out / "probe_vp9" / "key_only.bin", probe_input(webm, false, 1));
  write_file(out / "probe_h264" / "avcc.bin", probe_input(mp4, true, 12));
  write_file(out / "probe_h264" / "annexb.bin", probe_input(annexb, true, 12));
  write_file(out / "probe_h264" / "bframes.bin", probe_input(bframes, true, 12));
  write_hybrid(out / "hybrid_reader" / "jpeg_anchors.mkv", webm, ns::imagecodec::Codec::jpeg);
  write_hybrid(out / "hybrid_reader" / "htj2k_anchors.mkv", webm, ns::imagecodec::Codec::htj2k);
  write_file(out / "hybrid_reader" / "plain_webm.mkv", read_file(webm));  // no anchor track
  write_y4m(out / "y4m_reader" / "16x16.y4m", 16, 16, 3);
  write_y4m(out / "y4m_reader" / "17x9.y4m", 17, 9, 2);
  write_images(out / "jpeg", ns::imagecodec::Codec::jpeg);
  write_images(out / "j2k", ns::imagecodec::Codec::j2k);
  write_images(out / "htj2k", ns::imagecodec::Codec::htj2k);
  write_models(out / "safetensors");
  write_json_seeds(out / "engine_config", out / "admin_request");
  fs::remove_all(scratch);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: ns_fuzz_seeds OUT_DIR\n");
    return 2;
  }
  try {
    write_all(argv[1]);
  } catch (const ns::Error& e) {
    std::fprintf(stderr, "ns_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
