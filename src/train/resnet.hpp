// resnet: ResNet-50 v1.5 training on the CPU through oneDNN's primitives (convolution forward, backward data
// and backward weights; batch normalisation with its ReLU fused; max and average pooling; the residual sum
// with its ReLU as a post-op; the classifier), in the memory layouts oneDNN picks for this CPU. The step is
// built once as a list of ops (a primitive with its arguments, or a few lines of host code for the loss and
// SGD with momentum), so that it runs as one pass over that list and a benchmark can time every op alone.
// Synthetic images and labels, deterministic by seed, fixed for the life of the object.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "train/resnet-config.hpp"

namespace versus::train {

struct SgdConfig {
    double lr = 0.1, momentum = 0.9, weight_decay = 1e-4;  // decay on convolution and classifier weights only
};

struct ResnetMemory {
    double weights = 0, grads = 0, momentum = 0, activations = 0;  // activations: saved, their gradients, workspaces
    double total() const { return weights + grads + momentum + activations; }
};

class Resnet {
public:
    // Builds every primitive (oneDNN's JIT) and, unless `plan_only`, allocates and initialises weights (He
    // normal for convolutions, the classifier uniform in +-1/sqrt(fan_in), batch norm 1 and 0) and the batch.
    // Throws UsageError for a bad configuration and std::runtime_error when oneDNN refuses a primitive.
    Resnet(const ResnetConfig& c, int batch, int threads, uint64_t seed, const SgdConfig& sgd = {}, bool plan_only = false);
    ~Resnet();
    Resnet(const Resnet&) = delete;
    Resnet& operator=(const Resnet&) = delete;

    // One SGD step on the fixed batch: forward, mean cross-entropy, backward, update. Returns the loss.
    double step();
    // The step without its update: the loss, with every gradient left in place (tests).
    double loss_and_gradients();
    // Every trained tensor in oneDNN's layout (blocked layouts pad with zeros, whose gradients are zero).
    struct Tensor {
        float* w;
        const float* grad;
        size_t n;
    };
    std::vector<Tensor> parameters();
    // Bytes the step holds, from the primitives' memory descriptors (exact for plan_only objects too).
    ResnetMemory memory() const;

    // The ops of one step in order, for the benchmark: name, and run() executing it alone (waits for it).
    struct OpInfo {
        std::string name;
        bool primitive;  // false: host code (loss, SGD)
    };
    std::vector<OpInfo> ops() const;
    void run_op(size_t i);

    const ResnetConfig& config() const { return c_; }
    int batch() const { return batch_; }

private:
    double run_ops(size_t n);  // the first n ops of the step
    struct Impl;
    std::unique_ptr<Impl> impl_;
    ResnetConfig c_;
    int batch_;
};

// Bytes a configuration would hold, without allocating it.
ResnetMemory resnet_memory(const ResnetConfig& c, int batch);
// oneDNN's version, "oneDNN 2.6.3 (cpu: OpenMP)".
std::string onednn_version();

}  // namespace versus::train
