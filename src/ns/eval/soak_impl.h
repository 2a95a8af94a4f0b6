// Inside the soak: its fixtures (small generated videos, good and bad, and a tiny model) and a live source that stalls.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace ns::eval::detail {

struct SoakFixtures {
  std::string model;              // a tiny random EDSR x3 (the soak tests survival, not quality)
  std::string good;               // VP9 .webm, 96x54 at 60 fps
  int64_t good_frames = 0;
  std::string corrupt;            // the good file with a run of bytes flipped in the middle
  std::string truncated;          // the good file's first half
  std::string resolution_switch;  // MPEG-TS, H.264: 96x54, then in-band 128x72 (a spliced feed)
  int64_t frames_before_switch = 0;
  std::vector<uint8_t> stall_prefix;  // the first 40 % of the good file, for StallingSource
};
SoakFixtures make_soak_fixtures(const std::filesystem::path& dir);

// A live source on a loopback TCP port: every connection gets `prefix`, then nothing more (kept open) until the
// source is destroyed: a streamer whose uplink died without closing the connection.
class StallingSource {
 public:
  explicit StallingSource(std::vector<uint8_t> prefix);
  ~StallingSource();
  StallingSource(const StallingSource&) = delete;
  StallingSource& operator=(const StallingSource&) = delete;
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

 private:
  void serve();
  std::vector<uint8_t> prefix_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::vector<int> connections_;
  std::thread thread_;
};

}  // namespace ns::eval::detail
