// Contract: a standalone timing program for versus's tokenizer, the counterpart of `node llama-cpp.mjs
// tokenize` (bench/bench-tokenizer.sh runs both, alternating). Encodes the whole file in one call (no BOS,
// special tokens not parsed), best of --reps runs after a warm-up, one thread; prints one JSON line:
//   {"bytes":N,"tokens":T,"best_s":S,"mb_per_s":M,"mb_per_cpu_s":C}   (MB = 10^6 bytes)
// mb_per_cpu_s divides by the thread's CPU time instead of the wall time: on a shared machine, where the
// thread waits for a core, it is the speed of one core.
//
//   versus_tokenizer_bench MODEL.gguf TEXT [REPS]
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "base/error.hpp"
#include "llm/gguf.hpp"
#include "llm/tokenizer.hpp"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: versus_tokenizer_bench MODEL.gguf TEXT [REPS]\n");
        return 2;
    }
    try {
        const auto file = versus::llm::GgufFile::open(argv[1]);
        const auto tok = versus::llm::Tokenizer::from_gguf(file);
        std::ifstream in(argv[2], std::ios::binary);
        if (!in) throw versus::UsageError("bench", std::string("cannot open ") + argv[2], "check the path");
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string text = ss.str();
        const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
        size_t tokens = tok.encode(text, false, false).size();  // warm-up
        const auto cpu_s = [] {
            timespec ts{};
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
            return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
        };
        double best = 1e30, best_cpu = 1e30;
        for (int r = 0; r < reps; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            const double c0 = cpu_s();
            tokens = tok.encode(text, false, false).size();
            best_cpu = std::min(best_cpu, cpu_s() - c0);
            best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        const auto mb = static_cast<double>(text.size()) / 1e6;
        std::printf("{\"bytes\":%zu,\"tokens\":%zu,\"best_s\":%.6f,\"mb_per_s\":%.3f,\"mb_per_cpu_s\":%.3f}\n",
                    text.size(), tokens, best, mb / best, mb / best_cpu);
        return 0;
    } catch (const versus::UsageError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
}
