// Contract: the scalar rung of the attention ladder, the bottom and the readable statement of what every
// rung's `attend` computes. Plain C++ for the baseline ISA; it takes every head_dim. The online softmax
// works a tile of keys at a time, as the vector rungs do:
//   s_j    = scale * q · k_j                          for the keys of the tile the row sees
//   m_new  = max(m, max_j s_j);  corr = exp(m - m_new)
//   l      = l * corr + sum_j exp(s_j - m_new)
//   acc    = acc * corr + sum_j exp(s_j - m_new) * v_j
#include <algorithm>
#include <cmath>

#include "backend/cpu/attention.hpp"

namespace versus::cpu {

namespace ref {

namespace {

constexpr int KEY_TILE = 64;

void attend(const AttentionBlock& b) {
    const int d = b.head_dim, rpg = b.n_pos * b.n_rep, rows = b.n_kvh * rpg;
    if (rows <= 0 || b.k_begin >= b.k_end) return;
    const AttentionTiles t = attention_tiles(rows, d, KEY_TILE);
    for (int r = 0; r < rows; ++r) {
        const int g = r / rpg, i = r % rpg / b.n_rep, j = r % b.n_rep;
        t.q_row[r] = b.q + size_t(i) * b.q_stride + size_t(g * b.n_rep + j) * d;
    }
    for (int t0 = b.k_begin; t0 < b.k_end; t0 += KEY_TILE) {
        const int nk = std::min(KEY_TILE, b.k_end - t0);
        const int i_lo = std::max(0, t0 - b.pos0);  // positions before it see no key of this tile (nor later ones)
        if (i_lo >= b.n_pos) break;
        for (int g = 0; g < b.n_kvh; ++g) {
            for (int j = 0; j < nk; ++j) {
                const f16_t* kj = b.k + size_t(t0 + j) * b.k_stride + size_t(g) * d;
                const f16_t* vj = b.v + size_t(t0 + j) * b.v_stride + size_t(g) * d;
                for (int x = 0; x < d; ++x) {
                    t.k[size_t(j) * d + x] = f16_to_f32(kj[x]);
                    t.v[size_t(j) * d + x] = f16_to_f32(vj[x]);
                }
            }
            for (int r = g * rpg + i_lo * b.n_rep; r < (g + 1) * rpg; ++r) {
                const int n_vis = std::min(nk, b.pos0 + r % rpg / b.n_rep - t0 + 1);
                float* s = t.s + size_t(r) * KEY_TILE;
                float mx = -INFINITY;
                for (int j = 0; j < n_vis; ++j) {
                    const float* kj = t.k + size_t(j) * d;
                    float dot = 0;
                    for (int x = 0; x < d; ++x) dot += t.q_row[r][x] * kj[x];
                    s[j] = b.scale * dot;
                    mx = std::max(mx, s[j]);
                }
                const float m_new = std::max(b.m[r], mx);
                const float corr = std::exp(b.m[r] - m_new);  // 0 on the first tile (m = -inf)
                float sum = 0;
                for (int j = 0; j < n_vis; ++j) sum += s[j] = std::exp(s[j] - m_new);
                b.l[r] = b.l[r] * corr + sum;
                b.m[r] = m_new;
                float* acc = b.acc + size_t(r) * d;
                for (int x = 0; x < d; ++x) acc[x] *= corr;
                for (int j = 0; j < n_vis; ++j) {
                    const float* vj = t.v + size_t(j) * d;
                    for (int x = 0; x < d; ++x) acc[x] += s[j] * vj[x];
                }
            }
        }
    }
}

void scores(const float* q, const f16_t* k, size_t k_stride, int n, int d, float scale, float* s) {
    for (int j = 0; j < n; ++j) {
        const f16_t* kj = k + size_t(j) * k_stride;
        float dot = 0;
        for (int x = 0; x < d; ++x) dot += q[x] * f16_to_f32(kj[x]);
        s[j] = scale * dot;
    }
}

float exp_sum(float* s, int n, float m) {
    float sum = 0;
    for (int j = 0; j < n; ++j) sum += s[j] = std::exp(s[j] - m);
    return sum;
}

void weighted_sum(const float* p, const f16_t* v, size_t v_stride, int n, int d, float* out) {
    std::fill(out, out + d, 0.0f);
    for (int j = 0; j < n; ++j) {
        const f16_t* vj = v + size_t(j) * v_stride;
        for (int x = 0; x < d; ++x) out[x] += p[j] * f16_to_f32(vj[x]);
    }
}

constexpr AttentionKernels REF = {
    /* .isa          = */ "scalar",
    /* .width        = */ 1,
    /* .key_tile     = */ KEY_TILE,
    /* .attend       = */ attend,
    /* .scores       = */ scores,
    /* .exp_sum      = */ exp_sum,
    /* .weighted_sum = */ weighted_sum,
};

}  // namespace

const AttentionKernels& attention_rung() { return REF; }

}  // namespace ref

}  // namespace versus::cpu
