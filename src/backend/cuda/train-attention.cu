// train-attention: causal self-attention for the GPT training step on the GPU, the two paths of the CPU engine
// (src/train/attention.cpp):
//   fused  one thread per query (forward, and the dQ pass of the backward) or per key (the dK/dV pass), key and
//          query tiles staged in shared memory, an online softmax that keeps only each query's log-sum-exp, and
//          a backward pass that recomputes the probabilities from it: nothing of size seq x seq is stored. Plain
//          f32 FMA kernels, written for clarity, not tensor-core FlashAttention-2;
//   naive  strided-batched cuBLAS products over the heads of each sequence with the probabilities kept, (B, H,
//          seq, seq), and a softmax kernel between them.
#include <cmath>

#include "backend/cuda/train-common.cuh"

namespace versus::cuda::train {

namespace {

constexpr int QTILE = 64;  // queries (or keys) per block, one per thread
template <int HD>
constexpr int KTILE = HD <= 64 ? 64 : 32;  // rows staged in shared memory per pass

template <int HD>
__device__ float dot(const float* a, const float* b) {
    float s = 0;
#pragma unroll
    for (int e = 0; e < HD; ++e) s += a[e] * b[e];
    return s;
}

// Stages rows r0 .. r0 + n - 1 of a strided (seq, *) array, part `off` of each row, into dst (n, HD); rows past seq
// are zero.
template <int HD>
__device__ void stage(float* dst, const float* src, int64_t ld, int off, int r0, int n, int seq) {
    for (int i = threadIdx.x; i < n * HD; i += blockDim.x) {
        const int r = i / HD, e = i % HD;
        dst[i] = r0 + r < seq ? src[int64_t(r0 + r) * ld + off + e] : 0.0f;
    }
}

template <int HD>
__global__ void k_fused_forward(const float* qkv, float* out, float* lse, int seq, int H, float scale) {
    constexpr int KT = KTILE<HD>;
    extern __shared__ float sm[];
    float* Ks = sm;
    float* Vs = sm + KT * HD;
    const int bh = blockIdx.y, b = bh / H, h = bh % H, d = H * HD;
    const int64_t ld = 3 * int64_t(d);
    const float* base = qkv + int64_t(b) * seq * ld + h * HD;
    const int t = blockIdx.x * QTILE + threadIdx.x;
    float q[HD], o[HD], m = -INFINITY, l = 0;
    for (int e = 0; e < HD; ++e) {
        q[e] = t < seq ? base[int64_t(t) * ld + e] : 0.0f;
        o[e] = 0;
    }
    const int last = min(seq - 1, int(blockIdx.x) * QTILE + QTILE - 1);
    for (int k0 = 0; k0 <= last; k0 += KT) {
        stage<HD>(Ks, base, ld, d, k0, KT, seq);
        stage<HD>(Vs, base, ld, 2 * d, k0, KT, seq);
        __syncthreads();
        const int kend = t < seq ? min(KT, t - k0 + 1) : 0;
        for (int r = 0; r < kend; ++r) {
            const float s = dot<HD>(q, Ks + r * HD) * scale;
            const float mn = fmaxf(m, s), c = expf(m - mn), p = expf(s - mn);
            l = l * c + p;
            for (int e = 0; e < HD; ++e) o[e] = o[e] * c + p * Vs[r * HD + e];
            m = mn;
        }
        __syncthreads();
    }
    if (t >= seq) return;
    float* orow = out + (int64_t(b) * seq + t) * d + h * HD;
    for (int e = 0; e < HD; ++e) orow[e] = o[e] / l;
    lse[int64_t(bh) * seq + t] = m + logf(l);
}

// Per query: D = dO . O (kept in Dbuf for the key pass) and dQ = scale sum_k P (dP - D) K.
template <int HD>
__global__ void k_fused_backward_dq(const float* qkv, const float* out, const float* dout, const float* lse, float* Dbuf,
                                    float* dqkv, int seq, int H, float scale) {
    constexpr int KT = KTILE<HD>;
    extern __shared__ float sm[];
    float* Ks = sm;
    float* Vs = sm + KT * HD;
    const int bh = blockIdx.y, b = bh / H, h = bh % H, d = H * HD;
    const int64_t ld = 3 * int64_t(d);
    const float* base = qkv + int64_t(b) * seq * ld + h * HD;
    const int t = blockIdx.x * QTILE + threadIdx.x;
    const int64_t orow = (int64_t(b) * seq + t) * d + h * HD;
    float q[HD], g[HD], dq[HD], D = 0;
    for (int e = 0; e < HD; ++e) {
        q[e] = t < seq ? base[int64_t(t) * ld + e] : 0.0f;
        g[e] = t < seq ? dout[orow + e] : 0.0f;
        D += t < seq ? g[e] * out[orow + e] : 0.0f;
        dq[e] = 0;
    }
    const float L = t < seq ? lse[int64_t(bh) * seq + t] : 0.0f;
    const int last = min(seq - 1, int(blockIdx.x) * QTILE + QTILE - 1);
    for (int k0 = 0; k0 <= last; k0 += KT) {
        stage<HD>(Ks, base, ld, d, k0, KT, seq);
        stage<HD>(Vs, base, ld, 2 * d, k0, KT, seq);
        __syncthreads();
        const int kend = t < seq ? min(KT, t - k0 + 1) : 0;
        for (int r = 0; r < kend; ++r) {
            const float p = expf(dot<HD>(q, Ks + r * HD) * scale - L);
            const float ds = p * (dot<HD>(g, Vs + r * HD) - D);
            for (int e = 0; e < HD; ++e) dq[e] += ds * Ks[r * HD + e];
        }
        __syncthreads();
    }
    if (t >= seq) return;
    Dbuf[int64_t(bh) * seq + t] = D;
    float* dst = dqkv + int64_t(b) * seq * ld + int64_t(t) * ld + h * HD;
    for (int e = 0; e < HD; ++e) dst[e] = dq[e] * scale;
}

// Per key j: dV = sum over queries t >= j of P dO, dK = scale sum P (dP - D) Q.
template <int HD>
__global__ void k_fused_backward_dkv(const float* qkv, const float* dout, const float* lse, const float* Dbuf, float* dqkv,
                                     int seq, int H, float scale) {
    constexpr int QT = KTILE<HD>;
    extern __shared__ float sm[];
    float* Qs = sm;
    float* Gs = sm + QT * HD;
    float* Ls = Gs + QT * HD;
    float* Ds = Ls + QT;
    const int bh = blockIdx.y, b = bh / H, h = bh % H, d = H * HD;
    const int64_t ld = 3 * int64_t(d);
    const float* base = qkv + int64_t(b) * seq * ld + h * HD;
    const int j = blockIdx.x * QTILE + threadIdx.x;
    float k[HD], v[HD], dk[HD], dv[HD];
    for (int e = 0; e < HD; ++e) {
        k[e] = j < seq ? base[int64_t(j) * ld + d + e] : 0.0f;
        v[e] = j < seq ? base[int64_t(j) * ld + 2 * d + e] : 0.0f;
        dk[e] = dv[e] = 0;
    }
    for (int q0 = int(blockIdx.x) * QTILE; q0 < seq; q0 += QT) {  // queries before the block's first key see none
        stage<HD>(Qs, base, ld, 0, q0, QT, seq);
        stage<HD>(Gs, dout + int64_t(b) * seq * d, d, h * HD, q0, QT, seq);
        for (int i = threadIdx.x; i < QT; i += blockDim.x) {
            Ls[i] = q0 + i < seq ? lse[int64_t(bh) * seq + q0 + i] : 0.0f;
            Ds[i] = q0 + i < seq ? Dbuf[int64_t(bh) * seq + q0 + i] : 0.0f;
        }
        __syncthreads();
        if (j < seq)
            for (int r = max(0, j - q0); r < QT && q0 + r < seq; ++r) {
                const float p = expf(dot<HD>(Qs + r * HD, k) * scale - Ls[r]);
                const float ds = p * (dot<HD>(Gs + r * HD, v) - Ds[r]);
                for (int e = 0; e < HD; ++e) {
                    dv[e] += p * Gs[r * HD + e];
                    dk[e] += ds * Qs[r * HD + e];
                }
            }
        __syncthreads();
    }
    if (j >= seq) return;
    float* dst = dqkv + int64_t(b) * seq * ld + int64_t(j) * ld + h * HD;
    for (int e = 0; e < HD; ++e) {
        dst[d + e] = dk[e] * scale;
        dst[2 * d + e] = dv[e];
    }
}

// Causal softmax of score rows (rows of seq, row r of a head being query r % seq), in place.
__global__ void k_causal_softmax(float* s, int64_t rows, int seq) {
    const int64_t row = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= rows) return;
    float* x = s + row * seq;
    const int t = static_cast<int>(row % seq);
    float mx = -INFINITY;
    for (int c = lane; c <= t; c += 32) mx = fmaxf(mx, x[c]);
    for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    float sum = 0;
    for (int c = lane; c <= t; c += 32) sum += expf(x[c] - mx);
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    for (int c = lane; c < seq; c += 32) x[c] = c <= t ? expf(x[c] - mx) / sum : 0.0f;
}

// dS = P (dP - rowsum(P dP)) scale, in dP's place.
__global__ void k_softmax_backward(float* dp, const float* p, int64_t rows, int seq, float scale) {
    const int64_t row = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= rows) return;
    float* g = dp + row * seq;
    const float* pr = p + row * seq;
    const int t = static_cast<int>(row % seq);
    float dotv = 0;
    for (int c = lane; c <= t; c += 32) dotv += pr[c] * g[c];
    for (int o = 16; o > 0; o >>= 1) dotv += __shfl_xor_sync(0xffffffffu, dotv, o);
    for (int c = lane; c < seq; c += 32) g[c] = c <= t ? pr[c] * (g[c] - dotv) * scale : 0.0f;
}

