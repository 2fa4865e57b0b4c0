// train-kernels: the GPT training step's kernels besides attention (train-common.cuh), and its row-major GEMM on
// cuBLASLt. The formulas are the CPU engine's (src/train/layers.cpp); gradients of parameters are atomic adds into
// buffers the step zeroes first.
#include <cuda_bf16.h>

#include <cmath>

#include "backend/cuda/train-common.cuh"

namespace versus::cuda::train {

namespace {

constexpr int THREADS = 256;

int blocks_for(int64_t n, int per = THREADS) {
    return static_cast<int>(std::min<int64_t>((n + per - 1) / per, 65535 * 8));
}

__device__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum (or max) over the block; every thread gets the result. `shared` holds 32 floats.
__device__ float block_reduce(float v, float* shared, bool is_max) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = (blockDim.x + 31) / 32;
    v = is_max ? warp_max(v) : warp_sum(v);
    __syncthreads();  // `shared` may still be read by a previous call
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    float r = lane < warps ? shared[lane] : (is_max ? -INFINITY : 0.0f);
    r = is_max ? warp_max(r) : warp_sum(r);
    return r;
}

__global__ void k_embedding_forward(float* out, const int32_t* tokens, const float* wte, const float* wpe, int N, int seq,
                                    int d) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < int64_t(N) * d; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / d, j = i % d;
        float v = wte[int64_t(tokens[n]) * d + j];
        if (wpe) v += wpe[(n % seq) * d + j];
        out[i] = v;
    }
}

__global__ void k_embedding_backward(float* dwte, float* dwpe, const float* dout, const int32_t* tokens, int N, int seq,
                                     int d) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < int64_t(N) * d; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / d, j = i % d;
        atomicAdd(&dwte[int64_t(tokens[n]) * d + j], dout[i]);
        if (dwpe) atomicAdd(&dwpe[(n % seq) * d + j], dout[i]);
    }
}

// One warp per row.
__global__ void k_norm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, int N,
                               int d, float eps) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const float* xr = x + int64_t(row) * d;
    float m = 0;
    if (mean) {
        for (int j = lane; j < d; j += 32) m += xr[j];
        m = warp_sum(m) / d;
    }
    float var = 0;
    for (int j = lane; j < d; j += 32) var += (xr[j] - m) * (xr[j] - m);
    const float s = rsqrtf(warp_sum(var) / d + eps);
    float* o = out + int64_t(row) * d;
    for (int j = lane; j < d; j += 32) o[j] = (xr[j] - m) * s * w[j] + (b ? b[j] : 0.0f);
    if (lane == 0) {
        if (mean) mean[row] = m;
        rstd[row] = s;
    }
}

__global__ void k_norm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                                const float* mean, const float* rstd, int N, int d) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const float* xr = x + int64_t(row) * d;
    const float* g = dout + int64_t(row) * d;
    const float m = mean ? mean[row] : 0.0f, s = rstd[row];
    float sum_dn = 0, sum_dnx = 0;
    for (int j = lane; j < d; j += 32) {
        const float xhat = (xr[j] - m) * s, dn = g[j] * w[j];
        sum_dn += dn;
        sum_dnx += dn * xhat;
        atomicAdd(&dw[j], g[j] * xhat);
        if (db) atomicAdd(&db[j], g[j]);
    }
    const float mdn = mean ? warp_sum(sum_dn) / d : 0.0f, mdnx = warp_sum(sum_dnx) / d;
    float* dxr = dx + int64_t(row) * d;
    for (int j = lane; j < d; j += 32) dxr[j] += s * (g[j] * w[j] - mdn - (xr[j] - m) * s * mdnx);
}

constexpr float GELU_K = 0.7978845608028654f, GELU_C = 0.044715f;

__global__ void k_gelu_forward(float* out, const float* x, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const float v = x[i];
        out[i] = 0.5f * v * (1.0f + tanhf(GELU_K * (v + GELU_C * v * v * v)));
    }
}

__global__ void k_gelu_backward(float* dx, const float* x, const float* dout, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const float v = x[i], th = tanhf(GELU_K * (v + GELU_C * v * v * v));
        const float du = GELU_K * (1.0f + 3 * GELU_C * v * v);
        dx[i] = dout[i] * (0.5f * (1.0f + th) + 0.5f * v * (1.0f - th * th) * du);
    }
}

