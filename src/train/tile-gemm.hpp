// tile-gemm: the products of the fused attention's tiles (train/attention.cpp), multiplied by a register-blocked
// kernel written here. They are small (a tile of 64-128 rows, a contraction over head_dim or a key tile), many,
// and each on one thread, where a BLAS call spends as much in packing and dispatch as in arithmetic; and the
// causal mask lets a block of rows skip the keys (or queries) it cannot see, which a BLAS call cannot.
//
// C (m, n) = [C +] A B. C and B are row-major with contiguous rows (B's rows run along n); A is read through two
// strides, A(i, p) = a[i ai + p ap], so that A or its transpose is taken where it lies. Blocks of MR rows x NV
// vectors of C stay in registers while p runs: each step loads NV vectors of B and broadcasts MR values of A.
#pragma once

#include <cstdint>

namespace versus::train {

// Which part of each block of C rows [i0, i1) the causal mask leaves, with `diag` = the first query's position
// minus the first key's (query q sees key k when k <= q):
//   NONE     everything;
//   COLUMNS  rows are queries, columns keys: the block computes its first min(n, i1 + diag) columns (or a few
//            more, up to a whole vector), the rest of those rows is left as it was;
//   P_END    rows are queries, p runs over keys: p < i1 + diag;
//   P_BEGIN  rows are keys, p runs over queries: p >= i0 - diag.
// A block takes the range of its widest row, so the caller keeps A zero outside each row's own range (as masked
// probabilities are).
enum class TileMask { NONE, COLUMNS, P_END, P_BEGIN };

template <typename T>
struct TileProduct {
    int m, n, k;
    const T* a;
    int64_t ai, ap;  // A(i, p) = a[i ai + p ap]
    const T* b;      // B(p, j) = b[p ldb + j]
    int64_t ldb;
    T* c;  // C(i, j) = c[i ldc + j]
    int64_t ldc;
    bool accumulate;  // C += A B, else C = A B
    TileMask mask = TileMask::NONE;
    int diag = 0;
};

// The vector width, in bytes, that tile_gemm is fastest with on this CPU: 64 with AVX-512, else 32.
int tile_vector_bytes();

// g on the calling thread with vectors of vector_bytes (32 or 64; any width is correct on any CPU that runs the
// program, but only the CPU's own is fast).
template <typename T>
void tile_gemm(const TileProduct<T>& g, int vector_bytes);

}  // namespace versus::train
