#!/usr/bin/env bash
# Builds nd_bench in Release, runs the GEMM benchmarks (float and quantized weights, OpenBLAS sgemm in the same
# run, the FMA peak) and prints the markdown table of docs/performance.md: our GFLOP/s, OpenBLAS's, the ratio.
# The raw results (Google Benchmark JSON, with the machine's description) go to artifacts/bench/.
#
#   native/bench/run_benchmarks.sh [--build-dir DIR] [--no-build] [--filter REGEX] [--min-time SECONDS]
#                                  [--repetitions N] [--openblas-core auto|env|NAME] [--table-only FILE.json]
#
# Figures are the median of the repetitions, which run interleaved in random order with those of the other
# benchmarks (so that a burst of load elsewhere hits ours and OpenBLAS's alike). Run it on an otherwise idle
# machine: every benchmark uses all physical cores (OpenBLAS is set to the same thread count).
#
# OpenBLAS picks its kernels when it loads (a DYNAMIC_ARCH build, as Debian's is), and OPENBLAS_CORETYPE
# overrides the choice. OpenBLAS 0.3.21 does not know AMD Zen 5 (family 1Ah) and falls back to its Haswell
# (AVX2) kernels there, which would flatter the comparison. --openblas-core auto (the default) therefore runs
# OpenBLAS with its AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX) on a CPU with AVX-512, whatever the
# environment says; `env` keeps the environment's OPENBLAS_CORETYPE; any other value is used as the core
# type. The kernels OpenBLAS ran are printed and recorded in the JSON context (openblas_core).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="$root/artifacts/cmake/release"
build=1
filter='^BM_(matmul|matmul_packed|matmul_avx2|matmul_q|openblas_sgemm|peak_fma)/'
min_time=0.5
repetitions=5
openblas_core=auto
table_only=""

while (($#)); do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --filter) filter="$2"; shift 2 ;;
    --min-time) min_time="$2"; shift 2 ;;
    --repetitions) repetitions="$2"; shift 2 ;;
    --openblas-core) openblas_core="$2"; shift 2 ;;
    --table-only) table_only="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

