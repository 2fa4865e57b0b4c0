// quality: a GGUF model scored on a text, as llama.cpp's llama-perplexity does (llm/quality.hpp):
// perplexity, and with --base (the unquantized file of the same weights) the KL divergence of the model's
// token distributions from the base's, top-1 agreement and the change in probabilities. `versus quality` is
// `versus bench quality`. One op is the evaluation of one chunk (tokens/s is the scoring speed); the
// statistics cover every requested chunk once, whatever the number of timed repetitions. The base is
// evaluated first, once, its log-probabilities kept in memory for the scored positions, then unloaded, so the
// two models are never in memory together.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/metrics.hpp"
#include "system/sysinfo.hpp"
#include "llm/model.hpp"
#include "llm/quality.hpp"
#include "llm/tokenizer.hpp"
#include "llm/unicode.hpp"
#include "workloads/workload.hpp"

namespace versus::workloads {
namespace {

bool has(const Params& p, const char* f) { return p.find(f) != nullptr && !p.str(f).empty(); }

// The text's chunks for a model file, tokenized once per (model, text, context, chunks).
struct Prepared {
    std::vector<std::vector<int32_t>> chunks;
    int64_t n_tokens = 0;
    int64_t n_vocab = 0;
};

const Prepared& prepared(const Params& p) {
    static std::map<std::string, Prepared> cache;
    const std::string key = fmt::format("{}|{}|{}|{}|{}", p.str("gguf"), has(p, "base") ? p.str("base") : "", p.str("text"),
                                        p.integer("n_ctx"), p.integer("chunks"));
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    const std::string& path = p.str("gguf");
    const auto file = llm::GgufFile::open(path);
    const llm::ModelConfig c = llm::config_from_gguf(file);
    const llm::Tokenizer tok = llm::Tokenizer::from_gguf(file);
    const std::string text = llm::read_utf8_file(p.str("text"), "--text");
    const std::vector<int32_t> ids = tok.encode(text, true, false);
    const int64_t n_ctx = p.integer("n_ctx");
    Prepared out;
    out.n_tokens = static_cast<int64_t>(ids.size());
    out.n_vocab = c.n_vocab;
    out.chunks = llm::quality_chunks(ids, n_ctx, p.integer("chunks"), tok.add_bos() ? tok.bos_id() : -1);
    if (out.chunks.empty())
        throw UsageError("--text", fmt::format("{} is {} tokens, fewer than one chunk of -c {}", p.str("text"), ids.size(), n_ctx),
                         "give a longer text or a smaller -c");
    if (n_ctx > c.n_ctx_train)
        throw UsageError("-c", fmt::format("chunks of {} tokens exceed the model's context of {}", n_ctx, c.n_ctx_train),
                         "lower -c");
    if (has(p, "base")) {
        const auto base = llm::GgufFile::open(p.str("base"));
        const llm::ModelConfig b = llm::config_from_gguf(base);
        if (b.n_vocab != c.n_vocab || b.n_embd != c.n_embd || b.n_layer != c.n_layer)
            throw UsageError("--base", fmt::format("{} ({} layers, width {}, vocabulary {}) is not the shape of {} ({}, {}, {})",
                                                   p.str("base"), b.n_layer, b.n_embd, b.n_vocab, path, c.n_layer, c.n_embd,
                                                   c.n_vocab),
                             "give the unquantized file the model was quantized from");
    }
    return cache[key] = std::move(out);
}

class QualityInstance : public Instance {
public:
    QualityInstance(const Params& p, int threads)
        : prep_(prepared(p)), n_ctx_(p.integer("n_ctx")), pool_(threads), done_(prep_.chunks.size(), false) {
        if (has(p, "base")) base_logp_ = evaluate_base(p.str("base"));
        model_ = std::make_unique<llm::Model>(llm::Model::load(p.str("gguf")));
        session_ = std::make_unique<llm::Session>(*model_, n_ctx_, std::min<int64_t>(n_ctx_, 512), pool_);
    }

    // One chunk: the next one not yet scored (or the first again once all are).
    void run() override {
        const size_t c = next_ % prep_.chunks.size();
        ++next_;
        score(c);
    }

