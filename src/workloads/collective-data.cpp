#include "workloads/collective-data.hpp"

#include <cmath>
#include <algorithm>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "backend/cpu/kernels.hpp"

namespace versus::workloads::coll {

Layout layout(versus_coll_kind kind, uint64_t size_bytes, size_t elem_bytes, int n_ranks) {
    const uint64_t n = static_cast<uint64_t>(std::max(1, n_ranks));
    const uint64_t elems = size_bytes / elem_bytes;
    Layout l;
    switch (kind) {
        case VERSUS_COLL_ALL_REDUCE:
        case VERSUS_COLL_BROADCAST:
        case VERSUS_COLL_SEND_RECV:
            l.count = l.send_elems = l.recv_elems = elems;
            break;
        case VERSUS_COLL_ALL_GATHER:  // each rank contributes count; everyone receives n * count
            l.count = elems / n;
            l.send_elems = l.count;
            l.recv_elems = l.count * n;
            break;
        case VERSUS_COLL_REDUCE_SCATTER:  // n * count in; each rank keeps its reduced count
            l.count = elems / n;
            l.send_elems = l.count * n;
            l.recv_elems = l.count;
            break;
        case VERSUS_COLL_ALL_TO_ALL:  // count to each rank, count from each rank
            l.count = elems / n;
            l.send_elems = l.recv_elems = l.count * n;
            break;
        case VERSUS_COLL_BARRIER: break;
    }
    const bool split = kind == VERSUS_COLL_ALL_GATHER || kind == VERSUS_COLL_REDUCE_SCATTER ||
                       kind == VERSUS_COLL_ALL_TO_ALL;
    l.bytes = static_cast<double>((split ? l.count * n : l.count) * elem_bytes);
    return l;
}

int pattern_modulus(versus_dtype dtype, int n_ranks) {
    // The largest |partial sum| is n (m - 1) / 2; integers stay exact up to 2^24 (f32), 2^11 (f16), 2^8 (bf16).
    const double limit = dtype == VERSUS_DTYPE_F16 ? 2048 : dtype == VERSUS_DTYPE_BF16 ? 256 : 16777216;
    for (int m : {61, 17, 5, 3})
        if (static_cast<double>(n_ranks) * (m - 1) / 2 <= limit) return m;
    return 1;  // every value 0: still checks placement of nothing, so callers refuse such a rank count
}

double pattern_value(int rank, uint64_t i, int modulus) {
    const uint64_t m = static_cast<uint64_t>(modulus);
    return static_cast<double>((7 * (i % m) + 13 * (static_cast<uint64_t>(rank) % m)) % m) - (modulus - 1) / 2;
}

double expected_value(versus_coll_kind kind, int rank, int n_ranks, const Layout& l, int root, uint64_t i,
                      int modulus) {
    switch (kind) {
        case VERSUS_COLL_ALL_REDUCE: {
            double s = 0;
            for (int r = 0; r < n_ranks; ++r) s += pattern_value(r, i, modulus);
            return s;
        }
        case VERSUS_COLL_ALL_GATHER: return pattern_value(static_cast<int>(i / l.count), i % l.count, modulus);
        case VERSUS_COLL_REDUCE_SCATTER: {
            double s = 0;
            for (int r = 0; r < n_ranks; ++r) s += pattern_value(r, static_cast<uint64_t>(rank) * l.count + i, modulus);
            return s;
        }
        case VERSUS_COLL_BROADCAST: return pattern_value(root, i, modulus);
        case VERSUS_COLL_ALL_TO_ALL:
            return pattern_value(static_cast<int>(i / l.count), static_cast<uint64_t>(rank) * l.count + i % l.count,
                                 modulus);
        case VERSUS_COLL_SEND_RECV: return pattern_value((rank - 1 + n_ranks) % n_ranks, i, modulus);
        case VERSUS_COLL_BARRIER: break;
    }
    return 0;
}

versus_coll_dtype coll_dtype(versus_dtype dtype) {
    switch (dtype) {
        case VERSUS_DTYPE_F64: return VERSUS_COLL_F64;
        case VERSUS_DTYPE_F16: return VERSUS_COLL_F16;
        case VERSUS_DTYPE_BF16: return VERSUS_COLL_BF16;
        default: return VERSUS_COLL_F32;
    }
}

void store_value(versus_dtype dtype, void* buf, uint64_t i, double v) {
    switch (dtype) {
        case VERSUS_DTYPE_F64: static_cast<double*>(buf)[i] = v; break;
        case VERSUS_DTYPE_F16: static_cast<uint16_t*>(buf)[i] = cpu::f32_to_f16(static_cast<float>(v)); break;
        case VERSUS_DTYPE_BF16: static_cast<uint16_t*>(buf)[i] = cpu::f32_to_bf16(static_cast<float>(v)); break;
        default: static_cast<float*>(buf)[i] = static_cast<float>(v); break;
    }
}

double load_value(versus_dtype dtype, const void* buf, uint64_t i) {
    switch (dtype) {
        case VERSUS_DTYPE_F64: return static_cast<const double*>(buf)[i];
        case VERSUS_DTYPE_F16: return cpu::f16_to_f32(static_cast<const uint16_t*>(buf)[i]);
        case VERSUS_DTYPE_BF16: return cpu::bf16_to_f32(static_cast<const uint16_t*>(buf)[i]);
        default: return static_cast<const float*>(buf)[i];
    }
}

void fill_send(versus_dtype dtype, int rank, const Layout& l, int modulus, void* send) {
    for (uint64_t i = 0; i < l.send_elems; ++i) store_value(dtype, send, i, pattern_value(rank, i, modulus));
}

void poison(versus_dtype dtype, const Layout& l, void* recv) {
    for (uint64_t i = 0; i < l.recv_elems; ++i) store_value(dtype, recv, i, std::numeric_limits<double>::quiet_NaN());
}

std::string Verdict::message() const {
    if (ok()) return {};
    return fmt::format("{} element{} wrong; first at {}: got {}, expected {}", wrong, wrong == 1 ? "" : "s", first, got,
                       want);
}

Verdict verify(versus_coll_kind kind, versus_dtype dtype, int rank, int n_ranks, const Layout& l, int root,
               int modulus, const void* recv) {
    Verdict v;
    // Reductions, broadcast and send/recv repeat with period m in i (reduce-scatter after its rank's offset):
    // one period is computed, not n values per element.
    const bool periodic = kind != VERSUS_COLL_ALL_GATHER && kind != VERSUS_COLL_ALL_TO_ALL;
    std::vector<double> period;
    if (periodic) {
        const uint64_t m = static_cast<uint64_t>(modulus);
        for (uint64_t i = 0; i < std::min<uint64_t>(m, l.recv_elems); ++i)
            period.push_back(expected_value(kind, rank, n_ranks, l, root, i, modulus));
    }
    for (uint64_t i = 0; i < l.recv_elems; ++i) {
        const double want = periodic ? period[i % period.size()] : expected_value(kind, rank, n_ranks, l, root, i, modulus);
        const double got = load_value(dtype, recv, i);
        if (got != want) {  // NaN (never written) fails too
            if (v.wrong++ == 0) {
                v.first = i;
                v.got = got;
                v.want = want;
            }
        }
    }
    return v;
}

}  // namespace versus::workloads::coll
