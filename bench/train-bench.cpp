// Contract: the training workloads against their own parts timed alone, in one process, measured alternately
// (step, parts, step, parts, ...) so that a machine whose speed drifts affects both sides; prints each round's
// ratio and the median. A benchmark, not a test: the figures depend on the machine and its load.
//
//   versus_train_bench gpt    [--model gpt2-124m] [--batch 4] [--seq 256] [--threads N] [--rounds 9] [--precision f32]
//                             [--compare-blas-threads 1]
//       step time / the same step's GEMMs (every call gemm() received, on the same buffers, replayed alone) timed
//       with the fastest GEMM versus has: the training engine's pool split (BLAS single-threaded) or BLAS's own
//       threads, whichever has the lower median over the rounds (docs/training.md: why not each round's faster).
//       Also where the step's time went (train/op-clock.hpp), tokens/s and MFU against the CPU backend's measured
//       peak. --compare-blas-threads 1 also times, in every round, a step
//       whose GEMMs run on BLAS's own threads instead of split over the pool.
//   versus_train_bench attention [--batch 2] [--seq 256] [--heads 12] [--head-dim 64] [--threads N]
//       attention forward + backward alone, fused (per-tile recompute) against naive (seq x seq kept).
//   versus_train_bench resnet [--dataset imagenet-1k] [--batch 16] [--threads N] [--rounds 3]
//       step time / the sum of every oneDNN primitive of the step executed alone (median of 3 runs each, the runs
//       being three passes over the step's ops in order): the overhead the graph adds (host code, order, cache
//       effects). Also images/s and each round's loss.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "backend/cpu/thread-pool.hpp"
#include "train/gpt.hpp"
#include "train/matmul.hpp"
#include "train/op-clock.hpp"
#include "train/resnet.hpp"

using namespace versus;

