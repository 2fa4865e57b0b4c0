#include "report/compare.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "report/compare-detail.hpp"

namespace versus::report {

using core::Record;
using namespace detail;

namespace {

// Softmax over the given logits (max-subtracted for range).
std::vector<double> softmax(const std::vector<double>& x) {
    std::vector<double> p(x.size());
    if (x.empty()) return p;
    const double m = *std::max_element(x.begin(), x.end());
    double sum = 0;
    for (size_t i = 0; i < x.size(); ++i) sum += p[i] = std::exp(x[i] - m);
    for (auto& v : p) v /= sum;
    return p;
}

}  // namespace

Parity compare_generate(const GenerateRun& a, const GenerateRun& b) {
    Parity out;
    out.a = a.file;
    out.b = b.file;
    out.same_prompt = a.prompt == b.prompt;
    out.steps = std::min(a.steps.size(), b.steps.size());
    for (size_t i = 0; i < out.steps; ++i) {
        if (a.steps[i].id == b.steps[i].id) ++out.top1_agree;
        else if (out.first_divergence < 0) out.first_divergence = static_cast<int>(i);
    }
    if (!out.same_prompt) return out;
    // Up to and including the first divergence both runs saw the same tokens, so their distributions
    // are comparable; after it the contexts differ.
    const size_t last = out.first_divergence < 0 ? out.steps : static_cast<size_t>(out.first_divergence) + 1;
    double kl_sum = 0, overlap_sum = 0;
    for (size_t i = 0; i < last; ++i) {
        const auto& ta = a.steps[i].top5;
        const auto& tb = b.steps[i].top5;
        std::map<int64_t, double> la(ta.begin(), ta.end()), lb(tb.begin(), tb.end());
        // A token outside one side's top 5 gets that side's 5th logit: an upper bound of its true value.
        double floor_a = 1e300, floor_b = 1e300;
        for (const auto& [id, l] : ta) floor_a = std::min(floor_a, l);
        for (const auto& [id, l] : tb) floor_b = std::min(floor_b, l);
        std::set<int64_t> ids;
        size_t common = 0;
        for (const auto& [id, l] : ta) ids.insert(id);
        for (const auto& [id, l] : tb) {
            ids.insert(id);
            if (la.count(id)) {
                ++common;
                out.max_abs_diff = std::max(out.max_abs_diff, std::fabs(la[id] - l));
            }
        }
        std::vector<double> xa, xb;
        for (int64_t id : ids) {
            xa.push_back(la.count(id) ? la[id] : floor_a);
            xb.push_back(lb.count(id) ? lb[id] : floor_b);
        }
        const auto pa = softmax(xa), pb = softmax(xb);
        double kl = 0;
        for (size_t k = 0; k < pa.size(); ++k)
            if (pa[k] > 0) kl += pa[k] * std::log(pa[k] / std::max(pb[k], 1e-300));
        kl = std::max(0.0, kl);
        kl_sum += kl;
        out.kl_max = std::max(out.kl_max, kl);
        overlap_sum += static_cast<double>(common) / static_cast<double>(std::max<size_t>(1, std::max(ta.size(), tb.size())));
    }
    out.compared_steps = last;
    if (last > 0) {
        out.kl_mean = kl_sum / static_cast<double>(last);
        out.top5_overlap = overlap_sum / static_cast<double>(last);
    }
    return out;
}


std::vector<Table> parity_tables(const Comparison& c) {
    std::vector<Table> out;
    if (const Generation* g = main_generation(c)) {
        Table t;
        t.id = "parity-checksums";
        t.title = "Parity: output checksums of matched tests";
        t.header = {"test"};
        t.right = {false};
        std::vector<const Row*> rows;
        for (const auto& r : g->rows) {
            int n = 0;
            for (const auto& cell : r.cells)
                if (cell.ok && has_value(*cell_record(c, cell), "checksum")) ++n;
            if (n >= 2) rows.push_back(&r);
        }
        const auto systems = systems_in(c, rows);
        for (size_t s : systems) {
            t.header.push_back(machine_name(c.systems[s]));
            t.right.push_back(false);
        }
        t.header.push_back("same");
        t.right.push_back(false);
        for (const Row* r : rows) {
            std::vector<std::string> line = {r->workload + " " + r->label};
            std::set<std::string> distinct;
            for (size_t s : systems) {
                const Cell& cell = r->cells[s];
                const std::string sum = cell.ok ? cell_record(c, cell)->str("checksum") : "";
                if (!sum.empty()) distinct.insert(sum);
                line.push_back(sum.empty() ? "-" : sum);
            }
            line.push_back(distinct.size() == 1 ? "yes" : "no");
            t.rows.push_back(std::move(line));
        }
        if (!rows.empty()) {
            t.notes.push_back("Each workload fingerprints its output on every run (llm decode: a hash of the greedy tokens; "
                              "prefill: the argmax token). Different kernels may legitimately differ in the last bits of "
                              "floating-point sums; greedy LLM tokens should agree.");
            out.push_back(std::move(t));
        }
    }
    if (!c.parity.empty()) {
        Table t;
        t.id = "parity-generate";
        t.title = "Parity: generate runs";
        t.header = {"run", "against", "steps", "top-1 agreement", "first divergence", "max logit diff", "KL mean",
                    "KL max", "top-5 overlap"};
        t.right = {false, false, true, true, true, true, true, true, true};
        for (const auto& p : c.parity) {
            if (!p.same_prompt) {
                t.rows.push_back({p.b, p.a, std::to_string(p.steps), "-", "-", "-", "-", "-", "different prompts"});
                continue;
            }
            t.rows.push_back({p.b, p.a, std::to_string(p.steps),
                              fmt::format("{}/{} ({:.1f}%)", p.top1_agree, p.steps,
                                          p.steps ? 100.0 * static_cast<double>(p.top1_agree) / static_cast<double>(p.steps) : 0.0),
                              p.first_divergence < 0 ? "none" : "step " + std::to_string(p.first_divergence),
                              fmt::format("{:.3g}", p.max_abs_diff), fmt::format("{:.3g}", p.kl_mean),
                              fmt::format("{:.3g}", p.kl_max), fmt::format("{:.0f}%", 100 * p.top5_overlap)});
        }
        t.notes.push_back("From the top-5 logits each step records (versus generate -o json): logits compared on the tokens "
                          "both top-5 lists hold; KL(run || against) over the union of the two lists, a token missing "
                          "from one list taking that list's 5th logit. Steps after the first divergence see different "
                          "tokens and are left out of the logit figures.");
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace versus::report
