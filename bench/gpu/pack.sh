#!/usr/bin/env bash
# bench/gpu/pack.sh [BUILD_DIR]: builds sr_cuda_test and ns_gpu_bench here (BUILD_DIR, default build-cuda,
# configured with NS_CUDA=ON) and gathers them with the shared libraries they load into BUILD_DIR/gpu-pack,
# for a GPU machine whose image lacks the project's libraries: carry that folder (the device tool's carry:
# build-cuda/gpu-pack) and bench/gpu/run.sh uses it. Left out: glibc and the C++ runtime (the GPU machine
# has newer ones); the CUDA runtime is linked statically, so its driver is all the binaries need of CUDA.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-cuda}
cmake --build "$build" -j2 --target sr_cuda_test ns_gpu_bench
pack=$build/gpu-pack
rm -rf "$pack"
mkdir -p "$pack/bin" "$pack/lib"
cp "$build/tests/sr_cuda_test" "$build/bench/gpu/ns_gpu_bench" "$pack/bin/"
system_libs='/(libc|libm|libpthread|libdl|librt|libresolv|libstdc\+\+|libgcc_s)\.so|/ld-linux'
for exe in "$pack"/bin/*; do
  ldd "$exe" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'
done | sort -u | grep -vE "$system_libs" | while read -r lib; do
  cp -L "$lib" "$pack/lib/"
done
du -sh "$pack" "$pack"/lib/* | sort -h | tail -8