// Row-major strided-batched product (as Matmul::run: the column-major call swaps the operands).
cublasStatus_t batched(cublasHandle_t h, bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                       int64_t sa, const float* B, int ldb, int64_t sb, float beta, float* C, int ldc, int64_t sc, int count) {
    return cublasSgemmStridedBatched(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B,
                                     ldb, sb, A, lda, sa, &beta, C, ldc, sc, count);
}

template <int HD>
int fused_forward(float* out, float* lse, const float* qkv, const AttentionShape& s, cudaStream_t st, std::string* err) {
    const dim3 grid((s.seq + QTILE - 1) / QTILE, s.B * s.H);
    const size_t smem = 2 * KTILE<HD> * HD * sizeof(float);
    k_fused_forward<HD><<<grid, QTILE, smem, st>>>(qkv, out, lse, s.seq, s.H, 1.0f / sqrtf(float(HD)));
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) *err = std::string("fused attention forward: ") + cudaGetErrorString(e);
    return e != cudaSuccess;
}

template <int HD>
int fused_backward(float* dqkv, const float* dout, const float* out, const float* lse, const float* qkv,
                   const AttentionShape& s, float* Dbuf, cudaStream_t st, std::string* err) {
    const dim3 grid((s.seq + QTILE - 1) / QTILE, s.B * s.H);
    const float scale = 1.0f / sqrtf(float(HD));
    k_fused_backward_dq<HD><<<grid, QTILE, 2 * KTILE<HD> * HD * sizeof(float), st>>>(qkv, out, dout, lse, Dbuf, dqkv, s.seq,
                                                                                     s.H, scale);
    k_fused_backward_dkv<HD><<<grid, QTILE, (2 * KTILE<HD> * HD + 2 * KTILE<HD>) * sizeof(float), st>>>(qkv, dout, lse, Dbuf,
                                                                                                     dqkv, s.seq, s.H, scale);
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) *err = std::string("fused attention backward: ") + cudaGetErrorString(e);
    return e != cudaSuccess;
}

}  // namespace

