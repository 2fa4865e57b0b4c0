#include "train/gpt.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "base/error.hpp"
#include "train/matmul.hpp"
#include "train/rng.hpp"

namespace versus::train {

namespace {
// Adds the wall time of its scope to *total.
struct Stopwatch {
    double* total;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    explicit Stopwatch(double* t) : total(t) {}
    ~Stopwatch() { *total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
};
}  // namespace

// Offsets (in floats) into the activation arena. Saved: what the backward pass reads, per block and around
// them. Scratch: gradients of activations, reused by every block.
struct GptPlan {
    struct Block {
        int64_t ln1, ln1_mean, ln1_rstd;  // (N, d), (N), (N)
        int64_t qkv;                      // (N, 3d), after RoPE
        int64_t stats;                    // attention: lse (B, H, T) or probabilities (B, H, T, T)
        int64_t atty;                     // (N, d) attention output
        int64_t res2;                     // (N, d) residual after attention
        int64_t ln2, ln2_mean, ln2_rstd;
        int64_t fch;                      // (N, fc_rows) before the activation
        int64_t fcact;                    // (N, n_ff) after it
        int64_t res3;                     // (N, d) the block's output
    };
    std::vector<Block> blocks;
    int64_t encoded, lnf, lnf_mean, lnf_rstd, losses, logits;  // logits: (chunk, vocab)
    int64_t dres, dln, dqkv, datty, dfch, dfcact, attn, reduce, dy;
    int64_t saved = 0, total = 0;

