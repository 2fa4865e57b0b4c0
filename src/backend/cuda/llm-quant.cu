// llm-quant: the GGUF weight formats on the GPU, read in their file layout (quant-formats.h), never
// repacked. Every format is decoded 8 values at a time ("chunk" c = values 8c .. 8c+7 of a row), which
// keeps one decoder per format for both kernels:
//   matvec          decode: one warp per output row, lane i takes chunks i, i+32, ...; so a warp reads
//                   32 consecutive chunks (one K-quant super-block, eight Q4_0 blocks) per step, and the
//                   activations stay f32 (no Q8_1 rounding: the GPU is bandwidth-bound here, and fp32
//                   math keeps the kernel one decoder away from the CPU reference).
//   dequantize_f16  prefill: one thread per chunk writes 8 halves for cuBLAS's tensor-core GEMM.
#include <cuda_bf16.h>

#include "backend/cuda/llm-kernels.cuh"

namespace versus::cuda::llm {

namespace {

// Elements and bytes per block; the float types are runs of 8 values, so that chunk c is always inside
// block c / (QK / 8). 0 for a type without kernels.
constexpr int block_elems(int t) {
    switch (t) {
        case VERSUS_GGML_TYPE_F32: case VERSUS_GGML_TYPE_F16: case VERSUS_GGML_TYPE_BF16: return 8;
        case VERSUS_GGML_TYPE_Q4_0: return VERSUS_QK4_0;
        case VERSUS_GGML_TYPE_Q8_0: return VERSUS_QK8_0;
        case VERSUS_GGML_TYPE_Q4_K: case VERSUS_GGML_TYPE_Q5_K: case VERSUS_GGML_TYPE_Q6_K: return VERSUS_QK_K;
    }
    return 0;
}
constexpr int block_bytes(int t) {
    switch (t) {
        case VERSUS_GGML_TYPE_F32: return 32;
        case VERSUS_GGML_TYPE_F16: case VERSUS_GGML_TYPE_BF16: return 16;
        case VERSUS_GGML_TYPE_Q4_0: return sizeof(versus_block_q4_0);
        case VERSUS_GGML_TYPE_Q8_0: return sizeof(versus_block_q8_0);
        case VERSUS_GGML_TYPE_Q4_K: return sizeof(versus_block_q4_K);
        case VERSUS_GGML_TYPE_Q5_K: return sizeof(versus_block_q5_K);
        case VERSUS_GGML_TYPE_Q6_K: return sizeof(versus_block_q6_K);
    }
    return 0;
}
template <int T>
struct Format {
    static constexpr int QK = block_elems(T), BYTES = block_bytes(T);
};

// Blocks sit at 2-byte offsets (18-, 34-, 210-byte blocks), so fields are read as bytes or halves.
__device__ __forceinline__ float half_at(const uint8_t* p) {
    return __half2float(__ushort_as_half(*reinterpret_cast<const uint16_t*>(p)));
}

// The 6-bit scale and min of sub-block s of a Q4_K/Q5_K block (quant-formats.h).
__device__ __forceinline__ void k_scale_min(const uint8_t* sc, int s, int* scale, int* min) {
    if (s < 4) {
        *scale = sc[s] & 63;
        *min = sc[s + 4] & 63;
    } else {
        *scale = (sc[s + 4] & 15) | ((sc[s - 4] >> 6) << 4);
        *min = (sc[s + 4] >> 4) | ((sc[s] >> 6) << 4);
    }
}

// v[0..7] = values o .. o+7 of the block at b (o a multiple of 8, inside the block).
template <int T>
__device__ __forceinline__ void decode8(const uint8_t* b, int o, float* v);

template <>
__device__ __forceinline__ void decode8<VERSUS_GGML_TYPE_F32>(const uint8_t* b, int, float* v) {
    const float4 a = reinterpret_cast<const float4*>(b)[0], c = reinterpret_cast<const float4*>(b)[1];
    v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = c.x, v[5] = c.y, v[6] = c.z, v[7] = c.w;
}
template <>
__device__ __forceinline__ void decode8<VERSUS_GGML_TYPE_F16>(const uint8_t* b, int, float* v) {
    const auto* h = reinterpret_cast<const __half*>(b);
#pragma unroll
    for (int j = 0; j < 8; ++j) v[j] = __half2float(h[j]);
}
template <>
__device__ __forceinline__ void decode8<VERSUS_GGML_TYPE_BF16>(const uint8_t* b, int, float* v) {
    const auto* h = reinterpret_cast<const uint16_t*>(b);
#pragma unroll
    for (int j = 0; j < 8; ++j) v[j] = __uint_as_float(static_cast<uint32_t>(h[j]) << 16);
}
template <>
__device__ __forceinline__ void decode8<VERSUS_GGML_TYPE_Q4_0>(const uint8_t* b, int o, float* v) {
    const float d = half_at(b);
    const uint8_t* qs = b + 2;
    if (o < 16) {
#pragma unroll
        for (int j = 0; j < 8; ++j) v[j] = d * static_cast<float>((qs[o + j] & 15) - 8);
    } else {
#pragma unroll
        for (int j = 0; j < 8; ++j) v[j] = d * static_cast<float>((qs[o - 16 + j] >> 4) - 8);
    }
}
template <>
__device__ __forceinline__ void decode8<VERSUS_GGML_TYPE_Q8_0>(const uint8_t* b, int o, float* v) {
    const float d = half_at(b);
    const auto* qs = reinterpret_cast<const int8_t*>(b + 2);
#pragma unroll
    for (int j = 0; j < 8; ++j) v[j] = d * static_cast<float>(qs[o + j]);
}
template <>
__device__ __forceinline__ void decode8<VERSUS_GGML_TYPE_Q4_K>(const uint8_t* b, int o, float* v) {
    const int s = o / 32;
    int sc, mn;
    k_scale_min(b + 4, s, &sc, &mn);
    const float d = half_at(b) * static_cast<float>(sc), m = half_at(b + 2) * static_cast<float>(mn);
    const uint8_t* q = b + 16 + 32 * (o / 64) + o % 32;
    const int shift = (s & 1) * 4;
#pragma unroll
    for (int j = 0; j < 8; ++j) v[j] = d * static_cast<float>((q[j] >> shift) & 15) - m;
}
template <>
__device__ __forceinline__ void decode8<VERSUS_GGML_TYPE_Q5_K>(const uint8_t* b, int o, float* v) {
    const int s = o / 32;
    int sc, mn;
    k_scale_min(b + 4, s, &sc, &mn);
    const float d = half_at(b) * static_cast<float>(sc), m = half_at(b + 2) * static_cast<float>(mn);
    const uint8_t* qh = b + 16 + o % 32;
    const uint8_t* q = b + 48 + 32 * (o / 64) + o % 32;
    const int shift = (s & 1) * 4;
#pragma unroll
    for (int j = 0; j < 8; ++j)
        v[j] = d * static_cast<float>(((q[j] >> shift) & 15) | (((qh[j] >> s) & 1) << 4)) - m;
}
template <>
__device__ __forceinline__ void decode8<VERSUS_GGML_TYPE_Q6_K>(const uint8_t* b, int o, float* v) {
    const int h = o / 128, k = (o % 128) / 32, l = o % 32;
    const uint8_t* ql = b + 64 * h + 32 * (k & 1) + l;
    const uint8_t* qh = b + 128 + 32 * h + l;
    const float d = half_at(b + 208) * static_cast<float>(reinterpret_cast<const int8_t*>(b + 192)[o / 16]);
    const int lo_shift = (k >> 1) * 4, hi_shift = 2 * k;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        const int q = ((ql[j] >> lo_shift) & 15) | (((qh[j] >> hi_shift) & 3) << 4);
        v[j] = d * static_cast<float>(q - 32);
    }
}

template <int T>
__device__ __forceinline__ void decode_chunk(const uint8_t* row, int64_t c, float* v) {
    constexpr int per_block = Format<T>::QK / 8;
    decode8<T>(row + (c / per_block) * Format<T>::BYTES, static_cast<int>(c % per_block) * 8, v);
}

constexpr int MATVEC_WARPS = 4;

template <int T>
__global__ void matvec_kernel(const uint8_t* __restrict__ W, size_t row_bytes, int64_t n_in, int64_t n_out,
                              const float* __restrict__ x, float* __restrict__ y) {
    const int lane = threadIdx.x % 32;
    const int64_t row = static_cast<int64_t>(blockIdx.x) * MATVEC_WARPS + threadIdx.x / 32;
    if (row >= n_out) return;
    const uint8_t* w = W + row * row_bytes;
    const int64_t chunks = n_in / 8;
    float sum = 0.0f;
    for (int64_t c = lane; c < chunks; c += 32) {
        float v[8];
        decode_chunk<T>(w, c, v);
        const float4 a = reinterpret_cast<const float4*>(x + 8 * c)[0];
        const float4 b = reinterpret_cast<const float4*>(x + 8 * c)[1];
        sum += v[0] * a.x + v[1] * a.y + v[2] * a.z + v[3] * a.w + v[4] * b.x + v[5] * b.y + v[6] * b.z + v[7] * b.w;
    }
#pragma unroll
    for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (lane == 0) y[row] = sum;
}

template <int T>
__global__ void dequantize_kernel(const uint8_t* __restrict__ W, size_t row_bytes, int64_t n_in, int64_t n_out,
                                  __half* __restrict__ out) {
    const int64_t chunks = n_in / 8;
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= chunks * n_out) return;
    const int64_t row = i / chunks, c = i % chunks;
    float v[8];
    decode_chunk<T>(W + row * row_bytes, c, v);
    __align__(16) __half h[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) h[j] = __float2half(v[j]);
    *reinterpret_cast<uint4*>(out + row * n_in + 8 * c) = *reinterpret_cast<const uint4*>(h);
}

