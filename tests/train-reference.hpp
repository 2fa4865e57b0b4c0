// A plain fp64 reference of one GPT training step, independent of the engine's code: the forward pass in
// naive loops over scalars recorded on a reverse-mode tape (so its gradients come from the chain rule applied
// mechanically, not from hand-written backward passes), then clipping and AdamW in plain loops. Parameters
// are read and written in the engine's flat layout (param_layout) so the two can be compared element by
// element. Slow and small on purpose: for the `tiny` shapes of the tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "train/gpt-config.hpp"
#include "train/layers.hpp"

namespace versus::train {

// The tiny preset with llama's choices: RMSNorm, SwiGLU (48 wide), RoPE, an untied head, no biases.
inline GptConfig tiny_llama() {
    GptConfig c = gpt_preset("tiny");
    c.name = "tiny-llama";
    c.norm = Norm::RMS;
    c.mlp = Mlp::SWIGLU;
    c.n_ff = 48;
    c.position = Position::ROPE;
    c.tied = false;
    c.bias = false;
    return c;
}

}  // namespace versus::train

namespace versus::train::reference {

// ---- a scalar reverse-mode tape ---------------------------------------------------------------------------
struct Tape {
    struct Node {
        int a = -1, b = -1;
        double da = 0, db = 0;
    };
    std::vector<Node> nodes;
    std::vector<double> val;
    int push(double v, int a = -1, double da = 0, int b = -1, double db = 0) {
        nodes.push_back({a, b, da, db});
        val.push_back(v);
        return static_cast<int>(val.size()) - 1;
    }
    // d out / d node for every node recorded before `out`.
    std::vector<double> grad(int out) const {
        std::vector<double> g(val.size(), 0.0);
        g[static_cast<size_t>(out)] = 1;
        for (int i = out; i >= 0; --i) {
            const Node& n = nodes[static_cast<size_t>(i)];
            if (n.a >= 0) g[static_cast<size_t>(n.a)] += n.da * g[static_cast<size_t>(i)];
            if (n.b >= 0) g[static_cast<size_t>(n.b)] += n.db * g[static_cast<size_t>(i)];
        }
        return g;
    }
};

inline Tape*& tape() {
    static Tape* t = nullptr;
    return t;
}

struct Var {
    int id = -1;
    double v() const { return tape()->val[static_cast<size_t>(id)]; }
};
inline Var leaf(double x) { return {tape()->push(x)}; }
inline Var operator+(Var a, Var b) { return {tape()->push(a.v() + b.v(), a.id, 1, b.id, 1)}; }
inline Var operator-(Var a, Var b) { return {tape()->push(a.v() - b.v(), a.id, 1, b.id, -1)}; }
inline Var operator*(Var a, Var b) { return {tape()->push(a.v() * b.v(), a.id, b.v(), b.id, a.v())}; }
inline Var operator*(Var a, double k) { return {tape()->push(a.v() * k, a.id, k)}; }
inline Var operator+(Var a, double k) { return {tape()->push(a.v() + k, a.id, 1)}; }
inline Var operator/(Var a, Var b) {
    return {tape()->push(a.v() / b.v(), a.id, 1 / b.v(), b.id, -a.v() / (b.v() * b.v()))};
}
inline Var exp(Var a) {
    const double e = std::exp(a.v());
    return {tape()->push(e, a.id, e)};
}
inline Var log(Var a) { return {tape()->push(std::log(a.v()), a.id, 1 / a.v())}; }
inline Var sqrt(Var a) {
    const double s = std::sqrt(a.v());
    return {tape()->push(s, a.id, 0.5 / s)};
}
inline Var tanh(Var a) {
    const double t = std::tanh(a.v());
    return {tape()->push(t, a.id, 1 - t * t)};
}

// ---- the model --------------------------------------------------------------------------------------------
using Act = std::vector<Var>;  // (rows, width) row-major

struct Model {
    const GptConfig& c;
    const ParamLayout& layout;
    std::vector<Var> p;  // leaves, in layout order
    Var at(const std::string& name, int64_t i) const { return p[static_cast<size_t>(layout.get(name).offset + i)]; }
    bool has(const std::string& name) const {
        for (const auto& t : layout.tensors)
            if (t.name == name) return true;
        return false;
    }

