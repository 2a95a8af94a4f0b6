// ns/sr: EDSR description, safetensors reading/writing with every malformed-file case, and the reference
// backend against a hand-computed network.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ns/core/colour.h"
#include "ns/core/error.h"
#include "ns/media/reader.h"
#include "ns/sr/sr.h"
#include "support/fixtures.h"

namespace ns::sr {
namespace {

using nlohmann::json;

ModelDesc desc_of(int blocks, int channels, int scale) {
  ModelDesc d;
  d.blocks = blocks;
  d.channels = channels;
  d.scale = scale;
  return d;
}

TEST(SrModel, ParameterCountsMatchTheReference) {
  EXPECT_EQ(parameter_count(desc_of(8, 16, 3)), 61203);
  EXPECT_EQ(parameter_count(desc_of(8, 32, 3)), 242211);
  EXPECT_EQ(desc_of(8, 32, 3).name(), "EDSR_B8_F32_S3");
}

TEST(SrModel, TensorNamesFollowThePyTorchModule) {
  const std::vector<TensorSpec> t = model_tensors(desc_of(2, 16, 3));
  ASSERT_EQ(t.size(), 2u + 2u * 4u + 2u + 2u + 2u);
  EXPECT_EQ(t[0].name, "head.0.weight");
  EXPECT_EQ(t[0].shape, (std::vector<int64_t>{16, 3, 3, 3}));
  EXPECT_EQ(t[2].name, "body.0.body.0.weight");
  EXPECT_EQ(t[4].name, "body.0.body.2.weight");
  EXPECT_EQ(t[10].name, "body.2.weight");
  EXPECT_EQ(t[12].name, "tail.0.body.0.weight");
  EXPECT_EQ(t[12].shape, (std::vector<int64_t>{144, 16, 3, 3}));
  EXPECT_EQ(t[14].name, "tail.1.weight");
  EXPECT_EQ(t[15].shape, (std::vector<int64_t>{3}));
  const std::vector<TensorSpec> x4 = model_tensors(desc_of(1, 8, 4));
  EXPECT_EQ(x4[x4.size() - 6].name, "tail.0.body.0.weight");
  EXPECT_EQ(x4[x4.size() - 4].name, "tail.0.body.3.weight");
  EXPECT_EQ(receptive_radius(desc_of(8, 32, 3)), 20);
}

TEST(SrModel, InvalidDescriptionsAreRejected) {
  EXPECT_THROW(model_tensors(desc_of(8, 32, 5)), Error);
  EXPECT_THROW(model_tensors(desc_of(0, 32, 3)), Error);
  ModelDesc d = desc_of(8, 32, 3);
  d.arch = "rcan";
  EXPECT_THROW(validate_desc(d), Error);
}

TEST(SrModel, RandomInitIsSeededAndBounded) {
  const Model a = random_model(desc_of(2, 8, 3), 7);
  const Model b = random_model(desc_of(2, 8, 3), 7);
  const Model c = random_model(desc_of(2, 8, 3), 8);
  EXPECT_EQ(a.tensor("body.1.body.2.weight").data, b.tensor("body.1.body.2.weight").data);
  EXPECT_NE(a.tensor("body.1.body.2.weight").data, c.tensor("body.1.body.2.weight").data);
  const float bound = 1.0f / std::sqrt(8.0f * 9.0f);
  float largest = 0;
  for (float v : a.tensor("body.0.body.0.weight").data) largest = std::max(largest, std::fabs(v));
  EXPECT_LE(largest, bound);
  EXPECT_GT(largest, 0.9f * bound);
}

// ---------------------------------------------------------------------------------------------------------
// safetensors
// ---------------------------------------------------------------------------------------------------------

struct Parts {
  json header;
  std::vector<uint8_t> data;
};

Parts split(const std::vector<uint8_t>& file) {
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  Parts p;
  p.header = json::parse(file.begin() + 8, file.begin() + 8 + static_cast<ptrdiff_t>(n));
  p.data.assign(file.begin() + 8 + static_cast<ptrdiff_t>(n), file.end());
  return p;
}

std::vector<uint8_t> join(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(8 + header.size());
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<uint8_t> small_file() { return serialize_model(random_model(desc_of(1, 4, 3), 3)); }

// Parses `bytes` expecting an ns::Error of `code` whose message contains `needle`.
void expect_error(const std::vector<uint8_t>& bytes, ErrorCode code, const std::string& needle) {
  try {
    parse_model(bytes.data(), bytes.size(), "m.safetensors");
    FAIL() << "no error, expected one containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("m.safetensors"), std::string::npos) << e.what();
  }
}

void expect_header_error(const std::function<void(Parts&)>& edit, ErrorCode code, const std::string& needle) {
  Parts p = split(small_file());
  edit(p);
  expect_error(join(p.header.dump(), p.data), code, needle);
}

TEST(Safetensors, RoundTripF32IsExact) {
  test::TempDir dir;
  const Model m = random_model(desc_of(2, 8, 3), 11);
  save_model(m, dir.file("m.safetensors"));
  const Model back = load_model(dir.file("m.safetensors"));
  EXPECT_EQ(back.desc, m.desc);
  ASSERT_EQ(back.tensors.size(), m.tensors.size());
  for (const auto& [name, t] : m.tensors) {
    EXPECT_EQ(back.tensor(name).shape, t.shape) << name;
    EXPECT_EQ(back.tensor(name).data, t.data) << name;
  }
}

TEST(Safetensors, HeaderIsAlignedAndCarriesMetadata) {
  const std::vector<uint8_t> file = small_file();
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  const Parts p = split(file);
  EXPECT_EQ(p.header["__metadata__"]["arch"], "edsr");
  EXPECT_EQ(p.header["__metadata__"]["channels"], "4");
  EXPECT_EQ(p.header["head.0.weight"]["dtype"], "F32");
  EXPECT_EQ(p.header["head.0.weight"]["data_offsets"], json::array({0, 4 * 3 * 9 * 4}));
}

TEST(Safetensors, F16AndBf16LoadAsFloat) {
  Model m = random_model(desc_of(1, 4, 3), 5);
  // Values exactly representable in fp16: normal, negative, largest, smallest subnormal, zero.
  std::vector<float>& w = m.tensors["head.0.weight"].data;
  const float exact[] = {1.0f, -2.5f, 65504.0f, 0x1.0p-24f, 0.0f, 0.333251953125f};
  for (size_t i = 0; i < 6; ++i) w[i] = exact[i];
  const std::vector<uint8_t> f16 = serialize_model(m, StorageType::f16);
  const Model h = parse_model(f16.data(), f16.size(), "h");
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(h.tensor("head.0.weight").data[i], exact[i]) << i;
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(h.tensor("head.0.weight").data[i], w[i], std::fabs(w[i]) / 1024);
  const std::vector<uint8_t> bf = serialize_model(m, StorageType::bf16);
  const Model b = parse_model(bf.data(), bf.size(), "b");
  EXPECT_EQ(b.tensor("head.0.weight").data[0], 1.0f);
  EXPECT_EQ(b.tensor("head.0.weight").data[1], -2.5f);
  for (size_t i = 6; i < w.size(); ++i) EXPECT_NEAR(b.tensor("head.0.weight").data[i], w[i], std::fabs(w[i]) / 128);
}

TEST(Safetensors, MissingMetadataIsInferredFromShapes) {
  Parts p = split(serialize_model(random_model(desc_of(3, 8, 2), 1)));
  p.header.erase("__metadata__");
  const std::vector<uint8_t> bytes = join(p.header.dump(), p.data);
  const Model m = parse_model(bytes.data(), bytes.size(), "plain");
  EXPECT_EQ(m.desc, desc_of(3, 8, 2));
}

TEST(Safetensors, ShortFileIsCorrupt) { expect_error({1, 2, 3}, ErrorCode::corrupt, "shorter than the 8-byte"); }

TEST(Safetensors, AbsurdHeaderLengthIsCorrupt) {
  std::vector<uint8_t> f = small_file();
  const uint64_t huge = uint64_t{1} << 40;
  std::memcpy(f.data(), &huge, 8);
  expect_error(f, ErrorCode::corrupt, "absurd");
}

TEST(Safetensors, HeaderLongerThanFileIsCorrupt) {
  std::vector<uint8_t> f = small_file();
  const uint64_t n = f.size();
  std::memcpy(f.data(), &n, 8);
  expect_error(f, ErrorCode::corrupt, "does not fit");
}

TEST(Safetensors, BadJsonIsCorrupt) {
  expect_error(join("{\"head.0.weight\": {", {}), ErrorCode::corrupt, "not valid JSON");
  expect_error(join("[1, 2, 3]", {}), ErrorCode::corrupt, "not a JSON object");
}

TEST(Safetensors, MissingTensorIsMismatch) {
  expect_header_error([](Parts& p) { p.header.erase("body.0.body.2.bias"); }, ErrorCode::mismatch,
                      "'body.0.body.2.bias' is missing");
}

TEST(Safetensors, ExtraTensorIsMismatch) {
  expect_header_error(
      [](Parts& p) {
        p.header["extra.weight"] = {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {0, 0}}};
      },
      ErrorCode::mismatch, "unexpected tensor 'extra.weight'");
}

TEST(Safetensors, WrongShapeIsMismatch) {
  // Same element count, transposed: the bytes fit, the architecture does not.
  expect_header_error([](Parts& p) { p.header["head.0.weight"]["shape"] = {3, 4, 3, 3}; }, ErrorCode::mismatch,
                      "'head.0.weight' has shape [3, 4, 3, 3]");
}

TEST(Safetensors, ShapeDisagreeingWithOffsetsIsCorrupt) {
  expect_header_error([](Parts& p) { p.header["head.0.weight"]["shape"] = {4, 3, 3, 2}; }, ErrorCode::corrupt,
                      "'head.0.weight': data_offsets");
}

TEST(Safetensors, UnsupportedDtypeIsNamed) {
  expect_header_error([](Parts& p) { p.header["tail.1.bias"]["dtype"] = "I64"; }, ErrorCode::unsupported,
                      "'tail.1.bias' has dtype I64");
  expect_header_error([](Parts& p) { p.header["tail.1.bias"]["dtype"] = 5; }, ErrorCode::corrupt,
                      "dtype is not a string");
}

TEST(Safetensors, MalformedEntriesAreCorrupt) {
  expect_header_error([](Parts& p) { p.header["tail.1.bias"].erase("shape"); }, ErrorCode::corrupt,
                      "'tail.1.bias' lacks dtype, shape or data_offsets");
  expect_header_error([](Parts& p) { p.header["tail.1.bias"]["shape"] = {-3}; }, ErrorCode::corrupt,
                      "invalid dimension");
  expect_header_error([](Parts& p) { p.header["tail.1.bias"]["data_offsets"] = {8, 4}; }, ErrorCode::corrupt,
                      "begin <= end");
  expect_header_error([](Parts& p) { p.header["tail.1.bias"]["data_offsets"] = {0}; }, ErrorCode::corrupt,
                      "is not [begin, end]");
}

TEST(Safetensors, OffsetsOutOfRangeAreCorrupt) {
  expect_header_error(
      [](Parts& p) {
        const uint64_t size = p.data.size();
        p.header["tail.1.bias"]["data_offsets"] = {size, size + 12};
      },
      ErrorCode::corrupt, "'tail.1.bias' ends at byte");
}

TEST(Safetensors, OverlappingTensorsAreCorrupt) {
  expect_header_error(
      [](Parts& p) { p.header["body.0.body.2.weight"]["data_offsets"] = p.header["body.0.body.0.weight"]["data_offsets"]; },
      ErrorCode::corrupt, "overlap");
}

TEST(Safetensors, TruncatedDataIsCorrupt) {
  std::vector<uint8_t> f = small_file();
  f.erase(f.end() - 4, f.end());  // (not resize: GCC 12 warns falsely under ASan)
  expect_error(f, ErrorCode::corrupt, "truncated");
}

TEST(Safetensors, MetadataDisagreeingWithTensorsIsMismatch) {
  expect_header_error([](Parts& p) { p.header["__metadata__"]["channels"] = "8"; }, ErrorCode::mismatch,
                      "EDSR_B1_F8_S3 needs");
  expect_header_error([](Parts& p) { p.header["__metadata__"]["blocks"] = "2"; }, ErrorCode::mismatch,
                      "'body.1.body.0.weight' is missing");
  expect_header_error([](Parts& p) { p.header["__metadata__"]["scale"] = "three"; }, ErrorCode::corrupt,
                      "not an integer");
  expect_header_error([](Parts& p) { p.header["__metadata__"].erase("scale"); }, ErrorCode::mismatch,
                      "no 'scale'");
  expect_header_error([](Parts& p) { p.header["__metadata__"]["arch"] = "rcan"; }, ErrorCode::unsupported,
                      "unknown architecture 'rcan'");
}

// Mutated files (bit flips anywhere, bytes of the JSON header replaced, truncation) either load as a valid
// model or fail with an ns::Error naming the damage: never a crash (this runs under ASan/UBSan in CI).
TEST(Safetensors, MutatedFilesLoadOrFailCleanly) {
  const std::vector<uint8_t> valid = serialize_model(random_model(desc_of(1, 2, 3), 3), StorageType::f16);
  uint64_t header_length = 0;
  std::memcpy(&header_length, valid.data(), 8);
  uint32_t state = 2024;
  auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  };
  const std::string json_chars = "{}[]\":,0123456789-.eE \\x";
  int failures = 0, successes = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> bytes = valid;
    switch (next() % 4) {
      case 0:  // bit flips anywhere
        for (int k = 0; k < 2; ++k) bytes[next() % bytes.size()] ^= static_cast<uint8_t>(1u << (next() % 8));
        break;
      case 1:  // a JSON-significant character in the header
        bytes[8 + next() % header_length] = static_cast<uint8_t>(json_chars[next() % json_chars.size()]);
        break;
      case 2:  // a digit of the header changed (offsets, shapes)
        for (size_t at = 8 + next() % header_length; at < 8 + header_length; ++at) {
          if (bytes[at] >= '0' && bytes[at] <= '9') {
            bytes[at] = static_cast<uint8_t>('0' + next() % 10);
            break;
          }
        }
        break;
      default:  // truncated
        bytes.resize(next() % bytes.size());
    }
    try {
      const Model m = parse_model(bytes.data(), bytes.size(), "m.safetensors");
      validate_model(m);
      ++successes;
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == ErrorCode::corrupt || e.code() == ErrorCode::mismatch ||
                  e.code() == ErrorCode::unsupported || e.code() == ErrorCode::invalid_argument)
          << e.what();
      ++failures;
    }
  }
  EXPECT_GT(failures, 1000);
  EXPECT_GT(successes, 0);  // flips inside the tensor data still load
}

