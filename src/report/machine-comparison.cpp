#include "report/machine-comparison.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "core/params.hpp"
#include "core/printers.hpp"
#include "llm/config.hpp"
#include "predict/roofline.hpp"
#include "predict/throughput.hpp"

namespace versus::report {

namespace {

struct Best {
    const core::Record* r = nullptr;
    double value = 0;
};

}  // namespace

const std::vector<std::string>& default_comparison_platforms() {
    static const std::vector<std::string> ids = {"m4-max-40c", "rtx-4090", "h100-sxm"};
    return ids;
}

std::string machine_comparison(const std::vector<core::Record>& records, const std::vector<std::string>& platform_ids,
                               bool md) {
    Best decode, prefill, gemm, triad;
    auto take = [](Best& b, const core::Record& r, double v) {
        if (v > b.value) b = {&r, v};
    };
    for (const auto& r : records) {
        if (r.str("status") != "ok") continue;
        const std::string w = r.str("workload");
        if (w == "llm" && r.str("gguf").empty()) take(r.str("phase") == "decode" ? decode : prefill, r, r.num("tokens_per_s"));
        if (w == "gemm" && r.str("dtype") == "f32") take(gemm, r, r.num("gflops"));
        // The triad at the largest working set measured, the one that comes from DRAM: a cache-sized set
        // runs several times faster and says nothing about the memory the other machines' figures describe.
        if (w == "membw" && r.str("op") == "triad") {
            const int64_t size = r.integer("size_bytes"), best = triad.r ? triad.r->integer("size_bytes") : -1;
            if (size > best || (size == best && r.num("gbps") > triad.value)) triad = {&r, r.num("gbps")};
        }
    }
    if (!decode.r && !gemm.r && !triad.r) return {};

    std::vector<predict::Platform> targets;
    for (const auto& id : platform_ids) targets.push_back(predict::resolve_platform(id));
    std::vector<std::string> header = {"figure", "this machine (measured)"};
    for (const auto& p : targets) header.push_back(p.id + " (predicted)");
    std::vector<std::vector<std::string>> rows;

    for (const Best* b : {&decode, &prefill}) {
        if (!b->r) continue;
        const auto& r = *b->r;
        predict::LlmQuery q;
        try {
            q.model = llm::preset_config(r.str("model"));
            q.ftype = llm::parse_file_type(r.str("type"));
        } catch (const std::exception&) {
            continue;
        }
        q.ftype.pure = true;  // the quick model is versus's own: every matrix in the one type
        q.model_name = r.str("model");
        const bool dec = b == &decode;
        q.n_prompt = dec ? 1 : std::max<int64_t>(1, r.integer("n_prompt"));
        q.n_gen = dec ? std::max<int64_t>(1, r.integer("n_gen")) : 1;
        std::vector<std::string> row = {fmt::format("{} {} {} t/s", q.model_name, q.ftype.name,
                                                    dec ? fmt::format("tg{}", q.n_gen) : fmt::format("pp{}", q.n_prompt)),
                                        predict::format_number(b->value)};
        for (const auto& p : targets) {
            const auto pred = predict::predict_llm(p, q, predict::Calibration::builtin());
            const auto& ph = dec ? pred.decode : pred.prefill;
            row.push_back(ph ? predict::format_estimate(ph->tokens_per_s) : "does not fit");
        }
        rows.push_back(std::move(row));
    }
    if (gemm.r) {
        std::vector<std::string> row = {"f32 GEMM GFLOP/s", predict::format_number(gemm.value)};
        for (const auto& p : targets) row.push_back(p.fp32_TFLOPS ? predict::format_estimate(predict::predict_gemm(p, "f32").value) : "-");
        rows.push_back(std::move(row));
    }
    if (triad.r) {
        std::vector<std::string> row = {
            fmt::format("memory bandwidth GB/s (triad, {} working set)", core::format_size(triad.r->integer("size_bytes"))),
            predict::format_number(triad.value)};
        for (const auto& p : targets) row.push_back(predict::format_estimate(predict::predict_bandwidth(p).value));
        rows.push_back(std::move(row));
    }
    std::vector<bool> right(header.size(), true);
    right[0] = false;
    std::string out = md ? "### How this machine compares\n\n" : "how this machine compares\n";
    out += core::render_grid(header, rows, right, md);
    out += fmt::format("{}predicted: LLM rows from the calibrated roofline, GEMM and bandwidth as assumed shares of the "
                       "spec peaks (`versus predict --workload gemm|membw` shows them); measured bandwidth is the triad "
                       "at the largest working set run, the one served by DRAM\n",
                       md ? "\n" : "");
    return out;
}

}  // namespace versus::report
