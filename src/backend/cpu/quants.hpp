// quants: the GGUF weight formats on the CPU and the quantized matrix kernels of the LLM engine.
//
// Formats (layouts in backend/quant-formats.h): F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K, and Q8_K, the
// activation type of the K-quants. dequantize_row() decodes exactly per the ggml definition; quantize_row()
// encodes (reference quantizers, see quants-ref.cpp for the methods).
//
// Matmul contract: weights stay in their file format and are decoded on the fly; activations are quantized
// once per token into vec_dot_type(w) (Q8_0 for Q4_0/Q8_0, Q8_K for the K-quants, f32 for float weights),
// then every output is an integer dot product per block scaled in f32. Like kernels.hpp this is a ladder
// (scalar, avx2, avx512, avx512-vnni, neon, neon-dotprod) chosen at run time from cpu_features(); each rung
// quantizes activations the same way bit for bit, and differs from the others only in f32 summation order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "backend/quant-formats.h"
#include "thread-pool.hpp"

namespace versus::cpu {

// ggml type ids, as stored in GGUF.
enum class QType : uint32_t {
    F32 = VERSUS_GGML_TYPE_F32,
    F16 = VERSUS_GGML_TYPE_F16,
    Q4_0 = VERSUS_GGML_TYPE_Q4_0,
    Q8_0 = VERSUS_GGML_TYPE_Q8_0,
    Q4_K = VERSUS_GGML_TYPE_Q4_K,
    Q5_K = VERSUS_GGML_TYPE_Q5_K,
    Q6_K = VERSUS_GGML_TYPE_Q6_K,
    Q8_K = VERSUS_GGML_TYPE_Q8_K,
    BF16 = VERSUS_GGML_TYPE_BF16,
};

struct QTypeInfo {
    QType type;
    const char* name;  // ggml's name: "f32", "q4_0", "q4_K", ...
    int block_elems;   // elements per block (1 for the float types)
    int block_bytes;   // bytes per block
};

// Null for a type id versus does not implement (the caller reports it; GGUF has many more).
const QTypeInfo* qtype_info(QType type);
// Bytes of a row of n elements. Throws std::invalid_argument for an unknown type or n not a multiple of the
// block size.
size_t qtype_row_bytes(QType type, int64_t n);

// dst (n floats) = the decoded row src. n a multiple of the block size (every function below alike).
void dequantize_row(QType type, const void* src, float* dst, int64_t n);
// dst (qtype_row_bytes(type, n) bytes) = src encoded. Round-to-nearest for Q4_0/Q8_0 and the float types;
// K-quants search scales and mins per sub-block to minimise the squared error (quants-ref.cpp).
void quantize_row(QType type, const float* src, void* dst, int64_t n);
// quantize_row over a (n_rows, n_per_row) matrix, rows split over the pool.
void quantize_rows(QType type, const float* src, void* dst, int64_t n_rows, int64_t n_per_row, ThreadPool& pool);

// The type matmul() wants activations in for weights of type w: Q8_0 for Q4_0 and Q8_0, Q8_K for Q4_K, Q5_K
// and Q6_K, F32 for F32, F16 and BF16. Throws for a type that matmul does not take as weights (Q8_K).
QType vec_dot_type(QType w);

// One tile of a matmul: y[t * y_stride + r] = dot(W row r, x row t) for r < nr, t < nt, where W row r starts
// at w + r * w_stride bytes and x row t at x + t * x_stride bytes, both n elements, x in the activation type.
using QuantTileFn = void (*)(int64_t n, const void* w, size_t w_stride, int nr, const void* x, size_t x_stride,
                             int nt, float* y, size_t y_stride);

// (optional) The prefill path of a rung: weights re-laid once per matmul, a panel of `rows` rows at a time, into
// the layout its kernel reads best (for the integer types: quants widened to bytes, rows interleaved so that one
// vector lane holds one row, scales and mins as f32 vectors), then every token of the batch runs over the panel.
// Unlike a tile's blocks, a panel's layout costs a pass over the weights, paid back from min_toks tokens on.
struct QuantPanel {
    int rows;      // rows per panel
    int toks;      // tokens per run() call, at most
    int min_toks;  // matmul takes this path from this many tokens on
    // Bytes of one panel of rows of n elements; pack writes rows [0, nr) of w (row r at w + r * ws), nr <= rows,
    // and fills the rest of the panel as rows of zeros.
    size_t (*pack_bytes)(int64_t n);
    void (*pack)(int64_t n, const void* w, size_t ws, int nr, void* out);
    // Activations: one row of n elements in vec_dot_type rewritten into prep_bytes(n) bytes.
    size_t (*prep_bytes)(int64_t n);
    void (*prep)(int64_t n, const void* x, void* out);
    // y[t * ys + r] = dot(panel row r, token t) for r < nr, t < nt <= toks; token t's prepared row at x + t * xs.
    void (*run)(int64_t n, const void* panel, int nr, const void* x, size_t xs, int nt, float* y, size_t ys);
};

// (optional) A whole matmul for float weights from min_toks tokens on: a blocked GEMM (arch/gemm-driver.hpp)
// with the weights widened to f32 as it packs them. x (n_tok, n_in) f32, y (n_tok, n_out).
struct QuantGemm {
    int min_toks;
    void (*fn)(int64_t n_in, int64_t n_out, const void* w, const float* x, int64_t n_tok, float* y, ThreadPool& pool);
};

// A tile function and the largest tile it takes (any 1 <= nr <= rows, 1 <= nt <= toks works). Decode runs
// (rows x 1) tiles, prefill (rows x toks): each weight block loaded is used for `toks` tokens.
struct QuantTile {
    QuantTileFn fn;
    int rows;
    int toks;
    // (optional) the activation layout fn reads, when it is not vec_dot_type's own: prep(n, x, out) rewrites
    // one activation row of n elements into prep_bytes(n) bytes. matmul does it once per token, so that
    // work depending only on the token (regrouping blocks into registers, offsets, scales) is not repeated
    // for every tile of rows. Null: fn reads the activation rows as given.
    size_t (*prep_bytes)(int64_t n);
    void (*prep)(int64_t n, const void* x, void* out);
    // (optional) The prefill paths, tried in this order when n_tok is large enough; pack / fn null: none.
    QuantPanel panel;
    QuantGemm gemm;
};

// One rung of the ladder. Every member is set.
struct QuantKernelSet {
    std::string_view isa;  // "scalar", "avx2", "avx512", "avx512-vnni", "neon", "neon-dotprod"