std::string attention_unsupported(bool fused, int hd) {
    if (!fused || hd == 8 || hd == 16 || hd == 32 || hd == 64 || hd == 128) return "";
    return "the fused CUDA attention kernels take head sizes 8, 16, 32, 64 and 128, not " + std::to_string(hd) +
           ": use --attention naive";
}

size_t attention_scratch(bool fused, const AttentionShape& s) {
    // fused: D per query; naive: the score gradients of one sequence's heads.
    return fused ? size_t(s.B) * s.H * s.seq : size_t(s.H) * s.seq * s.seq;
}

int attention_forward(bool fused, float* out, float* stats, const float* qkv, const AttentionShape& s, cublasHandle_t blas,
                      cudaStream_t st, std::string* err) {
    if (fused) {
        switch (s.hd) {
            case 8: return fused_forward<8>(out, stats, qkv, s, st, err);
            case 16: return fused_forward<16>(out, stats, qkv, s, st, err);
            case 32: return fused_forward<32>(out, stats, qkv, s, st, err);
            case 64: return fused_forward<64>(out, stats, qkv, s, st, err);
            case 128: return fused_forward<128>(out, stats, qkv, s, st, err);
        }
        *err = attention_unsupported(true, s.hd);
        return 1;
    }
    const int T = s.seq, d = s.H * s.hd;
    const int64_t tt = int64_t(T) * T;
    const float scale = 1.0f / sqrtf(float(s.hd));
    for (int b = 0; b < s.B; ++b) {
        const float* q = qkv + int64_t(b) * T * 3 * d;
        float* att = stats + int64_t(b) * s.H * tt;
        if (batched(blas, false, true, T, T, s.hd, scale, q, 3 * d, s.hd, q + d, 3 * d, s.hd, 0, att, T, tt, s.H) ||
            (k_causal_softmax<<<(s.H * T + 7) / 8, 256, 0, st>>>(att, int64_t(s.H) * T, T), cudaGetLastError()) ||
            batched(blas, false, false, T, s.hd, T, 1, att, T, tt, q + 2 * d, 3 * d, s.hd, 0, out + int64_t(b) * T * d, d,
                    s.hd, s.H)) {
            *err = "naive attention forward: a cuBLAS batched product or the softmax failed";
            return 1;
        }
    }
    return 0;
}

