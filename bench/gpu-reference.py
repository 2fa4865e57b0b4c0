#!/usr/bin/env python3
"""PyTorch beside versus on the same GPU, in the same run (bench/gpu-check.sh calls it when torch is there).

Times torch.matmul (and torch._int_mm, torch._scaled_mm) at the sizes of versus's CUDA GEMM rows and
scaled_dot_product_attention at the shapes of its attention rows: CUDA events around each call, the L2
overwritten before each one as versus does, the median of 20 after 5 warm-ups. Prints a Markdown table with
each row's time ratio (PyTorch time / versus time: above 1, versus is faster).

    python3 bench/gpu-reference.py RESULTS.jsonl
"""
import json
import statistics
import sys

import torch


def rows(path):
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("backend") == "cuda" and r.get("status") == "ok":
                yield r


def timed_ms(fn, flush, reps=20, warm=5):
    for _ in range(warm):
        fn()
    times = []
    for _ in range(reps):
        flush.zero_()
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def gemm_fn(dtype, n):
    dev = "cuda"
    torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
    if dtype in ("f32", "tf32", "f16", "bf16", "f64"):
        t = {"f32": torch.float32, "tf32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16,
             "f64": torch.float64}[dtype]
        a, b = torch.rand(n, n, device=dev, dtype=t), torch.rand(n, n, device=dev, dtype=t)
        return lambda: torch.matmul(a, b), "torch.matmul"
    if dtype == "i8":
        a = torch.randint(-127, 127, (n, n), device=dev, dtype=torch.int8)
        b = torch.randint(-127, 127, (n, n), device=dev, dtype=torch.int8)
        return lambda: torch._int_mm(a, b), "torch._int_mm"
    if dtype == "fp8":
        a = torch.rand(n, n, device=dev).to(torch.float8_e4m3fn)
        b = torch.rand(n, n, device=dev).to(torch.float8_e4m3fn).t().contiguous().t()  # column-major, as cuBLASLt wants
        one = torch.ones((), device=dev)
        return lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.float32), "torch._scaled_mm"
    raise ValueError(dtype)


def attention_fn(r):
    dev, h, kvh, d, seq = "cuda", r["heads"], r["kv_heads"], r["head_dim"], r["seq"]
    n_q = seq if r["phase"] == "prefill" else 1
    q = torch.rand(1, h, n_q, d, device=dev, dtype=torch.float16)
    k = torch.rand(1, kvh, seq, d, device=dev, dtype=torch.float16)
    v = torch.rand(1, kvh, seq, d, device=dev, dtype=torch.float16)
    causal = r["phase"] == "prefill"
    sdpa = torch.nn.functional.scaled_dot_product_attention
    try:
        sdpa(q, k, v, is_causal=causal, enable_gqa=True)
        return lambda: sdpa(q, k, v, is_causal=causal, enable_gqa=True)
    except TypeError:  # torch before 2.5: heads repeated outside the timed call
        k2, v2 = k.repeat_interleave(h // kvh, 1), v.repeat_interleave(h // kvh, 1)
        return lambda: sdpa(q, k2, v2, is_causal=causal)


def main():
    results = list(rows(sys.argv[1]))
    props = torch.cuda.get_device_properties(0)
    flush = torch.empty(2 * getattr(props, "L2_cache_size", 64 << 20) // 4 + 1, device="cuda")
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {props.name}\n")
    print("| row | versus ms | torch ms | what torch ran | torch / versus |")
    print("|---|---:|---:|---|---:|")
    for r in results:
        try:
            if r["workload"] == "gemm":
                fn, what = gemm_fn(r["dtype"], r["size"])
            elif r["workload"] == "attention" and r.get("impl") == "fused":
                fn, what = attention_fn(r), "scaled_dot_product_attention f16"
            else:
                continue
            ms = timed_ms(fn, flush)
        except Exception as e:  # an op this torch build lacks (fp8 before Hopper, old versions)
            print(f"| {r['workload']} {r['key']} | | | {type(e).__name__}: {str(e)[:80]} | |")
            continue
        mine = r["median_ns"] / 1e6
        print(f"| {r['workload']} {r['key']} | {mine:.3f} | {ms:.3f} | {what} | {ms / mine:.2f} |")
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
