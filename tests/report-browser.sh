#!/usr/bin/env bash
# The HTML report of `versus compare` in a real browser: headless Chromium loads it from a file with
# no network, runs its scripts (the embedded charting library included), and the page must end with
# its success marker and without the error marker window.onerror adds, at a desktop (1280 px) and a phone
# (390 px) width (tests/report-browser.py drives it). The page's own self-check (#selftest) sorts a table by
# clicking its header and opens every chart's data table; the marker says what it saw. Screenshots go to
# OUTPUT_DIR (report-desktop.png, report-phone.png). Exit 77 (skipped) without Chromium or python3.
#   usage: tests/report-browser.sh VERSUS_BINARY [OUTPUT_DIR]
set -euo pipefail
versus=${1:?usage: report-browser.sh VERSUS_BINARY [OUTPUT_DIR]}
outdir=${2:-$PWD}

here=$(cd "$(dirname "$0")" && pwd)
if ! command -v python3 >/dev/null 2>&1; then
  echo "skipped: no python3 (it drives the browser over the DevTools protocol)"
  exit 77
fi
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
"$versus" compare "$work/mac.jsonl" "$work/box.jsonl" --predict rtx-4090,m4-max-40c,h100-sxm --html "$report"

charts_expected=no
grep -q '<meta name="versus-charts" content="yes">' "$report" && charts_expected=yes
for id in machines architecture performance energy cost support needs frameworks side-by-side audit; do
  grep -q "id=\"$id\"" "$report" || { echo "FAIL: section $id missing"; exit 1; }
done
grep -q 'class="caution' "$report" || { echo "FAIL: no caution line in the context cards"; exit 1; }
mkdir -p "$outdir"

# At each width, through the DevTools protocol (a headless window is never narrower than 500 px): the page's
# own check (#selftest sorts a table by clicking its header twice, opens every chart's data table and
# measures the page), then a screenshot of the top of the page.
check_width() {  # name, width, height
  local name=$1 width=$2 height=$3 marker
  if ! marker=$(timeout 120 python3 "$here/report-browser.py" "$browser" "file://$report#selftest" "$width" "$height" \
      "$outdir/report-$name.png"); then
    echo "FAIL ($name): the browser could not load the report"; exit 1
  fi
  [[ $marker != ERROR:* ]] || { echo "FAIL ($name): $marker"; exit 1; }
  local drawn sort tables charts page viewport
  drawn=$(sed -n 's/^charts: \([0-9]*\);.*/\1/p' <<<"$marker")
  sort=$(sed -n 's/.*; sort: \([^;]*\);.*/\1/p' <<<"$marker")
  tables=$(sed -n 's/.*; data tables: \([0-9]*\) of \([0-9]*\);.*/\1/p' <<<"$marker")
  charts=$(sed -n 's/.*; data tables: \([0-9]*\) of \([0-9]*\);.*/\2/p' <<<"$marker")
  page=$(sed -n 's/.*; page width: \([0-9]*\) of \([0-9]*\);.*/\1/p' <<<"$marker")
  viewport=$(sed -n 's/.*; page width: \([0-9]*\) of \([0-9]*\);.*/\2/p' <<<"$marker")
  [[ $sort == ok ]] || { echo "FAIL ($name): sorting: ${sort:-no result} ($marker)"; exit 1; }
  if [[ $charts_expected == yes ]]; then
    # Two bar charts and a roofline per machine, each with its data table.
    (( drawn >= 4 )) || { echo "FAIL ($name): only ${drawn:-0} charts drawn ($marker)"; exit 1; }
    (( tables == charts && tables >= 4 )) || { echo "FAIL ($name): $tables data tables for $charts charts"; exit 1; }
  else
    grep -q 'Charts unavailable' "$report" || { echo "FAIL ($name): no charts and no word of it"; exit 1; }
  fi
  (( viewport == width )) || { echo "FAIL ($name): the page's viewport is $viewport px, not $width"; exit 1; }
  # Wide tables scroll inside their box; the page itself never scrolls sideways.
  (( page <= width )) || { echo "FAIL ($name): the page is $page px wide at $width px"; exit 1; }
  [[ -s $outdir/report-$name.png ]] || { echo "FAIL ($name): no screenshot"; exit 1; }
  echo "ok ($name, $width px): $marker"
}
check_width desktop 1280 3000
check_width phone 390 2400
cp "$report" "$outdir/report-browser.html"
echo "ok: screenshots $outdir/report-desktop.png and $outdir/report-phone.png"
