// attention: causal GQA attention over an f16 KV cache on the GPU (shapes: llm-kernels.cuh,
// versus_attention_shape), for the LLM layers and the ABI `attention` op.
//   fused  FlashAttention's way. A thread block serves one kv head and up to 16 query rows that read it
//          (query positions x the query heads of the group), one warp per 4 rows. Keys go through shared
//          memory 32 at a time (one per lane for the scores), and each row keeps a running max, sum and
//          f32 accumulator (head_dim / 32 values per lane) rescaled when the max grows, so the score
//          matrix never exists. Decode has one query row per head: the keys are then also split into
//          ranges over the grid's z axis and the partial states merged by log-sum-exp (flash-decoding).
//   naive  the textbook: scores into the caller's (n_head, n_q, n_kv) buffer, softmax of each row in
//          place, then S·V; three kernels, three passes over the matrix.
// Both skip the masked triangle and compute exp in f32 (expf).
#include <cmath>
#include <string>

#include "backend/cuda/cuda-common.hpp"
#include "backend/cuda/llm-kernels.cuh"

namespace versus::cuda::llm {

namespace {

constexpr int WARPS = 4;
constexpr int ROWS_PER_WARP = 4;
constexpr int ROWS = WARPS * ROWS_PER_WARP;  // query rows per block
constexpr int KEY_TILE = 32;                 // keys per shared-memory tile: one per lane
constexpr int SPLIT_MIN_KEYS = 256;          // a key range of a split is at least this long

// Which rows a block serves: kv head g, query heads jc*JR .. jc*JR+JR-1 of its group, positions p0 .. p0+TQ-1.
struct Blocking {
    int n_rep, jr, tq, n_jchunks, n_qblk;
    explicit Blocking(const AttentionArgs& a) {
        n_rep = a.n_head / a.n_head_kv;
        jr = n_rep < ROWS ? n_rep : ROWS;
        tq = ROWS / jr;
        n_jchunks = (n_rep + jr - 1) / jr;
        n_qblk = (a.n_q + tq - 1) / tq;
    }
};

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// DPL: head_dim values per lane (head_dim <= 32 * DPL).
template <int DPL>
__global__ void __launch_bounds__(WARPS * 32) fused_kernel(AttentionArgs a, Blocking bl, int n_split, float* ws) {
    extern __shared__ __align__(16) unsigned char smem[];
    const int hd = a.head_dim, kstride = hd + 2;  // +2 halves: lanes reading a key row each hit other banks
    float* qs = reinterpret_cast<float*>(smem);                 // (ROWS, hd), pre-scaled
    __half* ks = reinterpret_cast<__half*>(qs + ROWS * hd);     // (KEY_TILE, hd + 2)
    __half* vs = ks + KEY_TILE * kstride;                       // (KEY_TILE, hd)

    const int g = blockIdx.x / bl.n_jchunks, jc = blockIdx.x % bl.n_jchunks, p0 = blockIdx.y * bl.tq;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, n_rows = bl.tq * bl.jr;

    // Row r: position p0 + r / jr, query head g * n_rep + jc * jr + r % jr.
    auto row_head = [&](int r) { return jc * bl.jr + r % bl.jr < bl.n_rep ? g * bl.n_rep + jc * bl.jr + r % bl.jr : -1; };
    auto row_valid = [&](int r) { return r < n_rows && p0 + r / bl.jr < a.n_q && row_head(r) >= 0; };

    for (int i = threadIdx.x; i < ROWS * hd; i += blockDim.x) {
        const int r = i / hd, d = i % hd;
        qs[i] = row_valid(r) ? a.q[(static_cast<size_t>(p0 + r / bl.jr) * a.n_head + row_head(r)) * hd + d] * a.scale
                             : 0.0f;
    }

    // Keys this block sees, then this split's share of them (whole tiles).
    const int last_q = min(p0 + bl.tq, a.n_q) - 1;
    const int k_end_block = min(a.q_pos0 + last_q + 1, a.n_kv);
    const int per_split = ((k_end_block + n_split - 1) / n_split + KEY_TILE - 1) / KEY_TILE * KEY_TILE;
    const int k_begin = blockIdx.z * per_split, k_end = min(k_end_block, k_begin + per_split);

    float m[ROWS_PER_WARP], l[ROWS_PER_WARP], acc[ROWS_PER_WARP][DPL];
    int pos[ROWS_PER_WARP];
#pragma unroll
    for (int k = 0; k < ROWS_PER_WARP; ++k) {
        const int r = warp + WARPS * k;
        m[k] = -INFINITY;
        l[k] = 0.0f;
        pos[k] = row_valid(r) ? a.q_pos0 + p0 + r / bl.jr : -1;  // -1: sees no key
#pragma unroll
        for (int i = 0; i < DPL; ++i) acc[k][i] = 0.0f;
    }

    for (int t0 = k_begin; t0 < k_end; t0 += KEY_TILE) {
        __syncthreads();  // the previous tile is consumed (and, first time, qs is written)
        for (int i = threadIdx.x; i < KEY_TILE * hd; i += blockDim.x) {
            const int t = i / hd, d = i % hd;
            const bool in = t0 + t < k_end;
            ks[t * kstride + d] = in ? a.k[static_cast<size_t>(t0 + t) * a.k_stride + static_cast<size_t>(g) * hd + d]
                                     : __float2half(0.0f);
            vs[t * hd + d] = in ? a.v[static_cast<size_t>(t0 + t) * a.v_stride + static_cast<size_t>(g) * hd + d]
                                : __float2half(0.0f);
        }
        __syncthreads();

        // Scores of key t0 + lane for the warp's rows.
        float s[ROWS_PER_WARP];
#pragma unroll
        for (int k = 0; k < ROWS_PER_WARP; ++k) s[k] = 0.0f;
        const __half* krow = ks + lane * kstride;
        for (int d = 0; d < hd; ++d) {
            const float kv = __half2float(krow[d]);
#pragma unroll
            for (int k = 0; k < ROWS_PER_WARP; ++k) s[k] += qs[(warp + WARPS * k) * hd + d] * kv;
        }
        const int t = t0 + lane;
        float p[ROWS_PER_WARP];
#pragma unroll
        for (int k = 0; k < ROWS_PER_WARP; ++k) {
            const bool visible = t < k_end && t <= pos[k];
            const float sk = visible ? s[k] : -INFINITY;
            const float m_new = fmaxf(m[k], warp_max(sk));
            if (m_new == -INFINITY) {  // nothing visible yet (a masked row or tile)
                p[k] = 0.0f;
                continue;
            }
            p[k] = visible ? expf(sk - m_new) : 0.0f;
            const float corr = expf(m[k] - m_new);  // 0 on the first visible tile
            l[k] = l[k] * corr + warp_sum(p[k]);
#pragma unroll
            for (int i = 0; i < DPL; ++i) acc[k][i] *= corr;
            m[k] = m_new;
        }
        const int n_keys = min(KEY_TILE, k_end - t0);
        for (int j = 0; j < n_keys; ++j) {
            float v[DPL];
#pragma unroll
            for (int i = 0; i < DPL; ++i) {
                const int d = lane + 32 * i;
                v[i] = d < hd ? __half2float(vs[j * hd + d]) : 0.0f;
            }
#pragma unroll
            for (int k = 0; k < ROWS_PER_WARP; ++k) {
                const float pj = __shfl_sync(0xffffffffu, p[k], j);
#pragma unroll
                for (int i = 0; i < DPL; ++i) acc[k][i] += pj * v[i];
            }
        }
    }

#pragma unroll
    for (int k = 0; k < ROWS_PER_WARP; ++k) {
        const int r = warp + WARPS * k;
        if (!row_valid(r)) continue;
        const size_t row = static_cast<size_t>(p0 + r / bl.jr) * a.n_head + row_head(r);
        if (n_split == 1) {
            const float inv = l[k] > 0.0f ? 1.0f / l[k] : 0.0f;
#pragma unroll
            for (int i = 0; i < DPL; ++i)
                if (lane + 32 * i < hd) a.out[row * hd + lane + 32 * i] = acc[k][i] * inv;
        } else {
            // Partial state of split z: (acc[hd], m, l) per row.
            float* w = ws + (static_cast<size_t>(blockIdx.z) * a.n_q * a.n_head + row) * (hd + 2);
#pragma unroll
            for (int i = 0; i < DPL; ++i)
                if (lane + 32 * i < hd) w[lane + 32 * i] = acc[k][i];
            if (lane == 0) {
                w[hd] = m[k];
                w[hd + 1] = l[k];
            }
        }
    }
}

// out = sum_z acc_z e^(m_z - M) / sum_z l_z e^(m_z - M), M = max_z m_z; one block per (query, head) row.
__global__ void merge_kernel(int rows, int hd, int n_split, const float* ws, float* out) {
    const int row = blockIdx.x;
    const size_t split_stride = static_cast<size_t>(rows) * (hd + 2);
    float M = -INFINITY;
    for (int z = 0; z < n_split; ++z) M = fmaxf(M, ws[z * split_stride + static_cast<size_t>(row) * (hd + 2) + hd]);
    float L = 0.0f;
    for (int z = 0; z < n_split; ++z) {
        const float* w = ws + z * split_stride + static_cast<size_t>(row) * (hd + 2);
        if (w[hd] != -INFINITY) L += w[hd + 1] * expf(w[hd] - M);
    }
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float o = 0.0f;
        for (int z = 0; z < n_split; ++z) {
            const float* w = ws + z * split_stride + static_cast<size_t>(row) * (hd + 2);
            if (w[hd] != -INFINITY) o += w[d] * expf(w[hd] - M);
        }
        out[static_cast<size_t>(row) * hd + d] = L > 0.0f ? o / L : 0.0f;
    }
}

// ---- naive -----------------------------------------------------------------------------------------

// S[h][i][t] = scale * q(i, h) · k(t, h / n_rep) for the visible t; one block per (i, h).
__global__ void scores_kernel(AttentionArgs a, float* S) {
    extern __shared__ float qrow[];
    const int i = blockIdx.x / a.n_head, h = blockIdx.x % a.n_head, g = h / (a.n_head / a.n_head_kv);
    const int hd = a.head_dim;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) qrow[d] = a.q[(static_cast<size_t>(i) * a.n_head + h) * hd + d];
    __syncthreads();
    const int visible = min(a.q_pos0 + i + 1, a.n_kv);
    float* srow = S + (static_cast<size_t>(h) * a.n_q + i) * a.n_kv;
    for (int t = threadIdx.x; t < visible; t += blockDim.x) {
        const __half* k = a.k + static_cast<size_t>(t) * a.k_stride + static_cast<size_t>(g) * hd;
        float s = 0.0f;
        for (int d = 0; d < hd; ++d) s += qrow[d] * __half2float(k[d]);
        srow[t] = s * a.scale;
    }
}

