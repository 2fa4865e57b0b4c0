// Contract: a standalone timing program for the quant matmul (the LLM engine's hot path), for tuning and for
// checking claims; the real benchmark is `versus`. One line per measurement to stdout:
//   read    a plain read-bandwidth loop over 1 GiB split between the threads (the ceiling decode can reach);
//   decode  n_tok = 1 on the llama-7b shapes: GB/s of weight bytes read and % of `read` at the same thread
//           count. Weights are several copies cycled through, 256 MiB in all, so every call reads from DRAM
//           as it does in a model, whose layers never fit in the caches;
//   prefill n_tok = 512 (--tokens): GFLOP/s (2 * n_in * n_out * n_tok per matmul).
// Weights hold random bits with sane scales (timing does not depend on the values); activations are
// quantized Gaussian rows. Best of --reps runs after a warm-up.
//
//   versus_quants_bench [--threads 1,2] [--types q4_0,q8_0,q4_K,q5_K,q6_K,f16] [--isa NAME] [--reps 5]
//                       [--tokens 512] [--shape 4096x4096] [--wset KiB] [--cpu-time] [--tiles]
//                       [read] [decode] [prefill]
//   versus_quants_bench --rungs     (the best rung of each family on this CPU, under VERSUS_ISA)
// --tiles: the rung without its prefill panels and GEMM (QuantPanel, QuantGemm), to time what they replace.
// --wset: decode cycles through this many KiB of weight copies (default 256 MiB: DRAM; below the L2 size the
// kernels' own cost shows). --cpu-time: process CPU time instead of wall time (single-threaded runs on a
// shared machine).
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/attention.hpp"
#include "backend/cpu/kernels.hpp"
#include "backend/cpu/quants.hpp"
#include "backend/cpu/rungs.hpp"

using namespace versus::cpu;

namespace {

std::vector<int> parse_ints(const char* s) {
    std::vector<int> out;
    for (const char* p = s; *p;) {
        out.push_back(std::atoi(p));
        while (*p && *p != ',') ++p;
        if (*p == ',') ++p;
    }
    return out;
}

std::vector<std::string> parse_names(const char* s) {
    std::vector<std::string> out;
    std::string cur;
    for (const char* p = s;; ++p) {
        if (*p == ',' || *p == 0) {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
            if (*p == 0) break;
        } else {
            cur += *p;
        }
    }
    return out;
}

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
// Process CPU time: on a machine shared with other work a single-threaded run's CPU time is what the kernel
// cost, where its wall time also counts the time slices other processes took (--cpu-time).
double cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
bool g_cpu_time = false;
double clock_s() { return g_cpu_time ? cpu_s() : now_s(); }

// Best time per call of fn over reps runs of `calls` calls each, after one warm-up run.
double best_per_call(int reps, int calls, const std::function<void(int)>& fn) {
    for (int c = 0; c < calls; ++c) fn(c);
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const double t0 = clock_s();
        for (int c = 0; c < calls; ++c) fn(c);
        best = std::min(best, (clock_s() - t0) / calls);
    }
    return best;
}

// Every thread reads its contiguous slice of `data` with eight independent sums (no stores, no SIMD
// assumptions: two loads a cycle saturate DRAM on any core this runs on).
double read_gbps(ThreadPool& pool, const std::vector<uint64_t>& data, int reps) {
    std::vector<uint64_t> sink(size_t(pool.size()) * 8, 0);
    const size_t n = data.size();
    const double s = best_per_call(reps, 1, [&](int) {
        pool.run([&](int t, int nt) {
            const size_t chunk = (n / size_t(nt)) & ~size_t{7};
            const size_t lo = chunk * size_t(t), hi = t == nt - 1 ? n : lo + chunk;
            uint64_t a[8] = {};
            for (size_t i = lo; i + 8 <= hi; i += 8) {
                for (int k = 0; k < 8; ++k) a[k] += data[i + size_t(k)];
            }
            for (int k = 0; k < 8; ++k) sink[size_t(t) * 8 + size_t(k)] += a[k];
        });
    });
    return double(n * sizeof(uint64_t)) / s * 1e-9;
}

std::vector<uint8_t> random_weights(QType t, int64_t n_in, int64_t n_out, uint32_t seed) {
    // Valid blocks: quantize a few Gaussian rows, then tile them (random bits could hold Inf/NaN scales).
    const int64_t proto_rows = 16;
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 0.02f);
    std::vector<float> xf(size_t(n_in * proto_rows));
    for (auto& v : xf) v = g(rng);
    const size_t rb = qtype_row_bytes(t, n_in);
    std::vector<uint8_t> proto(rb * proto_rows);
    for (int64_t r = 0; r < proto_rows; ++r) quantize_row(t, xf.data() + r * n_in, proto.data() + size_t(r) * rb, n_in);
    std::vector<uint8_t> w(rb * size_t(n_out));
    for (int64_t r = 0; r < n_out; ++r) std::memcpy(w.data() + size_t(r) * rb, proto.data() + size_t(r % proto_rows) * rb, rb);
    return w;
}

