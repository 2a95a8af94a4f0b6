// The soak's fixtures: small videos made here (moving gradients and a box), damaged copies, and a stalling source.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <iterator>

#include "ns/core/error.h"
#include "ns/core/frame.h"
#include "ns/eval/soak_impl.h"
#include "ns/media/writer.h"
#include "ns/sr/sr.h"

namespace ns::eval::detail {

namespace {

constexpr int kFrames = 180;  // 3 s at 60 fps

// A gradient that drifts and a bright box that crosses the picture: real motion for the codecs and the selector.
core::Frame moving_frame(int width, int height, int index) {
  core::Frame f(width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) f.row(0, y)[x] = static_cast<uint8_t>(40 + (x * 2 + y + index * 3) % 160);
  }
  const int box_x = (index * 2) % std::max(1, width - 16), box_y = height / 3;
  for (int y = box_y; y < std::min(height, box_y + 12); ++y) {
    for (int x = box_x; x < std::min(width, box_x + 16); ++x) f.row(0, y)[x] = 235;
  }
  for (int p = 1; p < core::kPlaneCount; ++p) {
    for (int y = 0; y < f.plane_height(p); ++y) {
      for (int x = 0; x < f.plane_width(p); ++x) f.row(p, y)[x] = static_cast<uint8_t>(128 + (x + index) % 24 - 12);
    }
  }
  return f;
}

void write_video(const std::string& path, int width, int height, int frames, const media::EncoderSettings& settings,
                 int first_index = 0) {
  media::VideoWriter writer(path, width, height, {60, 1}, settings);
  for (int i = 0; i < frames; ++i) writer.write(moving_frame(width, height, first_index + i));
  writer.finish();
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw Error(ErrorCode::io, "soak: cannot write a fixture; check free space", {.file = path});
}

}  // namespace

SoakFixtures make_soak_fixtures(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  SoakFixtures f;
  auto file = [&](const char* name) { return (dir / name).string(); };
  f.model = file("tiny.safetensors");
  sr::save_model(sr::random_model(sr::ModelDesc{.blocks = 1, .channels = 8, .scale = 3}, 1), f.model);
  f.good = file("good.webm");
  f.good_frames = kFrames;
  write_video(f.good, 96, 54, kFrames, media::EncoderSettings::streamer_vp9(96, 54, 150));
  const std::vector<uint8_t> good = read_bytes(f.good);
  std::vector<uint8_t> corrupt = good;
  for (size_t i = corrupt.size() / 2; i < std::min(corrupt.size(), corrupt.size() / 2 + 2048); ++i) corrupt[i] ^= 0x5a;
  f.corrupt = file("corrupt.webm");
  write_bytes(f.corrupt, corrupt);
  f.truncated = file("truncated.webm");
  write_bytes(f.truncated, {good.begin(), good.begin() + static_cast<ptrdiff_t>(good.size() / 2)});
  f.stall_prefix.assign(good.begin(), good.begin() + static_cast<ptrdiff_t>(good.size() * 2 / 5));
  // An encoder restarting at another size inside one MPEG-TS feed, as a broadcast splicer joins two: the second
  // part continues the first's timestamps, flags its first packets as a discontinuity (so the demuxer accepts the
  // restarted continuity counters) and carries a new SPS, so the decoder meets the size change in-band.
  write_video(file("switch_a.ts"), 96, 54, kFrames / 2, media::EncoderSettings::streamer_h264(96, 54, 150));
  media::EncoderSettings continuing = media::EncoderSettings::streamer_h264(128, 72, 200);
  continuing.muxer_options = {{"output_ts_offset", fmt::format("{}", kFrames / 2 / 60.0)},
                              {"mpegts_flags", "initial_discontinuity"}};
  write_video(file("switch_b.ts"), 128, 72, kFrames / 2, continuing, kFrames / 2);
  std::vector<uint8_t> both = read_bytes(file("switch_a.ts"));
  const std::vector<uint8_t> second = read_bytes(file("switch_b.ts"));
  both.insert(both.end(), second.begin(), second.end());
  f.resolution_switch = file("switch.ts");
  f.frames_before_switch = kFrames / 2;
  write_bytes(f.resolution_switch, both);
  return f;
}

StallingSource::StallingSource(std::vector<uint8_t> prefix) : prefix_(std::move(prefix)) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // not inherited by serve
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 16) != 0 || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    if (listener_ >= 0) ::close(listener_);
    throw Error(ErrorCode::io, "soak: cannot listen on a loopback port for the stalling source");
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

StallingSource::~StallingSource() {
  stopping_ = true;
  thread_.join();
  for (int fd : connections_) ::close(fd);
  ::close(listener_);
}

void StallingSource::serve() {
  while (!stopping_) {
    pollfd wait{listener_, POLLIN, 0};
    if (::poll(&wait, 1, 100) <= 0) continue;
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    size_t sent = 0;
    while (sent < prefix_.size()) {
      const ssize_t n = ::send(fd, prefix_.data() + sent, prefix_.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    connections_.push_back(fd);  // open and silent from now on
  }
}

}  // namespace ns::eval::detail
