// llm-kernels: the LLM half of the CUDA plugin, shared between its files: the weight-format kernels
// (llm-quant.cu: matrix-vector products straight from GGUF blocks, dequantization to f16 for the
// tensor-core GEMM of prefill) and attention over the f16 KV cache (attention.cu: naive and fused).
// Launchers return the launch's cudaError_t; all work goes on the given stream.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "backend/backend-abi.h"
#include "backend/quant-formats.h"

namespace versus::cuda::llm {

// ---- weight formats (llm-quant.cu) ---------------------------------------------------------------

// True for the ggml types with kernels here: F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K.
bool weight_type_supported(int32_t type);
// Elements per block (8 for the float types, whose "block" here is a run of 8 values) and bytes per block.
int weight_block_elems(int32_t type);
int weight_block_bytes(int32_t type);
// Bytes of a row of n elements (n a multiple of weight_block_elems).
size_t weight_row_bytes(int32_t type, int64_t n);

// y (n_out) = W (n_out, n_in) · x (n_in), f32 math on the decoded blocks; one warp per row.
cudaError_t matvec(int32_t type, const void* W, int64_t n_in, int64_t n_out, const float* x, float* y,
                   cudaStream_t s);
// out (n_out, n_in) f16 = W decoded.
cudaError_t dequantize_f16(int32_t type, const void* W, int64_t n_in, int64_t n_out, __half* out, cudaStream_t s);

// ---- attention (attention.cu) --------------------------------------------------------------------

// versus_attention_shape with its pointers: Q f32 (n_q, n_head, head_dim), K/V f16 rows of `*_stride`
// elements per position, out f32 (n_q, n_head, head_dim).
struct AttentionArgs {
    int n_head, n_head_kv, head_dim, n_q, n_kv, q_pos0;
    float scale;
    const float* q;
    const __half* k;
    const __half* v;
    size_t k_stride, v_stride;
    float* out;
};

constexpr int ATTENTION_MAX_HEAD_DIM = 256;

// Key ranges the fused kernel splits each query block's keys into (flash-decoding), so that a decode step
// (one query) fills the SMs; 1 for prefill.
int fused_split_count(const AttentionArgs& a, int n_sm);
// Bytes of the partial results of a split (0 when n_split is 1).
size_t fused_workspace_bytes(const AttentionArgs& a, int n_split);
// Fused attention (tiles of keys in shared memory, online softmax). `workspace` holds
// fused_workspace_bytes(a, n_split) bytes when n_split > 1.
cudaError_t attention_fused(const AttentionArgs& a, int n_split, float* workspace, cudaStream_t s);
// Naive attention: the score matrix (n_head, n_q, n_kv) f32 in `scores`, softmax in place, then S·V.
cudaError_t attention_naive(const AttentionArgs& a, float* scores, cudaStream_t s);

// The ABI `attention` op (backend-abi.h).
int attention_op(void* ctx, int device, int impl, const versus_attention_shape* shape, const void* Q, const void* K,
                 const void* V, void* out, void* scratch);

}  // namespace versus::cuda::llm