__global__ void k_swiglu_forward(float* out, const float* h, int N, int f) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < int64_t(N) * f; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / f, j = i % f;
        const float g = h[n * 2 * f + j], u = h[n * 2 * f + f + j];
        out[i] = g / (1.0f + expf(-g)) * u;
    }
}

__global__ void k_swiglu_backward(float* dh, const float* h, const float* dout, int N, int f) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < int64_t(N) * f; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / f, j = i % f;
        const float g = h[n * 2 * f + j], u = h[n * 2 * f + f + j], d = dout[i];
        const float s = 1.0f / (1.0f + expf(-g));
        dh[n * 2 * f + j] = d * u * s * (1.0f + g * (1.0f - s));
        dh[n * 2 * f + f + j] = d * g * s;
    }
}

// One thread per rotated pair of q or k.
__global__ void k_rope(float* qkv, int N, int seq, int H, int hd, float base, float sign) {
    const int half = hd / 2, d = H * hd;
    const int64_t pairs = int64_t(N) * 2 * H * half;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < pairs; i += int64_t(gridDim.x) * blockDim.x) {
        const int k = static_cast<int>(i % half);
        const int64_t rest = i / half;
        const int h = static_cast<int>(rest % H), part = static_cast<int>((rest / H) % 2);
        const int64_t n = rest / H / 2;
        const double theta = double(n % seq) * pow(double(base), -2.0 * k / hd);
        const float co = static_cast<float>(cos(theta)), si = sign * static_cast<float>(sin(theta));
        float* x = qkv + n * 3 * d + part * d + h * hd + 2 * k;
        const float x0 = x[0], x1 = x[1];
        x[0] = x0 * co - x1 * si;
        x[1] = x0 * si + x1 * co;
    }
}

__global__ void k_add(float* out, const float* a, const float* b, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[i] = a[i] + b[i];
}

__global__ void k_fill_rows(float* y, const float* b, int N, int out) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < int64_t(N) * out; i += int64_t(gridDim.x) * blockDim.x)
        y[i] = b[i % out];
}

__global__ void k_column_sums(float* db, const float* dy, int N, int out) {
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < out; j += gridDim.x * blockDim.x) {
        float s = 0;
        for (int n = 0; n < N; ++n) s += dy[int64_t(n) * out + j];
        db[j] += s;
    }
}

__global__ void k_cross_entropy(float* logits, const int32_t* targets, int V, float dscale, double* loss_sum) {
    __shared__ float shared[32];
    float* z = logits + int64_t(blockIdx.x) * V;
    const int t = targets[blockIdx.x];
    if (t < 0) {
        for (int j = threadIdx.x; j < V; j += blockDim.x) z[j] = 0;
        return;
    }
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < V; j += blockDim.x) mx = fmaxf(mx, z[j]);
    mx = block_reduce(mx, shared, true);
    const float zt = z[t] - mx;  // read before the row is overwritten
    float sum = 0;
    for (int j = threadIdx.x; j < V; j += blockDim.x) sum += expf(z[j] - mx);
    sum = block_reduce(sum, shared, false);
    const float k = dscale / sum;
    __syncthreads();  // every thread has read z[t]
    for (int j = threadIdx.x; j < V; j += blockDim.x) z[j] = expf(z[j] - mx) * k - (j == t ? dscale : 0.0f);
    if (threadIdx.x == 0) atomicAdd(loss_sum, double(logf(sum) - zt));
}

__global__ void k_round_bf16(float* x, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        x[i] = __bfloat162float(__float2bfloat16_rn(x[i]));
}

__global__ void k_to_bf16(__nv_bfloat16* dst, const float* src, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        dst[i] = __float2bfloat16_rn(src[i]);
}

__global__ void k_sum_squares(const float* g, int64_t n, double* sum) {
    __shared__ float shared[32];
    float s = 0;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        s += g[i] * g[i];
    s = block_reduce(s, shared, false);
    if (threadIdx.x == 0) atomicAdd(sum, double(s));
}

