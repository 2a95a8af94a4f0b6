// The remote SR messages: a magic, a JSON header and packed I420 bytes; every claim of a header is checked.
#include "ns/engine/remote_wire.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <nlohmann/json.hpp>

#include "ns/core/error.h"

namespace ns::engine {

namespace {

using nlohmann::json;

constexpr char kJobMagic[4] = {'N', 'S', 'J', '1'};
constexpr char kResultMagic[4] = {'N', 'S', 'R', '1'};
constexpr size_t kPrefixBytes = 8;            // magic + header length
constexpr size_t kMaxHeaderBytes = 64 * 1024;  // headers are a few hundred bytes

[[noreturn]] void corrupt(const std::string& what) {
  throw Error(ErrorCode::corrupt, "remote SR message: " + what + "; a peer runs another version or the bytes were damaged");
}

std::vector<uint8_t> frame_message(const char (&magic)[4], const json& header, size_t payload_bytes) {
  const std::string text = header.dump();
  std::vector<uint8_t> out(kPrefixBytes + text.size() + payload_bytes);
  std::memcpy(out.data(), magic, 4);
  const auto length = static_cast<uint32_t>(text.size());
  for (int i = 0; i < 4; ++i) out[4 + static_cast<size_t>(i)] = static_cast<uint8_t>(length >> (8 * i));
  std::memcpy(out.data() + kPrefixBytes, text.data(), text.size());
  return out;
}

// The header and the bytes after it.
std::pair<json, std::span<const uint8_t>> split_message(std::span<const uint8_t> message, const char (&magic)[4]) {
  if (message.size() < kPrefixBytes || std::memcmp(message.data(), magic, 4) != 0) {
    corrupt(std::string("expected a message starting with \"") + std::string(magic, 4) + "\"");
  }
  uint32_t length = 0;
  for (int i = 0; i < 4; ++i) length |= static_cast<uint32_t>(message[4 + static_cast<size_t>(i)]) << (8 * i);
  if (length > kMaxHeaderBytes || length > message.size() - kPrefixBytes) corrupt("header length out of range");
  json header = json::parse(message.begin() + kPrefixBytes, message.begin() + kPrefixBytes + length, nullptr, false);
  if (!header.is_object()) corrupt("the header is not a JSON object");
  return {std::move(header), message.subspan(kPrefixBytes + length)};
}

template <typename T>
T field(const json& header, const char* key) {
  const auto it = header.find(key);
  if (it == header.end()) corrupt(std::string("the header lacks \"") + key + "\"");
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    corrupt(std::string("\"") + key + "\" has the wrong type");
  }
}

void check_size(int width, int height, const char* what) {
  if (width < 1 || height < 1 || width > kMaxRemoteSide || height > kMaxRemoteSide) {
    corrupt(std::string(what) + " size out of range (" + std::to_string(width) + "x" + std::to_string(height) + ")");
  }
}

// The picture's planes, packed, at `to` (packed_size bytes).
void pack_into(const core::Frame& frame, uint8_t* to) {
  for (int p = 0; p < core::kPlaneCount; ++p) {
    const auto row_bytes = static_cast<size_t>(frame.plane_width(p));
    for (int y = 0; y < frame.plane_height(p); ++y, to += row_bytes) std::memcpy(to, frame.row(p, y), row_bytes);
  }
}

}  // namespace

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<uint8_t> encode_prepare(const SrPrepare& p) {
  const std::string text =
      json{{"model", p.model}, {"precision", p.precision}, {"width", p.width}, {"height", p.height}}.dump();
  return {text.begin(), text.end()};
}

SrPrepare decode_prepare(std::span<const uint8_t> message) {
  if (message.size() > kMaxHeaderBytes) corrupt("prepare notice too long");
  const json header = json::parse(message.begin(), message.end(), nullptr, false);
  if (!header.is_object()) corrupt("the prepare notice is not a JSON object");
  SrPrepare p{.model = field<std::string>(header, "model"),
              .precision = field<std::string>(header, "precision"),
              .width = field<int>(header, "width"),
              .height = field<int>(header, "height")};
  if (p.model.empty()) corrupt("empty model");
  check_size(p.width, p.height, "prepare");
  return p;
}

int64_t packed_size(int width, int height) {
  const int64_t chroma = static_cast<int64_t>((width + 1) / 2) * ((height + 1) / 2);
  return static_cast<int64_t>(width) * height + 2 * chroma;
}

std::vector<uint8_t> pack_frame(const core::Frame& frame) {
  std::vector<uint8_t> out(static_cast<size_t>(packed_size(frame.width(), frame.height())));
  pack_into(frame, out.data());
  return out;
}

core::Frame unpack_frame(std::span<const uint8_t> bytes, int width, int height, int64_t pts) {
  check_size(width, height, "picture");
  if (static_cast<int64_t>(bytes.size()) != packed_size(width, height)) {
    corrupt("the picture has " + std::to_string(bytes.size()) + " bytes, its header claims " +
            std::to_string(width) + "x" + std::to_string(height));
  }
  core::Frame frame(width, height);
  frame.pts = pts;
  const uint8_t* from = bytes.data();
  for (int p = 0; p < core::kPlaneCount; ++p) {
    const auto row_bytes = static_cast<size_t>(frame.plane_width(p));
    for (int y = 0; y < frame.plane_height(p); ++y, from += row_bytes) std::memcpy(frame.row(p, y), from, row_bytes);
  }
  return frame;
}

