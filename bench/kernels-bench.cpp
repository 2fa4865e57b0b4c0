// Contract: a standalone timing program for the kernel ladder, for tuning and for checking claims; the real
// benchmark is `versus`. Prints one line per measurement to stdout: rung, what, size, threads, best-of-N
// rate. Compares against OpenBLAS sgemm and a plain OpenMP STREAM triad when built with them.
//
//   versus_kernels_bench [--threads 1,2] [--sizes 1024,2048] [--isa NAME] [--reps 5] [gemm] [stream] [fma]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/kernels.hpp"

#if defined(VERSUS_BENCH_OPENBLAS)
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
#endif
#if defined(VERSUS_BENCH_OPENMP)
#include <omp.h>
#endif

using namespace versus::cpu;

namespace {

std::vector<int> parse_list(const char* s) {
    std::vector<int> out;
    for (const char* p = s; *p;) {
        out.push_back(std::atoi(p));
        while (*p && *p != ',') ++p;
        if (*p == ',') ++p;
    }
    return out;
}

double best_seconds(int reps, const std::function<void()>& fn) {
    fn();  // warm up: page faults, scratch allocation, thread wake-up
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

void bench_gemm(const std::vector<const KernelSet*>& rungs, const std::vector<int>& sizes,
                const std::vector<int>& threads, int reps) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1, 1);
    for (int n : sizes) {
        const size_t nn = size_t(n) * n;
        std::vector<float> af(nn), bf(nn), cf(nn);
        std::vector<uint16_t> ab(nn), bb(nn), ah(nn), bh(nn);
        std::vector<int8_t> ai(nn), bi(nn);
        std::vector<int32_t> ci(nn);
        for (size_t i = 0; i < nn; ++i) {
            af[i] = u(rng), bf[i] = u(rng);
            ab[i] = f32_to_bf16(af[i]), bb[i] = f32_to_bf16(bf[i]);
            ah[i] = f32_to_f16(af[i]), bh[i] = f32_to_f16(bf[i]);
            ai[i] = int8_t(int(af[i] * 127)), bi[i] = int8_t(int(bf[i] * 127));
        }
        const double ops = 2.0 * n * double(n) * n;
        for (int t : threads) {
            ThreadPool pool(t);
#if defined(VERSUS_BENCH_OPENBLAS)
            openblas_set_num_threads(t);
            const double s = best_seconds(reps, [&] {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, af.data(), n, bf.data(), n, 0.0f,
                            cf.data(), n);
            });
            std::printf("%-20s %-6s n=%-5d t=%d %8.1f GFLOP/s\n", "openblas", "sgemm", n, t, ops / s * 1e-9);
#endif
            for (const KernelSet* k : rungs) {
                if (k->isa == "scalar" && n > 512) continue;  // minutes, and says nothing new
                double s = best_seconds(reps, [&] { k->gemm_bf16(n, n, n, ab.data(), bb.data(), cf.data(), pool); });
                std::printf("%-20s %-6s n=%-5d t=%d %8.1f GFLOP/s\n", std::string(k->isa).c_str(), "bf16", n, t,
                            ops / s * 1e-9);
                s = best_seconds(reps, [&] { k->gemm_f16(n, n, n, ah.data(), bh.data(), cf.data(), pool); });
                std::printf("%-20s %-6s n=%-5d t=%d %8.1f GFLOP/s\n", std::string(k->isa).c_str(), "f16", n, t,
                            ops / s * 1e-9);
                s = best_seconds(reps, [&] { k->gemm_i8(n, n, n, ai.data(), bi.data(), ci.data(), pool); });
                std::printf("%-20s %-6s n=%-5d t=%d %8.1f GOP/s\n", std::string(k->isa).c_str(), "i8", n, t,
                            ops / s * 1e-9);
            }
            std::fflush(stdout);
        }
    }
}

