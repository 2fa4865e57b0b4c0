// The evaluators that read what versus measures beyond speeds: this machine's container and GPU
// visibility (containers), fused against naive attention (attention), quantization quality (quality)
// and --gpu-layers sweeps (for offload).
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "report/audit-evaluate.hpp"
#include "system/sysinfo.hpp"

namespace versus::report {

HostFindings host_findings(const system::SystemInfo& sys) {
    HostFindings h;
    h.host = sys.hostname;
    h.os = sys.os_pretty.empty() ? sys.kernel : sys.os_pretty;
    h.container = sys.virt.container;
    h.container_kind = sys.virt.container_kind;
    h.container_markers = sys.virt.container_markers;
    h.vm = sys.virt.vm;
    h.vm_kind = sys.virt.vm_kind;
    h.gpu_nodes = sys.gpu.device_nodes;
    h.gpu_statement = sys.gpu.statement;
    return h;
}

}  // namespace versus::report

namespace versus::report::audit_detail {

namespace {

bool ok(const core::Record& r, std::string_view workload) { return r.str("status") == "ok" && r.str("workload") == workload; }

// A record says it ran in a container when it carries `container` (true or the runtime's name).
bool in_container(const core::Record& r) {
    const std::string c = r.str("container");
    return !c.empty() && c != "false" && c != "0";
}

bool is_macos(const std::string& os) { return os.find("macOS") != std::string::npos || os.find("Darwin") != std::string::npos; }

}  // namespace

// C19: this machine's container and GPU-visibility findings, and records from containers that reached
// (or not) a GPU backend. A Linux container that ran rows on an NVIDIA GPU shows the claim's second half.
Outcome Auditor::containers(const Claim&) {
    std::vector<std::string> parts;
    Verdict v = Verdict::QUALITATIVE;
    if (const HostFindings* h = in_.here) {
        const std::string where =
            h->container ? fmt::format("in a {}container ({})", h->container_kind.empty() ? "" : h->container_kind + " ",
                                       join(h->container_markers, ", "))
                         : "in no container";
        parts.push_back(fmt::format("this machine ({}, {}) runs {}{}; GPUs: {}", h->host, h->os, where,
                                    h->vm ? fmt::format(", in a {} VM", h->vm_kind) : "", h->gpu_statement));
        const double nodes = static_cast<double>(h->gpu_nodes.size());
        evidence("GPU device nodes visible on this machine" + std::string(h->container ? " (in a container)" : ""),
                 {nodes, nodes, nodes}, "nodes", MEASURED_HERE);
    }
    // Records from containers: which backends ran there, per host.
    std::map<std::string, std::tuple<std::string, std::set<std::string>, const core::Record*>> hosts;  // os, GPU backends
    if (in_.records)
        for (const auto& r : *in_.records)
            if (r.str("status") == "ok" && in_container(r)) {
                auto& [os, gpus, first] = hosts[r.str("host")];
                os = r.str("os");
                first = &r;
                if (r.str("backend") != "cpu" && !r.str("backend").empty()) gpus.insert(r.str("backend") + " " + r.str("device"));
            }
    for (const auto& [host, info] : hosts) {
        const auto& [os, gpus, first] = info;
        const double n = static_cast<double>(gpus.size());
        evidence(fmt::format("GPU devices measured from a container on {}", host), {n, n, n}, "devices", source_of(*first));
        parts.push_back(fmt::format("{} ({}) ran rows in a container {}", host, os,
                                    gpus.empty() ? "on the CPU only" : "on " + join({gpus.begin(), gpus.end()}, ", ")));
        const bool nvidia = std::any_of(gpus.begin(), gpus.end(), [](const std::string& g) { return g.starts_with("cuda"); });
        if (!is_macos(os) && nvidia && v == Verdict::QUALITATIVE) v = Verdict::CONSISTENT;
        // A GPU reached from a container on macOS contradicts the first half.
        if (is_macos(os) && !gpus.empty()) v = Verdict::PESSIMISTIC;
    }
    if (hosts.empty())
        parts.push_back(in_.records ? fmt::format("no row of {} says it ran in a container (records carry `container` when "
                                                  "they do)",
                                                  in_.store.empty() ? "the results" : in_.store)
                                    : no_measurement_reason() + ": no rows from containers");
    if (!in_.here) parts.push_back("the probe's findings apply only when the audit runs on the machine itself");
    return {v, join(parts, "; ")};
}

// C20: the attention workload's fused against naive rows on each machine: time and working memory at
// the longest sequence measured in both ways, per phase.
Outcome Auditor::attention(const Claim&) {
    using Key = std::tuple<std::string, std::string, std::string, std::string, int64_t>;  // host, device, phase, shape, seq
    std::map<Key, std::pair<const core::Record*, const core::Record*>> pairs;  // naive, fused
    if (in_.records)
        for (const auto& r : *in_.records) {
            if (!ok(r, "attention") || r.num("median_ns") <= 0) continue;
            const Key k{r.str("host"), r.str("backend") + " " + r.str("device"), r.str("phase"),
                        fmt::format("{}/{}x{}", r.integer("heads"), r.integer("kv_heads"), r.integer("head_dim")),
                        r.integer("seq")};
            (r.str("impl") == "fused" ? pairs[k].second : pairs[k].first) = &r;
        }
    // The longest sequence per machine and phase with both rows.
    std::map<std::tuple<std::string, std::string, std::string>, std::pair<const core::Record*, const core::Record*>> longest;
    for (const auto& [k, p] : pairs) {
        if (!p.first || !p.second) continue;
        auto& slot = longest[{std::get<0>(k), std::get<1>(k), std::get<2>(k)}];
        if (!slot.first || slot.first->integer("seq") <= p.first->integer("seq")) slot = p;
    }
    std::vector<std::string> parts;
    for (const auto& [k, p] : longest) {
        const auto& [host, device, phase] = k;
        const auto &naive = *p.first, &fused = *p.second;
        const double speedup = naive.num("median_ns") / fused.num("median_ns");
        evidence(fmt::format("fused attention speed-up over naive, {} seq {} on {}", phase, naive.integer("seq"), device),
                 {speedup, speedup, speedup}, "x", source_of(naive));
        std::string line = fmt::format("{} on {}: fused {}x the naive speed", device, host, format_number(speedup));
        const double mn = naive.num("peak_scratch_bytes"), mf = fused.num("peak_scratch_bytes");
        if (mn > 0 && mf > 0) {
            evidence(fmt::format("naive attention scratch over fused, {} seq {} on {}", phase, naive.integer("seq"), device),
                     {mn / mf, mn / mf, mn / mf}, "x", source_of(naive));
            line += fmt::format(", {} scratch against {} ({}x less)", base::human_bytes(mf), base::human_bytes(mn),
                                format_number(mn / mf));
        }
        parts.push_back(fmt::format("{} ({} seq {})", line, phase, naive.integer("seq")));
    }
    if (parts.empty())
        return {Verdict::QUALITATIVE, fmt::format("no attention rows with both impl=naive and impl=fused ({}); `versus bench "
                                                  "attention` measures them",
                                                  no_measurement_reason())};
    return {Verdict::QUALITATIVE, "measured fused (FlashAttention-style) against naive attention: " + join(parts, "; ")};
}

// C22: `quality` rows (versus quality against a base file) of the formats the claim names: each must
// keep its perplexity within max_ppl_ratio of the base and agree on the top token at least min_top1_pct
// of the time; the weights' size says what it saves.
Outcome Auditor::quality(const Claim& c) {
    const double max_ratio = *parse_number(c.param("max_ppl_ratio", "1.1"));
    const double min_top1 = *parse_number(c.param("min_top1_pct", "85"));
    std::vector<Judgement> js;
    std::vector<std::string> parts, missing;
    for (const auto& type : c.types) {
        const core::Record* row = nullptr;  // the row with the most scored tokens
        if (in_.records)
            for (const auto& r : *in_.records)
                if (ok(r, "quality") && r.str("type") == type && (r.has("ppl_ratio") || r.has("top1_agree_pct")) &&
                    (!row || r.num("tokens_scored") > row->num("tokens_scored")))
                    row = &r;
        if (!row) {
            if (type != c.types.front()) missing.push_back(type);  // the first type is the base
            continue;
        }
        std::vector<std::string> figs;
        bool close = true;
        if (row->has("ppl_ratio")) {
            const double r = row->num("ppl_ratio");
            evidence(type + " perplexity over the base", {r, r, r}, "x", source_of(*row));
            figs.push_back(fmt::format("perplexity {}x the base", format_number(r)));
            close = close && r <= max_ratio;
        }
        if (row->has("top1_agree_pct")) {
            const double a = row->num("top1_agree_pct");
            evidence(type + " top-1 agreement with the base", {a, a, a}, "%", source_of(*row));
            figs.push_back(fmt::format("top-1 agreement {:.1f}%", a));
            close = close && a >= min_top1;
        }
        if (row->has("kld_mean"))
            figs.push_back(fmt::format("KLD mean {} (p99 {})", format_number(row->num("kld_mean")), format_number(row->num("kld_p99"))));
        parts.push_back(fmt::format("{} on {} ({}): {}", type, row->str("device"), row->str("gguf"), join(figs, ", ")));
        js.push_back(close ? Judgement{} : Judgement{Verdict::OPTIMISTIC, 2});
    }
    const auto [fv, weights] = figures(c);  // the weights' sizes per format (predicted)
    const std::string rule = fmt::format("close: perplexity at most {}x the base and top-1 agreement at least {}%",
                                         format_number(max_ratio), format_number(min_top1));
    const std::string absent = missing.empty() ? "" : fmt::format("no quality row against a base for {} ({}); `versus quality "
                                                                  "--base` measures them",
                                                                  join(missing, ", "), no_measurement_reason());
    if (js.empty()) return {Verdict::NOT_TESTABLE, join({absent, weights}, "; ")};
    return {combine(js).v, join({"measured: " + join(parts, "; "), rule, absent, weights}, "; ")};
}

// Rows of `llm` decode with gpu_layers, grouped per machine, model and format: each partial offload
// against the fullest one measured.
std::vector<std::string> Auditor::offload_sweeps(std::vector<Judgement>* js) {
    std::map<std::tuple<std::string, std::string, std::string>, std::map<int64_t, const core::Record*>> sweeps;
    if (in_.records)
        for (const auto& r : *in_.records)
            if (ok(r, "llm") && r.str("phase") == "decode" && r.has("gpu_layers") && r.num("tokens_per_s") > 0) {
                auto& best = sweeps[{r.str("host") + " " + r.str("device"), r.str("model"), r.str("type")}][r.integer("gpu_layers")];
                if (!best || r.num("tokens_per_s") > best->num("tokens_per_s")) best = &r;
            }
    std::vector<std::string> out;
    for (const auto& [k, by_layers] : sweeps) {
        if (by_layers.size() < 2) continue;
        const auto& [where, model, type] = k;
        const auto& [full_n, full] = *by_layers.rbegin();
        std::vector<std::string> steps;
        for (const auto& [n, r] : by_layers) {
            if (n == full_n) continue;
            const double slow = full->num("tokens_per_s") / r->num("tokens_per_s");
            evidence(fmt::format("{} {} decode with {} of {} layers on the GPU, slowdown", model, type, n, full_n),
                     {slow, slow, slow}, "x", source_of(*r));
            steps.push_back(fmt::format("{} layers {} t/s ({}x slower)", n, format_number(r->num("tokens_per_s")),
                                        format_number(slow)));
            js->push_back(slow > 1 + AUDIT_TOLERANCE ? Judgement{} : Judgement{Verdict::PESSIMISTIC, 2});
        }
        out.push_back(fmt::format("{} {} on {}: {} layers {} t/s, {}", model, type, where, full_n,
                                  format_number(full->num("tokens_per_s")), join(steps, ", ")));
    }
    return out;
}

}  // namespace versus::report::audit_detail