// Calls f(Format tag) for the type; false for a type without kernels.
template <typename F>
bool dispatch(int32_t type, F&& f) {
    switch (type) {
        case VERSUS_GGML_TYPE_F32: f.template operator()<VERSUS_GGML_TYPE_F32>(); return true;
        case VERSUS_GGML_TYPE_F16: f.template operator()<VERSUS_GGML_TYPE_F16>(); return true;
        case VERSUS_GGML_TYPE_BF16: f.template operator()<VERSUS_GGML_TYPE_BF16>(); return true;
        case VERSUS_GGML_TYPE_Q4_0: f.template operator()<VERSUS_GGML_TYPE_Q4_0>(); return true;
        case VERSUS_GGML_TYPE_Q8_0: f.template operator()<VERSUS_GGML_TYPE_Q8_0>(); return true;
        case VERSUS_GGML_TYPE_Q4_K: f.template operator()<VERSUS_GGML_TYPE_Q4_K>(); return true;
        case VERSUS_GGML_TYPE_Q5_K: f.template operator()<VERSUS_GGML_TYPE_Q5_K>(); return true;
        case VERSUS_GGML_TYPE_Q6_K: f.template operator()<VERSUS_GGML_TYPE_Q6_K>(); return true;
    }
    return false;
}

}  // namespace