// Softmax of each visible row prefix in place; one block per (i, h).
__global__ void softmax_kernel(AttentionArgs a, float* S) {
    __shared__ float red[32];
    const int i = blockIdx.x / a.n_head, h = blockIdx.x % a.n_head;
    const int visible = min(a.q_pos0 + i + 1, a.n_kv);
    float* srow = S + (static_cast<size_t>(h) * a.n_q + i) * a.n_kv;
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
    auto block_reduce = [&](float v, bool is_max) {
        v = is_max ? warp_max(v) : warp_sum(v);
        __syncthreads();
        if (lane == 0) red[warp] = v;
        __syncthreads();
        v = lane < n_warps ? red[lane] : (is_max ? -INFINITY : 0.0f);
        return is_max ? warp_max(v) : warp_sum(v);
    };
    float mx = -INFINITY;
    for (int t = threadIdx.x; t < visible; t += blockDim.x) mx = fmaxf(mx, srow[t]);
    mx = block_reduce(mx, true);
    float sum = 0.0f;
    for (int t = threadIdx.x; t < visible; t += blockDim.x) sum += (srow[t] = expf(srow[t] - mx));
    sum = block_reduce(sum, false);
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    for (int t = threadIdx.x; t < visible; t += blockDim.x) srow[t] *= inv;
}

