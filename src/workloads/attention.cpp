// attention: causal multi-head attention with grouped-query heads over an f16 KV cache, the naive way
// (the score matrix materialised for every head, then softmax, then S V) against the fused way (tiles of
// keys with an online softmax, FlashAttention), for prefill and decode across sequence lengths. Reports
// time (GFLOP/s) and `peak_scratch_bytes`, the working memory each way needs beyond Q, K, V and out:
// the FlashAttention question is how much the fused form saves in time and in memory as seq grows.
//
// Counts (one op = one attention call over all heads):
//   visible pairs  P = seq (seq + 1) / 2 for prefill (causal: query i sees keys 0..i), seq for decode
//   flops          4 * P * head_dim * heads: the QK^T and PV multiply-adds; softmax's exp, max and
//                  sums are not counted. Both impls skip the masked triangle, so both do this work.
//   bytes          compulsory traffic: Q and out in f32 (n_q * heads * head_dim * 4 each), K and V in f16
//                  (seq * kv_heads * head_dim * 2 each); naive adds its score matrix, 4 bytes per visible
//                  score and head, 4 times: written by QK^T, read and written by the softmax (one row fits
//                  in cache), read by PV. The fused kernel's re-reads of K/V tiles (once per query block)
//                  are not counted.
//   peak_scratch_bytes  naive: heads * n_q * seq * 4, the allocated score matrix; fused: the CPU kernel's
//                  per-thread tiles and running state plus the partial results of a key split
//                  (attention_fused_scratch_bytes), which does not grow with n_q; on a GPU, the split
//                  partials of a decode step (tiles live in shared memory).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "backend/cpu/attention.hpp"
#include "backend/cpu/kernels.hpp"
#include "base/error.hpp"
#include "workloads/fill.hpp"
#include "workloads/workload.hpp"

namespace versus::workloads {
namespace {

struct Config {
    bool fused;
    bool decode;
    int seq, heads, kv_heads, head_dim;

    explicit Config(const Params& p)
        : fused(p.str("impl") == "fused"),
          decode(p.str("phase") == "decode"),
          seq(static_cast<int>(p.integer("seq"))),
          heads(static_cast<int>(p.integer("heads"))),
          kv_heads(static_cast<int>(p.integer("kv_heads"))),
          head_dim(static_cast<int>(p.integer("head_dim"))) {}

    int n_q() const { return decode ? 1 : seq; }
    // Prefill: seq new tokens over themselves. Decode: the token at position seq - 1 over the seq cached
    // positions, itself included.
    versus_attention_shape shape() const {
        versus_attention_shape s{};
        s.n_head = heads;
        s.n_head_kv = kv_heads;
        s.head_dim = head_dim;
        s.n_q = n_q();
        s.n_kv = seq;
        s.q_pos0 = decode ? seq - 1 : 0;
        s.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
        s.k_row_stride = s.v_row_stride = static_cast<uint64_t>(kv_heads) * static_cast<uint64_t>(head_dim);
        return s;
    }
    cpu::AttentionShape cpu_shape() const {
        const auto s = shape();
        return {s.n_head, s.n_head_kv, s.head_dim, s.n_q, s.n_kv, s.q_pos0, s.scale};
    }
    double visible_pairs() const {
        const double n = seq;
        return decode ? n : n * (n + 1) / 2;
    }
    double q_bytes() const { return 4.0 * n_q() * heads * head_dim; }
    double kv_bytes() const { return 2.0 * 2.0 * seq * kv_heads * head_dim; }  // K and V, f16
    double score_matrix_bytes() const { return 4.0 * heads * static_cast<double>(n_q()) * seq; }
};

int threads_of(const Params& p) {
    const core::ParamValue* t = p.find("threads");
    return t ? static_cast<int>(std::get<int64_t>(*t)) : 1;
}

class AttentionInstance : public Instance {
public:
    AttentionInstance(const Target& t, const Config& c) : t_(t), c_(c), shape_(c.shape()) {
        const size_t q_elems = static_cast<size_t>(c.n_q()) * c.heads * c.head_dim;
        const size_t kv_elems = static_cast<size_t>(c.seq) * c.kv_heads * c.head_dim;
        // Queries in [-4, 4) make the softmax peaky enough that a wrong mask or scale shows in the check.
        Rng rng(0xa77e + static_cast<uint64_t>(c.seq) * 131 + static_cast<uint64_t>(c.heads));
        q_.resize(q_elems);
        for (float& x : q_) x = static_cast<float>(4.0 * rng.uniform());
        k_.resize(kv_elems);
        v_.resize(kv_elems);
        for (auto& x : k_) x = cpu::f32_to_f16(static_cast<float>(rng.uniform()));
        for (auto& x : v_) x = cpu::f32_to_f16(static_cast<float>(rng.uniform()));
        Q_ = t.backend.alloc(t.device, q_elems * 4);
        K_ = t.backend.alloc(t.device, kv_elems * 2);
        V_ = t.backend.alloc(t.device, kv_elems * 2);
        out_ = t.backend.alloc(t.device, q_elems * 4);
        if (!c.fused) scratch_ = t.backend.alloc(t.device, static_cast<uint64_t>(c.score_matrix_bytes()));
        t.backend.copy_h2d(t.device, Q_.get(), q_.data(), q_elems * 4);
        t.backend.copy_h2d(t.device, K_.get(), k_.data(), kv_elems * 2);
        t.backend.copy_h2d(t.device, V_.get(), v_.data(), kv_elems * 2);
        t.backend.synchronize(t.device);
    }

