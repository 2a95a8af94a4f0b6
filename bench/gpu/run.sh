#!/usr/bin/env bash
# bench/gpu/run.sh: on a GPU machine, in one run: build (or take the prebuilt pack), check correctness
# (tests/sr_cuda_test.cpp first, so a wrong kernel shows at once), time the cuda backend (ns_gpu_bench) and,
# when python3 has torch with CUDA, PyTorch eager and torch.compile on the same network; a table last.
# JSON and logs go to $OUT when set (the device tool returns them), else to the build directory.
#
# Binaries: from $NS_GPU_PACK (default build-cuda/gpu-pack, made here by bench/gpu/pack.sh and carried to
# the GPU machine, whose image lacks FFmpeg, oneDNN and the other libraries the full build needs), else
# built in build-gpu (Release, NS_CUDA=ON, NS_WITH_TORCH=OFF, only the two targets, -j16).
# When ncu is there, one forward pass's convolutions are profiled (ncu.txt) for the next kernel version.
# Environment: NS_TORCH_COMPILE_MODE (max-autotune | default | none), NS_GPU_DEVICE (0).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
pack=${NS_GPU_PACK:-$root/build-cuda/gpu-pack}
out=${OUT:-$root/build-gpu/results}
mkdir -p "$out"
device=${NS_GPU_DEVICE:-0}
start=$(date +%s)
stamp() { echo "== $(($(date +%s) - start)) s: $*"; }

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv >"$out/gpu.txt" 2>&1
cat "$out/gpu.txt"

if [[ -x "$pack/bin/sr_cuda_test" && -x "$pack/bin/ns_gpu_bench" ]]; then
  stamp "prebuilt binaries from $pack"
  bin=$pack/bin
  libs=$pack/lib  # for our two programs only: python3 and torch keep the machine's libraries
else
  stamp "building in build-gpu"
  cmake -S "$root" -B "$root/build-gpu" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNS_CUDA=ON -DNS_WITH_TORCH=OFF \
    -DNS_BUILD_BENCH=OFF >"$out/configure.log" 2>&1 &&
    cmake --build "$root/build-gpu" -j16 --target sr_cuda_test ns_gpu_bench >"$out/build.log" 2>&1 || {
    tail -30 "$out/configure.log" "$out/build.log" 2>/dev/null
    echo "bench/gpu/run.sh: the build failed (logs in $out); make the pack with bench/gpu/pack.sh and carry it"
    exit 1
  }
  bin=$root/build-gpu
  libs=
  [[ -x $bin/sr_cuda_test ]] || bin=$root/build-gpu/tests
  [[ -x $bin/ns_gpu_bench ]] || cp "$root/build-gpu/bench/gpu/ns_gpu_bench" "$bin/"
fi

stamp "correctness: sr_cuda_test"
export NS_MODELS_DIR=$root/models
LD_LIBRARY_PATH=$libs timeout 150 "$bin/sr_cuda_test" --gtest_brief=1 2>&1 | tee "$out/tests.log"
tests_ok=${PIPESTATUS[0]}
if grep -q "no CUDA device" "$out/tests.log"; then
  echo "!! sr_cuda_test saw no CUDA device: nothing was checked on a GPU"
  tests_ok=1
fi
[[ $tests_ok == 0 ]] || echo "!! sr_cuda_test FAILED (exit $tests_ok): the timings below are of a wrong network"

stamp "timing: ns_gpu_bench"
LD_LIBRARY_PATH=$libs timeout 150 "$bin/ns_gpu_bench" --device "$device" --json "$out/ns_cuda.json" 2>&1 |
  tee "$out/ns_cuda.log"

if command -v ncu >/dev/null; then
  stamp "profile: ncu, one forward of EDSR 8x32 batch 1 (every convolution once)"
  LD_LIBRARY_PATH=$libs timeout 150 ncu -k regex:conv3x3 --launch-count 20 --section SpeedOfLight \
    --section Occupancy --section LaunchStats "$bin/ns_gpu_bench" --device "$device" --channels 32 --batch 1 \
    --reps 1 --frames 1 >"$out/ncu.txt" 2>&1
  grep -E "conv3x3|Duration|Compute \(SM\) Throughput|Memory Throughput|Achieved Occupancy" "$out/ncu.txt" | head -60
fi

if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  stamp "timing: PyTorch (compile mode ${NS_TORCH_COMPILE_MODE:-max-autotune})"
  CUDA_VISIBLE_DEVICES=$device PYTHONUNBUFFERED=1 timeout 240 python3 "$root/bench/gpu/torch_baseline.py" \
    --json "$out/torch.json" --compile-mode "${NS_TORCH_COMPILE_MODE:-max-autotune}" 2>&1 | tee "$out/torch.log"
else
  stamp "no python3 with CUDA torch: PyTorch baselines skipped"
fi

stamp "summary (frames/s, median of 5 runs [min-max]; 1280x720 -> 3840x2160)"
python3 - "$out" <<'PY' || cat "$out/ns_cuda.log"
import json, os, sys
rows = []
for name in ("ns_cuda.json", "torch.json"):
    path = os.path.join(sys.argv[1], name)
    if os.path.exists(path):
        data = json.load(open(path))
        rows += [dict(r, device=data["device"]) for r in data["runs"]]
print(f"{'implementation':30s} {'model':16s} {'mode':10s} {'batch':>5s} {'fps':>8s}  spread")
for r in sorted(rows, key=lambda r: (r["model"], r["batch"], r["implementation"], r["mode"])):
    print(f"{r['implementation']:30s} {r['model']:16s} {r['mode']:10s} {r['batch']:5d} {r['fps_median']:8.1f}"
          f"  [{min(r['fps_runs']):.1f}-{max(r['fps_runs']):.1f}]")
if rows:
    print("device:", rows[0]["device"])
PY
stamp "done; tests exit $tests_ok"
exit "$tests_ok"
