// attention: causal multi-head attention with grouped-query attention (GQA) over an f16 KV cache, for the
// LLM engine (prefill and decode) and the `attention` workload, in two forms:
//   attention_fused  FlashAttention's way: keys in tiles, an online softmax (running max and sum, the
//                    accumulator rescaled when the max grows), never the (n_q x n_kv) score matrix. Work
//                    is split over (kv head, query block); when that leaves threads idle (decode, n_q = 1)
//                    the keys are split too and the pieces merged by log-sum-exp (flash-decoding).
//   attention_naive  the textbook: S = Q K^T * scale for every head into a caller's buffer, softmax of
//                    each row in place, then out = S V. Three passes over the materialised matrix.
// Both skip the masked (upper) triangle, so they do the same arithmetic; they differ in memory traffic
// and footprint, which is the comparison the workload makes.
//
// Like kernels.hpp the fused kernel is a ladder: a scalar reference, then AVX2 (F16C), AVX-512 and NEON
// rungs, chosen at run time from cpu_features(). The naive form runs on the same rung's row primitives
// (dot products, exp, weighted sums), so the two differ by algorithm, not by instruction set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "backend/cpu/kernels.hpp"
#include "backend/cpu/thread-pool.hpp"

namespace versus::cpu {

// Queries are the n_q tokens at positions q_pos0 .. q_pos0 + n_q - 1; keys and values are positions
// 0 .. n_kv - 1 (n_kv = q_pos0 + n_q for self-attention over a cache that includes the new tokens).
// Causal mask: the query at position p sees keys 0 .. min(p, n_kv - 1). GQA: query head h reads kv head
// h / (n_head / n_head_kv); n_head_kv = n_head is plain multi-head attention, n_head_kv = 1 multi-query.
struct AttentionShape {
    int n_head;     // query heads, a multiple of n_head_kv
    int n_head_kv;  // key/value heads
    int head_dim;
    int n_q;        // query tokens
    int n_kv;       // cached positions (keys and values)
    int q_pos0;     // position of the first query
    float scale;    // applied to q·k, usually 1/sqrt(head_dim)
};

// Tensors, all row-major:
//   Q    f32 (n_q, n_head, head_dim)
//   K, V f16 bits, position t's row at K + t * k_row_stride (elements), laid out (n_head_kv, head_dim);
//        k_row_stride >= n_head_kv * head_dim, so a preallocated (max_ctx, n_head_kv, head_dim) cache or
//        one slice of a wider tensor can be passed as is
//   out  f32 (n_q, n_head, head_dim); it may not alias Q, K or V
// Shapes are checked: a bad one throws std::invalid_argument ("[attention] ..."). n_q = 0 does nothing;
// n_kv = 0 writes zeros.

// Fused attention on the fastest rung that takes shape.head_dim. Per-thread scratch only
// (attention_fused_scratch_bytes); nothing is allocated per call once the threads have warmed up, except
// the merge buffer of a key split.
void attention_fused(const AttentionShape& shape, const float* Q, const f16_t* K, size_t k_row_stride, const f16_t* V,
                     size_t v_row_stride, float* out, ThreadPool& pool);
// Working memory of attention_fused on `n_threads` threads: per-thread tiles and running state, plus the
// partial results of a key split. Independent of n_q; grows with n_kv only through the split count.
size_t attention_fused_scratch_bytes(const AttentionShape& shape, int n_threads);

// Textbook attention. `scratch` holds the score matrix S (n_head, n_q, n_kv) f32: at least
// attention_naive_scratch_bytes(shape) bytes, 4-byte aligned. Only the causal part of each row is written.
void attention_naive(const AttentionShape& shape, const float* Q, const f16_t* K, size_t k_row_stride, const f16_t* V,
                     size_t v_row_stride, float* out, float* scratch, ThreadPool& pool);
size_t attention_naive_scratch_bytes(const AttentionShape& shape);

// ---- the ladder ---------------------------------------------------------------------------------------

// One unit of fused work for a rung: a block of query positions for n_kvh consecutive kv heads (and the
// n_rep query heads each serves), over a key range. There are n_kvh * n_pos * n_rep rows, kv head major:
// row r = (g * n_pos + i) * n_rep + j is the query at position pos0 + i of query head (g * n_rep + j) of
// the block, reading kv head g of the block; it sees keys t <= pos0 + i within [k_begin, k_end). The rung
// goes through the keys a tile at a time, every kv head of the block per tile (so that decode, which takes
// all kv heads in one block, reads the cache row after row), and folds them into each row's state:
//   m[r]       the largest scaled score seen          (starts at -inf)
//   l[r]       sum of exp(s - m[r]) over those keys    (starts at 0)
//   acc[r][:]  sum of exp(s - m[r]) * v over them      (starts at 0), (rows, head_dim)
// so that out = acc / l once every key has been seen.
struct AttentionBlock {
    const float* q;     // position i, block query head h at q + i * q_stride + h * head_dim
    size_t q_stride;    // floats between consecutive positions: n_head * head_dim
    const f16_t* k;     // key of the block's kv head g at position t: k + t * k_stride + g * head_dim
    size_t k_stride;
    const f16_t* v;     // likewise the values
    size_t v_stride;
    int n_pos, n_kvh, n_rep, head_dim;
    int pos0;
    int k_begin, k_end;
    float scale;
    float* m;
    float* l;
    float* acc;
};

struct AttentionKernels {
    std::string_view isa;  // "scalar", "avx2", "avx512", "neon"
    int width;             // head_dim must be a multiple of this for the rung to take it
    int key_tile;          // keys per tile of `attend`

