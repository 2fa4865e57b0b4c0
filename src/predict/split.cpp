#include "predict/split.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "base/error.hpp"
#include "llm/offload.hpp"
#include "predict/fit.hpp"

namespace versus::predict {

namespace {

constexpr double GB = 1e9;

// The link a residual crosses between neighbouring GPUs of the split, in one machine: NVLink inside its domain,
// else PCIe, where llama.cpp's copy between cards without peer access (GeForce) is staged through host memory:
// two copies in turn, half the link's rate.
LinkLevel hop_link(const Platform& p, int n_gpus, std::vector<std::string>* rests_on) {
    LinkLevel l = intra_link(p, n_gpus, rests_on);
    if (l.name.starts_with("PCIe")) {
        l.bandwidth_Bps /= 2;
        rests_on->push_back("PCIe copies between GPUs staged through host memory (half the link's rate)");
    }
    return l;
}

// One hop's time for `tokens` residual rows at the three ends of the range.
Estimate hop_seconds(const LinkLevel& l, double tokens, int64_t n_embd) {
    const double bytes = tokens * static_cast<double>(n_embd) * 4;
    const LinkEfficiency e;
    return {SPLIT_HOP_ALPHA_S.value + bytes / (l.bandwidth_Bps * e.value),
            SPLIT_HOP_ALPHA_S.low + bytes / (l.bandwidth_Bps * e.high),
            SPLIT_HOP_ALPHA_S.high + bytes / (l.bandwidth_Bps * e.low)};
}

// tokens/s after adding `hops` seconds to each op of the phase (value, low and high kept in their order).
Estimate with_hops(const Estimate& tps, double tokens, const Estimate& hops) {
    auto at = [&](double rate, double extra) { return tokens / (tokens / rate + extra); };
    return {at(tps.value, hops.value), at(tps.low, hops.high), at(tps.high, hops.low)};
}

}  // namespace

SplitPrediction predict_llm_split(const Platform& p, const LlmQuery& q, int n_gpus, const Calibration& cal,
                                  const PredictOptions& opt) {
    if (n_gpus < 1) throw UsageError("--gpus", fmt::format("{} GPUs", n_gpus), "give 1 or more");
    if (p.memory_kind != MemoryKind::DISCRETE)
        throw UsageError(p.id, "a layer split is for discrete GPUs (each with its own memory)",
                         "choose a discrete GPU, e.g. rtx-3090");
    SplitPrediction out;
    out.platform_id = p.id;
    out.gpus = n_gpus;
    out.link = hop_link(p, n_gpus, &out.rests_on);
    const llm::ModelConfig& c = q.model;
    const llm::WeightSummary w = q.weights();

    // Per GPU: its blocks with their KV cache and working buffers; the output (and the output norm) on the last.
    // The token embedding stays in host memory, as llama.cpp keeps it.
    out.budget_bytes = device_budget_bytes(p, opt, &out.budget_rule);
    const MemoryPlan whole = plan_memory(p, q, opt);  // for its KV and working-buffer figures
    const std::vector<uint64_t> block_bytes = q.layer_bytes();
    const std::vector<int64_t> counts = llm::split_layers(c.n_layer, std::vector<double>(static_cast<size_t>(n_gpus), 1.0));
    double blocks_total = 0;
    for (uint64_t b : block_bytes) blocks_total += static_cast<double>(b);
    const double output_bytes = std::max(0.0, whole.weight_bytes - blocks_total - static_cast<double>(w.embd_bytes));
    const double kv_layer = whole.kv_bytes / static_cast<double>(std::max<int64_t>(1, c.n_layer));
    int64_t first = 0;
    double fullest = 0;
    out.fits = true;
    std::string shares;
    for (int d = 0; d < n_gpus; ++d) {
        SplitDevice dev;
        dev.first_layer = first;
        dev.n_layers = counts[static_cast<size_t>(d)];
        dev.output = d == n_gpus - 1;
        for (int64_t l = first; l < first + dev.n_layers && l < static_cast<int64_t>(block_bytes.size()); ++l)
            dev.need_bytes += static_cast<double>(block_bytes[static_cast<size_t>(l)]) + kv_layer;
        dev.need_bytes += whole.working_bytes + (dev.output ? output_bytes : 0.0);
        first += dev.n_layers;
        fullest = std::max(fullest, dev.need_bytes);
        if (dev.need_bytes > out.budget_bytes) out.fits = false;
        shares += (shares.empty() ? "" : " + ") + std::to_string(dev.n_layers);
        out.devices.push_back(dev);
    }
    out.summary = fmt::format("{} layers as {} on {} GPUs, {:.1f} of {:.1f} GB on the fullest{}", c.n_layer, shares,
                              n_gpus, fullest / GB, out.budget_bytes / GB, out.fits ? "" : ": does not fit");
    out.hop_prefill_s = hop_seconds(out.link, static_cast<double>(std::min(q.n_prompt, PREFILL_BATCH)), c.n_embd);
    out.hop_decode_s = hop_seconds(out.link, 1.0, c.n_embd);
    out.rests_on.push_back(fmt::format("hop between GPUs {:.3g} us ({:.3g}-{:.3g}, assumed) + the residual over the link",
                                       SPLIT_HOP_ALPHA_S.value * 1e6, SPLIT_HOP_ALPHA_S.low * 1e6,
                                       SPLIT_HOP_ALPHA_S.high * 1e6));
    if (!out.fits) return out;

    // The sum of the GPUs' times is the whole model's time on one GPU of the same rates that could hold it.
    Platform joined = p;
    const double vram = p.gpu_mem_max_GB.value_or(p.memory_GB) * n_gpus;
    joined.gpu_mem_max_GB = vram;
    joined.memory_GB = vram;
    const LlmPrediction one = predict_llm(joined, q, cal, opt);
    for (const auto& r : one.rests_on) out.rests_on.push_back(r);
    if (!one.prefill || !one.decode) {
        out.fits = false;
        out.summary += " (the model's working buffers do not fit)";
        return out;
    }
    // Every prefill batch crosses each boundary once; every decoded token does.
    const double hops = n_gpus - 1;
    const double batches = layer_passes(Phase::PREFILL, q.n_prompt);
    auto times = [](const Estimate& e, double k) { return Estimate{e.value * k, e.low * k, e.high * k}; };
    const Estimate pre_hops = times(out.hop_prefill_s, hops * batches), dec_hops = times(out.hop_decode_s, hops);
    out.prefill = *one.prefill;
    out.prefill->tokens_per_s = with_hops(one.prefill->tokens_per_s, static_cast<double>(q.n_prompt), pre_hops);
    out.decode = *one.decode;
    out.decode->tokens_per_s = with_hops(one.decode->tokens_per_s, 1.0, dec_hops);
    return out;
}

}  // namespace versus::predict
