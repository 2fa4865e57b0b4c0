// split: LLM inference on N GPUs of one platform with the layers split between them (llama.cpp's -sm layer:
// consecutive blocks on consecutive GPUs, the output on the last). One token still passes every block in turn,
// so a phase takes the sum of the GPUs' times — the whole model's time on one GPU that could hold it — plus a
// hop per boundary, where the residual stream (tokens x n_embd f32) crosses to the next GPU:
//   t_split = t_model + (N - 1) (α_hop + tokens · n_embd · 4 / B_link)
// The fit is checked per GPU: its blocks' weights and KV cache plus its working buffers (the output on the last)
// against its budget. Formulas: docs/metrics.md ("Multi-GPU prediction"); evidence: data/backtest/llama-cpp-multi-gpu.csv.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "predict/collective.hpp"
#include "predict/roofline.hpp"

namespace versus::predict {

// The fixed cost of one hop between the GPUs of a layer split, besides the copy at the link's rate: llama.cpp's
// scheduler copies the residual to the next device, synchronises, and launches the next device's part of the graph.
// 150 us (50-350 us): the median per-hop excess of split over one-GPU decode in the fit rows of
// data/backtest/llama-cpp-multi-gpu.csv (RTX 3090 x2, x4, x6 against one RTX 3090 in the same table).
constexpr Estimate SPLIT_HOP_ALPHA_S{150e-6, 50e-6, 350e-6};

struct SplitDevice {
    int64_t first_layer = 0, n_layers = 0;
    bool output = false;
    double need_bytes = 0;  // weights + KV + working buffers
};

struct SplitPrediction {
    std::string platform_id;
    int gpus = 1;
    std::vector<SplitDevice> devices;
    double budget_bytes = 0;  // per GPU
    std::string budget_rule;
    bool fits = false;
    std::string summary;  // "80 layers as 40 + 40 on 2 GPUs, 21.5 of 23.5 GB on the fullest"
    LinkLevel link;
    std::optional<PhaseEstimate> prefill, decode;  // absent when it does not fit
    Estimate hop_prefill_s, hop_decode_s;            // one boundary crossing of the phase's tokens
    std::vector<std::string> rests_on;
};

SplitPrediction predict_llm_split(const Platform& p, const LlmQuery& q, int n_gpus, const Calibration& cal,
                                  const PredictOptions& opt = {});

}  // namespace versus::predict
