// Contract: a standalone timing program for versus's tokenizer, the counterpart of `node llama-cpp.mjs
// tokenize` (bench/bench-tokenizer.sh runs both, alternating). Encodes the whole file in one call (no BOS,
// special tokens not parsed), best of --reps runs after a warm-up, one thread; prints one JSON line:
//   {"bytes":N,"tokens":T,"best_s":S,"mb_per_s":M}   (MB = 10^6 bytes)
//
//   versus_tokenizer_bench MODEL.gguf TEXT [REPS]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.hpp"
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
        double best = 1e30;
        for (int r = 0; r < reps; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            tokens = tok.encode(text, false, false).size();
            best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        std::printf("{\"bytes\":%zu,\"tokens\":%zu,\"best_s\":%.6f,\"mb_per_s\":%.3f}\n", text.size(), tokens, best,
                    static_cast<double>(text.size()) / best / 1e6);
        return 0;
    } catch (const versus::UsageError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
}
