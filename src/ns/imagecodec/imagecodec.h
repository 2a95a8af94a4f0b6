// ns/imagecodec: anchor images (reference §6.5) coded as JPEG (libjpeg-turbo), JPEG 2000 (OpenJPEG) or HTJ2K
// (OpenJPH encodes; OpenJPEG decodes it, as OpenJPH 0.9 crashes on damaged input), all behind one interface.
// In: I420 frames (8-bit, any size >= 1x1). Out: one self-contained codestream per image (JPEG: JFIF; JPEG 2000 and
// HTJ2K: a raw J2K codestream, which Matroska carries as codec "jpeg2000"); decode gives the I420 frame back.
// The codecs code Y, Cb and Cr directly (no RGB round trip: frames stay I420 end to end, DESIGN.md); JPEG at 4:4:4
// up-samples the chroma before coding and down-samples it after decoding.
// Thread-safety: the functions are reentrant; every call is independent.
// Errors: ns::Error invalid_argument (settings, empty frame), corrupt (damaged or truncated codestream, or one of
// another codec), unsupported (a valid codestream we cannot map to I420, e.g. 16-bit or 4 components).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ns/core/frame.h"

namespace ns::imagecodec {

enum class Codec { jpeg, j2k, htj2k };
const char* codec_name(Codec codec);          // "jpeg", "j2k", "htj2k"
Codec parse_codec(const std::string& name);   // also accepts "jpeg2000"; ns::Error invalid_argument otherwise
// The Matroska / FFmpeg codec name of the codestream: "mjpeg" for JPEG, "jpeg2000" for J2K and HTJ2K.
const char* container_codec_name(Codec codec);

// What `quality` means depends on the codec; higher is always better and bigger:
//   jpeg:  libjpeg quality, 1 .. 100;
//   j2k:   target PSNR of the code-stream in dB (OpenJPEG's fixed-quality mode), 20 .. 70;
//   htj2k: 1 .. 100, mapped to the irreversible quantisation step as qstep = 2^(-quality / 10) (HTJ2K has
//          no rate control: quality 10 halves the step).
struct EncodeSettings {
  Codec codec = Codec::htj2k;
  double quality = 0;       // 0: default_quality(codec)
  bool chroma_444 = false;  // jpeg only (invalid_argument for the others): code the chroma at full resolution
  int threads = 1;          // j2k only (OpenJPEG's encoder threads); the others code on the calling thread
};
double default_quality(Codec codec);  // jpeg 90, j2k 48 (dB), htj2k 50 (docs/anchor-codecs.md)
double effective_quality(const EncodeSettings& settings);  // settings.quality, or the default when it is 0
void validate(const EncodeSettings& settings);  // ns::Error invalid_argument naming the option and its range

std::vector<uint8_t> encode(const core::Frame& frame, const EncodeSettings& settings);

// Decodes a codestream of `codec` into `out` (re-allocated only when its size changes; pts/index untouched).
// J2K and HTJ2K are both JPEG 2000 (one container name): decoding as either reads either codestream.
void decode(Codec codec, std::span<const uint8_t> data, core::Frame& out);

}  // namespace ns::imagecodec