__global__ void k_adamw(float* p, const float* g, float* m, float* v, int64_t n, float lr, float b1, float b2, float eps,
                        float wd, float c1, float c2, float clip, const double* norm_sq) {
    const float norm = static_cast<float>(sqrt(*norm_sq));
    const float gs = clip > 0 && norm > clip ? clip / norm : 1.0f;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const float gi = g[i] * gs;
        const float mi = b1 * m[i] + (1 - b1) * gi, vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= lr * (mi * c1 / (sqrtf(vi * c2) + eps) + wd * p[i]);
    }
}

}  // namespace

cudaError_t embedding_forward(float* out, const int32_t* tokens, const float* wte, const float* wpe, int N, int seq, int d,
                              cudaStream_t st) {
    k_embedding_forward<<<blocks_for(int64_t(N) * d), THREADS, 0, st>>>(out, tokens, wte, wpe, N, seq, d);
    return cudaGetLastError();
}
cudaError_t embedding_backward(float* dwte, float* dwpe, const float* dout, const int32_t* tokens, int N, int seq, int d,
                               cudaStream_t st) {
    k_embedding_backward<<<blocks_for(int64_t(N) * d), THREADS, 0, st>>>(dwte, dwpe, dout, tokens, N, seq, d);
    return cudaGetLastError();
}
cudaError_t norm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, int N, int d,
                         float eps, cudaStream_t st) {
    k_norm_forward<<<(N + 7) / 8, THREADS, 0, st>>>(out, mean, rstd, x, w, b, N, d, eps);
    return cudaGetLastError();
}
cudaError_t norm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                          const float* mean, const float* rstd, int N, int d, cudaStream_t st) {
    k_norm_backward<<<(N + 7) / 8, THREADS, 0, st>>>(dx, dw, db, dout, x, w, mean, rstd, N, d);
    return cudaGetLastError();
}
cudaError_t gelu_forward(float* out, const float* x, int64_t n, cudaStream_t st) {
    k_gelu_forward<<<blocks_for(n), THREADS, 0, st>>>(out, x, n);
    return cudaGetLastError();
}
cudaError_t gelu_backward(float* dx, const float* x, const float* dout, int64_t n, cudaStream_t st) {
    k_gelu_backward<<<blocks_for(n), THREADS, 0, st>>>(dx, x, dout, n);
    return cudaGetLastError();
}
cudaError_t swiglu_forward(float* out, const float* h, int N, int f, cudaStream_t st) {
    k_swiglu_forward<<<blocks_for(int64_t(N) * f), THREADS, 0, st>>>(out, h, N, f);
    return cudaGetLastError();
}
cudaError_t swiglu_backward(float* dh, const float* h, const float* dout, int N, int f, cudaStream_t st) {
    k_swiglu_backward<<<blocks_for(int64_t(N) * f), THREADS, 0, st>>>(dh, h, dout, N, f);
    return cudaGetLastError();
}
cudaError_t rope(float* qkv, int N, int seq, int H, int hd, float base, float sign, cudaStream_t st) {
    k_rope<<<blocks_for(int64_t(N) * H * hd), THREADS, 0, st>>>(qkv, N, seq, H, hd, base, sign);
    return cudaGetLastError();
}
cudaError_t add(float* out, const float* a, const float* b, int64_t n, cudaStream_t st) {
    k_add<<<blocks_for(n), THREADS, 0, st>>>(out, a, b, n);
    return cudaGetLastError();
}
cudaError_t fill_rows(float* y, const float* b, int N, int out, cudaStream_t st) {
    k_fill_rows<<<blocks_for(int64_t(N) * out), THREADS, 0, st>>>(y, b, N, out);
    return cudaGetLastError();
}
cudaError_t column_sums(float* db, const float* dy, int N, int out, cudaStream_t st) {
    k_column_sums<<<blocks_for(out), THREADS, 0, st>>>(db, dy, N, out);
    return cudaGetLastError();
}
cudaError_t cross_entropy(float* logits, const int32_t* targets, int N, int V, float dscale, double* loss_sum,
                          cudaStream_t st) {
    k_cross_entropy<<<N, 512, 0, st>>>(logits, targets, V, dscale, loss_sum);
    return cudaGetLastError();
}
cudaError_t round_bf16(float* x, int64_t n, cudaStream_t st) {
    k_round_bf16<<<blocks_for(n), THREADS, 0, st>>>(x, n);
    return cudaGetLastError();
}
cudaError_t to_bf16(__nv_bfloat16* dst, const float* src, int64_t n, cudaStream_t st) {
    k_to_bf16<<<blocks_for(n), THREADS, 0, st>>>(dst, src, n);
    return cudaGetLastError();
}
cudaError_t sum_squares(const float* g, int64_t n, double* sum, cudaStream_t st) {
    k_sum_squares<<<std::min(blocks_for(n), 1024), THREADS, 0, st>>>(g, n, sum);
    return cudaGetLastError();
}
cudaError_t adamw(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2, float eps,
                  float wd, float c1, float c2, float clip, const double* norm_sq, cudaStream_t st) {
    k_adamw<<<blocks_for(n), THREADS, 0, st>>>(p, g, m, v, n, lr, beta1, beta2, eps, wd, c1, c2, clip, norm_sq);
    return cudaGetLastError();
}