namespace {

using Clock = std::chrono::steady_clock;

double seconds(const std::function<void()>& fn) {
    const auto t0 = Clock::now();
    fn();
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Seconds the engine has spent in each kind of op so far (train/op-clock.hpp).
std::array<double, static_cast<size_t>(train::Op::COUNT)> op_times() {
    std::array<double, static_cast<size_t>(train::Op::COUNT)> t{};
    for (size_t k = 0; k < t.size(); ++k) t[k] = train::op_seconds(static_cast<train::Op>(k));
    return t;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n == 0 ? 0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::map<std::string, std::string> parse(int argc, char** argv, int first) {
    std::map<std::string, std::string> out;
    for (int i = first; i + 1 < argc; i += 2) {
        if (std::strncmp(argv[i], "--", 2) != 0) {
            std::fprintf(stderr, "[train-bench] '%s' is not an option. HINT: --name value\n", argv[i]);
            std::exit(2);
        }
        out[argv[i] + 2] = argv[i + 1];
    }
    return out;
}

std::string opt(const std::map<std::string, std::string>& o, const std::string& k, const std::string& dflt) {
    auto it = o.find(k);
    return it == o.end() ? dflt : it->second;
}

double cpu_peak(int threads, train::Precision p) {
    for (auto& slot : backend::load_backends())
        if (slot.name == "cpu" && slot.backend) {
            slot.backend->set_threads(threads);
            std::string method;
            return slot.backend->peak_flops(0, p == train::Precision::BF16 ? VERSUS_DTYPE_BF16 : VERSUS_DTYPE_F32, &method);
        }
    return 0;
}

int bench_gpt(const std::map<std::string, std::string>& o) {
    const train::GptConfig c = train::gpt_preset(opt(o, "model", "gpt2-124m"));
    train::GptOptions go;
    go.batch = std::stoi(opt(o, "batch", "4"));
    go.seq = std::stoi(opt(o, "seq", "256"));
    go.precision = train::parse_precision(opt(o, "precision", "f32"));
    go.attention = train::parse_attention(opt(o, "attention", "fused"));
    const int threads = std::stoi(opt(o, "threads", std::to_string(cpu::ThreadPool::available_threads())));
    const int rounds = std::stoi(opt(o, "rounds", "9"));
    const double peak = cpu_peak(threads, go.precision);
    cpu::ThreadPool pool(threads);
    train::Gpt gpt(c, go, pool);
    const auto batch = train::synthetic_batch(c.vocab, go.batch, go.seq, 2);
    // One step's GEMMs, operands included: replayed on the step's own buffers, so that they read what the step's
    // GEMMs read (its weights, activations and gradients, with their cache and TLB behaviour). Outputs are
    // overwritten with what the next step rewrites anyway.
    std::vector<train::GemmCall> calls;
    train::gemm_trace(&calls);
    gpt.step(batch.tokens.data(), batch.targets.data());
    train::gemm_trace(nullptr);
    // The step's GEMMs alone, with either of the ways gemm() can spread a product over the cores.
    auto gemms = [&](train::GemmPath path) {
        for (const auto& g : calls)
            train::gemm<float>(pool, g.ta, g.tb, g.M, g.N, g.K, g.alpha, g.A, g.lda, g.B, g.ldb, g.beta, g.C, g.ldc, path);
    };
    gemms(train::GemmPath::SPLIT);
    gemms(train::GemmPath::BLAS_THREADS);
    const double tokens = static_cast<double>(go.batch) * go.seq;
    const double flops = tokens * train::gpt_train_flops_per_token(c, go.seq);
    double gemm_flops = 0;
    for (const auto& g : calls) gemm_flops += 2.0 * g.M * g.N * g.K;
    std::printf("train-gpt %s %s batch %d seq %d threads %d: %zu GEMMs per step (%.1f GFLOP of %.1f model GFLOP)\n",
                c.name.c_str(), train::precision_name(go.precision), go.batch, go.seq, threads, calls.size(),
                gemm_flops / 1e9, flops / 1e9);
    const bool compare_blas = opt(o, "compare-blas-threads", "0") == "1";
    std::vector<double> steps, splits, owns, blas_steps;
    for (int r = 0; r < rounds; ++r) {
        const auto before = op_times();
        const double step = seconds([&] { gpt.step(batch.tokens.data(), batch.targets.data()); });
        const auto after = op_times();
        // The two replays in alternating order, so that neither always runs right after the step.
        const auto split_time = [&] { return seconds([&] { gemms(train::GemmPath::SPLIT); }); };
        const auto own_time = [&] { return seconds([&] { gemms(train::GemmPath::BLAS_THREADS); }); };
        double split, own;
        if (r % 2 == 0) {
            split = split_time();
            own = own_time();
        } else {
            own = own_time();
            split = split_time();
        }
        steps.push_back(step);
        splits.push_back(split);
        owns.push_back(own);
        std::printf("round %d: step %.3f s, GEMMs alone: pool split %.3f s (ratio %.3f), BLAS threads %.3f s "
                    "(ratio %.3f)\n",
                    r + 1, step, split, step / split, own, step / own);
        if (compare_blas) {
            train::set_gemm_auto_path(train::GemmPath::BLAS_THREADS);
            const double s = seconds([&] { gpt.step(batch.tokens.data(), batch.targets.data()); });
            train::set_gemm_auto_path(train::GemmPath::AUTO);
            blas_steps.push_back(s);
            std::printf("  step with its GEMMs on BLAS's threads %.3f s\n", s);
        }
        std::printf("  in the step:");
        double counted = 0;
        for (size_t k = 0; k < before.size(); ++k) {
            const double t = after[k] - before[k];
            counted += t;
            if (t >= 0.0005) std::printf(" %s %.3f,", train::op_name(static_cast<train::Op>(k)), t);
        }
        std::printf(" the rest %.3f s\n", step - counted);
    }
    // The best GEMM is the path with the lower median; taking each round's faster replay instead would set the
    // minimum of two noisy samples against one sample of the step, a bias of its own.
    const bool split_best = median(splits) <= median(owns);
    const std::vector<double>& alone = split_best ? splits : owns;
    const double best = median(alone);
    std::vector<double> ratios;
    for (size_t r = 0; r < steps.size(); ++r) ratios.push_back(steps[r] / alone[r]);
    const double s = median(steps);
    std::printf("median: step %.3f s, %.0f tokens/s, MFU %.1f%% of %.1f GFLOP/s measured peak; GEMMs alone %.3f s "
                "(%s, the faster path: pool split %.3f, BLAS threads %.3f); step / GEMMs alone = %.3f (limit 1.15)\n",
                s, tokens / s, 100 * flops / s / peak, peak / 1e9, best, split_best ? "pool split" : "BLAS threads",
                median(splits), median(owns), median(ratios));
    if (compare_blas)
        std::printf("with the step's GEMMs on BLAS's threads: step %.3f s, step / GEMMs alone = %.3f\n",
                    median(blas_steps), median(blas_steps) / best);
    return 0;
}

// Attention forward + backward alone, fused against naive: time per call and the rate of the model FLOPs
// (causal QK^T and PV, forward 1x and backward 2x; the fused path's recompute is not counted).
int bench_attention(const std::map<std::string, std::string>& o) {
    const int B = std::stoi(opt(o, "batch", "2")), T = std::stoi(opt(o, "seq", "256")), H = std::stoi(opt(o, "heads", "12")),
              hd = std::stoi(opt(o, "head-dim", "64"));
    const int threads = std::stoi(opt(o, "threads", std::to_string(cpu::ThreadPool::available_threads())));
    const int rounds = std::stoi(opt(o, "rounds", "5"));
    cpu::ThreadPool pool(threads);
    train::set_blas_threads(1);
    const int64_t d = static_cast<int64_t>(H) * hd, N = static_cast<int64_t>(B) * T;
    std::vector<float> qkv(N * 3 * d), out(N * d), dout(N * d), dqkv(N * 3 * d);
    uint64_t z = 1;
    for (auto* v : {&qkv, &dout})
        for (auto& x : *v) x = static_cast<float>((z = z * 6364136223846793005ull + 1442695040888963407ull) >> 40) / 16777216.0f - 0.5f;
    const double flops = 3.0 * 2 * 2 * B * H * (T * (T + 1) / 2.0) * hd;
    for (auto impl : {train::AttentionImpl::FUSED, train::AttentionImpl::NAIVE}) {
        std::vector<float> stats(train::attention_stats(impl, B, T, H)), scratch(train::attention_scratch(impl, T, hd, threads));
        std::vector<double> t;
        for (int r = 0; r < rounds; ++r)
            t.push_back(seconds([&] {
                train::attention_forward(pool, impl, out.data(), stats.data(), qkv.data(), B, T, H, hd, scratch.data());
                train::attention_backward(pool, impl, dqkv.data(), dout.data(), out.data(), stats.data(), qkv.data(), B, T, H,
                                          hd, scratch.data());
            }));
        const double s = median(t);
        std::printf("attention %s batch %d seq %d heads %d x %d threads %d: forward + backward %.2f ms, %.1f GFLOP/s of model "
                    "FLOPs, %.1f MB kept for the backward pass\n",
                    train::attention_name(impl), B, T, H, hd, threads, s * 1e3, flops / s / 1e9,
                    stats.size() * 4.0 / 1e6);
    }
    return 0;
}

int bench_resnet(const std::map<std::string, std::string>& o) {
    const train::ResnetConfig c = train::resnet50_config(opt(o, "dataset", "imagenet-1k"), std::stoi(opt(o, "width", "64")));
    const int batch = std::stoi(opt(o, "batch", "16"));
    const int threads = std::stoi(opt(o, "threads", std::to_string(cpu::ThreadPool::available_threads())));
    const int rounds = std::stoi(opt(o, "rounds", "3"));
    train::Resnet net(c, batch, threads, 1);
    net.step();  // first touch, JIT caches
    const auto ops = net.ops();
    std::printf("train-resnet50 %s batch %d threads %d: %zu ops per step (%s)\n", c.dataset.c_str(), batch, threads, ops.size(),
                train::onednn_version().c_str());
    std::vector<double> ratios, steps;
    for (int r = 0; r < rounds; ++r) {
        double loss = 0;
        const double step = seconds([&] { loss = net.step(); });
        // Each op alone, in the step's order, three passes (three more steps): every op then sees the state it sees
        // in a step. Repeating one op in place would run the updates and the accumulating backward ops again and
        // again on the same buffers, and the network would diverge under the measurement.
        std::vector<std::vector<double>> t(ops.size());
        for (int k = 0; k < 3; ++k)
            for (size_t i = 0; i < ops.size(); ++i) t[i].push_back(seconds([&] { net.run_op(i); }));
        double alone = 0, host = 0;
        for (size_t i = 0; i < ops.size(); ++i) (ops[i].primitive ? alone : host) += median(t[i]);
        ratios.push_back(step / alone);
        steps.push_back(step);
        std::printf("round %d: step %.3f s (loss %.4f), primitives alone %.3f s (host ops alone %.3f s): ratio %.3f\n",
                    r + 1, step, loss, alone, host, step / alone);
    }
    const double s = median(steps);
    std::printf("median: step %.3f s, %.2f images/s; step / primitives alone = %.3f (limit 1.15)\n", s, batch / s,
                median(ratios));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string what = argc > 1 ? argv[1] : "";
    try {
        if (what == "gpt") return bench_gpt(parse(argc, argv, 2));
        if (what == "resnet") return bench_resnet(parse(argc, argv, 2));
        if (what == "attention") return bench_attention(parse(argc, argv, 2));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
    std::fprintf(stderr, "usage: versus_train_bench gpt|resnet|attention [--option value ...]\n");
    return 2;
}