void bench_stream(const std::vector<const KernelSet*>& rungs, const std::vector<int>& threads, int reps, size_t n) {
    static const char* names[] = {"copy", "scale", "add", "triad"};
    static const double arrays[] = {2, 2, 3, 3};
    for (int t : threads) {
        ThreadPool pool(t);
        std::unique_ptr<double[]> a(new double[n]), b(new double[n]), c(new double[n]);
        // First touch from the pool with the same slices the kernels use.
        kernels_ref().stream(StreamOp::SCALE, a.get(), a.get(), nullptr, 0.0, n, pool);
        kernels_ref().stream(StreamOp::SCALE, b.get(), b.get(), nullptr, 0.0, n, pool);
        kernels_ref().stream(StreamOp::SCALE, c.get(), c.get(), nullptr, 0.0, n, pool);
        for (const KernelSet* k : rungs) {
            for (int op = 0; op < 4; ++op) {
                const double s =
                    best_seconds(reps, [&] { k->stream(StreamOp(op), a.get(), b.get(), c.get(), 3.0, n, pool); });
                std::printf("%-20s %-6s n=%-9zu t=%d %8.1f GB/s\n", std::string(k->isa).c_str(), names[op], n, t,
                            arrays[op] * 8.0 * double(n) / s * 1e-9);
            }
        }
#if defined(VERSUS_BENCH_OPENMP)
        omp_set_num_threads(t);
        double* pa = a.get();
        const double* pb = b.get();
        const double* pc = c.get();
        const double s = best_seconds(reps, [&] {
#pragma omp parallel for
            for (size_t i = 0; i < n; ++i) pa[i] = pb[i] + 3.0 * pc[i];
        });
        std::printf("%-20s %-6s n=%-9zu t=%d %8.1f GB/s\n", "openmp-O3", "triad", n, t, 24.0 * double(n) / s * 1e-9);
#endif
        std::fflush(stdout);
    }
}

void bench_fma(const std::vector<const KernelSet*>& rungs, const std::vector<int>& threads, int reps) {
    for (int t : threads) {
        ThreadPool pool(t);
        for (const KernelSet* k : rungs) {
            const int64_t iters = 20'000'000;
            double flops = 0;
            const double s = best_seconds(reps, [&] {
                pool.run([&](int thread, int) {
                    const double f = k->fma_loop(iters);
                    if (thread == 0) flops = f;
                });
            });
            std::printf("%-20s %-6s t=%d %8.1f GFLOP/s\n", std::string(k->isa).c_str(), "fma", t, flops * t / s * 1e-9);
        }
        std::fflush(stdout);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<int> threads{1, 2}, sizes{1024, 2048};
    std::string isa;
    int reps = 5;
    size_t stream_n = size_t{1} << 25;  // 256 MiB per array
    bool gemm = false, stream = false, fma = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) {
            threads = parse_list(argv[++i]);
        } else if (a == "--sizes" && i + 1 < argc) {
            sizes = parse_list(argv[++i]);
        } else if (a == "--isa" && i + 1 < argc) {
            isa = argv[++i];
        } else if (a == "--reps" && i + 1 < argc) {
            reps = std::atoi(argv[++i]);
        } else if (a == "--stream-n" && i + 1 < argc) {
            stream_n = size_t(std::atoll(argv[++i]));
        } else if (a == "gemm") {
            gemm = true;
        } else if (a == "stream") {
            stream = true;
        } else if (a == "fma") {
            fma = true;
        } else {
            std::fprintf(stderr,
                         "usage: %s [--threads 1,2] [--sizes 1024,2048] [--isa NAME] [--reps N] [--stream-n N] "
                         "[gemm] [stream] [fma]\n",
                         argv[0]);
            return 2;
        }
    }
    if (!gemm && !stream && !fma) gemm = stream = fma = true;
    std::vector<const KernelSet*> rungs;
    for (const KernelSet* k : kernels_available()) {
        if (isa.empty() || k->isa == isa) rungs.push_back(k);
    }
    if (rungs.empty()) {
        std::fprintf(stderr, "[bench] no rung named '%s' on this CPU. HINT: run without --isa to list them\n",
                     isa.c_str());
        return 2;
    }
    std::fprintf(stderr, "rungs:");
    for (const KernelSet* k : rungs) std::fprintf(stderr, " %s", std::string(k->isa).c_str());
    std::fprintf(stderr, "\n");
    if (fma) bench_fma(rungs, threads, reps);
    if (gemm) bench_gemm(rungs, sizes, threads, reps);
    if (stream) bench_stream(rungs, threads, reps, stream_n);
    return 0;
}
