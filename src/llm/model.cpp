#include "llm/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>

#include <fmt/format.h>

#include "backend/cpu/attention.hpp"
#include "backend/cpu/kernels.hpp"
#include "backend/cpu/quants.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "llm/offload.hpp"
#include "llm/synth.hpp"

namespace versus::llm {

namespace {

cpu::QType qtype(GgmlType t) { return static_cast<cpu::QType>(static_cast<uint32_t>(t)); }

void free_owned(uint8_t* p) { std::free(p); }

}  // namespace

Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

void Model::bind(const std::function<Weight(const TensorSpec&)>& lookup) {
    layers.assign(static_cast<size_t>(cfg_.n_layer), {});
    for (const auto& spec : model_tensors(cfg_)) {
        const Weight w = lookup(spec);
        const std::string& n = spec.name;
        if (n == "token_embd.weight") tok_embd = w;
        else if (n == "output_norm.weight") out_norm = w;
        else if (n == "output.weight") output = w;
        else {
            // blk.N.<name>
            const size_t dot = n.find('.', 4);
            const auto l = static_cast<size_t>(std::stoll(n.substr(4, dot - 4)));
            const std::string rest = n.substr(dot + 1);
            LayerWeights& L = layers[l];
            if (rest == "attn_norm.weight") L.attn_norm = w;
            else if (rest == "attn_q.weight") L.wq = w;
            else if (rest == "attn_k.weight") L.wk = w;
            else if (rest == "attn_v.weight") L.wv = w;
            else if (rest == "attn_q.bias") L.bq = w;
            else if (rest == "attn_k.bias") L.bk = w;
            else if (rest == "attn_v.bias") L.bv = w;
            else if (rest == "attn_output.weight") L.wo = w;
            else if (rest == "ffn_norm.weight") L.ffn_norm = w;
            else if (rest == "ffn_gate.weight") L.w_gate = w;
            else if (rest == "ffn_up.weight") L.w_up = w;
            else if (rest == "ffn_down.weight") L.w_down = w;
        }
    }
    if (cfg_.tied_output) output = tok_embd;
}

Model Model::load(const std::filesystem::path& path) {
    Model m;
    m.file_ = std::make_unique<GgufFile>(GgufFile::open(path));
    const GgufFile& f = *m.file_;
    f.require_supported_types();
    m.cfg_ = config_from_gguf(f);
    const std::string place = "gguf " + f.name();
    m.bind([&](const TensorSpec& spec) {
        const GgufTensorInfo& t = f.require_tensor(spec.name);
        if (t.ne[0] != spec.ne0 || t.ne[1] != spec.ne1 || t.ne[2] != 1 || t.ne[3] != 1)
            throw UsageError(place, fmt::format("tensor '{}' has shape [{}, {}, {}, {}], the {} architecture needs [{}, {}]",
                                                spec.name, t.ne[0], t.ne[1], t.ne[2], t.ne[3], m.cfg_.arch, spec.ne0,
                                                spec.ne1),
                             "the file does not match its metadata");
        if (spec.f32_only && t.type != GgmlType::F32)
            throw UsageError(place, fmt::format("tensor '{}' is {}, norms and biases must be F32", spec.name,
                                                ggml_type_name(t.type)),
                             "re-convert the model keeping norms in F32");
        return Weight{t.type, spec.ne0, spec.ne1, t.data};
    });
    for (const auto& t : f.tensors()) {
        const uint64_t b = t.n_bytes;
        m.summary_.total_bytes += b;
        if (t.name == "token_embd.weight") m.summary_.embd_bytes = b;
        if (t.name == "output.weight") m.summary_.output_bytes = b;
    }
    if (const GgufTensorInfo* rf = f.find_tensor("rope_freqs.weight")) {
        if (rf->type != GgmlType::F32 || rf->ne[0] != m.cfg_.head_dim / 2)
            throw UsageError(place, "tensor 'rope_freqs.weight' must be F32 with head_dim/2 entries",
                             "the file is damaged");
        m.rope_freq_factors.resize(static_cast<size_t>(rf->ne[0]));
        std::memcpy(m.rope_freq_factors.data(), rf->data, m.rope_freq_factors.size() * 4);
    }
    if (auto tokens = f.find("tokenizer.ggml.tokens"); tokens && tokens->is_array()) {
        const auto pieces = tokens->strings();
        if (static_cast<int64_t>(pieces.size()) != m.cfg_.n_vocab)
            throw UsageError(place, fmt::format("tokenizer has {} tokens, token_embd.weight {}", pieces.size(), m.cfg_.n_vocab),
                             "the file's vocabulary does not match its embedding");
        m.vocab_.assign(pieces.begin(), pieces.end());
    }
    return m;
}

Model Model::synthetic(const ModelConfig& c, GgmlType type, uint64_t seed) {
    const GgmlTypeInfo& ti = ggml_type_info(type);
    if (!ti.supported)
        throw UsageError("--type", fmt::format("type {} is not one versus computes with", ti.name),
                         "choose from " + ggml_supported_type_names());
    for (const auto& spec : model_tensors(c))
        if (!spec.f32_only && spec.ne0 % ti.block_elements != 0)
            throw UsageError("--type", fmt::format("{} rows of {} values do not split into {}-value {} blocks", spec.name,
                                                   spec.ne0, ti.block_elements, ti.name),
                             "choose a type with smaller blocks (Q8_0, Q4_0, F16)");
    Model m;
    m.cfg_ = c;
    // One buffer, tensors at 64-byte aligned offsets.
    struct Slot {
        TensorSpec spec;
        GgmlType type;
        uint64_t offset, bytes;
    };
    std::vector<Slot> slots;
    uint64_t total = 0;
    for (const auto& spec : model_tensors(c)) {
        const GgmlType t = spec.f32_only ? GgmlType::F32 : type;
        const int64_t ne[2] = {spec.ne0, spec.ne1};
        const uint64_t bytes = ggml_tensor_bytes(t, ne).value_or(0);
        slots.push_back({spec, t, total, bytes});
        total += (bytes + 63) / 64 * 64;
    }
    m.summary_ = weight_summary(c, type);
    auto* buf = static_cast<uint8_t*>(std::aligned_alloc(64, std::max<uint64_t>(64, total)));
    if (!buf) throw UsageError("memory", fmt::format("cannot allocate {} for the weights", base::human_bytes(static_cast<double>(total))), "use a smaller model or type");
    m.owned_ = std::unique_ptr<uint8_t, void (*)(uint8_t*)>(buf, free_owned);
    cpu::ThreadPool pool(cpu::ThreadPool::available_threads());
    for (const auto& s : slots) {
        const bool ones = s.spec.name.ends_with("norm.weight");
        synth_tensor(s.type, s.spec.ne0, s.spec.ne1, synth_sigma(s.spec.name, s.spec.ne0), ones,
                     tensor_seed(seed, s.spec.name), buf + s.offset, &pool);
    }
    m.bind([&](const TensorSpec& spec) {
        for (const auto& s : slots)
            if (s.spec.name == spec.name) return Weight{s.type, spec.ne0, spec.ne1, buf + s.offset};
        return Weight{};
    });
    return m;
}

std::string Model::type_label() const {
    std::vector<std::string> types;
    auto add = [&](const Weight& w) {
        const std::string n = ggml_type_name(w.type);
        if (std::find(types.begin(), types.end(), n) == types.end()) types.push_back(n);
    };
    for (const auto& L : layers)
        for (const Weight* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) add(*w);
    std::string out;
    for (const auto& t : types) out += (out.empty() ? "" : "+") + t;
    return out;
}

void check_fit(const std::string& label, const WeightSummary& w, uint64_t kv_bytes, uint64_t working,
               uint64_t available_bytes) {
    const double need = static_cast<double>(w.total_bytes + kv_bytes + working);
    if (need <= static_cast<double>(available_bytes)) return;
    auto gb = [](double b) { return fmt::format("{:.1f}", b / 1e9); };
    throw UsageError("memory",
                     fmt::format("{} needs {} GB (weights {} + KV {} + buffers {}), {} GB available", label, gb(need),
                                 gb(static_cast<double>(w.total_bytes)), gb(static_cast<double>(kv_bytes)),
                                 gb(static_cast<double>(working)), gb(static_cast<double>(available_bytes))),
                     "use a smaller model, a smaller --ctx, or a smaller type (q4_0)");
}

int32_t argmax(std::span<const float> logits) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// ---- session ------------------------------------------------------------------------------------

struct Session::Impl {
    const Model& m;
    const ModelConfig& c;
    cpu::ThreadPool& pool;
    int64_t n_batch;
    // The blocks computed here, [l_begin, l_end); blocks before l_begin run in `front` (offload.hpp).
    int64_t l_begin, l_end;
    std::unique_ptr<LayerRunner> front;