TEST(Safetensors, MissingFileIsNotFound) {
  test::TempDir dir;
  try {
    load_model(dir.file("absent.safetensors"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    EXPECT_NE(std::string(e.what()).find("absent.safetensors"), std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reference backend against a network computed by hand
// ---------------------------------------------------------------------------------------------------------

// Sets conv `prefix` to zero, then output channel `out` reads input channel `in` at kernel tap (ky, kx).
void set_tap(Model& m, const std::string& prefix, int out, int in, int ky, int kx, float value) {
  Tensor& w = m.tensors[prefix + ".weight"];
  w.data[((static_cast<size_t>(out) * w.shape[1] + in) * 3 + ky) * 3 + kx] = value;
}

Model zero_model(const ModelDesc& d) {
  Model m = random_model(d, 1);
  for (auto& [name, t] : m.tensors) std::fill(t.data.begin(), t.data.end(), 0.0f);
  return m;
}

TEST(SrRef, MatchesHandComputedNetwork) {
  // F = 1, one block, x2. head: x0 = R(y,x) + 2 R(y,x+1) - R(y+1,x) + 0.5 (zero outside the image).
  Model m = zero_model(desc_of(1, 1, 2));
  set_tap(m, "head.0", 0, 0, 1, 1, 1.0f);
  set_tap(m, "head.0", 0, 0, 1, 2, 2.0f);
  set_tap(m, "head.0", 0, 0, 2, 1, -1.0f);
  m.tensors["head.0.bias"].data[0] = 0.5f;
  // block: t = relu(x0 - 2); a = t + x0. body end: identity, so body = a + x0.
  set_tap(m, "body.0.body.0", 0, 0, 1, 1, 1.0f);
  m.tensors["body.0.body.0.bias"].data[0] = -2.0f;
  set_tap(m, "body.0.body.2", 0, 0, 1, 1, 1.0f);
  set_tap(m, "body.1", 0, 0, 1, 1, 1.0f);
  // upsampler channel k = (k + 1) * body; PixelShuffle(2) puts channel i*2 + j at (2y + i, 2x + j); ReLU.
  for (int k = 0; k < 4; ++k) set_tap(m, "tail.0.body.0", k, 0, 1, 1, static_cast<float>(k + 1));
  // tail: out_c = (c + 1) * hr + 0.25 c.
  for (int c = 0; c < 3; ++c) {
    set_tap(m, "tail.1", c, 0, 1, 1, static_cast<float>(c + 1));
    m.tensors["tail.1.bias"].data[static_cast<size_t>(c)] = 0.25f * c;
  }

  // Input 3 x 2: R = [1 2 3; 4 5 6], G and B are ignored by the head (and set to noise).
  std::vector<float> in = {1, 2, 3, 4, 5, 6, 9, -9, 9, -9, 9, -9, 7, 7, 7, 7, 7, 7};
  // x0 = [1.5 3.5 -2.5; 14.5 17.5 6.5]; t = [0 1.5 0; 12.5 15.5 4.5]; body = 2 x0 + t:
  const float body[2][3] = {{3.0f, 8.5f, -5.0f}, {41.5f, 50.5f, 17.5f}};
  std::vector<float> out(3 * 4 * 6, -1.0f);
  std::unique_ptr<Backend> ref = create_backend("ref", m.desc);
  ref->prepare(m, {3, 2});
  ref->run({in.data(), 3, 3, 2}, {out.data(), 3, 6, 4});
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 6; ++x) {
        const float hr = std::max(0.0f, static_cast<float>((y % 2) * 2 + (x % 2) + 1) * body[y / 2][x / 2]);
        const float expected = static_cast<float>(c + 1) * hr + 0.25f * c;
        EXPECT_FLOAT_EQ(out[static_cast<size_t>((c * 4 + y) * 6 + x)], expected) << c << " " << y << " " << x;
      }
}

TEST(SrRef, BiasOnlyModelGivesItsTailBias) {
  // All weights zero: the output is the tail bias everywhere, whatever the input (scale 3 and 4 layouts).
  for (int scale : {3, 4}) {
    Model m = zero_model(desc_of(2, 3, scale));
    m.tensors["tail.1.bias"].data = {0.1f, 0.2f, 0.3f};
    std::vector<float> in(3 * 5 * 4, 0.7f);
    std::vector<float> out(static_cast<size_t>(3 * 5 * 4 * scale * scale), 0.0f);
    std::unique_ptr<Backend> ref = create_backend("ref", m.desc);
    ref->prepare(m, {5, 4});
    ref->run({in.data(), 3, 5, 4}, {out.data(), 3, 5 * scale, 4 * scale});
    const size_t plane = out.size() / 3;
    for (size_t i = 0; i < out.size(); ++i) ASSERT_FLOAT_EQ(out[i], 0.1f * static_cast<float>(i / plane + 1)) << i;
  }
}

TEST(SrFrontend, RoundsHalfToEvenAndClamps) {
  const float src[] = {-0.5f / 255, 0.5f / 255, 1.5f / 255, 2.5f / 255, 254.5f / 255, 300.0f / 255};
  // 3 x 1 x 2: channel planes of two pixels.
  core::RgbImage rgb;
  ASSERT_TRUE(planar_to_rgb(src, 2, 1, rgb));
  EXPECT_EQ(rgb.row(0)[0], 0);    // R, pixel 0: -0.5 clamps to 0
  EXPECT_EQ(rgb.row(0)[3], 0);    // R, pixel 1: 0.5 -> 0 (even)
  EXPECT_EQ(rgb.row(0)[1], 2);    // G, pixel 0: 1.5 -> 2
  EXPECT_EQ(rgb.row(0)[4], 2);    // G, pixel 1: 2.5 -> 2
  EXPECT_EQ(rgb.row(0)[2], 254);  // B, pixel 0: 254.5 -> 254
  EXPECT_EQ(rgb.row(0)[5], 255);  // B, pixel 1: clamped
  const float bad[] = {0, 0, NAN, 0, 0, 0};
  EXPECT_FALSE(planar_to_rgb(bad, 2, 1, rgb));
}

TEST(SrFrontend, NanOutputIsReportedAsCorruptModel) {
  Model m = zero_model(desc_of(1, 2, 3));
  m.tensors["tail.1.bias"].data = {0.5f, NAN, 0.5f};
  Upscaler up(m, 4, 4, {.backend = "ref"});
  core::Frame lr(4, 4);
  lr.fill(90, 128, 128);
  core::Frame hr;
  try {
    up.upscale(lr, hr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::corrupt);
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos);
  }
}

TEST(SrFrontend, RejectsUnknownBackendAndOversizeInput) {
  const Model m = random_model(desc_of(1, 4, 3), 1);
  EXPECT_THROW(create_backend("nope", m.desc), Error);
  Upscaler up(m, 8, 8, {.backend = "ref"});
  core::Frame lr(9, 8);
  lr.fill(100, 128, 128);
  core::Frame hr;
  try {
    up.upscale(lr, hr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
  }
  core::Frame wrong(10, 10);
  core::Frame ok(8, 8);
  ok.fill(100, 128, 128);
  EXPECT_THROW(up.upscale(ok, wrong), Error);
}

TEST(SrFrontend, UpscalesI420WithTheRefBackend) {
  // Zero weights and a tail bias of 0.5: every HR pixel is RGB (128, 128, 128) rounded -> grey I420.
  Model m = zero_model(desc_of(1, 2, 3));
  m.tensors["tail.1.bias"].data = {0.5f, 0.5f, 0.5f};
  Upscaler up(m, 7, 5, {.backend = "ref"});
  core::Frame lr = test::synthetic_frame(7, 5, 0);
  lr.pts = 42;
  lr.index = 3;
  core::Frame hr;
  up.upscale(lr, hr);
  ASSERT_EQ(hr.width(), 21);
  ASSERT_EQ(hr.height(), 15);
  EXPECT_EQ(hr.pts, 42);
  EXPECT_EQ(hr.index, 3);
  core::RgbImage rgb;
  core::i420_to_rgb(hr, rgb);
  for (uint8_t v : rgb.pixels) ASSERT_NEAR(v, 128, 1);
}

TEST(SrCli, ModelInitThenUpscaleMatchesTheLibrary) {
  test::TempDir dir;
  const std::string in = dir.file("in.mkv");
  test::write_synthetic_video(in, 20, 14, 3, media::EncoderSettings::lossless());
  const std::string model = dir.file("m.safetensors");
  test::CliResult init = test::run_cli({"model", "init", "--blocks", "2", "--channels", "8", "--seed", "4", "--out", model});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  test::CliResult up = test::run_cli({"upscale", "--model", model, "--in", in, "--out", dir.file("out.y4m"),
                                      "--backend", "onednn", "--tile", "8", "--threads", "1"});
  ASSERT_EQ(up.exit_code, 0) << up.err;

  Upscaler ref(load_model(model), 20, 14, {.backend = "ref"});
  media::VideoReader lr_reader(in);
  media::VideoReader hr_reader(dir.file("out.y4m"));
  EXPECT_EQ(hr_reader.info().width, 60);
  EXPECT_EQ(hr_reader.info().height, 42);
  core::Frame lr, hr, expected;
  int frames = 0;
  while (hr_reader.read(hr)) {
    ASSERT_TRUE(lr_reader.read(lr));
    ref.upscale(lr, expected);
    int max_diff = 0;
    for (int p = 0; p < core::kPlaneCount; ++p)
      for (int y = 0; y < hr.plane_height(p); ++y)
        for (int x = 0; x < hr.plane_width(p); ++x)
          max_diff = std::max(max_diff, std::abs(hr.row(p, y)[x] - expected.row(p, y)[x]));
    EXPECT_LE(max_diff, 1) << "frame " << frames;
    ++frames;
  }
  EXPECT_EQ(frames, 3);

  test::CliResult missing = test::run_cli({"upscale", "--model", dir.file("absent.safetensors"), "--in", in, "--out",
                                           dir.file("x.y4m")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("absent.safetensors"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace ns::sr
