// offload: the first N decoder blocks of a model run somewhere other than the CPU Session (a GPU, through a
// backend's llm_* ops), and the arithmetic of that split: which blocks, how many device bytes, whether they fit.
//
// Semantics (as llama.cpp's -ngl): blocks 0 .. N-1 on the device, N .. n_layer-1 on the CPU; the output norm
// and matrix on the device only when every block is there (N >= n_layer, which means "all"). The token
// embedding stays on the host: the device receives the residual stream and returns either the residual after
// block N-1 or, holding the output, the logits: one host round trip per eval() whatever N is.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "backend/cpu/thread-pool.hpp"
#include "llm/config.hpp"

namespace versus::llm {

class Model;

// Blocks 0 .. n_layers()-1 of a model with their own KV cache. Session (model.hpp) runs the rest.
class LayerRunner {
public:
    virtual ~LayerRunner() = default;
    virtual int64_t n_layers() const = 0;
    // The first block it runs: 0 unless it is a later piece of a split.
    virtual int64_t first_layer() const { return 0; }
    // True when the runner holds the output norm and matrix too; then eval() returns logits.
    virtual bool has_output() const = 0;
    // x    f32 (n, n_embd): the residual entering block 0, tokens at positions pos0 .. pos0 + n - 1
    // out  f32 (n, n_embd): the residual after the last block (may alias x); with has_output(): logits,
    //      (n_vocab) of the last token or (n, n_vocab) with all_logits
    virtual void eval(const float* x, int64_t n, int64_t pos0, float* out, bool all_logits) = 0;
    // Where the blocks run, for messages: "cpu", "cuda:0 (NVIDIA H100 80GB HBM3)".
    virtual std::string where() const = 0;
};

// Blocks 0 .. n_layers-1 on the CPU, with the Session's own code (model.cpp): the reference the device split
// is tested against, and a way to exercise the split without a GPU. n_layers in 1 .. n_layer.
std::unique_ptr<LayerRunner> make_cpu_layers(const Model& m, int64_t n_layers, int64_t n_ctx, int64_t n_batch,
                                             cpu::ThreadPool& pool);
// Blocks 0 .. n_layers-1 (and the output when n_layers == n_layer) uploaded to a backend device. Throws
// UsageError when a weight type has no kernel there, BackendError when the device fails.
std::unique_ptr<LayerRunner> make_device_layers(backend::Backend& b, int device, const Model& m, int64_t n_layers,
                                                int64_t n_ctx, int64_t n_batch);

// Weight bytes per block (norms and biases included) and of the output (norm + matrix; the token
// embedding when the output is tied to it).
struct LayerBytes {
    std::vector<uint64_t> layers;
    uint64_t output = 0;
};
// `bytes` gives a tensor's stored size (from a file's tensor table, a preset's type, a loaded model).
LayerBytes layer_bytes(const ModelConfig& c, const std::function<uint64_t(const TensorSpec&)>& bytes);
LayerBytes layer_bytes(const ModelConfig& c, GgmlType type);  // a synthetic preset: matrices in `type`
LayerBytes layer_bytes(const Model& m);

// Device memory of N blocks on the device.
struct OffloadPlan {
    int64_t first_layer = 0;    // the first of its blocks (0 for an offload, later for the pieces of a split)
    int64_t n_layers = 0;       // blocks on the device: min(requested, n_layer)
    bool output = false;        // the output norm and matrix too (every block is there)
    uint64_t weight_bytes = 0;  // those blocks' weights (+ output)
    uint64_t kv_bytes = 0;      // their f16 KV cache for n_ctx positions
    uint64_t working_bytes = 0; // activations and scratch of n_batch tokens on the device
    uint64_t total() const { return weight_bytes + kv_bytes + working_bytes; }
};
// `requested` >= 0; more than n_layer means every block. Throws UsageError for a negative count.
OffloadPlan plan_offload(const ModelConfig& c, const LayerBytes& lb, int64_t requested, int64_t n_ctx, int64_t n_batch);
// A layer split: one plan per device, device d holding counts[d] consecutive blocks (split_layers()), the last
// device the output too. Throws UsageError when the counts do not add up to the model's blocks.
std::vector<OffloadPlan> plan_split(const ModelConfig& c, const LayerBytes& lb, const std::vector<int64_t>& counts,
                                    int64_t n_ctx, int64_t n_batch);
// Refuses, before anything is allocated, a split a device cannot hold: UsageError naming the first such device
// with the numbers (devices[d] names device d, budgets[d] is what it may use).
void check_split_fit(const std::string& label, const std::vector<OffloadPlan>& plans,
                     const std::vector<std::string>& devices, const std::vector<uint64_t>& budgets);

// Device activations and scratch of n_batch tokens (what the CUDA plugin allocates, docs/cuda.md).
uint64_t device_working_bytes(const ModelConfig& c, const LayerBytes& lb, int64_t n_layers, bool output,
                              int64_t n_batch);
// The most blocks (0 .. n_layer) whose plan fits in budget_bytes.
int64_t layers_that_fit(const ModelConfig& c, const LayerBytes& lb, int64_t n_ctx, int64_t n_batch,
                        uint64_t budget_bytes);
// Refuses, before anything is allocated, a plan the device cannot hold: UsageError with the numbers and the
// largest N that fits, e.g. "llama-70b Q4_0: 80 blocks + output on NVIDIA H100 need 40.1 GB (weights 38.5 + KV
// 1.3 + buffers 0.3), 79.1 GB available".
void check_offload_fit(const std::string& label, const ModelConfig& c, const LayerBytes& lb, const OffloadPlan& p,
                       int64_t n_ctx, int64_t n_batch, const std::string& device, uint64_t budget_bytes);
// A model split by layers over several devices (llama.cpp's -sm layer): device d runs the consecutive blocks
// first[d] .. first[d] + count[d] - 1, the last device the output too. Block l goes to the first device whose
// cumulative share of `fractions` (e.g. each device's memory) exceeds l / n_layer, as llama.cpp assigns them; the
// output, "block n_layer", to the last device. Returns the block count per device (zeros allowed). Throws
// UsageError for no devices or a share that is negative or all zero.
std::vector<int64_t> split_layers(int64_t n_layer, const std::vector<double>& fractions);

// Runners for consecutive block ranges chained into one: each one's output residual is the next one's input
// (one host round trip per device and eval), the last holding the output. Throws UsageError when the ranges do
// not start at block 0 and follow each other, or the output is not on the last.
std::unique_ptr<LayerRunner> chain_layers(std::vector<std::unique_ptr<LayerRunner>> parts, int64_t n_embd);

// Blocks first .. first + n_layers - 1 (and the output when they end at n_layer) on the CPU or a backend device:
// the pieces of a split. The range forms of make_cpu_layers and make_device_layers.
std::unique_ptr<LayerRunner> make_cpu_layer_range(const Model& m, int64_t first, int64_t n_layers, int64_t n_ctx,
                                                  int64_t n_batch, cpu::ThreadPool& pool);
std::unique_ptr<LayerRunner> make_device_layer_range(backend::Backend& b, int device, const Model& m, int64_t first,
                                                     int64_t n_layers, int64_t n_ctx, int64_t n_batch);

// Why N > 0 blocks cannot go to a GPU: "--gpu-layers 2 needs the CUDA backend, which is not available
// (libversus-cuda.so not found ...)".
std::string no_gpu_message(int64_t n_layers, const std::string& why);

}  // namespace versus::llm