// ---- GEMM -------------------------------------------------------------------------------------------------

Matmul::~Matmul() {
    for (auto& [k, p] : plans_) {
        if (p.desc) cublasLtMatmulDescDestroy(p.desc);
        for (auto* l : {p.a, p.b, p.c})
            if (l) cublasLtMatrixLayoutDestroy(l);
    }
}

// A row-major C (M,N) is the column-major C^T (N,M) = op(B)^T op(A)^T: the column-major call multiplies B (as
// its first operand, transposed when B was not) by A, with M and N swapped.
int Matmul::run(bool ta, bool tb, int M, int N, int K, float alpha, const void* A, int lda, const void* B, int ldb,
                float beta, float* C, int ldc, bool bf16, std::string* err) {
    auto check = [&](cublasStatus_t s, const char* what) {
        if (s == CUBLAS_STATUS_SUCCESS) return true;
        *err = std::string(what) + ": " + cublasGetStatusString(s);
        return false;
    };
    const auto key = std::make_tuple(ta, tb, M, N, K, lda, ldb, ldc, bf16);
    auto it = plans_.find(key);
    if (it == plans_.end()) {
        Plan p;
        const cudaDataType_t in = bf16 ? CUDA_R_16BF : CUDA_R_32F;
        const cublasOperation_t opa = tb ? CUBLAS_OP_T : CUBLAS_OP_N, opb = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
        if (!check(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate") ||
            !check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa), "TRANSA") ||
            !check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb), "TRANSB") ||
            // Stored shapes of the column-major operands: B is (N,K) untransposed or (K,N); A is (K,M) or (M,K).
            !check(cublasLtMatrixLayoutCreate(&p.a, in, tb ? K : N, tb ? N : K, ldb), "layout B") ||
            !check(cublasLtMatrixLayoutCreate(&p.b, in, ta ? M : K, ta ? K : M, lda), "layout A") ||
            !check(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_32F, N, M, ldc), "layout C"))
            return 1;
        cublasLtMatmulPreference_t pref = nullptr;
        cublasLtMatmulHeuristicResult_t h{};
        int found = 0;
        const uint64_t ws = dev_.workspace_bytes;
        if (!check(cublasLtMatmulPreferenceCreate(&pref), "preference") ||
            !check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws),
                   "workspace") ||
            !check(cublasLtMatmulAlgoGetHeuristic(dev_.lt, p.desc, p.a, p.b, p.c, p.c, pref, 1, &h, &found), "heuristic")) {
            if (pref) cublasLtMatmulPreferenceDestroy(pref);
            return 1;
        }
        cublasLtMatmulPreferenceDestroy(pref);
        if (found == 0) {
            *err = "cuBLASLt has no algorithm for this training GEMM";
            return 1;
        }
        p.algo = h.algo;
        it = plans_.emplace(key, p).first;
    }
    const Plan& p = it->second;
    return check(cublasLtMatmul(dev_.lt, p.desc, &alpha, B, p.a, A, p.b, &beta, C, p.c, C, p.c, &p.algo, dev_.workspace,
                                dev_.workspace_bytes, dev_.stream),
                 "cublasLtMatmul")
               ? 0
               : 1;
}

}  // namespace versus::cuda::train