std::vector<uint8_t> encode_job(const SrJobHeader& h, const core::Frame& lr) {
  const json header = {{"job", h.job},     {"reply", h.reply},         {"stream", h.stream},
                       {"model", h.model}, {"precision", h.precision}, {"deadline_ms", h.deadline_ms},
                       {"width", lr.width()}, {"height", lr.height()}, {"pts", lr.pts}};
  const auto picture = static_cast<size_t>(packed_size(lr.width(), lr.height()));
  std::vector<uint8_t> out = frame_message(kJobMagic, header, picture);
  pack_into(lr, out.data() + out.size() - picture);  // straight into the message: no second copy
  return out;
}

SrJob decode_job(std::span<const uint8_t> message) {
  const auto [header, picture] = split_message(message, kJobMagic);
  SrJob job;
  SrJobHeader& h = job.header;
  h.job = field<std::string>(header, "job");
  h.reply = field<std::string>(header, "reply");
  h.stream = field<std::string>(header, "stream");
  h.model = field<std::string>(header, "model");
  h.precision = field<std::string>(header, "precision");
  h.deadline_ms = field<int64_t>(header, "deadline_ms");
  h.width = field<int>(header, "width");
  h.height = field<int>(header, "height");
  h.pts = field<int64_t>(header, "pts");
  if (h.job.empty() || h.reply.empty() || h.model.empty()) corrupt("empty job, reply or model");
  job.lr = unpack_frame(picture, h.width, h.height, h.pts);
  return job;
}

std::vector<std::vector<uint8_t>> encode_result(const SrResultHeader& h, const core::Frame* hr,
                                                size_t max_message_bytes) {
  auto header_of = [&](int chunk, int chunks, int64_t offset) {
    return json{{"job", h.job},       {"worker", h.worker}, {"error", h.error},   {"width", hr ? hr->width() : 0},
                {"height", hr ? hr->height() : 0}, {"pts", hr ? hr->pts : h.pts}, {"chunk", chunk},
                {"chunks", chunks},   {"offset", offset},   {"sr_ms", h.sr_ms}};
  };
  if (!hr) return {frame_message(kResultMagic, header_of(0, 1, 0), 0)};
  const std::vector<uint8_t> picture = pack_frame(*hr);
  // Room for the header: its size does not depend on the chunk numbers by more than a few digits.
  const size_t header_room = frame_message(kResultMagic, header_of(999999, 999999, 1LL << 40), 0).size();
  if (max_message_bytes < header_room + 1024) {
    throw Error(ErrorCode::invalid_argument, "remote SR: messages of " + std::to_string(max_message_bytes) +
                                                 " bytes are too small for a result; raise the NATS server's max_payload");
  }
  const size_t slice = max_message_bytes - header_room;
  const int chunks = static_cast<int>((picture.size() + slice - 1) / slice);
  std::vector<std::vector<uint8_t>> out;
  for (int i = 0; i < chunks; ++i) {
    const size_t begin = static_cast<size_t>(i) * slice;
    const size_t size = std::min(slice, picture.size() - begin);
    std::vector<uint8_t> message = frame_message(kResultMagic, header_of(i, chunks, static_cast<int64_t>(begin)), size);
    std::copy_n(picture.begin() + static_cast<ptrdiff_t>(begin), size, message.end() - static_cast<ptrdiff_t>(size));
    out.push_back(std::move(message));
  }
  return out;
}

SrResultChunk decode_result(std::span<const uint8_t> message) {
  const auto [header, bytes] = split_message(message, kResultMagic);
  SrResultChunk chunk;
  SrResultHeader& h = chunk.header;
  h.job = field<std::string>(header, "job");
  h.worker = field<std::string>(header, "worker");
  h.error = field<std::string>(header, "error");
  h.width = field<int>(header, "width");
  h.height = field<int>(header, "height");
  h.pts = field<int64_t>(header, "pts");
  h.chunk = field<int>(header, "chunk");
  h.chunks = field<int>(header, "chunks");
  h.offset = field<int64_t>(header, "offset");
  h.sr_ms = field<double>(header, "sr_ms");
  if (h.job.empty()) corrupt("empty job");
  if (h.chunks < 1 || h.chunk < 0 || h.chunk >= h.chunks) corrupt("chunk index out of range");
  if (!h.error.empty()) {
    if (h.chunks != 1 || !bytes.empty()) corrupt("an error result carries a picture");
    return chunk;
  }
  check_size(h.width, h.height, "result");
  const int64_t total = packed_size(h.width, h.height);
  if (h.chunks > total || h.offset < 0 || h.offset > total ||
      static_cast<int64_t>(bytes.size()) > total - h.offset || bytes.empty()) {
    corrupt("chunk bytes out of the picture's range");
  }
  chunk.bytes = bytes;
  return chunk;
}

bool ResultAssembly::add(const SrResultChunk& chunk) {
  const SrResultHeader& h = chunk.header;
  if (received_.empty()) {  // the first chunk fixes the picture
    header_ = h;
    if (!h.error.empty()) return true;
    picture_.assign(static_cast<size_t>(packed_size(h.width, h.height)), 0);
    received_.assign(static_cast<size_t>(h.chunks), false);
    missing_ = h.chunks;
  } else if (h.worker != header_.worker) {
    return false;  // another worker's result of the same job (a redelivery): its pixels may differ; the first wins
  } else if (h.job != header_.job || h.width != header_.width || h.height != header_.height ||
             h.chunks != header_.chunks || !h.error.empty()) {
    corrupt("chunks of job " + header_.job + " disagree");
  }
  const auto index = static_cast<size_t>(h.chunk);
  if (!received_[index]) {
    std::copy(chunk.bytes.begin(), chunk.bytes.end(), picture_.begin() + h.offset);
    received_[index] = true;
    --missing_;
  }
  return missing_ == 0;
}

core::Frame ResultAssembly::frame() const {
  NS_ASSERT(missing_ == 0 && header_.error.empty());
  return unpack_frame(picture_, header_.width, header_.height, header_.pts);
}

}  // namespace ns::engine
