// train-gpt: the GPT training step on the GPU (backend-abi.h, train_gpt_*), the CPU engine's step
// (src/train/gpt.cpp) with its layout and order: cuBLASLt GEMMs (f32 accumulation; bf16 operands in bf16 mode),
// the plugin's own kernels for the rest (train-kernels.cu, train-attention.cu). bf16 rounds the same operands the
// CPU engine rounds: activations in place as they are made, the weights once per step from the f32 masters.
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "backend/cuda/train-common.cuh"
#include "backend/cuda/train-handle.hpp"

namespace versus::cuda::train {

namespace {

constexpr int HEAD_CHUNK = 1024;  // tokens of logits at a time, as the CPU engine (HEAD_CHUNK_TOKENS)

// Offsets in versus_train_gpt_config::offsets.
enum { WTE, WPE, LNF_W, LNF_B, HEAD, GLOBALS };
enum { LN1_W, LN1_B, QKV_W, QKV_B, PROJ_W, PROJ_B, LN2_W, LN2_B, FC_W, FC_B, FCPROJ_W, FCPROJ_B, PER_BLOCK };

struct Block {
    float *ln1, *ln1_mean, *ln1_rstd, *qkv, *stats, *atty, *res2, *ln2, *ln2_mean, *ln2_rstd, *fch, *fcact, *res3;
};

}  // namespace

struct GptStep final : Handle {
    versus_train_gpt_config c{};
    std::vector<int64_t> off;
    Device* dev = nullptr;
    Arena arena;
    std::unique_ptr<Matmul> mm;
    float *params = nullptr, *grads = nullptr, *m = nullptr, *v = nullptr;
    __nv_bfloat16 *wbf = nullptr, *xb = nullptr, *yb = nullptr;
    int32_t *tokens = nullptr, *targets = nullptr;
    double* sums = nullptr;  // loss sum, squared gradient norm
    std::vector<Block> blocks;
    float *encoded = nullptr, *lnf = nullptr, *lnf_mean = nullptr, *lnf_rstd = nullptr, *logits = nullptr;
    float *dres = nullptr, *dln = nullptr, *dqkv = nullptr, *datty = nullptr, *dfch = nullptr, *dfcact = nullptr,
          *attn_scratch = nullptr;
    int t = 0;
    std::string err;

    uint64_t bytes() const override { return arena.bytes(); }
    bool bf16() const { return c.precision == 1; }
    int N() const { return c.batch * c.seq; }
    int fc_rows() const { return c.mlp == 1 ? 2 * c.n_ff : c.n_ff; }
    const float* p(int64_t o) const { return o < 0 ? nullptr : params + o; }
    float* g(int64_t o) const { return o < 0 ? nullptr : grads + o; }
    int64_t blk(int l, int k) const { return off[GLOBALS + size_t(l) * PER_BLOCK + k]; }
    AttentionShape attn() const { return {c.batch, c.seq, c.n_head, c.n_embd / c.n_head}; }

    bool ok(cudaError_t e, const char* what) {
        if (e == cudaSuccess) return true;
        err = std::string(what) + ": " + cudaGetErrorString(e);
        return false;
    }
    bool ok(int rc) { return rc == 0; }  // err set by the callee

