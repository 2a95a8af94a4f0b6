#!/usr/bin/env python3
"""PyTorch baselines for bench/gpu/run.sh: the same EDSR (reference §5.1) with random weights, fp16,
channels-last, 1280x720 -> 3840x2160, batch 1 and 8, timed in eager mode and with torch.compile.
Times the network on device tensors (no host copies), like ns_gpu_bench's "network" mode.
Usage: torch_baseline.py [--json FILE] [--compile-mode max-autotune|default|none] [--reps 5] [--frames 32]"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


class ResBlock(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(f, f, 3, padding=1), nn.ReLU(True), nn.Conv2d(f, f, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


class Edsr(nn.Module):
    def __init__(self, blocks, f, scale=3):
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(3, f, 3, padding=1))
        self.body = nn.Sequential(*[ResBlock(f) for _ in range(blocks)], nn.Conv2d(f, f, 3, padding=1))
        up = nn.Sequential(nn.Conv2d(f, scale * scale * f, 3, padding=1), nn.PixelShuffle(scale), nn.ReLU(True))
        self.tail = nn.Sequential(up, nn.Conv2d(f, 3, 3, padding=1))

    def forward(self, x):
        x = self.head(x)
        return self.tail(self.body(x) + x)


def time_fps(fn, x, batch, calls, reps):
    for _ in range(3):
        fn(x)
    torch.cuda.synchronize()
    runs = []
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(calls):
            fn(x)
        torch.cuda.synchronize()
        runs.append(calls * batch / (time.perf_counter() - start))
    return runs


def save(path, results):
    if path:
        with open(path, "w") as out:
            json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__,
                       "input": "1280x720 RGB fp16 -> 3840x2160", "runs": results}, out, indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--compile-mode", default="max-autotune")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--frames", type=int, default=32)
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    models = {f: Edsr(8, f).cuda().half().eval().to(memory_format=torch.channels_last) for f in (16, 32)}
    # Eager first, then compiled (slow to build: autotuning), F = 32 first; the JSON is rewritten after
    # each row so that a time limit keeps what was measured.
    jobs = [("torch-eager", f, batch) for f in (16, 32) for batch in (1, 8)]
    if args.compile_mode != "none":
        compiled = {f: torch.compile(m, mode=args.compile_mode) for f, m in models.items()}
        jobs += [(f"torch-compile-{args.compile_mode}", f, batch) for f in (32, 16) for batch in (1, 8)]
    results = []
    for name, f, batch in jobs:
        fn = models[f] if name == "torch-eager" else compiled[f]
        x = torch.rand(batch, 3, 720, 1280, device="cuda", dtype=torch.half).to(memory_format=torch.channels_last)
        with torch.inference_mode():
            start = time.perf_counter()
            fn(x)  # compiles on the first call of each shape
            torch.cuda.synchronize()
            first_call_s = time.perf_counter() - start
            runs = time_fps(fn, x, batch, max(1, args.frames // batch), args.reps)
        row = {"implementation": name, "model": f"EDSR_B8_F{f}_S3", "batch": batch, "mode": "network",
               "fps_median": statistics.median(runs), "fps_runs": runs, "first_call_s": first_call_s}
        results.append(row)
        save(args.json, results)
        print(f"{name:28s} {row['model']:16s} {batch:5d} {row['fps_median']:10.1f} "
              f"{min(runs):10.1f} {max(runs):10.1f}  (first call {first_call_s:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
