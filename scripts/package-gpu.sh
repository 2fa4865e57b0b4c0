#!/usr/bin/env bash
# package-gpu: versus built here, packed to run on a GPU machine that cannot build it (the NVIDIA driver and
# cuBLAS, from the CUDA toolkit or PyTorch's pip wheels, but none of the Debian libraries versus links).
# docs/cuda.md, "Running a build on a machine that cannot build it".
#
#   scripts/package-gpu.sh [BUILD_DIR]
#
# BUILD_DIR: a build with the CUDA plugin to pack (default: configures and builds build/gpu, the release
# preset with the plugin for $VERSUS_GPU_ARCHS, default 90). Writes build/gpu-package/ (git-ignored):
#   bin/  versus, versus_tests, libversus-cuda.so, libversus-cuda-impl.so, stripped
#   lib/  the shared libraries they load (ldd) but the C library's and CUDA's own, stripped
#   run.sh  runs a command with lib/, the toolkit's and Python's nvidia/*/lib folders on LD_LIBRARY_PATH
# and checks that it stays under 64 MiB. On the GPU machine: build/gpu-package/run.sh bench/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

LIMIT_MIB=64
build=${1:-}
if [[ -z $build ]]; then
  build=build/gpu
  cmake --preset release -B "$build" -DVERSUS_CUDA=ON -DVERSUS_CUDA_ARCHITECTURES="${VERSUS_GPU_ARCHS:-90}" >/dev/null
  cmake --build "$build" -j "$(nproc)" --target versus versus-cuda versus_tests
fi
for f in versus libversus-cuda.so libversus-cuda-impl.so tests/versus_tests; do
  [[ -f $build/$f ]] || { echo "package-gpu: $build/$f is missing. HINT: a build with the CUDA plugin (VERSUS_CUDA=ON)" >&2; exit 2; }
done

pkg=build/gpu-package
rm -rf "$pkg"
mkdir -p "$pkg/bin" "$pkg/lib"
cp "$build/versus" "$build/libversus-cuda.so" "$build/libversus-cuda-impl.so" "$build/tests/versus_tests" "$pkg/bin/"

# Libraries from ldd, but those every Linux has in its C library (glibc), those of the driver and CUDA, which
# must be the GPU machine's own, and the dynamic loader.
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libresolv|libcuda\.|libcudart|libcublas|libnvidia-ml|libnccl)'
for bin in "$pkg"/bin/*; do
  ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
  [[ $name =~ $skip ]] && continue
  cp -L "$path" "$pkg/lib/$name"
done
chmod u+w "$pkg"/bin/* "$pkg"/lib/*
strip --strip-unneeded "$pkg"/bin/* "$pkg"/lib/*

cat >"$pkg/run.sh" <<'EOF'
#!/usr/bin/env bash
# run.sh COMMAND...: a command of this package (bench/gpu-check.sh, bin/versus probe, bin/versus_tests ...) with
# its libraries, then CUDA's from the toolkit and from Python's nvidia packages (PyTorch's wheels), on
# LD_LIBRARY_PATH; run from the repository root (bench/gpu-check.sh there) or from anywhere with a path.
here=$(cd "$(dirname "$0")" && pwd)
export VERSUS_HOST_LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}
cuda_dirs=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda/lib; do
  [[ -d $d ]] && cuda_dirs+=":$d"
done
if command -v python3 >/dev/null; then
  for d in $(python3 -c 'import site, sys; print(" ".join(site.getsitepackages() + [site.getusersitepackages()] + sys.path))' 2>/dev/null); do
    for lib in "$d"/nvidia/*/lib; do [[ -d $lib ]] && cuda_dirs+=":$lib"; done
  done
fi
export LD_LIBRARY_PATH="$here/lib$cuda_dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export VERSUS_TEST_BIN_DIR="$here/bin" VERSUS_PLUGIN_DIR="$here/bin" PATH="$here/bin:$PATH"
cublas=$(ldd "$here/bin/libversus-cuda-impl.so" 2>/dev/null | awk '/libcublasLt/ {print $3}')
echo "run.sh: libcublasLt: ${cublas:-not found (the CUDA plugin will say so)}" >&2
exec "$@"
EOF
chmod +x "$pkg/run.sh"

size_kib=$(du -sk "$pkg" | cut -f1)
echo "package-gpu: $pkg, $((size_kib / 1024)) MiB ($size_kib KiB):"
(cd "$pkg" && du -k bin/* lib/* | sort -rn | awk '{printf "  %6d KiB  %s\n", $1, $2}')
if (( size_kib > LIMIT_MIB * 1024 )); then
  echo "package-gpu: over $LIMIT_MIB MiB. HINT: leave out what the GPU machine has (its own libraries in the skip list)" >&2
  exit 1
fi