    bool allocate();
    bool linear_forward(float* y, const float* x, int64_t w, int64_t b, int rows, int in, int out);
    bool linear_backward(float* dx, int64_t w, int64_t b, float* dy, bool round_dy_in_place, const float* x, int rows,
                         int in, int out);
    bool forward();
    bool head(int n_targets);
    bool backward();
    bool update();
    int step(const int32_t* tok, const int32_t* tgt, float* loss, float* grads_out);
};

bool GptStep::allocate() {
    cudaError_t e = cudaSuccess;
    const int64_t n = static_cast<int64_t>(c.n_params), Nt = N(), d = c.n_embd, V = c.vocab;
    const int64_t chunk = std::min<int64_t>(Nt, HEAD_CHUNK);
    auto f = [&](int64_t count) { return e == cudaSuccess ? arena.alloc<float>(size_t(count), &e) : nullptr; };
    params = f(n);
    grads = f(n);
    m = f(n);
    v = f(n);
    encoded = f(Nt * d);
    const bool layer = c.norm == 0;
    const int64_t stats = c.attention == 0 ? int64_t(c.batch) * c.n_head * c.seq : int64_t(c.batch) * c.n_head * c.seq * c.seq;
    for (int l = 0; l < c.n_layer; ++l) {
        Block b{};
        b.ln1 = f(Nt * d);
        b.ln1_mean = layer ? f(Nt) : nullptr;
        b.ln1_rstd = f(Nt);
        b.qkv = f(Nt * 3 * d);
        b.stats = f(stats);
        b.atty = f(Nt * d);
        b.res2 = f(Nt * d);
        b.ln2 = f(Nt * d);
        b.ln2_mean = layer ? f(Nt) : nullptr;
        b.ln2_rstd = f(Nt);
        b.fch = f(Nt * fc_rows());
        b.fcact = f(Nt * c.n_ff);
        b.res3 = f(Nt * d);
        blocks.push_back(b);
    }
    lnf = f(Nt * d);
    lnf_mean = layer ? f(Nt) : nullptr;
    lnf_rstd = f(Nt);
    logits = f(chunk * V);
    dres = f(Nt * d);
    dln = f(Nt * d);
    dqkv = f(Nt * 3 * d);
    datty = f(Nt * d);
    dfch = f(Nt * fc_rows());
    dfcact = f(Nt * c.n_ff);
    attn_scratch = f(int64_t(attention_scratch(c.attention == 0, attn())));
    if (e == cudaSuccess) tokens = arena.alloc<int32_t>(size_t(Nt), &e);
    if (e == cudaSuccess) targets = arena.alloc<int32_t>(size_t(Nt), &e);
    if (e == cudaSuccess) sums = arena.alloc<double>(2, &e);
    if (bf16()) {
        if (e == cudaSuccess) wbf = arena.alloc<__nv_bfloat16>(size_t(c.n_decayed), &e);
        const int64_t x_max = std::max({Nt * d, Nt * c.n_ff});
        const int64_t y_max = std::max({Nt * 3 * d, Nt * fc_rows(), chunk * V});
        if (e == cudaSuccess) xb = arena.alloc<__nv_bfloat16>(size_t(x_max), &e);
        if (e == cudaSuccess) yb = arena.alloc<__nv_bfloat16>(size_t(y_max), &e);
    }
    return ok(e, "cudaMalloc (training step)") && ok(cudaMemsetAsync(m, 0, n * sizeof(float), dev->stream), "memset") &&
           ok(cudaMemsetAsync(v, 0, n * sizeof(float), dev->stream), "memset");
}

// y (rows, out) = x (rows, in) W^T + b.
bool GptStep::linear_forward(float* y, const float* x, int64_t w, int64_t b, int rows, int in, int out) {
    const cudaStream_t st = dev->stream;
    if (b >= 0 && !ok(fill_rows(y, params + b, rows, out, st), "fill_rows")) return false;
    const void* A = x;
    const void* B = params + w;
    if (bf16()) {
        if (!ok(to_bf16(xb, x, int64_t(rows) * in, st), "to_bf16")) return false;
        A = xb;
        B = wbf + w;
    }
    return ok(mm->run(false, true, rows, out, in, 1.0f, A, in, B, in, b >= 0 ? 1.0f : 0.0f, y, out, bf16(), &err));
}

// dx (rows, in) = dy W (set; dx may be null); dW += dy^T x; db += column sums of dy.
bool GptStep::linear_backward(float* dx, int64_t w, int64_t b, float* dy, bool round_dy_in_place, const float* x, int rows,
                              int in, int out) {
    const cudaStream_t st = dev->stream;
    const void* Dy = dy;
    const void* X = x;
    const void* W = params + w;
    if (bf16()) {
        if (round_dy_in_place && !ok(round_bf16(dy, int64_t(rows) * out, st), "round_bf16")) return false;
        if (!ok(to_bf16(yb, dy, int64_t(rows) * out, st), "to_bf16") || !ok(to_bf16(xb, x, int64_t(rows) * in, st), "to_bf16"))
            return false;
        Dy = yb;
        X = xb;
        W = wbf + w;
    }
    if (dx && !ok(mm->run(false, false, rows, in, out, 1.0f, Dy, out, W, in, 0.0f, dx, in, bf16(), &err))) return false;
    if (!ok(mm->run(true, false, out, in, rows, 1.0f, Dy, out, X, in, 1.0f, grads + w, in, bf16(), &err))) return false;
    return b < 0 || ok(column_sums(grads + b, dy, rows, out, st), "column_sums");
}

bool GptStep::forward() {
    const cudaStream_t st = dev->stream;
    const int Nt = N(), d = c.n_embd;
    const int64_t Nd = int64_t(Nt) * d;
    auto round = [&](float* x, int64_t n) { return !bf16() || ok(round_bf16(x, n, st), "round_bf16"); };
    if (!ok(embedding_forward(encoded, tokens, params + off[WTE], c.position == 0 ? p(off[WPE]) : nullptr, Nt, c.seq, d, st),
            "embedding"))
        return false;
    const float* x = encoded;
    for (int l = 0; l < c.n_layer; ++l) {
        const Block& b = blocks[size_t(l)];
        if (!ok(norm_forward(b.ln1, b.ln1_mean, b.ln1_rstd, x, params + blk(l, LN1_W), p(blk(l, LN1_B)), Nt, d, c.norm_eps, st),
                "norm") ||
            !round(b.ln1, Nd) || !linear_forward(b.qkv, b.ln1, blk(l, QKV_W), blk(l, QKV_B), Nt, d, 3 * d) ||
            (c.position == 1 && !ok(rope(b.qkv, Nt, c.seq, c.n_head, d / c.n_head, c.rope_base, 1.0f, st), "rope")) ||
            !round(b.qkv, 3 * Nd) ||
            !ok(attention_forward(c.attention == 0, b.atty, b.stats, b.qkv, attn(), dev->blas, st, &err)) ||
            !round(b.atty, Nd) || !linear_forward(b.res2, b.atty, blk(l, PROJ_W), blk(l, PROJ_B), Nt, d, d) ||
            !ok(add(b.res2, b.res2, x, Nd, st), "add") ||
            !ok(norm_forward(b.ln2, b.ln2_mean, b.ln2_rstd, b.res2, params + blk(l, LN2_W), p(blk(l, LN2_B)), Nt, d,
                             c.norm_eps, st),
                "norm") ||
            !round(b.ln2, Nd) || !linear_forward(b.fch, b.ln2, blk(l, FC_W), blk(l, FC_B), Nt, d, fc_rows()) ||
            !ok(c.mlp == 0 ? gelu_forward(b.fcact, b.fch, int64_t(Nt) * c.n_ff, st) : swiglu_forward(b.fcact, b.fch, Nt, c.n_ff, st),
                "activation") ||
            !round(b.fcact, int64_t(Nt) * c.n_ff) ||
            !linear_forward(b.res3, b.fcact, blk(l, FCPROJ_W), blk(l, FCPROJ_B), Nt, c.n_ff, d) ||
            !ok(add(b.res3, b.res3, b.res2, Nd, st), "add"))
            return false;
        x = b.res3;
    }
    return ok(norm_forward(lnf, lnf_mean, lnf_rstd, x, params + off[LNF_W], p(off[LNF_B]), Nt, d, c.norm_eps, st), "norm") &&
           round(lnf, Nd);
}

// Logits, loss and the head's gradients, a chunk of tokens at a time; dln receives d(lnf).
bool GptStep::head(int n_targets) {
    const int Nt = N(), d = c.n_embd, V = c.vocab;
    const int64_t w = c.tied ? off[WTE] : off[HEAD];
    const float dscale = n_targets ? 1.0f / float(n_targets) : 0.0f;
    for (int n0 = 0; n0 < Nt; n0 += HEAD_CHUNK) {
        const int n = std::min(Nt - n0, HEAD_CHUNK);
        const float* x = lnf + int64_t(n0) * d;
        if (!linear_forward(logits, x, w, -1, n, d, V) ||
            !ok(cross_entropy(logits, targets + n0, n, V, dscale, &sums[0], dev->stream), "cross_entropy") ||
            !linear_backward(dln + int64_t(n0) * d, w, -1, logits, true, x, n, d, V))
            return false;
    }
    return true;
}

bool GptStep::backward() {
    const cudaStream_t st = dev->stream;
    const int Nt = N(), d = c.n_embd, H = c.n_head, hd = d / H;
    const int64_t Nd = int64_t(Nt) * d;
    if (!ok(cudaMemsetAsync(dres, 0, Nd * sizeof(float), st), "memset") ||
        !ok(norm_backward(dres, grads + off[LNF_W], g(off[LNF_B]), dln, blocks.back().res3, params + off[LNF_W], lnf_mean,
                          lnf_rstd, Nt, d, st),
            "norm_backward"))
        return false;
    for (int l = c.n_layer - 1; l >= 0; --l) {
        const Block& b = blocks[size_t(l)];
        const float* x = l == 0 ? encoded : blocks[size_t(l - 1)].res3;
        if (!linear_backward(dfcact, blk(l, FCPROJ_W), blk(l, FCPROJ_B), dres, false, b.fcact, Nt, c.n_ff, d) ||
            !ok(c.mlp == 0 ? gelu_backward(dfch, b.fch, dfcact, int64_t(Nt) * c.n_ff, st)
                           : swiglu_backward(dfch, b.fch, dfcact, Nt, c.n_ff, st),
                "activation backward") ||
            !linear_backward(dln, blk(l, FC_W), blk(l, FC_B), dfch, true, b.ln2, Nt, d, fc_rows()) ||
            !ok(norm_backward(dres, grads + blk(l, LN2_W), g(blk(l, LN2_B)), dln, b.res2, params + blk(l, LN2_W), b.ln2_mean,
                              b.ln2_rstd, Nt, d, st),
                "norm_backward") ||
            !linear_backward(datty, blk(l, PROJ_W), blk(l, PROJ_B), dres, false, b.atty, Nt, d, d) ||
            (bf16() && !ok(round_bf16(datty, Nd, st), "round_bf16")) ||
            !ok(attention_backward(c.attention == 0, dqkv, datty, b.atty, b.stats, b.qkv, attn(), attn_scratch, dev->blas, st,
                                   &err)) ||
            (c.position == 1 && !ok(rope(dqkv, Nt, c.seq, H, hd, c.rope_base, -1.0f, st), "rope")) ||
            !linear_backward(dln, blk(l, QKV_W), blk(l, QKV_B), dqkv, true, b.ln1, Nt, d, 3 * d) ||
            !ok(norm_backward(dres, grads + blk(l, LN1_W), g(blk(l, LN1_B)), dln, x, params + blk(l, LN1_W), b.ln1_mean,
                              b.ln1_rstd, Nt, d, st),
                "norm_backward"))
            return false;
    }
    return ok(embedding_backward(grads + off[WTE], c.position == 0 ? g(off[WPE]) : nullptr, dres, tokens, Nt, c.seq, d, st),
              "embedding_backward");
}

bool GptStep::update() {
    const cudaStream_t st = dev->stream;
    ++t;
    const int64_t n = static_cast<int64_t>(c.n_params), k = static_cast<int64_t>(c.n_decayed);
    const float c1 = static_cast<float>(1 / (1 - std::pow(double(c.beta1), t)));
    const float c2 = static_cast<float>(1 / (1 - std::pow(double(c.beta2), t)));
    return ok(sum_squares(grads, n, &sums[1], st), "sum_squares") &&
           ok(adamw(params, grads, m, v, k, c.lr, c.beta1, c.beta2, c.adam_eps, c.weight_decay, c1, c2, c.clip, &sums[1], st),
              "adamw") &&
           ok(adamw(params + k, grads + k, m + k, v + k, n - k, c.lr, c.beta1, c.beta2, c.adam_eps, 0.0f, c1, c2, c.clip,
                    &sums[1], st),
              "adamw") &&
           (!bf16() || ok(to_bf16(wbf, params, k, st), "to_bf16"));
}

int GptStep::step(const int32_t* tok, const int32_t* tgt, float* loss, float* grads_out) {
    const cudaStream_t st = dev->stream;
    const int64_t Nt = N();
    int n_targets = 0;
    for (int64_t i = 0; i < Nt; ++i) n_targets += tgt[i] >= 0;
    double loss_sum = 0;
    if (!ok(cudaMemcpyAsync(tokens, tok, Nt * sizeof(int32_t), cudaMemcpyHostToDevice, st), "copy tokens") ||
        !ok(cudaMemcpyAsync(targets, tgt, Nt * sizeof(int32_t), cudaMemcpyHostToDevice, st), "copy targets") ||
        !ok(cudaMemsetAsync(grads, 0, c.n_params * sizeof(float), st), "memset") ||
        !ok(cudaMemsetAsync(sums, 0, 2 * sizeof(double), st), "memset") || !forward() || !head(n_targets) || !backward() ||
        (grads_out &&
         !ok(cudaMemcpyAsync(grads_out, grads, c.n_params * sizeof(float), cudaMemcpyDeviceToHost, st), "copy gradients")) ||
        !update() || !ok(cudaMemcpyAsync(&loss_sum, sums, sizeof(double), cudaMemcpyDeviceToHost, st), "copy loss") ||
        !ok(cudaStreamSynchronize(st), "cudaStreamSynchronize"))
        return 1;
    *loss = n_targets ? static_cast<float>(loss_sum / n_targets) : 0.0f;
    return 0;
}

// ---- the table's entries ----------------------------------------------------------------------------------

int gpt_create(void* ctx, int index, const versus_train_gpt_config* cfg, const float* params, void** handle) {
    Device* d = device(ctx, index);
    if (!d) return 1;
    if (cfg->n_head <= 0 || cfg->n_embd % cfg->n_head || cfg->batch <= 0 || cfg->seq <= 0 || cfg->seq > cfg->max_seq)
        return fail(ctx, "train_gpt_create: inconsistent configuration");
    if (std::string why = attention_unsupported(cfg->attention == 0, cfg->n_embd / cfg->n_head); !why.empty())
        return fail(ctx, "train_gpt_create: " + why);
    auto s = std::make_unique<GptStep>();
    s->c = *cfg;
    s->off.assign(cfg->offsets, cfg->offsets + GLOBALS + size_t(cfg->n_layer) * PER_BLOCK);
    s->c.offsets = nullptr;
    s->dev = d;
    s->mm = std::make_unique<Matmul>(*d);
    if (!s->allocate()) return fail(ctx, s->err);
    VCUDA_CHECK(ctx, cudaMemcpyAsync(s->params, params, cfg->n_params * sizeof(float), cudaMemcpyHostToDevice, d->stream));
    if (s->bf16()) VCUDA_CHECK(ctx, to_bf16(s->wbf, s->params, int64_t(cfg->n_decayed), d->stream));
    VCUDA_CHECK(ctx, cudaStreamSynchronize(d->stream));
    *handle = s.release();
    return 0;
}

int gpt_step(void* ctx, int index, void* handle, const int32_t* tokens, const int32_t* targets, float* loss, float* grads) {
    if (!device(ctx, index)) return 1;
    auto* s = dynamic_cast<GptStep*>(static_cast<Handle*>(handle));
    if (!s) return fail(ctx, "train_gpt_step: not a GPT training handle");
    return s->step(tokens, targets, loss, grads) ? fail(ctx, "train_gpt_step: " + s->err) : 0;
}

int gpt_params(void* ctx, int index, void* handle, float* params) {
    Device* d = device(ctx, index);
    if (!d) return 1;
    auto* s = dynamic_cast<GptStep*>(static_cast<Handle*>(handle));
    if (!s) return fail(ctx, "train_gpt_params: not a GPT training handle");
    VCUDA_CHECK(ctx, cudaMemcpy(params, s->params, s->c.n_params * sizeof(float), cudaMemcpyDeviceToHost));
    return 0;
}

}  // namespace versus::cuda::train