    Act norm(const Act& x, int N, const std::string& name) const {
        const int d = c.n_embd;
        Act out;
        for (int n = 0; n < N; ++n) {
            Var mean = leaf(0);
            if (c.norm == Norm::LAYER) {
                for (int j = 0; j < d; ++j) mean = mean + x[n * d + j];
                mean = mean * (1.0 / d);
            }
            Var var = leaf(0);
            for (int j = 0; j < d; ++j) var = var + (x[n * d + j] - mean) * (x[n * d + j] - mean);
            const Var rstd = leaf(1) / sqrt(var * (1.0 / d) + static_cast<double>(c.norm_eps));
            for (int j = 0; j < d; ++j) {
                Var y = (x[n * d + j] - mean) * rstd * at(name + ".w", j);
                if (c.norm == Norm::LAYER) y = y + at(name + ".b", j);
                out.push_back(y);
            }
        }
        return out;
    }
    // y (N, out) = x (N, in) W^T + b
    Act linear(const Act& x, int N, int in, int out, const std::string& name) const {
        Act y;
        for (int n = 0; n < N; ++n)
            for (int o = 0; o < out; ++o) {
                Var s = has(name + ".b") ? at(name + ".b", o) : leaf(0);
                for (int i = 0; i < in; ++i) s = s + x[n * in + i] * at(name + ".w", static_cast<int64_t>(o) * in + i);
                y.push_back(s);
            }
        return y;
    }
    void rope(Act& qkv, int B, int T) const {
        const int H = c.n_head, hd = c.head_dim(), d = c.n_embd;
        for (int b = 0; b < B; ++b)
            for (int t = 0; t < T; ++t)
                for (int part = 0; part < 2; ++part)
                    for (int h = 0; h < H; ++h)
                        for (int i = 0; i < hd / 2; ++i) {
                            const double th = t * std::pow(static_cast<double>(c.rope_base), -2.0 * i / hd);
                            const size_t o = static_cast<size_t>((b * T + t) * 3 * d + part * d + h * hd + 2 * i);
                            const Var x0 = qkv[o], x1 = qkv[o + 1];
                            qkv[o] = x0 * std::cos(th) - x1 * std::sin(th);
                            qkv[o + 1] = x0 * std::sin(th) + x1 * std::cos(th);
                        }
    }
    Act attention(const Act& qkv, int B, int T) const {
        const int H = c.n_head, hd = c.head_dim(), d = c.n_embd;
        Act out(static_cast<size_t>(B * T * d));
        const double scale = 1 / std::sqrt(static_cast<double>(hd));
        auto q = [&](int b, int t, int h, int e) { return qkv[static_cast<size_t>((b * T + t) * 3 * d + h * hd + e)]; };
        for (int b = 0; b < B; ++b)
            for (int h = 0; h < H; ++h)
                for (int t = 0; t < T; ++t) {
                    std::vector<Var> s;
                    for (int u = 0; u <= t; ++u) {
                        Var dotv = leaf(0);
                        for (int e = 0; e < hd; ++e) dotv = dotv + q(b, t, h, e) * qkv[static_cast<size_t>((b * T + u) * 3 * d + d + h * hd + e)];
                        s.push_back(exp(dotv * scale));
                    }
                    Var sum = leaf(0);
                    for (const Var& x : s) sum = sum + x;
                    for (int e = 0; e < hd; ++e) {
                        Var o = leaf(0);
                        for (int u = 0; u <= t; ++u)
                            o = o + s[static_cast<size_t>(u)] * qkv[static_cast<size_t>((b * T + u) * 3 * d + 2 * d + h * hd + e)];
                        out[static_cast<size_t>((b * T + t) * d + h * hd + e)] = o / sum;
                    }
                }
        return out;
    }

