// HTJ2K (JPEG 2000 Part 15, high-throughput block coder) through OpenJPH: three components with the chroma
// sub-sampled 2x2 in SIZ, no colour transform, irreversible 9/7 with one quantisation step, lines pushed and
// pulled component by component (planar) straight from and into the I420 rows. The OpenJPH decoder here is
// for trusted codestreams only (codecs_impl.h); imagecodec::decode reads HTJ2K with OpenJPEG.
// OpenJPH reports errors by printing to a FILE and throwing std::runtime_error, and prints warnings and info
// to stdout. Its configure_error() slices the handler (version 0.9 copies the base object), so instead its
// streams go to a FILE that appends to a per-thread buffer: every message is kept out of stdout, and an error
// becomes ns::Error corrupt carrying OpenJPH's text.
#include <openjph/ojph_arch.h>
#include <openjph/ojph_codestream.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_message.h>
#include <openjph/ojph_params.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include "ns/core/error.h"
#include "ns/imagecodec/codecs_impl.h"

namespace ns::imagecodec::detail {

namespace {

constexpr const char* kName = "htj2k";
constexpr int kMaxDecompositions = 5;
constexpr size_t kMaxMessageBytes = 1024;

thread_local std::string t_messages;  // what OpenJPH printed during this thread's current call

ssize_t append_message(void*, const char* buffer, size_t bytes) {
  if (t_messages.size() < kMaxMessageBytes) t_messages.append(buffer, std::min(bytes, kMaxMessageBytes));
  return static_cast<ssize_t>(bytes);
}

// Once per process: OpenJPH's error and warning streams append to t_messages (unbuffered, so each write lands
// in the calling thread's buffer); info is dropped. The error stream must stay non-null: OpenJPH only throws
// after printing to it.
void route_messages() {
  static std::once_flag once;
  std::call_once(once, [] {
    cookie_io_functions_t io{};
    io.write = append_message;
    FILE* sink = fopencookie(nullptr, "w", io);
    if (sink == nullptr) sink = std::fopen("/dev/null", "w");
    if (sink != nullptr) {
      std::setvbuf(sink, nullptr, _IONBF, 0);
      ojph::set_error_stream(sink);
    }
    ojph::set_warning_stream(sink);
    ojph::set_info_stream(nullptr);
  });
}

std::string last_messages() {
  std::string text = t_messages;
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text.empty() ? "no message" : text;
}

int decomposition_count(const core::Frame& frame) {
  const int smallest = std::min({frame.width(), frame.height(), frame.plane_width(1), frame.plane_height(1)});
  int levels = 0;
  while (levels < kMaxDecompositions && (2 << levels) <= smallest) ++levels;
  return levels;
}

}  // namespace

std::vector<uint8_t> encode_htj2k(const core::Frame& frame, double quality) {
  route_messages();
  t_messages.clear();
  std::vector<uint8_t> result;
  try {
    ojph::codestream codestream;
    ojph::param_siz siz = codestream.access_siz();
    siz.set_image_extent(ojph::point(static_cast<ojph::ui32>(frame.width()), static_cast<ojph::ui32>(frame.height())));
    siz.set_image_offset(ojph::point(0, 0));
    siz.set_tile_size(ojph::size(static_cast<ojph::ui32>(frame.width()), static_cast<ojph::ui32>(frame.height())));
    siz.set_tile_offset(ojph::point(0, 0));
    siz.set_num_components(3);
    for (ojph::ui32 c = 0; c < 3; ++c) {
      const ojph::ui32 factor = c == 0 ? 1 : 2;
      siz.set_component(c, ojph::point(factor, factor), 8, false);
    }
    ojph::param_cod cod = codestream.access_cod();
    cod.set_num_decomposition(static_cast<ojph::ui32>(decomposition_count(frame)));
    cod.set_block_dims(64, 64);
    cod.set_progression_order("RPCL");
    cod.set_color_transform(false);
    cod.set_reversible(false);
    codestream.access_qcd().set_irrev_quant(static_cast<float>(std::exp2(-quality / 10.0)));
    codestream.set_planar(true);

    ojph::mem_outfile file;
    file.open(std::max<size_t>(65536, static_cast<size_t>(frame.width()) * frame.height() / 4));
    codestream.write_headers(&file);
    int next_row[3] = {0, 0, 0};
    const int total_rows = frame.plane_height(0) + frame.plane_height(1) + frame.plane_height(2);
    ojph::ui32 c = 0;
    ojph::line_buf* line = codestream.exchange(nullptr, c);
    for (int i = 0; i < total_rows; ++i) {
      NS_ASSERT(c < 3 && next_row[c] < frame.plane_height(static_cast<int>(c)));
      const uint8_t* src = frame.row(static_cast<int>(c), next_row[c]++);
      ojph::si32* dst = line->i32;
      const int w = frame.plane_width(static_cast<int>(c));
      for (int x = 0; x < w; ++x) dst[x] = src[x];
      line = codestream.exchange(line, c);
    }
    codestream.flush();
    const ojph::ui8* bytes = file.get_data();
    result.assign(bytes, bytes + file.tell());
    codestream.close();
  } catch (const std::exception&) {
    throw Error(ErrorCode::internal,
                "image codec htj2k: OpenJPH failed to encode (" + last_messages() + "); report this bug");
  }
  return result;
}

void decode_htj2k_openjph(std::span<const uint8_t> data, core::Frame& out) {
  route_messages();
  t_messages.clear();
  // Header checks happen inside the try block; their ns::Error passes through untouched.
  try {
    ojph::codestream codestream;
    ojph::mem_infile file;
    file.open(data.data(), data.size());
    codestream.read_headers(&file);
    ojph::param_siz siz = codestream.access_siz();
    const ojph::ui32 components = siz.get_num_components();
    if (components != 3) throw_unsupported(kName, std::to_string(components) + " components");
    for (ojph::ui32 c = 0; c < 3; ++c) {
      if (siz.get_bit_depth(c) != 8 || siz.is_signed(c)) {
        throw_unsupported(kName, "component " + std::to_string(c) + " has " + std::to_string(siz.get_bit_depth(c)) +
                                     (siz.is_signed(c) ? "-bit signed" : "-bit") + " samples");
      }
    }
    const ojph::point d0 = siz.get_downsampling(0), d1 = siz.get_downsampling(1), d2 = siz.get_downsampling(2);
    const bool luma_full = d0.x == 1 && d0.y == 1;
    const bool is_420 = luma_full && d1.x == 2 && d1.y == 2 && d2.x == 2 && d2.y == 2;
    const bool is_444 = luma_full && d1.x == 1 && d1.y == 1 && d2.x == 1 && d2.y == 1;
    if (!is_420 && !is_444) throw_unsupported(kName, "the components are not sampled 4:2:0 or 4:4:4");
    const ojph::point offset = siz.get_image_offset();
    const ojph::point extent = siz.get_image_extent();
    if (offset.x != 0 || offset.y != 0) throw_unsupported(kName, "the image has a non-zero origin");
    if (!decodable_size(extent.x, extent.y)) {
      throw_unsupported(kName, "the image size " + std::to_string(extent.x) + "x" + std::to_string(extent.y) +
                                   " is empty, wider or taller than 16384, or above 2^28 pixels");
    }
    const int width = static_cast<int>(extent.x);
    const int height = static_cast<int>(extent.y);
    codestream.set_planar(true);
    codestream.create();

    ensure_size(out, width, height);
    std::vector<uint8_t> full;  // 4:4:4 chroma before down-sampling
    if (is_444) full.resize(static_cast<size_t>(width) * height);
    for (int c = 0; c < 3; ++c) {
      const bool to_full = c > 0 && is_444;
      const int w = to_full ? width : out.plane_width(c);
      const int h = to_full ? height : out.plane_height(c);
      NS_ASSERT(siz.get_recon_width(static_cast<ojph::ui32>(c)) == static_cast<ojph::ui32>(w) &&
                siz.get_recon_height(static_cast<ojph::ui32>(c)) == static_cast<ojph::ui32>(h));
      for (int y = 0; y < h; ++y) {
        ojph::ui32 comp = 0;
        const ojph::line_buf* line = codestream.pull(comp);
        if (line == nullptr || comp != static_cast<ojph::ui32>(c)) throw_corrupt(kName, "OpenJPH lost its place");
        const ojph::si32* src = line->i32;
        uint8_t* dst = to_full ? full.data() + static_cast<size_t>(y) * w : out.row(c, y);
        for (int x = 0; x < w; ++x) dst[x] = static_cast<uint8_t>(std::clamp<ojph::si32>(src[x], 0, 255));
      }
      if (to_full) downsample_2x2(full.data(), width, width, height, out.data(c), out.stride(c));
    }
    codestream.close();
  } catch (const Error&) {
    throw;
  } catch (const std::exception&) {
    throw_corrupt(kName, "OpenJPH: " + last_messages());
  }
}

}  // namespace ns::imagecodec::detail
