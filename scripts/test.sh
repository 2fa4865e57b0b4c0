#!/usr/bin/env bash
# The whole test suite: a release build of everything (the CUDA plugin for one architecture) with every
# test, an ASan+UBSan build with every test but the external ones (llama.cpp, Chromium), the Arm kernels
# built with the cross compiler and run under qemu-aarch64, and the parsers' fuzzers for a bounded time.
# Prints each stage's wall time and the slowest tests, then one line "N passed, N failed, N skipped".
#
#   VERSUS_TEST_PRESETS="test asan arm64 fuzz"  the stages to run (macOS: "test asan")
#   VERSUS_TEST_CUDA_ARCH=90                   the one CUDA architecture of the test build's plugin
set -uo pipefail
cd "$(dirname "$0")/.."

declare -a stage_names=() stage_secs=() stage_cpu=()
# CPU seconds used by the finished children of this shell (user + system, /proc/PID/stat fields 16-17):
# on a shared machine wall time swings, CPU time much less.
child_cpu() {
    local f
    read -ra f </proc/$$/stat 2>/dev/null || { echo 0; return; }
    echo $(( (f[15] + f[16]) / $(getconf CLK_TCK) ))
}
timed() {  # timed NAME COMMAND...: runs the command, records its wall and CPU time under NAME
    local name=$1 t0=$SECONDS c0 rc
    c0=$(child_cpu)
    shift
    "$@"
    rc=$?
    stage_names+=("$name")
    stage_secs+=($((SECONDS - t0)))
    stage_cpu+=($(( $(child_cpu) - c0 )))
    return $rc
}

install_references() {
    # llama.cpp as the reference for the GGUF compatibility test; without npm that test is skipped.
    if command -v npm >/dev/null && [[ ! -d bench/node_modules/node-llama-cpp ]]; then
        (cd bench && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true timeout 600 npm install --no-audit --no-fund --loglevel=error) ||
            echo "node-llama-cpp not installed: the llama.cpp parity test will be skipped"
    fi
    return 0
}

jobs=$(nproc 2>/dev/null || echo 2)
passed=0; failed=0; skipped=0; status=0
timings=$(mktemp)  # "seconds preset test" per test, for the slowest list
trap 'rm -f "$timings"' EXIT

build_preset() {
    local preset=$1
    if [[ $preset == fuzz ]]; then
        # The parsers' libFuzzer targets: a standalone clang build.
        cmake -S tests/fuzz -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null &&
            cmake --build build/fuzz -j "$jobs"
        return
    fi
    local extra=()
    [[ $preset == test && -n ${VERSUS_TEST_CUDA_ARCH:-} ]] && extra+=("-DCMAKE_CUDA_ARCHITECTURES=$VERSUS_TEST_CUDA_ARCH")
    # Precompiled headers pay off in a build from scratch (cmake/versus-pch.cmake).
    [[ $preset == test || $preset == asan ]] && extra+=("-DVERSUS_PCH=ON")
    cmake --preset "$preset" "${extra[@]}" >/dev/null && cmake --build --preset "$preset" -j "$jobs"
}

test_preset() {
    local preset=$1 log rc
    log=$(mktemp)
    if [[ $preset == fuzz ]]; then
        ctest --test-dir build/fuzz --output-on-failure -j "$jobs" 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
    else
        ctest --preset "$preset" -j "$jobs" 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
    fi
    # "100% tests passed, 0 tests failed out of 57" and "The following tests did not run:" (skips).
    local total fail skip
    total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -n1)
    fail=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -n1)
    skip=$(grep -c '(Skipped)' "$log" || true)
    total=${total:-0}; fail=${fail:-0}
    passed=$((passed + total - fail - skip)); failed=$((failed + fail)); skipped=$((skipped + skip))
    # "  3/57 Test  #3: name .....   Passed    1.23 sec"
    sed -n 's/^ *[0-9]*\/[0-9]* Test *#[0-9]*: \([^ ]*\) .* \([0-9.]*\) sec$/\2 \1/p' "$log" |
        awk -v p="$preset" '{print $1, p, $2}' >>"$timings"
    rm -f "$log"
    return $rc
}

run_preset() {
    local preset=$1
    echo "=== $preset ==="
    if [[ $preset == fuzz ]] && ! command -v clang++ >/dev/null; then
        echo "fuzz: skipped (no clang++)"; skipped=$((skipped + 1)); return
    fi
    if ! timed "build $preset" build_preset "$preset"; then
        echo "build $preset failed"; status=1; failed=$((failed + 1)); return
    fi
    timed "test $preset" test_preset "$preset" || status=1
}

total_t0=$SECONDS
timed "setup" scripts/setup.sh --test || exit $?
timed "references" install_references
for preset in ${VERSUS_TEST_PRESETS:-test asan arm64 fuzz}; do run_preset "$preset"; done

echo
echo "stage times (wall, and CPU time of all processes):"
for i in "${!stage_names[@]}"; do
    printf '  %-14s %5d s  %6d CPU s\n' "${stage_names[$i]}" "${stage_secs[$i]}" "${stage_cpu[$i]}"
done
printf '  %-14s %5d s  %6d CPU s\n' "total" $((SECONDS - total_t0)) "$(child_cpu)"
echo "slowest tests:"
sort -rn "$timings" | head -n 15 | awk '{printf "  %8.2f s  %-6s %s\n", $1, $2, $3}'
echo
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit $status