    // Activations: x (n floats) -> n elements of Q8_0 / Q8_K. Identical bytes on every rung: d = max|x| / 127,
    // q = x * (1/d) rounded to nearest even (so q is in [-127, 127]); Q8_K also fills bsums.
    void (*quantize_q8_0)(const float* x, void* dst, int64_t n);
    void (*quantize_q8_k)(const float* x, void* dst, int64_t n);

    // Tiles per weight type (activations in vec_dot_type of that type).
    QuantTile f32, f16, bf16, q4_0, q8_0, q4_k, q5_k, q6_k;
};

// The scalar reference rung (always available).
const QuantKernelSet& quant_kernels_ref();
// Every rung this CPU can execute, scalar first, fastest last.
std::span<const QuantKernelSet* const> quant_kernels_available();
// The fastest rung this CPU can execute.
const QuantKernelSet& quant_kernels_best();

// dst = x (n floats) in act_type: Q8_0 or Q8_K (through the rung), or F32 (a copy).
void quantize_activations(QType act_type, const float* x, void* dst, int64_t n);
void quantize_activations(const QuantKernelSet& k, QType act_type, const float* x, void* dst, int64_t n);

// y (n_tok, n_out) f32, row-major: y[t][o] = dot(W[o], x[t]).
//   W      (n_out, n_in) in w_type, row-major as in GGUF (ne[0] = n_in, ne[1] = n_out): n_out rows of
//          qtype_row_bytes(w_type, n_in) bytes.
//   x_act  (n_tok, n_in) in vec_dot_type(w_type): n_tok rows of qtype_row_bytes(act, n_in) bytes (floats for F32).
// Output rows are split over the pool in chunks sized for the caches; n_tok > 1 runs multi-token tiles.
void matmul(QType w_type, const void* W, int64_t n_in, int64_t n_out, const void* x_act, int64_t n_tok, float* y,
            ThreadPool& pool);
void matmul(const QuantKernelSet& k, QType w_type, const void* W, int64_t n_in, int64_t n_out, const void* x_act,
            int64_t n_tok, float* y, ThreadPool& pool);

// dot(w_row, x_act) for one row of n elements (x_act in vec_dot_type(w_type)), on the calling thread.
float vec_dot(QType w_type, int64_t n, const void* w_row, const void* x_act);
float vec_dot(const QuantKernelSet& k, QType w_type, int64_t n, const void* w_row, const void* x_act);

}  // namespace versus::cpu
