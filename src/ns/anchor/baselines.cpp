// Baseline anchor choices (reference §3.5, §3.6c): every frame, k evenly spaced frames, key frames only.
#include <algorithm>

#include "ns/anchor/anchor.h"

namespace ns::anchor {

std::vector<int> uniform_offsets(int n, int k) {
  std::vector<int> out;
  k = std::min(k, n);
  if (k <= 0) return out;
  out.reserve(k);
  for (int i = 0; i < k; ++i) {
    // floor(i * n / k): strictly increasing for k <= n, first at 0, spread over the whole epoch.
    out.push_back(static_cast<int>(static_cast<int64_t>(i) * n / k));
  }
  return out;
}

std::vector<int> keyframe_offsets(std::span<const Unit> units) {
  std::vector<int> out;
  for (size_t i = 0; i < units.size(); ++i) {
    if (units[i].cls == UnitClass::key) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::vector<int> perframe_offsets(int n) {
  std::vector<int> out(std::max(n, 0));
  for (int i = 0; i < n; ++i) out[i] = i;
  return out;
}

}  // namespace ns::anchor