int weight_block_elems(int32_t type) { return block_elems(type); }
int weight_block_bytes(int32_t type) { return block_bytes(type); }

bool weight_type_supported(int32_t type) { return weight_block_elems(type) > 0; }

size_t weight_row_bytes(int32_t type, int64_t n) {
    const int qk = weight_block_elems(type);
    return qk ? static_cast<size_t>(n / qk) * static_cast<size_t>(weight_block_bytes(type)) : 0;
}

cudaError_t matvec(int32_t type, const void* W, int64_t n_in, int64_t n_out, const float* x, float* y,
                   cudaStream_t s) {
    const size_t row = weight_row_bytes(type, n_in);
    const auto blocks = static_cast<unsigned>((n_out + MATVEC_WARPS - 1) / MATVEC_WARPS);
    if (!dispatch(type, [&]<int T>() {
            matvec_kernel<T><<<blocks, 32 * MATVEC_WARPS, 0, s>>>(static_cast<const uint8_t*>(W), row, n_in, n_out, x, y);
        }))
        return cudaErrorInvalidValue;
    return cudaGetLastError();
}

cudaError_t dequantize_f16(int32_t type, const void* W, int64_t n_in, int64_t n_out, __half* out, cudaStream_t s) {
    const size_t row = weight_row_bytes(type, n_in);
    const int64_t work = n_in / 8 * n_out;
    const auto blocks = static_cast<unsigned>((work + 255) / 256);
    if (!dispatch(type, [&]<int T>() {
            dequantize_kernel<T><<<blocks, 256, 0, s>>>(static_cast<const uint8_t*>(W), row, n_in, n_out, out);
        }))
        return cudaErrorInvalidValue;
    return cudaGetLastError();
}

}  // namespace versus::cuda::llm