// out(i, h) = sum_t P[h][i][t] v(t, h / n_rep); one block per (i, h), a thread per output value.
__global__ void pv_kernel(AttentionArgs a, const float* S) {
    const int i = blockIdx.x / a.n_head, h = blockIdx.x % a.n_head, g = h / (a.n_head / a.n_head_kv);
    const int hd = a.head_dim;
    const int visible = min(a.q_pos0 + i + 1, a.n_kv);
    const float* prow = S + (static_cast<size_t>(h) * a.n_q + i) * a.n_kv;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float o = 0.0f;
        for (int t = 0; t < visible; ++t)
            o += prow[t] * __half2float(a.v[static_cast<size_t>(t) * a.v_stride + static_cast<size_t>(g) * hd + d]);
        a.out[(static_cast<size_t>(i) * a.n_head + h) * hd + d] = o;
    }
}

size_t fused_smem_bytes(int hd) {
    return static_cast<size_t>(ROWS) * hd * 4 + static_cast<size_t>(KEY_TILE) * (hd + 2) * 2 +
           static_cast<size_t>(KEY_TILE) * hd * 2;
}

template <int DPL>
cudaError_t launch_fused(const AttentionArgs& a, const Blocking& bl, int n_split, float* ws, cudaStream_t s) {
    const size_t smem = fused_smem_bytes(a.head_dim);
    if (smem > 48 * 1024) {
        const cudaError_t e = cudaFuncSetAttribute(fused_kernel<DPL>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                   static_cast<int>(smem));
        if (e != cudaSuccess) return e;
    }
    const dim3 grid(static_cast<unsigned>(a.n_head_kv * bl.n_jchunks), static_cast<unsigned>(bl.n_qblk),
                    static_cast<unsigned>(n_split));
    fused_kernel<DPL><<<grid, WARPS * 32, smem, s>>>(a, bl, n_split, ws);
    return cudaGetLastError();
}

}  // namespace

