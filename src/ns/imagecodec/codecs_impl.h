// ns/imagecodec internals: one encode/decode pair per codec library, called by imagecodec.cpp after it has
// validated the settings and the frame, plus the helpers they share (output sizing, chroma resampling).
// In: a non-empty I420 frame and a valid quality. Out: the codestream, or the decoded frame.
// Thread-safety: reentrant. Errors: ns::Error corrupt / unsupported for codestreams; internal for library failures.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ns/core/frame.h"

namespace ns::imagecodec::detail {

std::vector<uint8_t> encode_jpeg(const core::Frame& frame, double quality, bool chroma_444);
void decode_jpeg(std::span<const uint8_t> data, core::Frame& out);

// JPEG 2000 Part 1 (J2K) by OpenJPEG. decode_jpeg2000 reads Part 1 and Part 15 (HTJ2K) codestreams alike: it is
// the decoder of both codecs (OpenJPEG is fuzzed and hardened; see decode_htj2k_openjph).
std::vector<uint8_t> encode_j2k(const core::Frame& frame, double quality, int threads);
void decode_jpeg2000(std::span<const uint8_t> data, core::Frame& out, const char* codec);

// HTJ2K by OpenJPH. OpenJPH 0.9's decoder is fast (about 3x OpenJPEG's at 1080p) but not safe on damaged input:
// bit flips in its headers or packets end in assert() aborts, SIGFPE and SIGSEGV (measured with fork()ed trials).
// So decode() uses decode_jpeg2000 for HTJ2K; decode_htj2k_openjph is for codestreams we wrote ourselves (tests
// cross-check the two decoders, the bench measures the speed gap).
std::vector<uint8_t> encode_htj2k(const core::Frame& frame, double quality);
void decode_htj2k_openjph(std::span<const uint8_t> data, core::Frame& out);

// Decoders refuse images wider or taller than core::Frame allows, or above kMaxPixels pixels (a damaged header
// must not allocate gigabytes): ns::Error unsupported.
inline constexpr int kMaxDimension = 16384;
inline constexpr int64_t kMaxPixels = int64_t{1} << 28;
bool decodable_size(int64_t width, int64_t height);

// Gives `out` the size width x height, keeping its buffer (and pts/index) when the size already matches.
void ensure_size(core::Frame& out, int width, int height);

// Full-resolution chroma (width x height) from an I420 chroma plane (ceil(width/2) x ceil(height/2)) by
// repeating each sample 2x2: the exact inverse of downsample_2x2 when nothing is lost in between.
// Writes `rows` full-resolution rows starting at row `y0`; `dst` rows are dst_stride apart.
void upsample_2x2_rows(const uint8_t* src, int src_stride, int width, int height, int y0, int rows, uint8_t* dst,
                       int dst_stride);
// I420 chroma from a full-resolution plane: the rounded mean of each 2x2 block (odd edges average what exists).
void downsample_2x2(const uint8_t* src, int src_stride, int width, int height, uint8_t* dst, int dst_stride);

// "<codec>: <what> (<detail>); <advice>" for a codestream that failed to decode.
[[noreturn]] void throw_corrupt(const char* codec, const std::string& what);
[[noreturn]] void throw_unsupported(const char* codec, const std::string& what);

}  // namespace ns::imagecodec::detail