print_table() {
  python3 - "$1" <<'PY'
import json, re, sys
from collections import defaultdict

with open(sys.argv[1]) as f:
    data = json.load(f)
ctx = data.get("context", {})

def median_rates():
    """run_name -> GFLOP/s (the median aggregate, or the single run when there are no repetitions)."""
    rates, single = {}, {}
    for b in data["benchmarks"]:
        if "GFLOP/s" not in b or b.get("error_occurred"):
            continue
        name = re.sub(r"/real_time$", "", b.get("run_name", b["name"]))
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                rates[name] = b["GFLOP/s"]
        else:
            single[name] = b["GFLOP/s"]
    for k, v in single.items():
        rates.setdefault(k, v)
    return rates

rates = median_rates()
# The issue's order first (the 64x64 level down to the text projection), then any other shape measured.
shapes = ["4096x320x320", "4096x320x1280", "1024x640x2560", "256x1280x1280", "154x768x320"]
for name in rates:
    m = re.match(r"BM_openblas_sgemm/(\d+x\d+x\d+)", name) or re.match(r"BM_matmul\w*/\w+/(\d+x\d+x\d+)", name)
    if m and m.group(1) not in shapes:
        shapes.append(m.group(1))
shapes = [x for x in shapes if any(f"/{x}" in n for n in rates)]

caches = ", ".join(f"L{c['level']} {c['type']} {c['size'] // 1024} KiB" for c in ctx.get("caches", []))
print(f"Machine: {ctx.get('cpu_name', '?')} ({ctx.get('host_name', '?')}), {ctx.get('num_cpus', '?')} CPUs at "
      f"{ctx.get('mhz_per_cpu', '?')} MHz; {caches}")
print(f"Date: {ctx.get('date', '?')}; our ISA: {ctx.get('nd_isa', '?')}, threads: {ctx.get('nd_threads', '?')}; "
      f"OpenBLAS kernels: {ctx.get('openblas_core', 'not built')}")
print()

def fmt(x):
    return f"{x:.0f}" if x is not None else "-"

def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"

float_ratios = defaultdict(list)
if any(f"BM_matmul/{t}/{shape}" in rates for shape in shapes for t in ("F32", "F16", "BF16")):
    print("| M x K x N | weights | ours GFLOP/s | pre-packed | AVX2 kernels | OpenBLAS sgemm | ours / OpenBLAS |")
    print("|---|---|---:|---:|---:|---:|---:|")
for shape in shapes:
    blas = rates.get(f"BM_openblas_sgemm/{shape}")
    for t in ("F32", "F16", "BF16"):
        ours = rates.get(f"BM_matmul/{t}/{shape}")
        if ours is None:
            continue
        float_ratios[t].append(ours / blas if blas else None)
        print(f"| {shape} | {t} | {fmt(ours)} | {fmt(rates.get(f'BM_matmul_packed/{t}/{shape}'))} | "
              f"{fmt(rates.get(f'BM_matmul_avx2/{t}/{shape}'))} | {fmt(blas)} | {ratio(ours, blas)} |")

single = [(shape, t) for shape in shapes for t in ("F32", "F16", "BF16") if f"BM_matmul/{t}/{shape}/1_thread" in rates]
if single:
    print()
    print("One thread:")
    print()
    print("| M x K x N | weights | ours GFLOP/s | OpenBLAS sgemm | ours / OpenBLAS |")
    print("|---|---|---:|---:|---:|")
    for shape, t in single:
        ours = rates[f"BM_matmul/{t}/{shape}/1_thread"]
        blas = rates.get(f"BM_openblas_sgemm/{shape}/1_thread")
        float_ratios[t + " (1 thread)"].append(ours / blas if blas else None)
        print(f"| {shape} | {t} | {fmt(ours)} | {fmt(blas)} | {ratio(ours, blas)} |")

quant = sorted({n.split("/")[1] for n in rates if n.startswith("BM_matmul_q/")})
if quant:
    print()
    print("| M x K x N | weights | ours GFLOP/s | OpenBLAS sgemm | ours / OpenBLAS | ours / F16 |")
    print("|---|---|---:|---:|---:|---:|")
    for shape in shapes:
        blas = rates.get(f"BM_openblas_sgemm/{shape}")
        f16 = rates.get(f"BM_matmul/F16/{shape}")
        for t in quant:
            ours = rates.get(f"BM_matmul_q/{t}/{shape}")
            if ours is not None:
                print(f"| {shape} | {t} | {fmt(ours)} | {fmt(blas)} | {ratio(ours, blas)} | {ratio(ours, f16)} |")

peaks = {n: v for n, v in rates.items() if n.startswith("BM_peak_fma/")}
if peaks:
    print()
    print("| FMA peak | GFLOP/s |")
    print("|---|---:|")
    for n, v in sorted(peaks.items()):
        print(f"| {n.removeprefix('BM_peak_fma/')} | {fmt(v)} |")

# The issue's goals: F32 and F16 GEMM at >= 80% of OpenBLAS sgemm in the same run; Q8_0/Q4_0 faster than F16.
print()
for t in ("F32", "F16", "F32 (1 thread)", "F16 (1 thread)"):
    r = [x for x in float_ratios.get(t, []) if x is not None]
    if r:
        verdict = "meets" if min(r) >= 0.8 else "MISSES"
        print(f"{t}: lowest ratio to OpenBLAS {min(r):.2f} over {len(r)} shapes: {verdict} the >= 0.80 goal")
for t in ("Q8_0", "Q4_0"):
    pairs = [(rates.get(f"BM_matmul_q/{t}/{s}"), rates.get(f"BM_matmul/F16/{s}")) for s in shapes]
    pairs = [(q, h) for q, h in pairs if q is not None and h]
    if pairs:
        worst = min(q / h for q, h in pairs)
        verdict = "meets" if worst > 1.0 else "MISSES"
        print(f"{t}: lowest ratio to F16 {worst:.2f} over {len(pairs)} shapes: {verdict} the 'faster than F16' goal")
PY
}

if [[ -n "$table_only" ]]; then
  print_table "$table_only"
  exit 0
fi

if ((build)); then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DND_BUILD_FUZZERS=OFF >/dev/null
  cmake --build "$build_dir" --target nd_bench -j "$(nproc)"
fi
binary="$build_dir/native/bench/nd_bench"
if [[ ! -x "$binary" ]]; then
  echo "$binary was not built: the benchmarks need Google Benchmark (Debian: libbenchmark-dev)" >&2
  exit 1
fi

case "$openblas_core" in
  auto)
    if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
      export OPENBLAS_CORETYPE=SkylakeX
    fi ;;
  env) ;;
  *) export OPENBLAS_CORETYPE="$openblas_core" ;;
esac
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset: OpenBLAS picks)}"

mkdir -p "$root/artifacts/bench"
json="$root/artifacts/bench/gemm-$(date -u +%Y%m%d-%H%M%S).json"
"$binary" --benchmark_filter="$filter" --benchmark_min_time="$min_time" \
  --benchmark_repetitions="$repetitions" --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true \
  --benchmark_out="$json" --benchmark_out_format=json
echo
echo "results: ${json#"$root"/}"
echo
print_table "$json"