    // Scratch, sized for n_batch tokens.
    std::vector<float> x;       // (n_batch, n_embd) residual stream
    std::vector<float> xn;      // (n_batch, max(n_embd, n_ff)) normed input / gated FFN input
    std::vector<float> q;       // (n_batch, n_embd_q)
    std::vector<float> k, v;    // (n_batch, n_embd_kv)
    std::vector<float> att;     // (n_batch, n_embd_q)
    std::vector<float> gate, up;  // (n_batch, n_ff)
    std::vector<float> logits;  // (n_batch or 1, n_vocab)
    std::vector<uint8_t> act;   // quantized activations, (n_batch, row bytes of the widest input)
    std::vector<float> rope_cos, rope_sin;  // (n_batch, head_dim/2)
    // KV cache: per layer of [l_begin, l_end) (n_ctx, n_embd_kv) f16, K then V.
    std::vector<std::vector<uint16_t>> kc, vc;

    // Which activations `act` holds, so q/k/v (and gate/up) quantize their shared input once.
    const float* act_src = nullptr;
    cpu::QType act_type{};
    int64_t act_rows = 0;

    Impl(const Model& model, int64_t n_ctx, int64_t nb, cpu::ThreadPool& p, int64_t first, int64_t last,
         std::unique_ptr<LayerRunner> front_layers = nullptr)
        : m(model), c(model.config()), pool(p), n_batch(nb), l_begin(first), l_end(last), front(std::move(front_layers)) {
        const auto B = static_cast<size_t>(nb);
        const auto E = static_cast<size_t>(c.n_embd), Q = static_cast<size_t>(c.n_embd_q()),
                   KV = static_cast<size_t>(c.n_embd_kv()), F = static_cast<size_t>(c.n_ff);
        x.resize(B * E);
        xn.resize(B * std::max({E, F, Q}));
        q.resize(B * Q);
        k.resize(B * KV);
        v.resize(B * KV);
        att.resize(B * Q);
        gate.resize(B * F);
        up.resize(B * F);
        act.resize(B * std::max({E, F, Q}) * 4 + 64);
        rope_cos.resize(B * static_cast<size_t>(c.head_dim / 2));
        rope_sin.resize(rope_cos.size());
        kc.resize(static_cast<size_t>(l_end - l_begin));
        vc.resize(kc.size());
        for (size_t l = 0; l < kc.size(); ++l) {
            kc[l].resize(static_cast<size_t>(n_ctx) * KV);
            vc[l].resize(static_cast<size_t>(n_ctx) * KV);
        }
    }

