// Fuzz target for the bitstream probe (ns/media/probe*): NS_FUZZ_CODEC "vp9" (superframe index, uncompressed
// header) or "h264" (avcC extradata, Annex B / length-prefixed NAL units, SPS, PPS, slice headers, POC).
// Input: [u16 length, extradata] (H.264 only: an avcC record switches the probe to length-prefixed packets), then
// packets as [u16 length, bytes] until the input ends. One probe sees every packet, as for a real stream, so the
// state carried between packets (reference frame sizes, parameter sets, POC) is fuzzed too. Checks probe.h's
// promises: a failed packet appends nothing; a packet's frames share out exactly its bytes.
#include <vector>

#include "fuzz_common.h"
#include "ns/core/error.h"
#include "ns/media/probe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ns::fuzz::Input input(data, size);
  ns::media::StreamInfo stream;
  stream.url = "fuzz";
  stream.codec = NS_FUZZ_CODEC;
  if (stream.codec == "h264") {
    const auto extradata = input.take_sized();
    stream.extradata.assign(extradata.begin(), extradata.end());
  }
  std::vector<ns::media::CodedFrame> frames;
  try {
    ns::media::BitstreamProbe probe(stream);
    for (int64_t index = 0; !input.empty(); ++index) {
      const auto bytes = input.take_sized();
      ns::media::Packet packet;
      packet.data.assign(bytes.begin(), bytes.end());
      packet.pts = packet.dts = packet.index = index;
      const size_t first = frames.size();
      try {
        probe.probe(packet, frames);  // a corrupt packet fails alone; the stream goes on
      } catch (const ns::Error&) {
        NS_ASSERT(frames.size() == first);  // probe.h: on failure nothing is appended
        continue;
      }
      // probe.h: every byte of a packet belongs to exactly one of its frames.
      uint64_t bytes_of_frames = 0;
      for (size_t i = first; i < frames.size(); ++i) bytes_of_frames += frames[i].bytes;
      NS_ASSERT(frames.size() == first || bytes_of_frames == packet.data.size());
    }
  } catch (const ns::Error&) {  // the extradata
  }
  return 0;
}
