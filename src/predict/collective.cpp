#include "predict/collective.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/metrics.hpp"
#include "predict/throughput.hpp"
#include "predict/training.hpp"

namespace versus::predict {

namespace {

constexpr double GIGA = 1e9;
// Latency of one step of a collective (a hop plus its synchronisation), assumed with a range of 2x each way:
// NVLink/NVSwitch about 1 us (an 8-GPU ring's 14 steps give the ~10-15 us small all-reduces of nccl-tests),
// PCIe peer-to-peer about 3 us, an InfiniBand/RoCE hop about 5 us.
constexpr Estimate ALPHA_NVLINK{1e-6, 0.5e-6, 2e-6};
constexpr Estimate ALPHA_PCIE{3e-6, 1.5e-6, 6e-6};
constexpr Estimate ALPHA_NETWORK{5e-6, 2.5e-6, 10e-6};
// Between nodes of a platform without a system row: one 400 Gb/s NIC per GPU, as NVIDIA's DGX/HGX reference.
constexpr double ASSUMED_NIC_GBITPS = 400;
constexpr int ASSUMED_NODE_GPUS = 8;

}  // namespace

LinkLevel intra_link(const Platform& p, int gpus_per_node, std::vector<std::string>* rests_on) {
    LinkLevel l;
    if (p.nvlink_GBps && *p.nvlink_GBps > 0 && gpus_per_node <= p.nvlink_domain_gpus.value_or(gpus_per_node)) {
        l.name = fmt::format("NVLink {}", p.nvlink_gen ? std::to_string(*p.nvlink_gen) : std::string("?"));
        l.bandwidth_Bps = *p.nvlink_GBps * GIGA;
        l.alpha_s = ALPHA_NVLINK;
        rests_on->push_back(fmt::format("{} {:.4g} GB/s per GPU each way (spec)", l.name, *p.nvlink_GBps));
    } else {
        const double gbps = p.host_link_GBps.value_or(p.pcie_gen && p.pcie_lanes ? pcie_lane_GBps(*p.pcie_gen) * *p.pcie_lanes
                                                                                  : 16.0);
        l.name = p.pcie_gen ? fmt::format("PCIe {}.0 x{}", *p.pcie_gen, p.pcie_lanes.value_or(16)) : "PCIe (assumed)";
        l.bandwidth_Bps = gbps * GIGA;
        l.alpha_s = ALPHA_PCIE;
        rests_on->push_back(fmt::format("{} {:.4g} GB/s each way between GPUs ({}){}", l.name, gbps,
                                        p.host_link_GBps ? "spec" : "assumed",
                                        p.nvlink_GBps ? "; more GPUs than the NVLink domain joins" : ""));
    }
    return l;
}

namespace {

Estimate scaled(double v, double lo, double hi) { return {v, lo, hi}; }

}  // namespace

const char* allreduce_algo_name(AllReduceAlgo a) { return a == AllReduceAlgo::RING ? "ring" : "tree"; }

Topology topology_for(const Platform& p, int n_gpus, const System* system) {
    if (n_gpus < 1) throw UsageError("--gpus", fmt::format("{} GPUs", n_gpus), "give 1 or more");
    if (p.device_kind != DeviceKind::GPU)
        throw UsageError(p.id, "is not a GPU: multi-GPU predictions need a GPU platform", "choose e.g. h100-sxm");
    Topology t;
    t.gpus = n_gpus;
    // A node: the system's, else a server of 8 GPUs (or the NVLink domain when it is larger, as NVL72's rack).
    const int node = system ? std::max(1, system->gpus)
                            : std::max(ASSUMED_NODE_GPUS, p.nvlink_domain_gpus.value_or(ASSUMED_NODE_GPUS));
    t.gpus_per_node = std::min(n_gpus, node);
    t.nodes = (n_gpus + t.gpus_per_node - 1) / t.gpus_per_node;
    if (system) t.rests_on.push_back(fmt::format("node: {} ({} GPUs), {}", system->name, system->gpus, system->source));
    t.intra = intra_link(p, t.gpus_per_node, &t.rests_on);
    if (t.nodes > 1) {
        LinkLevel l;
        l.alpha_s = ALPHA_NETWORK;
        const auto node_GBps = system ? system->scaleout_GBps() : std::nullopt;
        if (node_GBps) {
            l.name = fmt::format("{} ({} x {:.0f} Gb/s)", system->scaleout_net, *system->scaleout_ports,
                                 *system->scaleout_port_Gbitps);
            l.bandwidth_Bps = *node_GBps * GIGA;
            t.rests_on.push_back(fmt::format("network {:.4g} GB/s per node each way (spec)", *node_GBps));
        } else {
            l.name = fmt::format("{} x {:.0f} Gb/s per node (assumed)", t.gpus_per_node, ASSUMED_NIC_GBITPS);
            l.bandwidth_Bps = t.gpus_per_node * ASSUMED_NIC_GBITPS / 8 * GIGA;
            t.rests_on.push_back(fmt::format("network {} (assumed: name a system for its own)", l.name));
        }
        t.inter = l;
    }
    t.rests_on.push_back(fmt::format("step latency {:.3g} us ({:.3g}-{:.3g}) {}{} (assumed)", t.intra.alpha_s.value * 1e6,
                                     t.intra.alpha_s.low * 1e6, t.intra.alpha_s.high * 1e6, t.intra.name,
                                     t.inter ? fmt::format(", {:.3g} us between nodes", t.inter->alpha_s.value * 1e6)
                                             : std::string()));
    return t;
}

double allreduce_seconds(AllReduceAlgo algo, int gpus_per_node, int nodes, double bytes, double alpha_intra_s,
                         double alpha_inter_s, double intra_Bps, double inter_node_Bps) {
    const double G = gpus_per_node, N = nodes, n = G * N;
    if (n <= 1) return 0;
    const double intra = G > 1 && intra_Bps > 0 ? 2 * (G - 1) / G * bytes / intra_Bps : 0;
    double inter = 0;
    if (N > 1 && inter_node_Bps > 0)
        inter = (algo == AllReduceAlgo::RING ? 2 * (N - 1) / N : 2.0) * bytes / inter_node_Bps;
    double latency;
    if (algo == AllReduceAlgo::RING)
        latency = 2 * (n - 1) * (N > 1 ? alpha_inter_s : alpha_intra_s);
    else
        latency = 2 * ((G - 1) * alpha_intra_s + std::ceil(std::log2(N)) * alpha_inter_s);
    return latency + std::max(intra, inter);
}

AllReducePrediction predict_allreduce(const Platform& p, int n_gpus, double bytes, const System* system) {
    AllReducePrediction out;
    out.platform_id = p.id;
    out.bytes = bytes;
    out.topo = topology_for(p, n_gpus, system);
    const Topology& t = out.topo;
    const LinkEfficiency eff;
    const double inter_B = t.inter ? t.inter->bandwidth_Bps : 0;
    const Estimate inter_a = t.inter ? t.inter->alpha_s : Estimate{};
    for (AllReduceAlgo a : {AllReduceAlgo::RING, AllReduceAlgo::TREE}) {
        // The fast end: short latencies and efficient links; the slow end the opposite.
        auto at = [&](double alpha_i, double alpha_o, double e) {
            return allreduce_seconds(a, t.gpus_per_node, t.nodes, bytes, alpha_i, alpha_o, t.intra.bandwidth_Bps * e,
                                     inter_B * e);
        };
        const Estimate s = scaled(at(t.intra.alpha_s.value, inter_a.value, eff.value),
                                  at(t.intra.alpha_s.low, inter_a.low, eff.high),
                                  at(t.intra.alpha_s.high, inter_a.high, eff.low));
        (a == AllReduceAlgo::RING ? out.ring_s : out.tree_s) = s;
    }
    out.best = out.tree_s.value < out.ring_s.value ? AllReduceAlgo::TREE : AllReduceAlgo::RING;
    const Estimate& best = out.best == AllReduceAlgo::RING ? out.ring_s : out.tree_s;
    auto busbw = [&](double s) { return base::coll_busbw(base::coll_algbw(bytes, s), VERSUS_COLL_ALL_REDUCE, n_gpus); };
    out.busbw_Bps = {busbw(best.value), busbw(best.high), busbw(best.low)};
    out.rests_on = t.rests_on;
    out.rests_on.push_back(fmt::format("link efficiency {:.2g} ({:.2g}-{:.2g}, assumed)", eff.value, eff.low, eff.high));
    return out;
}


DataParallelPrediction predict_data_parallel(const Platform& p, const std::string& model, int64_t seq,
                                             int64_t micro_batch, int n_gpus, const System* system, int grad_bytes) {
    if (seq < 1 || micro_batch < 1)
        throw UsageError("--seq", "the sequence length and micro-batch must be positive", "e.g. --seq 1024");
    DataParallelPrediction out;
    out.platform_id = p.id;
    const ThroughputPrediction one = predict_gpt_training(p, model, seq);
    out.tokens_per_step = static_cast<double>(seq * micro_batch);
    const double tok = out.tokens_per_step;
    out.compute_s = {tok / one.value.value, tok / one.value.high, tok / one.value.low};
    out.gradient_bytes = training_model("train-gpt", model, seq).params * grad_bytes;
    const AllReducePrediction ar = predict_allreduce(p, n_gpus, out.gradient_bytes, system);
    out.topo = ar.topo;
    out.allreduce_s = ar.best == AllReduceAlgo::RING ? ar.ring_s : ar.tree_s;
    auto overlapped = [](double compute, double comm) { return compute / 3 + std::max(2 * compute / 3, comm); };
    const double fast = overlapped(out.compute_s.low, out.allreduce_s.low);
    const double slow = out.compute_s.high + out.allreduce_s.high;
    const double mid = (overlapped(out.compute_s.value, out.allreduce_s.value) + out.compute_s.value +
                        out.allreduce_s.value) / 2;
    out.step_s = {mid, fast, slow};
    const double n = n_gpus;
    out.tokens_per_s = {n * tok / mid, n * tok / slow, n * tok / fast};
    // One GPU has no all-reduce: its step is the compute alone, at the same end of the range.
    out.scaling_efficiency = {base::dp_scaling_efficiency(out.compute_s.value, mid),
                              base::dp_scaling_efficiency(out.compute_s.high, slow),
                              std::min(1.0, base::dp_scaling_efficiency(out.compute_s.low, fast))};
    out.rests_on = one.rests_on;
    out.rests_on.push_back(fmt::format("gradients {:.3g} GB ({} bytes per parameter), all-reduced by {}",
                                       out.gradient_bytes / GIGA, grad_bytes, allreduce_algo_name(ar.best)));
    for (const auto& r : ar.rests_on) out.rests_on.push_back(r);
    out.rests_on.push_back("overlap: none (slow end) to the whole backward pass, 2/3 of the compute (fast end)");
    return out;
}

}  // namespace versus::predict
