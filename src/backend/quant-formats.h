/* quant-formats: the GGUF/ggml weight and activation block layouts, as plain C so that the CPU kernels, the
 * GGUF reader and (later) a CUDA plugin share one definition. Nothing here computes; the decoding rules are
 * written next to each struct and implemented in src/backend/cpu/quants-ref.cpp.
 *
 * Every block is a packed little-endian byte layout whose size is fixed by the file format (the asserts
 * below hold it). Half-precision fields are IEEE binary16 bits kept as uint16_t. Tensors are stored row by
 * row, each row a run of whole blocks, so a block may start at any 2-byte (Q8_K: 4-byte) offset in a
 * mapping: readers should copy fields out (memcpy) rather than trust the alignment of a struct pointer.
 */
#ifndef VERSUS_QUANT_FORMATS_H
#define VERSUS_QUANT_FORMATS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#define VERSUS_QF_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define VERSUS_QF_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* ggml type ids as stored in GGUF tensor infos (only the ones versus implements). */
enum versus_ggml_type {
    VERSUS_GGML_TYPE_F32 = 0,
    VERSUS_GGML_TYPE_F16 = 1,
    VERSUS_GGML_TYPE_Q4_0 = 2,
    VERSUS_GGML_TYPE_Q8_0 = 8,
    VERSUS_GGML_TYPE_Q4_K = 12,
    VERSUS_GGML_TYPE_Q5_K = 13,
    VERSUS_GGML_TYPE_Q6_K = 14,
    VERSUS_GGML_TYPE_Q8_K = 15,
    VERSUS_GGML_TYPE_BF16 = 30,
};

#define VERSUS_QK4_0 32 /* elements per Q4_0 block */
#define VERSUS_QK8_0 32 /* elements per Q8_0 block */
#define VERSUS_QK_K 256 /* elements per K-quant super-block */
#define VERSUS_K_SCALE_BYTES 12 /* packed 6-bit scales and mins of Q4_K/Q5_K */

/* Q4_0: 32 elements. Element j is (q_j - 8) * d with q_j = qs[j] & 15 for j < 16 and qs[j - 16] >> 4 for
 * j >= 16 (low nibbles hold the first half of the block, high nibbles the second). */
typedef struct {
    uint16_t d;      /* f16 scale */
    uint8_t qs[16];  /* 4-bit quants, two per byte */
} versus_block_q4_0;

/* Q8_0: 32 elements. Element j is qs[j] * d. */
typedef struct {
    uint16_t d;     /* f16 scale */
    int8_t qs[32];  /* quants */
} versus_block_q8_0;

/* Q4_K: 256 elements in 8 sub-blocks of 32, each with a 6-bit scale sc and a 6-bit min m:
 * element i of sub-block s is d * sc_s * q - dmin * m_s, q a 4-bit quant.
 * Scales: for s < 4, sc_s = scales[s] & 63 and m_s = scales[s + 4] & 63; for s >= 4,
 * sc_s = (scales[s + 4] & 15) | (scales[s - 4] >> 6) << 4 and m_s = (scales[s + 4] >> 4) | (scales[s] >> 6) << 4.
 * Quants: the 256 elements form 4 chunks of 64; chunk c uses qs[32c .. 32c+31]: low nibbles are sub-block
 * 2c (elements 64c .. 64c+31), high nibbles sub-block 2c+1 (elements 64c+32 .. 64c+63). */
typedef struct {
    uint16_t d;                             /* f16 super-block scale of the quantised scales */
    uint16_t dmin;                          /* f16 super-block scale of the quantised mins */
    uint8_t scales[VERSUS_K_SCALE_BYTES];   /* 8 scales and 8 mins, 6 bits each, packed as above */
    uint8_t qs[VERSUS_QK_K / 2];            /* 4-bit quants */
} versus_block_q4_K;

/* Q5_K: Q4_K plus a fifth bit per element: q = nibble | 16 * h, where for chunk c (as in Q4_K) element
 * 64c + l takes h = (qh[l] >> 2c) & 1 and element 64c + 32 + l takes h = (qh[l] >> (2c + 1)) & 1, l < 32. */
typedef struct {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[VERSUS_K_SCALE_BYTES];
    uint8_t qh[VERSUS_QK_K / 8];  /* high bits */
    uint8_t qs[VERSUS_QK_K / 2];  /* low 4 bits */
} versus_block_q5_K;

/* Q6_K: 256 elements in 16 sub-blocks of 16 with signed 8-bit scales: element e is d * scales[e / 16] *
 * (q_e - 32), q_e a 6-bit quant. The block is two halves of 128 (h = 0, 1) using ql[64h ..], qh[32h ..];
 * for l < 32 the four elements 128h + l + 32k (k = 0..3) take their low 4 bits from ql[64h + l] (k = 0: low
 * nibble, k = 2: high nibble) or ql[64h + 32 + l] (k = 1: low, k = 3: high) and their high 2 bits from
 * (qh[32h + l] >> 2k) & 3. */
typedef struct {
    uint8_t ql[VERSUS_QK_K / 2];      /* low 4 bits */
    uint8_t qh[VERSUS_QK_K / 4];      /* high 2 bits */
    int8_t scales[VERSUS_QK_K / 16];  /* 8-bit scales */
    uint16_t d;                       /* f16 super-block scale */
} versus_block_q6_K;

/* Q8_K: the activation type of the K-quants: element j is qs[j] * d, with the sums of each 16 quants kept
 * alongside (bsums[g] = sum of qs[16g .. 16g+15]) so that dot products can apply mins and offsets per group. */
typedef struct {
    float d;                          /* f32 scale */
    int8_t qs[VERSUS_QK_K];           /* quants */
    int16_t bsums[VERSUS_QK_K / 16];  /* group sums of qs */
} versus_block_q8_K;

VERSUS_QF_STATIC_ASSERT(sizeof(versus_block_q4_0) == 18, "Q4_0 block is 18 bytes");
VERSUS_QF_STATIC_ASSERT(sizeof(versus_block_q8_0) == 34, "Q8_0 block is 34 bytes");
VERSUS_QF_STATIC_ASSERT(sizeof(versus_block_q4_K) == 144, "Q4_K block is 144 bytes");
VERSUS_QF_STATIC_ASSERT(sizeof(versus_block_q5_K) == 176, "Q5_K block is 176 bytes");
VERSUS_QF_STATIC_ASSERT(sizeof(versus_block_q6_K) == 210, "Q6_K block is 210 bytes");
VERSUS_QF_STATIC_ASSERT(sizeof(versus_block_q8_K) == 292, "Q8_K block is 292 bytes");

#ifdef __cplusplus
}
#endif

#undef VERSUS_QF_STATIC_ASSERT

#endif /* VERSUS_QUANT_FORMATS_H */