int fused_split_count(const AttentionArgs& a, int n_sm) {
    const Blocking bl(a);
    const int blocks = a.n_head_kv * bl.n_jchunks * bl.n_qblk;
    if (a.n_q > 1 || blocks >= 2 * n_sm) return 1;
    const int by_sm = (2 * n_sm + blocks - 1) / blocks;
    const int by_keys = (a.n_kv + SPLIT_MIN_KEYS - 1) / SPLIT_MIN_KEYS;
    return std::max(1, std::min(by_sm, by_keys));
}

size_t fused_workspace_bytes(const AttentionArgs& a, int n_split) {
    if (n_split <= 1) return 0;
    return static_cast<size_t>(n_split) * a.n_q * a.n_head * (a.head_dim + 2) * sizeof(float);
}

cudaError_t attention_fused(const AttentionArgs& a, int n_split, float* workspace, cudaStream_t s) {
    if (a.n_q == 0) return cudaSuccess;
    if (a.head_dim > ATTENTION_MAX_HEAD_DIM) return cudaErrorInvalidValue;
    const Blocking bl(a);
    cudaError_t e;
    if (a.head_dim <= 32) e = launch_fused<1>(a, bl, n_split, workspace, s);
    else if (a.head_dim <= 64) e = launch_fused<2>(a, bl, n_split, workspace, s);
    else if (a.head_dim <= 128) e = launch_fused<4>(a, bl, n_split, workspace, s);
    else e = launch_fused<8>(a, bl, n_split, workspace, s);
    if (e != cudaSuccess || n_split == 1) return e;
    merge_kernel<<<a.n_q * a.n_head, 128, 0, s>>>(a.n_q * a.n_head, a.head_dim, n_split, workspace, a.out);
    return cudaGetLastError();
}