    // y (n, w.ne1) = x (n, w.ne0) · W^T, quantizing x into the weight's activation type.
    void matmul(const Weight& w, const float* xin, int64_t n, float* y) {
        const cpu::QType wt = qtype(w.type);
        const cpu::QType at = cpu::vec_dot_type(wt);
        const void* a = xin;
        if (at != cpu::QType::F32) {
            if (act_src != xin || act_type != at || act_rows != n) {
                const size_t row = cpu::qtype_row_bytes(at, w.ne0);
                auto quant = [&](int64_t t0, int64_t t1) {
                    for (int64_t t = t0; t < t1; ++t)
                        cpu::quantize_activations(at, xin + t * w.ne0, act.data() + static_cast<size_t>(t) * row, w.ne0);
                };
                if (n > 1)
                    pool.parallel_for(n, 1, quant);
                else
                    quant(0, n);
                act_src = xin;
                act_type = at;
                act_rows = n;
            }
            a = act.data();
        }
        cpu::matmul(wt, w.data, w.ne0, w.ne1, a, n, y, pool);
    }

    void forget_act() { act_src = nullptr; }

    static void rmsnorm(const float* in, const Weight& w, float* out, int64_t n, float eps) {
        double ss = 0;
        for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(in[i]) * in[i];
        const float scale = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
        const auto* g = reinterpret_cast<const float*>(w.data);
        for (int64_t i = 0; i < n; ++i) out[i] = in[i] * scale * g[i];
    }

