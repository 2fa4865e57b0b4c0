#!/usr/bin/env bash
# Installs what versus needs to build (and, with --test, to run its whole test suite) from the
# distribution's packages. Debian 12 / Ubuntu 22.04+ via apt; macOS via Homebrew. Idempotent:
# when everything is present it touches nothing.
set -euo pipefail

want_tests=0
for arg in "$@"; do
  case "$arg" in
    --test) want_tests=1 ;;
    -h|--help) echo "usage: scripts/setup.sh [--test]   (--test adds the cross compiler, qemu and clang)"; exit 0 ;;
    *) echo "[setup] unknown option '$arg'. HINT: scripts/setup.sh [--test]" >&2; exit 2 ;;
  esac
done

if [[ "$(uname -s)" == "Darwin" ]]; then
  command -v brew >/dev/null || { echo "[setup] Homebrew is needed on macOS. HINT: https://brew.sh" >&2; exit 2; }
  brew install cmake ninja pkg-config cli11 nlohmann-json fmt hwloc sqlite googletest
  exit 0
fi

pkgs=(build-essential cmake ninja-build pkg-config git
      libopenblas-dev libcli11-dev nlohmann-json3-dev libfmt-dev libcpuinfo-dev libhwloc-dev
      libsqlite3-dev libgtest-dev libgmock-dev
      libjs-chart.js)  # compiled into HTML reports for their charts
if (( want_tests )); then
  # Arm NEON kernels are checked under qemu; clang builds the fuzz targets; SIMDe runs the
  # AVX-512 kernels on CPUs without AVX-512; python3 runs the source rules (scripts/check-source.py).
  pkgs+=(g++-aarch64-linux-gnu qemu-user-static clang libclang-rt-14-dev libsimde-dev python3)
  # Chromium loads the HTML report headless (a Debian package; Ubuntu ships it as a snap only).
  if grep -qs '^ID=debian' /etc/os-release; then pkgs+=(chromium); fi
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} == 0 )); then
  echo "[setup] all ${#pkgs[@]} packages present"
  exit 0
fi
echo "[setup] installing: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "[setup] done"