    // Fused: folds the block's keys into its running state, tile by tile.
    void (*attend)(const AttentionBlock& b);
    // Naive's row primitives. s[j] = scale * q · k_j for j < n, k_j = k + j * k_stride (f16, widened).
    void (*scores)(const float* q, const f16_t* k, size_t k_stride, int n, int head_dim, float scale, float* s);
    // s[j] = exp(s[j] - m) for j < n; returns the sum.
    float (*exp_sum)(float* s, int n, float m);
    // out(head_dim) = sum over j < n of p[j] * v_j, v_j = v + j * v_stride (f16, widened).
    void (*weighted_sum)(const float* p, const f16_t* v, size_t v_stride, int n, int head_dim, float* out);
};

// The scalar rung (takes every head_dim).
const AttentionKernels& attention_kernels_ref();
// Every rung this CPU can execute, scalar first, fastest last.
std::span<const AttentionKernels* const> attention_kernels_available();
// The fastest rung this CPU can execute whose width divides head_dim.
const AttentionKernels& attention_kernels_for(int head_dim);

// The same operations on a given rung (tests, benchmarks). The rung must divide shape.head_dim.
void attention_fused(const AttentionKernels& k, const AttentionShape& shape, const float* Q, const f16_t* K,
                     size_t k_row_stride, const f16_t* V, size_t v_row_stride, float* out, ThreadPool& pool);
void attention_naive(const AttentionKernels& k, const AttentionShape& shape, const float* Q, const f16_t* K,
                     size_t k_row_stride, const f16_t* V, size_t v_row_stride, float* out, float* scratch,
                     ThreadPool& pool);

// For the rungs: the calling thread's tile buffers for `attend` on a block of `rows` rows, 64-byte
// aligned, reused from call to call (contents not kept).
struct AttentionTiles {
    const float** q_row;  // (rows) where each row's query starts
    float* k;             // (key_tile, head_dim) widened keys
    float* v;             // (key_tile, head_dim) widened values
    float* s;             // (rows, key_tile) scores, then probabilities
    float* corr;          // (rows) exp(m_old - m_new) of the current tile
    int* n_vis;           // (rows) keys of the current tile the row sees
};
AttentionTiles attention_tiles(int rows, int head_dim, int key_tile);
size_t attention_tiles_bytes(int rows, int head_dim, int key_tile);

}  // namespace versus::cpu