    void rmsnorm_rows(const float* in, int64_t stride_in, const Weight& w, float* out, int64_t stride_out, int64_t n) {
        auto rows = [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) rmsnorm(in + t * stride_in, w, out + t * stride_out, w.ne0, c.rms_eps);
        };
        if (n > 1)
            pool.parallel_for(n, 4, rows);
        else
            rows(0, n);
    }

    // cos/sin of every (token, frequency) of this batch.
    void rope_tables(int64_t pos0, int64_t n) {
        const int64_t half = c.head_dim / 2;
        for (int64_t t = 0; t < n; ++t) {
            const double p = static_cast<double>(pos0 + t) / (c.rope_scaling == "linear" ? c.rope_scale : 1.0);
            for (int64_t i = 0; i < half; ++i) {
                double theta = p * std::pow(static_cast<double>(c.rope_base), -2.0 * static_cast<double>(i) /
                                                                                   static_cast<double>(c.head_dim));
                if (!m.rope_freq_factors.empty()) theta /= m.rope_freq_factors[static_cast<size_t>(i)];
                rope_cos[t * half + i] = static_cast<float>(std::cos(theta));
                rope_sin[t * half + i] = static_cast<float>(std::sin(theta));
            }
        }
    }

    void rope(float* vec, int64_t n_heads, int64_t t) const {
        const int64_t hd = c.head_dim, half = hd / 2;
        const float* cs = &rope_cos[t * half];
        const float* sn = &rope_sin[t * half];
        for (int64_t h = 0; h < n_heads; ++h) {
            float* v = vec + h * hd;
            for (int64_t i = 0; i < half; ++i) {
                const int64_t a = c.rope_style == RopeStyle::NORM ? 2 * i : i;
                const int64_t b = c.rope_style == RopeStyle::NORM ? 2 * i + 1 : i + half;
                const float x0 = v[a], x1 = v[b];
                v[a] = x0 * cs[i] - x1 * sn[i];
                v[b] = x0 * sn[i] + x1 * cs[i];
            }
        }
    }

    void eval_batch(const int32_t* tokens, int64_t n, int64_t pos0, float* out_logits, bool all_logits) {
        const int64_t E = c.n_embd;
        // x = embedding rows
        const size_t erow = cpu::qtype_row_bytes(qtype(m.tok_embd.type), E);
        for (int64_t t = 0; t < n; ++t)
            cpu::dequantize_row(qtype(m.tok_embd.type), m.tok_embd.data + static_cast<size_t>(tokens[t]) * erow,
                                &x[static_cast<size_t>(t * E)], E);
        if (front) {
            // The front blocks elsewhere: the residual goes there and comes back (or logits do).
            front->eval(x.data(), n, pos0, front->has_output() ? out_logits : x.data(), all_logits);
            if (front->has_output()) return;
        }
        run_layers(n, pos0);
        output(n, out_logits, all_logits);
    }