std::vector<uint8_t> activations(QType wt, int64_t n_in, int64_t n_tok) {
    const QType at = vec_dot_type(wt);
    std::mt19937 rng(7);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> xf(static_cast<size_t>(n_in));
    const size_t rb = qtype_row_bytes(at, n_in);
    std::vector<uint8_t> x(rb * size_t(n_tok));
    for (int64_t t = 0; t < n_tok; ++t) {
        for (auto& v : xf) v = g(rng);
        quantize_activations(at, xf.data(), x.data() + size_t(t) * rb, n_in);
    }
    return x;
}

struct Shape {
    int64_t n_in, n_out;
};
const Shape LLAMA7B[] = {{4096, 4096}, {4096, 11008}, {11008, 4096}};

}  // namespace

struct Options {
    std::vector<int> threads = {1, 2};
    std::vector<std::string> types = {"q4_0", "q8_0", "q4_K", "q5_K", "q6_K"};
    std::string isa;
    int reps = 5;
    int64_t tokens = 512;
    int wset_kib = 256 << 10;  // decode: weight bytes cycled through (small: cache-resident, compute-bound)
    std::vector<Shape> shapes{std::begin(LLAMA7B), std::end(LLAMA7B)};
    bool do_read = false, do_decode = false, do_prefill = false, tiles_only = false;
};

// The command line into o; returns -1 to go on, or the exit code (--rungs prints and ends, bad usage is 2).
int parse_args(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) {
            o.threads = parse_ints(argv[++i]);
        } else if (a == "--types" && i + 1 < argc) {
            o.types = parse_names(argv[++i]);
        } else if (a == "--isa" && i + 1 < argc) {
            o.isa = argv[++i];
        } else if (a == "--wset" && i + 1 < argc) {
            o.wset_kib = std::max(1, std::atoi(argv[++i]));
        } else if (a == "--shape" && i + 1 < argc) {
            long long n_in = 0, n_out = 0;
            if (std::sscanf(argv[++i], "%lldx%lld", &n_in, &n_out) == 2) o.shapes.assign(1, {n_in, n_out});
        } else if (a == "--rungs") {
            // The rungs a run uses, for a report's ISA line.
            std::printf("kernels %s, quants %s, attention %s (VERSUS_ISA=%s)\n", std::string(kernels_best().isa).c_str(),
                        std::string(quant_kernels_best().isa).c_str(),
                        std::string(attention_kernels_for(128).isa).c_str(), isa_cap().c_str());
            return 0;
        } else if (a == "--tiles") {
            o.tiles_only = true;
        } else if (a == "--cpu-time") {
            g_cpu_time = true;
        } else if (a == "--reps" && i + 1 < argc) {
            o.reps = std::max(1, std::atoi(argv[++i]));
        } else if (a == "--tokens" && i + 1 < argc) {
            o.tokens = std::max(2, std::atoi(argv[++i]));
        } else if (a == "read") {
            o.do_read = true;
        } else if (a == "decode") {
            o.do_decode = true;
        } else if (a == "prefill") {
            o.do_prefill = true;
        } else {
            std::fprintf(stderr,
                         "usage: %s [--threads 1,2] [--types q4_0,q8_0,q4_K,q5_K,q6_K,f16] [--isa NAME] [--reps N] "
                         "[--tokens N] [--shape NxM] [--wset KiB] [--cpu-time] [--tiles] [read] [decode] [prefill]\n",
                         argv[0]);
            return 2;
        }
    }
    return -1;
}

