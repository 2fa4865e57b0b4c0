// gemm: the `gemm` op through cuBLASLt for f32, tf32, f16, bf16, f64, int8 (i32 out) and fp8 e4m3
// (f32 out). The ABI is row-major, cuBLASLt column-major: a row-major C(M,N) is a column-major
// C^T(N,M) = B^T A^T, so the call swaps A and B and M and N and transposes nothing. The one-byte
// types have tensor-core kernels only for the "TN" layout (K contiguous in both inputs), so B is
// transposed into a plan buffer first, inside the op and its time (K*N bytes read and written; the op's
// note says so in every result). Their shapes are checked first against cuBLASLt's requirements: int8
// (IMMA) m and k of the column-major call, i.e. N and K, multiples of 4; fp8 every dimension a multiple of
// 16 (16-byte aligned rows). Descriptors and the chosen algorithm are kept per shape, so a repeated call
// only launches.
#include <map>
#include <tuple>

#include "backend/cuda/cuda-common.hpp"

namespace versus::cuda {

namespace {

struct Types {
    cudaDataType_t in, out, scale;
    cublasComputeType_t compute;
    bool k_major_b;  // B must be transposed (one-byte types)
};

bool types_of(versus_dtype d, Types* t) {
    switch (d) {
        case VERSUS_DTYPE_F32: *t = {CUDA_R_32F, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, false}; return true;
        case VERSUS_DTYPE_TF32: *t = {CUDA_R_32F, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, false}; return true;
        case VERSUS_DTYPE_F16: *t = {CUDA_R_16F, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, false}; return true;
        case VERSUS_DTYPE_BF16: *t = {CUDA_R_16BF, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, false}; return true;
        case VERSUS_DTYPE_F64: *t = {CUDA_R_64F, CUDA_R_64F, CUDA_R_64F, CUBLAS_COMPUTE_64F, false}; return true;
        case VERSUS_DTYPE_I8: *t = {CUDA_R_8I, CUDA_R_32I, CUDA_R_32I, CUBLAS_COMPUTE_32I, true}; return true;
        case VERSUS_DTYPE_FP8: *t = {CUDA_R_8F_E4M3, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, true}; return true;
    }
    return false;
}

struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;  // of the column-major call
    cublasLtMatmulAlgo_t algo{};
    void* b_t = nullptr;  // B transposed, (N, K) row-major, for the one-byte types
};

void release(Plan& p) {
    if (p.desc) cublasLtMatmulDescDestroy(p.desc);
    for (auto* l : {p.a, p.b, p.c})
        if (l) cublasLtMatrixLayoutDestroy(l);
    if (p.b_t) cudaFree(p.b_t);
    p = Plan{};
}

std::string status_text(cublasStatus_t s) { return std::string(cublasGetStatusString(s)) + " (" + std::to_string(s) + ")"; }

}  // namespace

struct GemmPlans {
    std::map<std::tuple<int, int, int, int>, Plan> by_shape;
};

void release_gemm_plans(Device& d) {
    if (!d.gemm_plans) return;
    for (auto& [k, p] : d.gemm_plans->by_shape) release(p);
    d.gemm_plans.reset();
}