    // Blocks [l_begin, l_end) over the residual x of n tokens at pos0 ...
    void run_layers(int64_t n, int64_t pos0) {
        const int64_t E = c.n_embd, Q = c.n_embd_q(), KV = c.n_embd_kv(), F = c.n_ff;
        rope_tables(pos0, n);
        for (int64_t l = l_begin; l < l_end; ++l) {
            const LayerWeights& L = m.layers[static_cast<size_t>(l)];
            // attention block
            rmsnorm_rows(x.data(), E, L.attn_norm, xn.data(), E, n);
            forget_act();
            matmul(L.wq, xn.data(), n, q.data());
            matmul(L.wk, xn.data(), n, k.data());
            matmul(L.wv, xn.data(), n, v.data());
            if (c.qkv_bias) {
                const auto* bq = reinterpret_cast<const float*>(L.bq.data);
                const auto* bk = reinterpret_cast<const float*>(L.bk.data);
                const auto* bv = reinterpret_cast<const float*>(L.bv.data);
                for (int64_t t = 0; t < n; ++t) {
                    for (int64_t i = 0; i < Q; ++i) q[t * Q + i] += bq[i];
                    for (int64_t i = 0; i < KV; ++i) {
                        k[t * KV + i] += bk[i];
                        v[t * KV + i] += bv[i];
                    }
                }
            }
            uint16_t* kcache = kc[static_cast<size_t>(l - l_begin)].data();
            uint16_t* vcache = vc[static_cast<size_t>(l - l_begin)].data();
            for (int64_t t = 0; t < n; ++t) {
                rope(&q[t * Q], c.n_head, t);
                rope(&k[t * KV], c.n_head_kv, t);
                uint16_t* kd = kcache + (pos0 + t) * KV;
                uint16_t* vd = vcache + (pos0 + t) * KV;
                for (int64_t i = 0; i < KV; ++i) {
                    kd[i] = cpu::f32_to_f16(k[t * KV + i]);
                    vd[i] = cpu::f32_to_f16(v[t * KV + i]);
                }
            }
            cpu::AttentionShape shape{};
            shape.n_head = static_cast<int>(c.n_head);
            shape.n_head_kv = static_cast<int>(c.n_head_kv);
            shape.head_dim = static_cast<int>(c.head_dim);
            shape.n_q = static_cast<int>(n);
            shape.n_kv = static_cast<int>(pos0 + n);
            shape.q_pos0 = static_cast<int>(pos0);
            shape.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
            cpu::attention_fused(shape, q.data(), kcache, static_cast<size_t>(KV), vcache, static_cast<size_t>(KV),
                                 att.data(), pool);
            forget_act();
            matmul(L.wo, att.data(), n, xn.data());
            for (int64_t i = 0; i < n * E; ++i) x[i] += xn[i];

            // feed-forward block: x += W_down (silu(W_gate h) * W_up h)
            rmsnorm_rows(x.data(), E, L.ffn_norm, xn.data(), E, n);
            forget_act();
            matmul(L.w_gate, xn.data(), n, gate.data());
            matmul(L.w_up, xn.data(), n, up.data());
            for (int64_t i = 0; i < n * F; ++i) {
                const float g = gate[i];
                gate[i] = g / (1.0f + std::exp(-g)) * up[i];
            }
            forget_act();
            matmul(L.w_down, gate.data(), n, xn.data());
            for (int64_t i = 0; i < n * E; ++i) x[i] += xn[i];
        }
    }

    // ... then the output norm and matrix: logits of the last token, or of all of them.
    void output(int64_t n, float* out_logits, bool all_logits) {
        const int64_t E = c.n_embd;
        const int64_t first = all_logits ? 0 : n - 1, rows = all_logits ? n : 1;
        rmsnorm_rows(&x[first * E], E, m.out_norm, xn.data(), E, rows);
        forget_act();
        matmul(m.output, xn.data(), rows, out_logits);
    }
};

Session::Session(const Model& m, int64_t n_ctx, int64_t n_batch, cpu::ThreadPool& pool,
                 std::unique_ptr<LayerRunner> front)
    : n_ctx_(n_ctx) {
    const int64_t first = front ? front->n_layers() : 0;
    if (first > m.config().n_layer || (front && front->has_output() != (first == m.config().n_layer)))
        throw UsageError("offload", fmt::format("{} front blocks of {}", first, m.config().n_layer),
                         "the output goes with the last block");
    impl_ = std::make_unique<Impl>(m, n_ctx, std::max<int64_t>(1, n_batch), pool, first, m.config().n_layer,
                                   std::move(front));
}

