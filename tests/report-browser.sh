#!/usr/bin/env bash
# The HTML report of `versus compare` in a real browser: headless Chromium loads it from a file with
# no network, runs its scripts (the embedded charting library included), and the page must end with
# its success marker and without the error marker window.onerror adds. Saves a screenshot beside the
# test's working directory (report-browser.png). Exit 77 (skipped) without Chromium.
#   usage: tests/report-browser.sh VERSUS_BINARY [OUTPUT_DIR]
set -euo pipefail
versus=${1:?usage: report-browser.sh VERSUS_BINARY [OUTPUT_DIR]}
outdir=${2:-$PWD}

browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$(command -v "$b"); break; fi
done
if [[ -z $browser ]]; then
  echo "skipped: no chromium on PATH (scripts/setup.sh --test installs it)"
  exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Two machines, a few workloads each: enough for every table, the bar charts and a roofline each.
common='"schema_version":1,"versus_version":"0.1.0","build_type":"Release","time":"2026-11-26T00:00:00Z"'
mac='"run_id":"r1","host":"mac","os":"macOS 15.1","cpu":"Apple M2 Max","gpu":"Apple M2 Max","backend":"metal","device":"Apple M2 Max","memory_kind":"unified"'
box='"run_id":"r2","host":"box","os":"Debian 12","cpu":"AMD Ryzen 9 7950X","gpu":null,"backend":"cpu","device":"AMD Ryzen 9 7950X","memory_kind":"host"'
row() {  # machine, workload, key, parameters, metrics
  printf '{%s,%s,"workload":"%s","key":"%s",%s,"reps":5,"median_ns":1000.0,"mdape_pct":1.0,"unstable":false,%s,"status":"ok","reason":null}\n' \
    "$common" "$1" "$2" "$3" "$4" "$5"
}
{
  row "$mac" gemm "dtype=f32,size=1024" '"dtype":"f32","size":1024' '"flops":2147483648.0,"bytes":12582912.0,"gflops":9000.0,"gbps":52.7,"peak_pct":65.0,"checksum":"1.5e+03"'
  row "$mac" membw "op=triad,size_bytes=268435456" '"op":"triad","size_bytes":268435456' '"bytes":268435456.0,"gbps":350.0'
  row "$mac" llm "model=small,type=q4_0,seed=1,phase=prefill,n_prompt=128,depth=0" '"model":"small","type":"q4_0","seed":1,"phase":"prefill","n_prompt":128,"depth":0' '"flops":2.6e10,"bytes":7.2e7,"gflops":3000.0,"tokens_per_s":1500.0,"mfu_pct":40.0,"power_w":45.0,"energy_j":3.8'
  row "$mac" llm "model=small,type=q4_0,seed=1,phase=decode,n_gen=32,depth=0" '"model":"small","type":"q4_0","seed":1,"phase":"decode","n_gen":32,"depth":0' '"flops":5.0e9,"bytes":2.3e9,"gflops":15.0,"tokens_per_s":95.0,"mbu_pct":55.0,"power_w":30.0,"energy_j":10.1'
} >"$work/mac.jsonl"
{
  row "$box" gemm "threads=16,dtype=f32,size=1024" '"threads":16,"dtype":"f32","size":1024' '"flops":2147483648.0,"bytes":12582912.0,"gflops":1400.0,"gbps":8.2,"peak_pct":70.0,"checksum":"1.5e+03"'
  row "$box" membw "threads=16,op=triad,size_bytes=268435456" '"threads":16,"op":"triad","size_bytes":268435456' '"bytes":268435456.0,"gbps":60.0'
  row "$box" llm "threads=16,model=small,type=q4_0,seed=1,phase=prefill,n_prompt=128,depth=0" '"threads":16,"model":"small","type":"q4_0","seed":1,"phase":"prefill","n_prompt":128,"depth":0' '"flops":2.6e10,"bytes":7.2e7,"gflops":600.0,"tokens_per_s":300.0,"mfu_pct":30.0'
  row "$box" llm "threads=16,model=small,type=q4_0,seed=1,phase=decode,n_gen=32,depth=0" '"threads":16,"model":"small","type":"q4_0","seed":1,"phase":"decode","n_gen":32,"depth":0' '"flops":5.0e9,"bytes":2.3e9,"gflops":3.9,"tokens_per_s":25.0,"mbu_pct":60.0'
} >"$work/box.jsonl"

report="$work/report.html"
"$versus" compare "$work/mac.jsonl" "$work/box.jsonl" --predict rtx-4090,m4-max-40c --html "$report"

flags=(--headless --disable-gpu --no-sandbox --disable-dev-shm-usage --no-first-run --no-default-browser-check
       --disable-extensions --user-data-dir="$work/profile" --virtual-time-budget=10000)
if ! timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$report" >"$work/dom.html" 2>"$work/browser.log"; then
  echo "FAIL: $browser could not load the report"; tail -n 20 "$work/browser.log"; exit 1
fi
if grep -q '<div id="versus-report-error"' "$work/dom.html"; then
  echo "FAIL: script error in the report:"; grep -o '<div id="versus-report-error"[^<]*' "$work/dom.html"; exit 1
fi
marker=$(grep -o '<div id="versus-report-ok"[^<]*' "$work/dom.html" || true)
if [[ -z $marker ]]; then
  echo "FAIL: the report's script did not finish (no success marker)"; tail -n 20 "$work/browser.log"; exit 1
fi
drawn=${marker##*charts: }
if grep -q '<meta name="versus-charts" content="yes">' "$report"; then
  # Two bar charts and a roofline per machine.
  if (( drawn < 4 )); then echo "FAIL: only $drawn charts drawn"; exit 1; fi
else
  grep -q 'Charts unavailable' "$work/dom.html" || { echo "FAIL: no charts and no word of it"; exit 1; }
fi
for id in machines architecture performance energy support needs side-by-side; do
  grep -q "id=\"$id\"" "$work/dom.html" || { echo "FAIL: section $id missing"; exit 1; }
done

mkdir -p "$outdir"
timeout 120 "$browser" "${flags[@]}" --hide-scrollbars --window-size=1280,3000 \
  --screenshot="$outdir/report-browser.png" "file://$report" >/dev/null 2>>"$work/browser.log" || true
if [[ ! -s $outdir/report-browser.png ]]; then
  echo "FAIL: no screenshot"; tail -n 20 "$work/browser.log"; exit 1
fi
cp "$report" "$outdir/report-browser.html"
echo "ok: $drawn charts, no script error; screenshot $outdir/report-browser.png"