#define VCUBLAS_CHECK(ctx, call)                                                                          \
    do {                                                                                                  \
        const cublasStatus_t vcublas_s_ = (call);                                                         \
        if (vcublas_s_ != CUBLAS_STATUS_SUCCESS) return fail((ctx), std::string(#call ": ") + status_text(vcublas_s_)); \
    } while (0)

namespace {

// Builds the plan of one shape; on failure *p is released and last_error says why.
int make_plan(void* ctx, Device& dev, versus_dtype dtype, const Types& t, int M, int N, int K, Plan* p) {
    struct Guard {
        Plan* p;
        bool ok = false;
        ~Guard() {
            if (!ok) release(*p);
        }
    } guard{p};
    VCUBLAS_CHECK(ctx, cublasLtMatmulDescCreate(&p->desc, t.compute, t.scale));
    const cublasOperation_t op_a = t.k_major_b ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = CUBLAS_OP_N;
    VCUBLAS_CHECK(ctx, cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof op_a));
    VCUBLAS_CHECK(ctx, cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof op_b));
    // The call's A is the ABI's B: (N, K) column-major with ld N, or its transpose stored K-major.
    if (t.k_major_b)
        VCUBLAS_CHECK(ctx, cublasLtMatrixLayoutCreate(&p->a, t.in, K, N, K));
    else
        VCUBLAS_CHECK(ctx, cublasLtMatrixLayoutCreate(&p->a, t.in, N, K, N));
    VCUBLAS_CHECK(ctx, cublasLtMatrixLayoutCreate(&p->b, t.in, K, M, K));  // the ABI's A
    VCUBLAS_CHECK(ctx, cublasLtMatrixLayoutCreate(&p->c, t.out, N, M, N));

    cublasLtMatmulPreference_t pref = nullptr;
    VCUBLAS_CHECK(ctx, cublasLtMatmulPreferenceCreate(&pref));
    const uint64_t ws = dev.workspace_bytes;
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t s =
        cublasLtMatmulAlgoGetHeuristic(dev.lt, p->desc, p->a, p->b, p->c, p->c, pref, 1, &result, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (s != CUBLAS_STATUS_SUCCESS || found == 0)
        return fail(ctx, "cuBLASLt has no " + std::string(dtype_label(dtype)) + " kernel for " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) +
                             " on sm_" + std::to_string(dev.prop.major) + std::to_string(dev.prop.minor) + ": " +
                             status_text(s));
    p->algo = result.algo;
    if (t.k_major_b) VCUDA_CHECK(ctx, cudaMalloc(&p->b_t, size_t(K) * N));
    guard.ok = true;
    return 0;
}

// "" when cuBLASLt's kernels for the dtype take the shape, else why not.
std::string shape_refusal(versus_dtype dtype, int M, int N, int K) {
    auto dims = [&] { return std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K); };
    if (dtype == VERSUS_DTYPE_I8 && (N % 4 != 0 || K % 4 != 0))
        return "int8 GEMM " + dims() + ": cuBLASLt's int8 kernels need N and K multiples of 4";
    if (dtype == VERSUS_DTYPE_FP8 && (M % 16 != 0 || N % 16 != 0 || K % 16 != 0))
        return "fp8 GEMM " + dims() + ": cuBLASLt's fp8 kernels need M, N and K multiples of 16";
    return {};
}

}  // namespace

const char* gemm_note(versus_dtype dtype) {
    if (dtype != VERSUS_DTYPE_I8 && dtype != VERSUS_DTYPE_FP8) return nullptr;
    return "time includes transposing B (K x N bytes) into the K-major layout of cuBLASLt's int8/fp8 kernels";
}

int gemm(void* ctx, int device_index, versus_dtype dtype, int M, int N, int K, const void* A, const void* B, void* C) {
    Device* dev = device(ctx, device_index);
    if (!dev) return 1;
    Types t{};
    if (!types_of(dtype, &t)) return fail(ctx, "no CUDA GEMM for this dtype");
    if (M <= 0 || N <= 0 || K <= 0) return fail(ctx, "GEMM sizes must be positive");
    if (const std::string why = shape_refusal(dtype, M, N, K); !why.empty()) return fail(ctx, why);
    if (!dev->gemm_plans) dev->gemm_plans = std::make_shared<GemmPlans>();
    auto key = std::make_tuple(int(dtype), M, N, K);
    auto it = dev->gemm_plans->by_shape.find(key);
    if (it == dev->gemm_plans->by_shape.end()) {
        Plan p;
        if (make_plan(ctx, *dev, dtype, t, M, N, K, &p) != 0) return 1;
        it = dev->gemm_plans->by_shape.emplace(key, p).first;
    }
    const Plan& p = it->second;
    const void* b_in = B;
    if (t.k_major_b) {
        VCUDA_CHECK(ctx, launch_transpose_u8(static_cast<const uint8_t*>(B), static_cast<uint8_t*>(p.b_t), K, N,
                                             dev->stream));
        b_in = p.b_t;
    }
    // alpha = 1, beta = 0 in the scale type.
    const float one_f = 1, zero_f = 0;
    const double one_d = 1, zero_d = 0;
    const int32_t one_i = 1, zero_i = 0;
    const void* alpha = t.scale == CUDA_R_64F ? static_cast<const void*>(&one_d)
                        : t.scale == CUDA_R_32I ? static_cast<const void*>(&one_i)
                                                : static_cast<const void*>(&one_f);
    const void* beta = t.scale == CUDA_R_64F ? static_cast<const void*>(&zero_d)
                       : t.scale == CUDA_R_32I ? static_cast<const void*>(&zero_i)
                                               : static_cast<const void*>(&zero_f);
    VCUBLAS_CHECK(ctx, cublasLtMatmul(dev->lt, p.desc, alpha, b_in, p.a, A, p.b, beta, C, p.c, C, p.c, &p.algo,
                                      dev->workspace, dev->workspace_bytes, dev->stream));
    return 0;
}

}  // namespace versus::cuda
