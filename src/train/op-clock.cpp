#include "train/op-clock.hpp"

#include <array>
#include <atomic>
#include <cstdint>

namespace versus::train {

namespace {
constexpr auto N_OPS = static_cast<size_t>(Op::COUNT);
std::array<std::atomic<int64_t>, N_OPS> op_ns{};  // nanoseconds: atomic adds on an integer
}  // namespace

const char* op_name(Op op) {
    static constexpr std::array<const char*, N_OPS> names{"GEMMs",      "attention", "norms",    "biases",
                                                          "activations", "RoPE",      "loss",     "residuals",
                                                          "embedding",   "optimizer", "bf16 rounding"};
    return names[static_cast<size_t>(op)];
}

double op_seconds(Op op) { return static_cast<double>(op_ns[static_cast<size_t>(op)].load()) * 1e-9; }

void op_add(Op op, double seconds) {
    op_ns[static_cast<size_t>(op)].fetch_add(static_cast<int64_t>(seconds * 1e9), std::memory_order_relaxed);
}

}  // namespace versus::train