std::string Session::front_where() const { return impl_->front ? impl_->front->where() : std::string(); }
int64_t Session::front_layers() const { return impl_->front ? impl_->front->n_layers() : 0; }

namespace {

// Blocks 0 .. n-1 with the Session's code: the CPU side of the LayerRunner interface.
class CpuLayers : public LayerRunner {
public:
    CpuLayers(const Model& m, int64_t n_layers, int64_t n_ctx, int64_t n_batch, cpu::ThreadPool& pool)
        : impl_(m, n_ctx, std::max<int64_t>(1, n_batch), pool, 0, n_layers) {}
    int64_t n_layers() const override { return impl_.l_end; }
    bool has_output() const override { return impl_.l_end == impl_.c.n_layer; }
    void eval(const float* x, int64_t n, int64_t pos0, float* out, bool all_logits) override {
        const size_t count = static_cast<size_t>(n * impl_.c.n_embd);
        std::copy(x, x + count, impl_.x.begin());
        impl_.run_layers(n, pos0);
        if (has_output())
            impl_.output(n, out, all_logits);
        else
            std::copy(impl_.x.begin(), impl_.x.begin() + static_cast<std::ptrdiff_t>(count), out);
    }
    std::string where() const override { return "cpu"; }

private:
    Session::Impl impl_;
};

}  // namespace

std::unique_ptr<LayerRunner> make_cpu_layers(const Model& m, int64_t n_layers, int64_t n_ctx, int64_t n_batch,
                                             cpu::ThreadPool& pool) {
    if (n_layers < 1 || n_layers > m.config().n_layer)
        throw UsageError("offload", fmt::format("{} blocks of {}", n_layers, m.config().n_layer),
                         "give 1 .. n_layer blocks");
    return std::make_unique<CpuLayers>(m, n_layers, n_ctx, n_batch, pool);
}

Session::~Session() = default;

void Session::seek(int64_t pos) {
    if (pos < 0 || pos > n_ctx_)
        throw UsageError("context", fmt::format("position {} is outside the context of {}", pos, n_ctx_),
                         "raise --ctx");
    pos_ = pos;
}

std::span<const float> Session::eval(std::span<const int32_t> tokens, bool all_logits) {
    Impl& s = *impl_;
    const int64_t n = static_cast<int64_t>(tokens.size());
    const int64_t vocab = s.c.n_vocab;
    for (size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] < 0 || tokens[i] >= vocab)
            throw UsageError("tokens", fmt::format("token id {} (position {}) is out of range", tokens[i], i),
                             fmt::format("ids go from 0 to {}", vocab - 1));
    if (n == 0) throw UsageError("tokens", "no tokens to evaluate", "give at least one token id");
    if (pos_ + n > n_ctx_)
        throw UsageError("context", fmt::format("{} tokens at position {} exceed the context of {}", n, pos_, n_ctx_),
                         "raise --ctx");
    s.logits.resize(static_cast<size_t>((all_logits ? n : 1) * vocab));
    // Prefill in chunks of n_batch; with all_logits each chunk writes its own rows.
    for (int64_t done = 0; done < n;) {
        const int64_t chunk = std::min(s.n_batch, n - done);
        const bool last = done + chunk == n;
        float* out = all_logits ? &s.logits[static_cast<size_t>(done * vocab)] : s.logits.data();
        if (all_logits || last) {
            s.eval_batch(tokens.data() + done, chunk, pos_, out, all_logits);
        } else {
            // Intermediate chunks only fill the cache; their logits are overwritten.
            s.eval_batch(tokens.data() + done, chunk, pos_, out, false);
        }
        pos_ += chunk;
        done += chunk;
    }
    return s.logits;
}

}  // namespace versus::llm
