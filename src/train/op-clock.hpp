// op-clock: wall seconds the training engine spends in each kind of op, summed since the process started, so that
// a benchmark can say where a step's time goes (bench/train-bench.cpp) without timers in the step itself. An
// OpClock at the top of a layer function adds its scope's time to its kind; ops call one another only across
// kinds that do not overlap (a linear layer's clock covers its bias work, gemm() its own product).
#pragma once

#include <chrono>

namespace versus::train {

enum class Op { GEMM, ATTENTION, NORM, BIAS, ACTIVATION, ROPE, LOSS, RESIDUAL, EMBEDDING, OPTIMIZER, ROUND, COUNT };

const char* op_name(Op op);
double op_seconds(Op op);
void op_add(Op op, double seconds);

// Adds the wall time of its scope to op.
class OpClock {
public:
    explicit OpClock(Op op) : op_(op) {}
    ~OpClock() { op_add(op_, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count()); }
    OpClock(const OpClock&) = delete;
    OpClock& operator=(const OpClock&) = delete;

private:
    Op op_;
    std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

}  // namespace versus::train