    Check check() override {
        Check out;
        const auto s = acc_.finish();
        if (!std::isfinite(s.ppl)) out = {false, "", "perplexity is not finite"};
        out.checksum = fmt::format("{:.6f}", s.nll_mean);
        return out;
    }

    Metrics metrics(double median_s) override {
        for (size_t c = 0; c < prep_.chunks.size(); ++c) score(c);  // chunks the timed repetitions did not reach
        const llm::QualityStats s = acc_.finish();
        Metrics m = {{"tokens_per_s", base::rate_per_s(static_cast<double>(n_ctx_), median_s)},
                     {"text_tokens", static_cast<double>(prep_.n_tokens)},
                     {"chunks_scored", static_cast<double>(prep_.chunks.size())},
                     {"tokens_scored", static_cast<double>(s.tokens)},
                     {"ppl", s.ppl},
                     {"ppl_err", s.ppl_err},
                     {"nll_mean", s.nll_mean},
                     {"weight_bytes", static_cast<double>(model_->weights_summary().total_bytes)}};
        if (s.tokens_kld > 0) {
            const Metrics kld = {{"ppl_base", s.ppl_base},
                                 {"ppl_ratio", s.ppl_ratio},
                                 {"kld_mean", s.kld_mean},
                                 {"kld_mean_err", s.kld_mean_err},
                                 {"kld_median", s.kld_median},
                                 {"kld_p99", s.kld_p99},
                                 {"kld_max", s.kld_max},
                                 {"top1_agree_pct", s.top1_agree_pct},
                                 {"top1_agree_err_pct", s.top1_agree_err_pct},
                                 {"delta_p_mean_pct", s.delta_p_mean_pct},
                                 {"delta_p_rms_pct", s.delta_p_rms_pct},
                                 {"delta_p_top_mean_pct", s.delta_p_top_mean_pct}};
            m.insert(m.end(), kld.begin(), kld.end());
        }
        return m;
    }

private:
    // Every chunk's logits, log-softmaxed, for the scored positions only.
    std::vector<float> evaluate_base(const std::string& path) {
        const int64_t first = llm::quality_first_scored(n_ctx_), per = n_ctx_ - 1 - first;
        const uint64_t bytes = prep_.chunks.size() * static_cast<uint64_t>(per) * static_cast<uint64_t>(prep_.n_vocab) * 4;
        if (bytes > system::memory_available_bytes() / 2)
            throw UsageError("--base", fmt::format("the base's probabilities for {} chunks need {:.1f} GB, {:.1f} GB available",
                                                   prep_.chunks.size(), static_cast<double>(bytes) / 1e9,
                                                   static_cast<double>(system::memory_available_bytes()) / 1e9),
                             "score fewer --chunks");
        std::vector<float> out(bytes / 4);
        const llm::Model base = llm::Model::load(path);
        llm::Session session(base, n_ctx_, std::min<int64_t>(n_ctx_, 512), pool_);
        const auto v = static_cast<size_t>(prep_.n_vocab);
        for (size_t c = 0; c < prep_.chunks.size(); ++c) {
            session.reset();
            const auto logits = session.eval(prep_.chunks[c], true);
            for (int64_t j = first; j < n_ctx_ - 1; ++j)
                llm::log_softmax(logits.subspan(static_cast<size_t>(j) * v, v),
                                 std::span<float>(out).subspan((c * static_cast<size_t>(per) + static_cast<size_t>(j - first)) * v, v));
        }
        return out;
    }

    void score(size_t c) {
        session_->reset();
        const auto logits = session_->eval(prep_.chunks[c], true);
        if (done_[c]) return;  // timed again: the statistics already hold it
        done_[c] = true;
        const int64_t first = llm::quality_first_scored(n_ctx_), per = n_ctx_ - 1 - first;
        const auto v = static_cast<size_t>(prep_.n_vocab);
        std::vector<float> logp(v);
        for (int64_t j = first; j < n_ctx_ - 1; ++j) {
            llm::log_softmax(logits.subspan(static_cast<size_t>(j) * v, v), logp);
            std::span<const float> base;
            if (!base_logp_.empty())
                base = std::span<const float>(base_logp_).subspan((c * static_cast<size_t>(per) + static_cast<size_t>(j - first)) * v, v);
            acc_.add(logp, prep_.chunks[c][static_cast<size_t>(j + 1)], base);
        }
    }