    GptPlan(const GptConfig& c, const GptOptions& o, int threads) {
        const int64_t N = static_cast<int64_t>(o.batch) * o.seq, d = c.n_embd;
        auto take = [&](int64_t n) {
            const int64_t off = total;
            total += (n + 15) / 16 * 16;  // 64-byte aligned starts
            return off;
        };
        const bool layer = c.norm == Norm::LAYER;
        encoded = take(N * d);
        for (int l = 0; l < c.n_layer; ++l) {
            Block b;
            b.ln1 = take(N * d);
            b.ln1_mean = layer ? take(N) : -1;
            b.ln1_rstd = take(N);
            b.qkv = take(N * 3 * d);
            b.stats = take(static_cast<int64_t>(attention_stats(o.attention, o.batch, o.seq, c.n_head)));
            b.atty = take(N * d);
            b.res2 = take(N * d);
            b.ln2 = take(N * d);
            b.ln2_mean = layer ? take(N) : -1;
            b.ln2_rstd = take(N);
            b.fch = take(N * c.fc_rows());
            b.fcact = take(N * c.n_ff);
            b.res3 = take(N * d);
            blocks.push_back(b);
        }
        lnf = take(N * d);
        lnf_mean = layer ? take(N) : -1;
        lnf_rstd = take(N);
        losses = take(N);
        saved = total;
        logits = take(std::min<int64_t>(N, HEAD_CHUNK_TOKENS) * c.vocab);
        dres = take(N * d);
        dln = take(N * d);
        dqkv = take(N * 3 * d);
        datty = take(N * d);
        dfch = take(N * c.fc_rows());
        dfcact = take(N * c.n_ff);
        attn = take(static_cast<int64_t>(attention_scratch(o.attention, o.seq, c.head_dim(), threads)));
        reduce = take(static_cast<int64_t>(std::max(norm_scratch(c.n_embd), linear_scratch(std::max(3 * c.n_embd, c.fc_rows())))));
        dy = o.precision == Precision::BF16 ? take(N * std::max(3 * d, static_cast<int64_t>(c.fc_rows()))) : -1;
    }
};

GptMemory gpt_memory(const GptConfig& c, const GptOptions& o, int threads) {
    const double n = static_cast<double>(param_layout(c).total) * 4;
    GptMemory m;
    m.weights = o.precision == Precision::BF16 ? 2 * n : n;
    m.grads = n;
    m.optimizer = 2 * n;
    m.activations = static_cast<double>(GptPlan(c, o, threads).total) * 4;
    return m;
}

std::string gpt_memory_breakdown(const GptConfig& c, const GptOptions& o, int threads) {
    const GptMemory m = gpt_memory(c, o, threads);
    const double gib = 1024.0 * 1024 * 1024;
    return fmt::format("{} {} batch {} seq {}: weights {:.1f}, grads {:.1f}, Adam {:.1f}, activations {:.1f} GiB", c.name,
                       precision_name(o.precision), o.batch, o.seq, m.weights / gib, m.grads / gib, m.optimizer / gib,
                       m.activations / gib);
}

TokenBatch synthetic_batch(int vocab, int batch, int seq, uint64_t seed) {
    Rng rng(seed);
    TokenBatch out;
    for (int b = 0; b < batch; ++b) {
        int32_t next = static_cast<int32_t>(rng.below(static_cast<uint64_t>(vocab)));
        for (int t = 0; t < seq; ++t) {
            out.tokens.push_back(next);
            next = static_cast<int32_t>(rng.below(static_cast<uint64_t>(vocab)));
            out.targets.push_back(next);
        }
    }
    return out;
}

Gpt::Gpt(const GptConfig& c, const GptOptions& o, ThreadPool& pool) : c_(c), o_(o), pool_(pool), layout_(param_layout(c)) {
    if (o.seq < 1 || o.batch < 1) throw UsageError("train-gpt", "batch and seq must be at least 1");
    if (o.seq > c.max_seq)
        throw UsageError("--seq", fmt::format("{} is longer than {}'s context of {}", o.seq, c.name, c.max_seq),
                         fmt::format("use --seq {} or less", c.max_seq));
    if (c.n_embd % c.n_head || c.head_dim() % 2)
        throw UsageError(c.name, "the width does not split into heads of even size");
    plan_ = std::make_unique<GptPlan>(c, o, pool.size());
    const size_t n = static_cast<size_t>(layout_.total);
    params_.reset(new float[n]);
    grads_.reset(new float[n]());  // rows of wpe beyond seq are never written: they stay 0
    m_.reset(new float[n]());
    v_.reset(new float[n]());
    if (o.precision == Precision::BF16) working_.reset(new float[n]);
    arena_.reset(new float[static_cast<size_t>(plan_->total)]());
    // N(0, 0.02) draws in chunks with their own seeds: the same weights at any thread count, drawn in parallel.
    const double proj_std = 0.02 / std::sqrt(2.0 * c.n_layer);
    for (size_t ti = 0; ti < layout_.tensors.size(); ++ti) {
        const auto& t = layout_.tensors[ti];
        float* x = params_.get() + t.offset;
        const double sd = t.name.ends_with("proj.w") ? proj_std : 0.02;
        constexpr int64_t CHUNK = 1 << 16;
        pool_.parallel_for((t.size() + CHUNK - 1) / CHUNK, 1, [&](int64_t b, int64_t e) {
            for (int64_t k = b; k < e; ++k) {
                Rng rng(o.seed * 0x9e3779b97f4a7c15ull + ti * 0x1000003ull + static_cast<uint64_t>(k));
                for (int64_t i = k * CHUNK; i < std::min(t.size(), (k + 1) * CHUNK); ++i)
                    x[i] = t.kind == ParamKind::NORM   ? 1.0f
                           : t.kind == ParamKind::BIAS ? 0.0f
                                                       : static_cast<float>(rng.normal() * sd);
            }
        });
    }
    refresh_working_weights();
}

Gpt::~Gpt() = default;

const float* Gpt::p(const std::string& name) const { return params_.get() + layout_.get(name).offset; }
const float* Gpt::w(const std::string& name) const {
    return (working_ ? working_.get() : params_.get()) + layout_.get(name).offset;
}
float* Gpt::g(const std::string& name) { return grads_.get() + layout_.get(name).offset; }

void Gpt::refresh_working_weights() {
    if (!working_) return;
    // The decayed tensors are the matrices and embeddings, the GEMMs' operands: rounded; norms and biases copied.
    const int64_t k = layout_.decayed;
    round_bf16_copy(pool_, params_.get(), working_.get(), k);
    std::memcpy(working_.get() + k, params_.get() + k, sizeof(float) * static_cast<size_t>(layout_.total - k));
}

const float* Gpt::operand(float* x, int64_t n, bool copy) {
    if (o_.precision != Precision::BF16) return x;
    if (!copy) {
        round_bf16(pool_, x, n);
        return x;
    }
    float* dst = arena_.get() + plan_->dy;
    round_bf16_copy(pool_, x, dst, n);
    return dst;
}

double Gpt::step(const int32_t* tokens, const int32_t* targets) {
    const double loss = forward_backward(tokens, targets);
    update();
    return loss;
}

double Gpt::forward_backward(const int32_t* tokens, const int32_t* targets) {
    set_blas_threads(1);
    attention_s_ = 0;
    const double g0 = gemm_seconds();
    n_targets_ = 0;
    for (int64_t i = 0; i < static_cast<int64_t>(o_.batch) * o_.seq; ++i) n_targets_ += targets[i] >= 0;
    forward(tokens);
    const double loss = head(targets);
    backward(tokens);
    gemm_s_ = gemm_seconds() - g0;
    return n_targets_ ? loss / n_targets_ : 0.0;
}

void Gpt::forward(const int32_t* tokens) {
    const int N = o_.batch * o_.seq, d = c_.n_embd, H = c_.n_head, hd = c_.head_dim();
    float* A = arena_.get();
    const bool bias = c_.bias, rope = c_.position == Position::ROPE;
    auto opt = [&](const std::string& name) { return bias ? w(name) : nullptr; };
    auto normb = [&](const std::string& name) { return c_.norm == Norm::LAYER ? w(name) : nullptr; };
    auto at = [&](int64_t off) { return off < 0 ? nullptr : A + off; };
    embedding_forward(pool_, A + plan_->encoded, tokens, w("wte"), rope ? nullptr : w("wpe"), N, o_.seq, d);
    const float* x = A + plan_->encoded;
    for (int l = 0; l < c_.n_layer; ++l) {
        const auto& b = plan_->blocks[static_cast<size_t>(l)];
        const std::string h = fmt::format("h{}.", l);
        norm_forward(pool_, c_.norm, A + b.ln1, at(b.ln1_mean), A + b.ln1_rstd, x, w(h + "ln1.w"), normb(h + "ln1.b"), N,
                     d, c_.norm_eps);
        operand(A + b.ln1, static_cast<int64_t>(N) * d, false);
        linear_forward(pool_, A + b.qkv, A + b.ln1, w(h + "qkv.w"), opt(h + "qkv.b"), N, d, 3 * d);
        if (rope) rope_forward(pool_, A + b.qkv, o_.batch, o_.seq, H, hd, c_.rope_base);
        operand(A + b.qkv, static_cast<int64_t>(N) * 3 * d, false);
        {
            Stopwatch sw(&attention_s_);
            attention_forward(pool_, o_.attention, A + b.atty, A + b.stats, A + b.qkv, o_.batch, o_.seq, H, hd,
                              A + plan_->attn);
        }
        operand(A + b.atty, static_cast<int64_t>(N) * d, false);
        linear_forward(pool_, A + b.res2, A + b.atty, w(h + "proj.w"), opt(h + "proj.b"), N, d, d);
        add(pool_, A + b.res2, A + b.res2, x, static_cast<int64_t>(N) * d);
        norm_forward(pool_, c_.norm, A + b.ln2, at(b.ln2_mean), A + b.ln2_rstd, A + b.res2, w(h + "ln2.w"),
                     normb(h + "ln2.b"), N, d, c_.norm_eps);
        operand(A + b.ln2, static_cast<int64_t>(N) * d, false);
        linear_forward(pool_, A + b.fch, A + b.ln2, w(h + "fc.w"), opt(h + "fc.b"), N, d, c_.fc_rows());
        if (c_.mlp == Mlp::GELU)
            gelu_forward(pool_, A + b.fcact, A + b.fch, static_cast<int64_t>(N) * c_.n_ff);
        else
            swiglu_forward(pool_, A + b.fcact, A + b.fch, N, c_.n_ff);
        operand(A + b.fcact, static_cast<int64_t>(N) * c_.n_ff, false);
        linear_forward(pool_, A + b.res3, A + b.fcact, w(h + "fcproj.w"), opt(h + "fcproj.b"), N, c_.n_ff, d);
        add(pool_, A + b.res3, A + b.res3, A + b.res2, static_cast<int64_t>(N) * d);
        x = A + b.res3;
    }
    norm_forward(pool_, c_.norm, A + plan_->lnf, at(plan_->lnf_mean), A + plan_->lnf_rstd, x, w("lnf.w"), normb("lnf.b"),
                 N, d, c_.norm_eps);
    operand(A + plan_->lnf, static_cast<int64_t>(N) * d, false);
}

double Gpt::head(const int32_t* targets) {
    const int N = o_.batch * o_.seq, d = c_.n_embd, V = c_.vocab;
    float* A = arena_.get();
    const std::string name = c_.tied ? "wte" : "head.w";
    const float* W = w(name);
    float* dW = g(name);
    const float dscale = n_targets_ ? 1.0f / static_cast<float>(n_targets_) : 0.0f;
    double loss = 0;
    // Per chunk: logits, loss and dlogits in place, then the head's gradients; dln receives d(lnf).
    for (int n0 = 0; n0 < N; n0 += static_cast<int>(HEAD_CHUNK_TOKENS)) {
        const int n = std::min(N - n0, static_cast<int>(HEAD_CHUNK_TOKENS));
        const float* x = A + plan_->lnf + static_cast<int64_t>(n0) * d;
        float* logits = A + plan_->logits;
        linear_forward<float>(pool_, logits, x, W, nullptr, n, d, V);
        loss += cross_entropy(pool_, logits, A + plan_->losses + n0, targets + n0, n, V, dscale);
        operand(logits, static_cast<int64_t>(n) * V, false);
        linear_backward<float>(pool_, A + plan_->dln + static_cast<int64_t>(n0) * d, dW, nullptr, logits, x, W, n, d, V, 0.0f,
                        n0 == 0 ? 0.0f : 1.0f, A + plan_->reduce);
    }
    return loss;
}

void Gpt::backward(const int32_t* tokens) {
    const int N = o_.batch * o_.seq, d = c_.n_embd, H = c_.n_head, hd = c_.head_dim();
    const int64_t Nd = static_cast<int64_t>(N) * d;
    float* A = arena_.get();
    float* R = A + plan_->reduce;
    const bool bias = c_.bias, layer = c_.norm == Norm::LAYER;
    auto gopt = [&](const std::string& name) { return bias ? g(name) : nullptr; };
    auto gnb = [&](const std::string& name) { return layer ? g(name) : nullptr; };
    auto at = [&](int64_t off) { return off < 0 ? nullptr : A + off; };
    float* dres = A + plan_->dres;
    float* dln = A + plan_->dln;
    std::fill(dres, dres + Nd, 0.0f);
    const float* last = A + plan_->blocks.back().res3;
    norm_backward(pool_, c_.norm, dres, g("lnf.w"), gnb("lnf.b"), dln, last, w("lnf.w"), at(plan_->lnf_mean),
                  A + plan_->lnf_rstd, N, d, R);
    for (int l = c_.n_layer - 1; l >= 0; --l) {
        const auto& b = plan_->blocks[static_cast<size_t>(l)];
        const std::string h = fmt::format("h{}.", l);
        const float* x = l == 0 ? A + plan_->encoded : A + plan_->blocks[static_cast<size_t>(l - 1)].res3;
        float* dfcact = A + plan_->dfcact;
        float* dfch = A + plan_->dfch;
        // MLP: res3 = res2 + fcproj(act(fc(ln2(res2))))
        linear_backward(pool_, dfcact, g(h + "fcproj.w"), gopt(h + "fcproj.b"), operand(dres, Nd, true), A + b.fcact,
                        w(h + "fcproj.w"), N, c_.n_ff, d, 0.0f, 0.0f, R);
        if (c_.mlp == Mlp::GELU)
            gelu_backward(pool_, dfch, A + b.fch, dfcact, static_cast<int64_t>(N) * c_.n_ff);
        else
            swiglu_backward(pool_, dfch, A + b.fch, dfcact, N, c_.n_ff);
        linear_backward(pool_, dln, g(h + "fc.w"), gopt(h + "fc.b"), operand(dfch, static_cast<int64_t>(N) * c_.fc_rows(), false),
                        A + b.ln2, w(h + "fc.w"), N, d, c_.fc_rows(), 0.0f, 0.0f, R);
        norm_backward(pool_, c_.norm, dres, g(h + "ln2.w"), gnb(h + "ln2.b"), dln, A + b.res2, w(h + "ln2.w"),
                      at(b.ln2_mean), A + b.ln2_rstd, N, d, R);
        // Attention: res2 = x + proj(attention(qkv(ln1(x))))
        float* datty = A + plan_->datty;
        float* dqkv = A + plan_->dqkv;
        linear_backward(pool_, datty, g(h + "proj.w"), gopt(h + "proj.b"), operand(dres, Nd, true), A + b.atty,
                        w(h + "proj.w"), N, d, d, 0.0f, 0.0f, R);
        operand(datty, Nd, false);
        {
            Stopwatch sw(&attention_s_);
            attention_backward(pool_, o_.attention, dqkv, datty, A + b.atty, A + b.stats, A + b.qkv, o_.batch, o_.seq, H,
                               hd, A + plan_->attn);
        }
        if (c_.position == Position::ROPE) rope_backward(pool_, dqkv, o_.batch, o_.seq, H, hd, c_.rope_base);
        linear_backward(pool_, dln, g(h + "qkv.w"), gopt(h + "qkv.b"), operand(dqkv, 3 * Nd, false), A + b.ln1,
                        w(h + "qkv.w"), N, d, 3 * d, 0.0f, 0.0f, R);
        norm_backward(pool_, c_.norm, dres, g(h + "ln1.w"), gnb(h + "ln1.b"), dln, x, w(h + "ln1.w"), at(b.ln1_mean),
                      A + b.ln1_rstd, N, d, R);
    }
    float* dwte = g("wte");
    if (!c_.tied) std::fill(dwte, dwte + static_cast<int64_t>(c_.vocab) * d, 0.0f);
    embedding_backward(pool_, dwte, c_.position == Position::LEARNED ? g("wpe") : nullptr, dres, tokens, N, o_.seq, d);
}

void Gpt::update() {
    Stopwatch sw(&optimizer_s_);
    optimizer_s_ = 0;
    ++t_;
    grad_norm_ = grad_norm(pool_, grads_.get(), layout_.total);
    const double scale = clip_scale(o_.adamw, grad_norm_);
    const int64_t k = layout_.decayed;  // [0, k) decayed, [k, total) not
    adamw_update(pool_, params_.get(), grads_.get(), m_.get(), v_.get(), k, o_.adamw, t_, scale, true);
    adamw_update(pool_, params_.get() + k, grads_.get() + k, m_.get() + k, v_.get() + k, layout_.total - k, o_.adamw, t_,
                 scale, false);
    refresh_working_weights();
}

}  // namespace versus::train