    void run() override {
        t_.backend.attention(t_.device, c_.fused ? 1 : 0, shape_, Q_.get(), K_.get(), V_.get(), out_.get(), scratch_.get());
        t_.backend.synchronize(t_.device);
    }

    // Every head of a few query positions (the first, the last and some between) against an fp64
    // reference computed from the host copies of the inputs.
    Check check() override {
        std::vector<int> rows = {c_.n_q() - 1};
        if (c_.n_q() > 1) {
            rows.push_back(0);
            Rng pick(17);
            for (int i = 0; i < 6; ++i) rows.push_back(static_cast<int>(pick.range(0, c_.n_q() - 1)));
        }
        const size_t row_floats = static_cast<size_t>(c_.heads) * c_.head_dim;
        std::vector<float> got(row_floats);
        std::vector<double> w, o;
        Check out;
        double checksum = 0;
        for (int i : rows) {
            t_.backend.copy_d2h(t_.device, got.data(), static_cast<const char*>(out_.get()) + i * row_floats * 4,
                                row_floats * 4);
            t_.backend.synchronize(t_.device);
            const int visible = std::min(c_.seq, shape_.q_pos0 + i + 1);
            for (int h = 0; h < c_.heads; ++h) {
                const int g = h / (c_.heads / c_.kv_heads);
                const float* q = q_.data() + (static_cast<size_t>(i) * c_.heads + h) * c_.head_dim;
                w.assign(visible, 0.0);
                double mx = -INFINITY, sum = 0;
                for (int t = 0; t < visible; ++t) {
                    const uint16_t* k = k_.data() + (static_cast<size_t>(t) * c_.kv_heads + g) * c_.head_dim;
                    double dot = 0;
                    for (int x = 0; x < c_.head_dim; ++x) dot += double(q[x]) * cpu::f16_to_f32(k[x]);
                    w[t] = shape_.scale * dot;
                    mx = std::max(mx, w[t]);
                }
                for (int t = 0; t < visible; ++t) sum += w[t] = std::exp(w[t] - mx);
                o.assign(c_.head_dim, 0.0);
                for (int t = 0; t < visible; ++t) {
                    const uint16_t* v = v_.data() + (static_cast<size_t>(t) * c_.kv_heads + g) * c_.head_dim;
                    for (int x = 0; x < c_.head_dim; ++x) o[x] += w[t] * cpu::f16_to_f32(v[x]);
                }
                for (int x = 0; x < c_.head_dim; ++x) {
                    const double ref = o[x] / sum;
                    const double val = got[static_cast<size_t>(h) * c_.head_dim + x];
                    checksum += val;
                    if (!(std::fabs(val - ref) <= 2e-5 + 1e-3 * std::fabs(ref)) && out.ok) {
                        out.ok = false;
                        out.message = fmt::format("out[query {}, head {}, {}] = {} but the fp64 reference is {}", i, h, x,
                                                  val, ref);
                    }
                }
            }
        }
        out.checksum = fmt::format("{:.6e}", checksum);
        return out;
    }

private:
    Target t_;
    Config c_;
    versus_attention_shape shape_;
    std::vector<float> q_;
    std::vector<uint16_t> k_, v_;  // f16 bits
    backend::DeviceBuffer Q_, K_, V_, out_, scratch_;
};

class Attention : public Workload {
public:
    std::string_view key() const override { return "attention"; }
    std::string_view description() const override {
        return "causal GQA attention over an f16 KV cache, naive (score matrix) vs fused (FlashAttention); "
               "GFLOP/s and scratch bytes";
    }
    std::vector<ParamSpec> params() const override {
        return {
            {"impl", "impl", core::ParamKind::CHOICE,
             "naive: score matrix in memory, softmax, S*V; fused: key tiles with an online softmax",
             {"naive", "fused"}, "naive,fused", "naive,fused"},
            {"phase", "phase", core::ParamKind::CHOICE, "prefill: seq queries over seq keys; decode: 1 query at depth seq",
             {"prefill", "decode"}, "prefill,decode", "prefill,decode"},
            // Quick: 1024, not 2048, at most: a 2048 prefill row alone (34 GFLOP per op, 6 ops) takes ~15 s on a
            // 2-core AVX2 machine, and the quick suite gives this workload about 10 s.
            {"seq", "seq", core::ParamKind::INT, "sequence length (prefill) or context depth (decode)", {}, "512,1024",
             "128-16384*2", 1, 1 << 20},
            {"heads", "heads", core::ParamKind::INT, "query heads", {}, "32", "32", 1, 1024},
            {"kv_heads", "kv_heads", core::ParamKind::INT, "key/value heads (GQA); divides heads", {}, "8", "8", 1, 1024},
            {"head_dim", "head_dim", core::ParamKind::INT, "dimension of one head", {}, "128", "128", 1, 1024},
        };
    }
    double flops(const Params& p) const override {
        const Config c(p);
        return 4.0 * c.visible_pairs() * c.head_dim * c.heads;
    }
    double bytes(const Params& p) const override {
        const Config c(p);
        const double compulsory = 2 * c.q_bytes() + c.kv_bytes();
        return c.fused ? compulsory : compulsory + 4 * 4.0 * c.visible_pairs() * c.heads;
    }
    // Device buffers (Q, K, V, out, naive's score matrix), the host copies kept for the check, and the
    // fused kernel's working memory.
    double memory_bytes(const Params& p) const override {
        const Config c(p);
        const double device = 2 * c.q_bytes() + c.kv_bytes() + (c.fused ? 0.0 : c.score_matrix_bytes());
        return device + c.q_bytes() + c.kv_bytes() + (c.fused ? scratch_bytes(p) : 0.0);
    }
    bool has_peak(const Params&, versus_dtype* dtype) const override {
        *dtype = VERSUS_DTYPE_F32;  // f16 K/V are widened; the multiply-adds are f32
        return true;
    }
    Metrics metrics(const Params& p, double) const override { return {{"peak_scratch_bytes", scratch_bytes(p)}}; }
    std::unique_ptr<Instance> prepare(const Target& t, const Params& p) const override {
        const Config c(p);
        if (c.heads % c.kv_heads != 0)
            throw Skip(fmt::format("heads {} is not a multiple of kv_heads {}", c.heads, c.kv_heads));
        std::string why;
        if (!t.backend.supports(t.device, VERSUS_OP_ATTENTION, VERSUS_DTYPE_F16, &why)) throw Skip(why);
        return std::make_unique<AttentionInstance>(t, c);
    }

private:
    static double scratch_bytes(const Params& p) {
        const Config c(p);
        if (!c.fused) return c.score_matrix_bytes();
        // A GPU row (no thread axis): the CUDA kernel keeps its tiles in shared memory; a decode step at most
        // adds the partial states of its key split, ranges of at least 256 keys (docs/cuda.md).
        if (!p.find("threads"))
            return c.decode ? std::ceil(c.seq / 256.0) * c.heads * (c.head_dim + 2) * 4.0 : 0.0;
        return static_cast<double>(cpu::attention_fused_scratch_bytes(c.cpu_shape(), threads_of(p)));
    }
};

}  // namespace

std::unique_ptr<Workload> make_attention() { return std::make_unique<Attention>(); }

}  // namespace versus::workloads
