// collective-data: what the `collective` workload puts in its buffers and what it must find after each op,
// for every collective of comm-abi.h on n ranks. Buffer sizes follow nccl-tests: the size swept is the
// largest per-rank buffer, S, which algbw divides (docs/metrics.md, "Collectives").
//
// Values are small integers, v(r, i) = ((7 i + 13 r) mod m) - (m - 1) / 2, so every partial sum a reduction
// can form, in any order, is exact in the dtype (m shrinks for f16 and bf16): the check compares for equality,
// and an element that came from the wrong rank or offset shows up as a wrong value.
#pragma once

#include <cstdint>
#include <string>

#include "backend/backend-abi.h"
#include "base/collectives.h"

namespace versus::workloads::coll {

// Element counts of one op on one rank.
struct Layout {
    uint64_t count = 0;       // the call's count argument (versus_coll_args.count)
    uint64_t send_elems = 0;  // send buffer
    uint64_t recv_elems = 0;  // receive buffer
    double bytes = 0;         // S: the bytes algbw counts (0 when the size holds less than one element per rank)
};

// The layout of `kind` for a swept size of `size_bytes` with elements of `elem_bytes` on n ranks (nccl-tests'
// counts: the per-rank count is floor(size / elem / n) for the ops that split the buffer between ranks).
Layout layout(versus_coll_kind kind, uint64_t size_bytes, size_t elem_bytes, int n_ranks);

// The pattern's modulus m for a dtype on n ranks: the largest of 61, 17, 5 whose sums over n ranks stay exact.
int pattern_modulus(versus_dtype dtype, int n_ranks);
// v(rank, i): the value rank `rank` sends at element i.
double pattern_value(int rank, uint64_t i, int modulus);
// The value rank `rank` must hold at receive element i after the op (root: broadcast's).
double expected_value(versus_coll_kind kind, int rank, int n_ranks, const Layout& l, int root, uint64_t i,
                      int modulus);

// The collectives' element type of a dtype (f32, f64, f16, bf16; f32 for any other).
versus_coll_dtype coll_dtype(versus_dtype dtype);

// Element i of a buffer of dtype (f32, f64, f16, bf16), as a double.
void store_value(versus_dtype dtype, void* buf, uint64_t i, double v);
double load_value(versus_dtype dtype, const void* buf, uint64_t i);

// Writes rank `rank`'s send buffer (host memory, send_elems elements of dtype: f32, f64, f16, bf16).
void fill_send(versus_dtype dtype, int rank, const Layout& l, int modulus, void* send);
// Fills a receive buffer with NaN, so that an element the op did not write cannot pass the check.
void poison(versus_dtype dtype, const Layout& l, void* recv);

struct Verdict {
    uint64_t wrong = 0;        // elements that differ from the expected value
    uint64_t first = 0;        // index of the first one
    double got = 0, want = 0;  // its value and the expected one
    bool ok() const { return wrong == 0; }
    std::string message() const;  // "3 of 1024 elements wrong; first at 17: got 4, expected 5"
};
Verdict verify(versus_coll_kind kind, versus_dtype dtype, int rank, int n_ranks, const Layout& l, int root,
               int modulus, const void* recv);

}  // namespace versus::workloads::coll