int attention_backward(bool fused, float* dqkv, const float* dout, const float* out, const float* stats, const float* qkv,
                       const AttentionShape& s, float* scratch, cublasHandle_t blas, cudaStream_t st, std::string* err) {
    if (fused) {
        switch (s.hd) {
            case 8: return fused_backward<8>(dqkv, dout, out, stats, qkv, s, scratch, st, err);
            case 16: return fused_backward<16>(dqkv, dout, out, stats, qkv, s, scratch, st, err);
            case 32: return fused_backward<32>(dqkv, dout, out, stats, qkv, s, scratch, st, err);
            case 64: return fused_backward<64>(dqkv, dout, out, stats, qkv, s, scratch, st, err);
            case 128: return fused_backward<128>(dqkv, dout, out, stats, qkv, s, scratch, st, err);
        }
        *err = attention_unsupported(true, s.hd);
        return 1;
    }
    const int T = s.seq, d = s.H * s.hd;
    const int64_t tt = int64_t(T) * T;
    const float scale = 1.0f / sqrtf(float(s.hd));
    for (int b = 0; b < s.B; ++b) {
        const float* q = qkv + int64_t(b) * T * 3 * d;
        const float* att = stats + int64_t(b) * s.H * tt;
        const float* g = dout + int64_t(b) * T * d;
        float* dq = dqkv + int64_t(b) * T * 3 * d;
        // dP = dO V^T; dV = P^T dO; dS; dQ = dS K; dK = dS^T Q.
        if (batched(blas, false, true, T, T, s.hd, 1, g, d, s.hd, q + 2 * d, 3 * d, s.hd, 0, scratch, T, tt, s.H) ||
            batched(blas, true, false, T, s.hd, T, 1, att, T, tt, g, d, s.hd, 0, dq + 2 * d, 3 * d, s.hd, s.H) ||
            (k_softmax_backward<<<(s.H * T + 7) / 8, 256, 0, st>>>(scratch, att, int64_t(s.H) * T, T, scale),
             cudaGetLastError()) ||
            batched(blas, false, false, T, s.hd, T, 1, scratch, T, tt, q + d, 3 * d, s.hd, 0, dq, 3 * d, s.hd, s.H) ||
            batched(blas, true, false, T, s.hd, T, 1, scratch, T, tt, q, 3 * d, s.hd, 0, dq + d, 3 * d, s.hd, s.H)) {
            *err = "naive attention backward: a cuBLAS batched product or the softmax gradient failed";
            return 1;
        }
    }
    return 0;
}

}  // namespace versus::cuda::train
