// ns/engine: the bytes of remote SR (docs/scale-out.md): an anchor job as `serve` publishes it to the JetStream work
// queue, its result as an SR worker sends it back, in chunks that fit the NATS server's max_payload, and the notice
// that makes workers prepare a stream's model ahead of its first anchor.
// A message is "NSJ1" (job) or "NSR1" (result chunk), the length of a JSON header (u32, little endian), the header,
// then picture bytes: a job carries the whole LR picture, a result chunk a slice of the HR picture (I420, planes
// packed without padding, Y then U then V).
// In: frames and headers. Out: message bytes, and parsed messages that are checked against every size they claim.
// Thread-safety: pure functions. Errors: ns::Error corrupt (a message that is not what it claims), invalid_argument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ns/core/frame.h"

namespace ns::engine {

// The largest picture side a message may claim (a corrupt header must not make us allocate gigabytes).
inline constexpr int kMaxRemoteSide = 16384;

// Now as Unix time in milliseconds, the unit of SrJobHeader::deadline_ms (comparable across machines).
int64_t unix_now_ms();

struct SrJobHeader {
  std::string job;        // unique among the publisher's jobs: "<instance>.<sequence>"
  std::string reply;      // the subject the result goes to
  std::string stream;     // the stream's name (logs)
  std::string model;      // the model's content hash (model_hash): its key in the model bucket
  std::string precision;  // auto, fp32, bf16 or fp16: resolved by the worker's backend as in-process SR does
  int64_t deadline_ms = 0;  // Unix time (ms) after which the result is useless: the worker drops the job
  int width = 0;            // the LR picture
  int height = 0;
  int64_t pts = 0;
};

struct SrJob {
  SrJobHeader header;
  core::Frame lr;
};

struct SrResultHeader {
  std::string job;
  std::string worker;   // who super-resolved it (logs, tests)
  std::string error;    // non-empty: the worker could not super-resolve it (e.g. the model is missing or broken)
  int width = 0;        // the HR picture
  int height = 0;
  int64_t pts = 0;
  int chunk = 0;        // this chunk's index, 0 .. chunks - 1
  int chunks = 1;
  int64_t offset = 0;   // where this chunk's bytes go in the packed picture
  double sr_ms = 0;     // inference time of the batch the job was in
};

struct SrResultChunk {
  SrResultHeader header;
  std::span<const uint8_t> bytes;  // in the message it was decoded from: valid while that message is
};

// A stream's model about to be used at an LR size: every worker prepares it before the stream's first anchor
// (published on the prepare subject to all workers at once; JSON).
struct SrPrepare {
  std::string model;
  std::string precision;
  int width = 0;
  int height = 0;
};
std::vector<uint8_t> encode_prepare(const SrPrepare& prepare);
SrPrepare decode_prepare(std::span<const uint8_t> message);  // ns::Error corrupt

// Bytes of an I420 picture packed without padding.
int64_t packed_size(int width, int height);
std::vector<uint8_t> pack_frame(const core::Frame& frame);
// ns::Error corrupt when bytes.size() != packed_size(width, height).
core::Frame unpack_frame(std::span<const uint8_t> bytes, int width, int height, int64_t pts);

std::vector<uint8_t> encode_job(const SrJobHeader& header, const core::Frame& lr);
SrJob decode_job(std::span<const uint8_t> message);  // ns::Error corrupt

// The HR picture (or an error, without picture) as chunks of at most max_message_bytes each (headers included).
std::vector<std::vector<uint8_t>> encode_result(const SrResultHeader& header, const core::Frame* hr,
                                                size_t max_message_bytes);
SrResultChunk decode_result(std::span<const uint8_t> message);  // ns::Error corrupt; chunk.bytes point into message

// Collects the chunks of one result. add() returns true when the picture is complete; chunks that repeat one already
// held (a result sent twice) and chunks of another worker than the first chunk's (a job done twice) are ignored;
// chunks that contradict the first are ns::Error corrupt.
class ResultAssembly {
 public:
  bool add(const SrResultChunk& chunk);
  const SrResultHeader& header() const { return header_; }
  core::Frame frame() const;  // the complete HR picture

 private:
  SrResultHeader header_;
  std::vector<uint8_t> picture_;
  std::vector<bool> received_;
  int missing_ = 0;
};

}  // namespace ns::engine
