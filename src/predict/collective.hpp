// collective: the predictor's model of GPUs working together — the α–β time of an all-reduce on N GPUs of a
// platform (ring and tree, as NCCL runs them), and data-parallel training scaling built on it. Links come from
// the spec database (NVLink per GPU, PCIe, the network per node of a system); latencies and efficiencies are
// assumed, with ranges, and every prediction says so. Formulas: docs/metrics.md ("Multi-GPU prediction").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llm/config.hpp"
#include "predict/roofline.hpp"
#include "predict/specs.hpp"

namespace versus::predict {

// One level of the interconnect: bandwidth in one direction (per GPU inside a node, per node between nodes) and
// the latency of one step of a collective over it, with its range.
struct LinkLevel {
    std::string name;  // "NVLink 4", "PCIe 4.0 x16", "InfiniBand NDR or 400GbE, ConnectX-7 (8 x 400 Gb/s)"
    double bandwidth_Bps = 0;
    Estimate alpha_s;
};

// The link between the GPUs of one machine: NVLink when the n GPUs fit its domain, else PCIe. Adds what it rests
// on to *rests_on.
LinkLevel intra_link(const Platform& p, int n_gpus, std::vector<std::string>* rests_on);

// Where N GPUs of a platform sit: nodes of G GPUs joined by `intra`, the nodes by `inter`.
struct Topology {
    int gpus = 1, gpus_per_node = 1, nodes = 1;
    LinkLevel intra;
    std::optional<LinkLevel> inter;  // when nodes > 1
    std::vector<std::string> rests_on;
};

// The topology of n GPUs of `p`. A node is `system` when given (its GPU count and network), else the platform's
// server of 8 GPUs (or the NVLink domain when larger), with one 400 Gb/s NIC per GPU assumed between nodes.
Topology topology_for(const Platform& p, int n_gpus, const System* system);

enum class AllReduceAlgo { RING, TREE };
const char* allreduce_algo_name(AllReduceAlgo a);

// The α–β time of one all-reduce of `bytes` per GPU (nccl-tests' S), G GPUs per node on N nodes:
//   ring  2 (G N - 1) α_step + max(2 (G-1)/G · S / B_intra, 2 (N-1)/N · S / B_node)
//   tree  2 ((G-1) α_intra + ⌈log2 N⌉ α_inter) + max(2 (G-1)/G · S / B_intra, [N > 1] 2 S / B_node)
// α_step is α_inter when N > 1 (every step of a ring that leaves a node waits for the network), else α_intra.
// Bandwidths are the links' own; callers scale them by an efficiency.
double allreduce_seconds(AllReduceAlgo algo, int gpus_per_node, int nodes, double bytes, double alpha_intra_s,
                         double alpha_inter_s, double intra_Bps, double inter_node_Bps);

// Link efficiency: the share of a link's bandwidth NCCL's large all-reduces reach (bus bandwidth / link),
// assumed 0.8 (0.6-1.0; NVLink SHARP on NVSwitch systems reaches the top).
struct LinkEfficiency {
    double value = 0.8, low = 0.6, high = 1.0;
};

struct AllReducePrediction {
    std::string platform_id;
    Topology topo;
    double bytes = 0;
    Estimate ring_s, tree_s;  // time of one all-reduce with its range
    AllReduceAlgo best = AllReduceAlgo::RING;
    Estimate busbw_Bps;       // of the faster algorithm
    std::vector<std::string> rests_on;
};
AllReducePrediction predict_allreduce(const Platform& p, int n_gpus, double bytes, const System* system);

// Data-parallel training of a GPT-style model: each GPU runs a micro-batch of `micro_batch` sequences of `seq`
// tokens, then the gradients (every parameter, `grad_bytes` each) are all-reduced. The step takes
//   compute + all-reduce                         with no overlap (the range's slow end),
//   compute/3 + max(2 compute/3, all-reduce)    when the all-reduce hides behind the backward pass (fast end),
// the value being their mean. Scaling efficiency = one GPU's step time / the step time on N.
struct DataParallelPrediction {
    std::string platform_id;
    Topology topo;
    double gradient_bytes = 0, tokens_per_step = 0;
    Estimate compute_s, allreduce_s, step_s;
    Estimate tokens_per_s;        // over all GPUs
    Estimate scaling_efficiency;  // 0..1
    std::vector<std::string> rests_on;
};
// `model`: a train-gpt model (training_model(): the engine's presets, bert-large, ...); one GPU's rate is the
// calibrated training prediction, the gradients (its parameters x grad_bytes) are all-reduced every step.
DataParallelPrediction predict_data_parallel(const Platform& p, const std::string& model, int64_t seq,
                                             int64_t micro_batch, int n_gpus, const System* system,
                                             int grad_bytes = 4);

}  // namespace versus::predict