    const Prepared& prep_;
    int64_t n_ctx_;
    cpu::ThreadPool pool_;
    std::vector<bool> done_;
    std::vector<float> base_logp_;
    std::unique_ptr<llm::Model> model_;
    std::unique_ptr<llm::Session> session_;
    llm::QualityAccumulator acc_;
    size_t next_ = 0;
};

class Quality : public Workload {
public:
    std::string_view key() const override { return "quality"; }
    std::string_view description() const override {
        return "a GGUF model scored on a text: perplexity, and KL divergence / top-1 agreement against --base";
    }
    bool quick() const override { return false; }
    std::vector<ParamSpec> params() const override {
        ParamSpec gguf{"gguf", "gguf", core::ParamKind::TEXT, "GGUF model file to score", {}, "", ""};
        ParamSpec base{"base", "base", core::ParamKind::TEXT,
                       "unquantized GGUF (F16/F32) of the same weights: KL divergence against it", {}, "", ""};
        ParamSpec text{"text", "text", core::ParamKind::TEXT, "UTF-8 text file to score (data/text/ has one)", {}, "", ""};
        ParamSpec ctx{"ctx", "n_ctx", core::ParamKind::INT, "tokens per chunk (the second half is scored)", {}, "512",
                      "512", 8, 1 << 20};
        ctx.flags = "-c";
        ParamSpec chunks{"chunks", "chunks", core::ParamKind::INT, "chunks to score (0: all of the text)", {}, "0", "0",
                         0, INT64_MAX};
        return {gguf, base, text, ctx, chunks};
    }
    // Bad input is refused here, before any row runs: no tokenizer, a text that is not UTF-8 or too short.
    // The record also names the file's weight type ("q4_0", as bench llm's `type`), so that reports can set a
    // quality row beside the speed rows of the same format.
    std::vector<Params> expand(std::vector<Params> jobs) const override {
        for (auto& p : jobs) {
            if (!has(p, "gguf")) throw UsageError("quality", "no model file", "give --gguf FILE");
            if (!has(p, "text")) throw UsageError("quality", "no text to score", "give --text FILE, e.g. data/text/kjv-genesis-exodus.txt");
            (void)prepared(p);
            const auto f = llm::GgufFile::open(p.str("gguf"));
            if (const auto* t = f.find_tensor("blk.0.attn_q.weight")) {
                std::string type = llm::ggml_type_name(t->type);
                for (char& ch : type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                p.set("type", type);
            }
        }
        return jobs;
    }
    double flops(const Params& p) const override {
        const auto c = llm::config_from_gguf(llm::GgufFile::open(p.str("gguf")));
        double f = 0;
        for (int64_t i = 0; i < p.integer("n_ctx"); ++i) f += llm::flops_per_token(c, i);
        return f;
    }
    double memory_bytes(const Params& p) const override {
        const auto f = llm::GgufFile::open(p.str("gguf"));
        const auto c = llm::config_from_gguf(f);
        uint64_t weights = 0;
        for (const auto& t : f.tensors()) weights += t.n_bytes;
        const int64_t n = p.integer("n_ctx");
        return static_cast<double>(weights + llm::kv_cache_bytes(c, n) + llm::working_bytes(c, std::min<int64_t>(n, 512), n)) +
               static_cast<double>(n) * static_cast<double>(c.n_vocab) * 4.0;  // every position's logits
    }
    std::unique_ptr<Instance> prepare(const Target& t, const Params& p) const override {
        if (t.backend.name() != "cpu") throw Skip("quality runs on the CPU engine");
        if (!p.find("threads")) throw Skip("the LLM engine needs a thread count");
        return std::make_unique<QualityInstance>(p, static_cast<int>(p.integer("threads")));
    }
};

}  // namespace

std::unique_ptr<Workload> make_quality() { return std::make_unique<Quality>(); }

}  // namespace versus::workloads