cudaError_t attention_naive(const AttentionArgs& a, float* scores, cudaStream_t s) {
    if (a.n_q == 0) return cudaSuccess;
    const unsigned rows = static_cast<unsigned>(a.n_q) * static_cast<unsigned>(a.n_head);
    scores_kernel<<<rows, 128, a.head_dim * sizeof(float), s>>>(a, scores);
    softmax_kernel<<<rows, 256, 0, s>>>(a, scores);
    pv_kernel<<<rows, 128, 0, s>>>(a, scores);
    return cudaGetLastError();
}

int attention_op(void* ctx, int device, int impl, const versus_attention_shape* sh, const void* Q, const void* K,
                 const void* V, void* out, void* scratch) {
    Device* dev = cuda::device(ctx, device);
    if (!dev) return 1;
    if (sh->n_head < 1 || sh->n_head_kv < 1 || sh->n_head % sh->n_head_kv != 0 || sh->head_dim < 1 || sh->n_q < 0 ||
        sh->n_kv < 0 || sh->q_pos0 < 0)
        return fail(ctx, "attention: bad shape (n_head a positive multiple of n_head_kv, sizes >= 0)");
    const uint64_t row = static_cast<uint64_t>(sh->n_head_kv) * static_cast<uint64_t>(sh->head_dim);
    if (sh->n_kv > 0 && (sh->k_row_stride < row || sh->v_row_stride < row))
        return fail(ctx, "attention: K/V row stride below n_head_kv * head_dim");
    if (sh->head_dim > ATTENTION_MAX_HEAD_DIM)
        return fail(ctx, "attention: head_dim " + std::to_string(sh->head_dim) + " exceeds the CUDA kernels' " +
                             std::to_string(ATTENTION_MAX_HEAD_DIM));
    AttentionArgs a{sh->n_head, sh->n_head_kv, sh->head_dim, sh->n_q, sh->n_kv, sh->q_pos0, sh->scale,
                    static_cast<const float*>(Q), static_cast<const __half*>(K), static_cast<const __half*>(V),
                    sh->k_row_stride, sh->v_row_stride, static_cast<float*>(out)};
    if (sh->n_q == 0) return 0;
    if (sh->n_kv == 0) {
        VCUDA_CHECK(ctx, cudaMemsetAsync(out, 0, static_cast<size_t>(sh->n_q) * sh->n_head * sh->head_dim * 4, dev->stream));
        return 0;
    }
    if (impl == 0) {
        if (!scratch) return fail(ctx, "attention: the naive form needs a scratch buffer of n_head * n_q * n_kv floats");
        VCUDA_CHECK(ctx, attention_naive(a, static_cast<float*>(scratch), dev->stream));
        return 0;
    }
    if (impl != 1) return fail(ctx, "attention: impl is 0 (naive) or 1 (fused), not " + std::to_string(impl));
    const int n_split = fused_split_count(a, dev->prop.multiProcessorCount);
    float* ws = nullptr;
    // The split's partials go to the device's scratch memory, kept between calls (a decode step is a few
    // microseconds: an allocation per call would cost as much).
    if (n_split > 1) {
        ws = static_cast<float*>(device_scratch(ctx, *dev, fused_workspace_bytes(a, n_split)));
        if (!ws) return 1;
    }
    VCUDA_CHECK(ctx, attention_fused(a, n_split, ws, dev->stream));
    return 0;
}

}  // namespace versus::cuda::llm
