// Offline driver: the scheduler run epoch by epoch over whole probed streams (epochs cut in decode order).
#include <algorithm>

#include "ns/anchor/anchor.h"
#include "ns/core/error.h"

namespace ns::anchor {

std::vector<EpochResult> select_offline(const SchedulerConfig& config, std::span<const StreamSpec> specs,
                                        std::span<const std::vector<media::CodedFrame>> streams) {
  if (specs.size() != streams.size()) {
    throw Error(ErrorCode::mismatch, "select: " + std::to_string(specs.size()) + " stream specs for " +
                                         std::to_string(streams.size()) + " streams; pass one spec per stream");
  }
  Scheduler scheduler(config);
  std::vector<int> ids;
  for (const StreamSpec& spec : specs) ids.push_back(scheduler.add_stream(spec));
  std::vector<size_t> cursor(streams.size(), 0);
  std::vector<EpochResult> epochs;
  for (;;) {
    bool any = false;
    for (size_t s = 0; s < streams.size(); ++s) {
      if (!scheduler.has_stream(ids[s])) continue;
      const auto& frames = streams[s];
      int shown = 0;
      while (cursor[s] < frames.size() && shown < config.epoch_frames) {
        const media::CodedFrame& f = frames[cursor[s]++];
        scheduler.push(ids[s], f);
        if (f.shown) ++shown;
      }
      if (shown > 0) any = true;
    }
    if (!any) break;
    epochs.push_back(scheduler.run_epoch());
    for (size_t s = 0; s < streams.size(); ++s) {
      if (scheduler.has_stream(ids[s]) && cursor[s] >= streams[s].size()) scheduler.remove_stream(ids[s]);
    }
  }
  return epochs;
}

}  // namespace ns::anchor