    // Mean cross-entropy of the next-token targets (negative: ignored).
    Var loss(const std::vector<int32_t>& tokens, const std::vector<int32_t>& targets, int B, int T) const {
        const int N = B * T, d = c.n_embd;
        Act x;
        for (int n = 0; n < N; ++n)
            for (int j = 0; j < d; ++j) {
                Var e = at("wte", static_cast<int64_t>(tokens[n]) * d + j);
                if (c.position == Position::LEARNED) e = e + at("wpe", static_cast<int64_t>(n % T) * d + j);
                x.push_back(e);
            }
        for (int l = 0; l < c.n_layer; ++l) {
            const std::string h = fmt::format("h{}.", l);
            Act qkv = linear(norm(x, N, h + "ln1"), N, d, 3 * d, h + "qkv");
            if (c.position == Position::ROPE) rope(qkv, B, T);
            const Act a = linear(attention(qkv, B, T), N, d, d, h + "proj");
            for (size_t i = 0; i < x.size(); ++i) x[i] = x[i] + a[i];
            const Act fc = linear(norm(x, N, h + "ln2"), N, d, c.fc_rows(), h + "fc");
            Act act;
            for (int n = 0; n < N; ++n)
                for (int j = 0; j < c.n_ff; ++j) {
                    if (c.mlp == Mlp::GELU) {
                        const Var v = fc[static_cast<size_t>(n * c.n_ff + j)];
                        const Var u = (v + v * v * v * 0.044715) * 0.7978845608028654;
                        act.push_back(v * 0.5 * (tanh(u) + 1.0));
                    } else {
                        const Var g = fc[static_cast<size_t>(n * 2 * c.n_ff + j)], up = fc[static_cast<size_t>(n * 2 * c.n_ff + c.n_ff + j)];
                        act.push_back(g / (exp(g * -1.0) + 1.0) * up);
                    }
                }
            const Act m = linear(act, N, c.n_ff, d, h + "fcproj");
            for (size_t i = 0; i < x.size(); ++i) x[i] = x[i] + m[i];
        }
        const Act f = norm(x, N, "lnf");
        const std::string head = c.tied ? "wte" : "head.w";
        Var total = leaf(0);
        int counted = 0;
        for (int n = 0; n < N; ++n) {
            if (targets[n] < 0) continue;
            ++counted;
            Var sum = leaf(0), zt = leaf(0);
            for (int v = 0; v < c.vocab; ++v) {
                Var z = leaf(0);
                for (int j = 0; j < d; ++j) z = z + f[static_cast<size_t>(n * d + j)] * at(head, static_cast<int64_t>(v) * d + j);
                sum = sum + exp(z);
                if (v == targets[n]) zt = z;
            }
            total = total + log(sum) - zt;
        }
        return total * (1.0 / counted);
    }
};

struct StepResult {
    double loss = 0, grad_norm = 0;
    std::vector<double> grads, params;  // gradients, then the parameters after the update
};

// One step from `params` (the engine's layout): loss, gradients, clipping and AdamW (step 1).
inline StepResult step(const GptConfig& c, const std::vector<double>& params, const std::vector<int32_t>& tokens,
                       const std::vector<int32_t>& targets, int B, int T, const AdamWConfig& opt) {
    const ParamLayout layout = param_layout(c);
    Tape t;
    tape() = &t;
    Model m{c, layout, {}};
    for (double x : params) m.p.push_back(leaf(x));
    const Var loss = m.loss(tokens, targets, B, T);
    const std::vector<double> g = t.grad(loss.id);
    StepResult r;
    r.loss = loss.v();
    for (const Var& v : m.p) r.grads.push_back(g[static_cast<size_t>(v.id)]);
    tape() = nullptr;
    double sq = 0;
    for (double x : r.grads) sq += x * x;
    r.grad_norm = std::sqrt(sq);
    const double scale = opt.clip > 0 && r.grad_norm > opt.clip ? opt.clip / r.grad_norm : 1.0;
    r.params = params;
    for (const auto& tensor : layout.tensors)
        for (int64_t i = tensor.offset; i < tensor.offset + tensor.size(); ++i) {
            // Step 1: m = (1 - b1) g, v = (1 - b2) g^2; bias-corrected m^ = g, v^ = g^2.
            const double gi = r.grads[static_cast<size_t>(i)] * scale;
            const double mh = (1 - opt.beta1) * gi / (1 - opt.beta1), vh = (1 - opt.beta2) * gi * gi / (1 - opt.beta2);
            const double wd = tensor.decayed() ? opt.weight_decay : 0.0;
            double& p = r.params[static_cast<size_t>(i)];
            p -= opt.lr * (mh / (std::sqrt(vh) + opt.eps) + wd * p);
        }
    return r;
}

}  // namespace versus::train::reference