int main(int argc, char** argv) {
    Options o;
    if (const int rc = parse_args(argc, argv, o); rc >= 0) return rc;
    const auto& threads = o.threads;
    const auto& isa = o.isa;
    const int reps = o.reps;
    const int64_t tokens = o.tokens;
    bool &do_read = o.do_read, &do_decode = o.do_decode, &do_prefill = o.do_prefill;
    if (!do_read && !do_decode && !do_prefill) do_read = do_decode = do_prefill = true;
    if (do_decode) do_read = true;  // the decode percentages need it

    const QuantKernelSet* rung = &quant_kernels_best();
    if (!isa.empty()) {
        rung = nullptr;
        for (const QuantKernelSet* k : quant_kernels_available()) {
            if (k->isa == isa) rung = k;
        }
        if (!rung) {
            std::fprintf(stderr, "[quants-bench] no rung '%s' on this CPU\n", isa.c_str());
            return 2;
        }
    }
    QuantKernelSet tiles;
    if (o.tiles_only) {
        tiles = *rung;
        for (QuantTile* t : {&tiles.f32, &tiles.f16, &tiles.bf16, &tiles.q4_0, &tiles.q8_0, &tiles.q4_k, &tiles.q5_k,
                             &tiles.q6_k}) {
            t->panel = {};
            t->gemm = {};
        }
        rung = &tiles;
    }
    std::vector<QType> qtypes;
    for (const std::string& name : o.types) {
        bool found = false;
        for (QType t : {QType::F32, QType::F16, QType::BF16, QType::Q4_0, QType::Q8_0, QType::Q4_K, QType::Q5_K,
                        QType::Q6_K}) {
            if (name == qtype_info(t)->name) qtypes.push_back(t), found = true;
        }
        if (!found) {
            std::fprintf(stderr, "[quants-bench] unknown weight type '%s'\n", name.c_str());
            return 2;
        }
    }
    std::fprintf(stderr, "rung: %.*s\n", int(rung->isa.size()), rung->isa.data());

    // One pool per thread count for the whole run, kept busy for a moment first: a new pool's workers may
    // start on the caller's core and spin against it until the scheduler moves them.
    std::vector<std::unique_ptr<ThreadPool>> pools;
    for (int t : threads) {
        pools.push_back(std::make_unique<ThreadPool>(std::max(1, t)));
        std::atomic<int64_t> spins{0};
        const double until = now_s() + 0.2;
        while (now_s() < until) pools.back()->run([&](int, int) { spins.fetch_add(1, std::memory_order_relaxed); });
    }

    std::vector<double> read_bw(threads.size(), 0.0);
    if (do_read) {
        std::vector<uint64_t> data(size_t{1} << 27, 1);  // 1 GiB
        for (size_t ti = 0; ti < threads.size(); ++ti) {
            read_bw[ti] = read_gbps(*pools[ti], data, reps);
            std::printf("%-12s %-7s %-12s t=%d %8.1f GB/s\n", "read", "-", "1 GiB", threads[ti], read_bw[ti]);
        }
    }

    for (QType t : qtypes) {
        for (const Shape& s : o.shapes) {
            const size_t wbytes = qtype_row_bytes(t, s.n_in) * size_t(s.n_out);
            char shape[32];
            std::snprintf(shape, sizeof(shape), "%lldx%lld", (long long)s.n_in, (long long)s.n_out);
            if (do_decode) {
                const int copies = int(std::max<size_t>(2, (size_t(o.wset_kib) << 10) / wbytes));
                std::vector<std::vector<uint8_t>> W;
                for (int c = 0; c < copies; ++c) W.push_back(random_weights(t, s.n_in, s.n_out, 1 + uint32_t(c)));
                const auto x = activations(t, s.n_in, 1);
                std::vector<float> y(size_t(s.n_out));
                for (size_t ti = 0; ti < threads.size(); ++ti) {
                    ThreadPool& pool = *pools[ti];
                    const double sec = best_per_call(reps, copies, [&](int c) {
                        matmul(*rung, t, W[size_t(c)].data(), s.n_in, s.n_out, x.data(), 1, y.data(), pool);
                    });
                    const double gbps = double(wbytes) / sec * 1e-9;
                    std::printf("%-12s %-7s %-12s t=%d %8.1f GB/s %5.0f%% of read  %7.1f us\n", "decode",
                                qtype_info(t)->name, shape, threads[ti], gbps, 100.0 * gbps / read_bw[ti], sec * 1e6);
                    std::fflush(stdout);
                }
            }
            if (do_prefill) {
                const auto W = random_weights(t, s.n_in, s.n_out, 99);
                const auto x = activations(t, s.n_in, tokens);
                std::vector<float> y(size_t(s.n_out * tokens));
                for (size_t ti = 0; ti < threads.size(); ++ti) {
                    ThreadPool& pool = *pools[ti];
                    const double sec = best_per_call(std::max(1, reps / 2), 1, [&](int) {
                        matmul(*rung, t, W.data(), s.n_in, s.n_out, x.data(), tokens, y.data(), pool);
                    });
                    const double flops = 2.0 * double(s.n_in) * double(s.n_out) * double(tokens);
                    std::printf("%-12s %-7s %-12s t=%d %8.1f GFLOP/s  n_tok=%lld  %7.1f ms\n", "prefill",
                                qtype_info(t)->name, shape, threads[ti], flops / sec * 1e-9, (long long)tokens,
                                sec * 1e3);
                    std::fflush(stdout);
                }
            }
        }
    }
    return 0;
}
