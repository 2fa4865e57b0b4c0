// Contract: the ISA-independent half of attention (attention.hpp). Owns the shape checks, the work split of
// the fused kernel (blocks of query rows per kv head, ordered heaviest first and handed out dynamically; a
// key split with a log-sum-exp merge when blocks are too few for the threads), the finalisation
// out = acc / l, the naive kernel's three passes, and the scratch accounting. The rungs (attention-ref.cpp,
// arch/attention-rung.hpp over each ISA's traits) only compute: `attend` on one block, and the row
// primitives of the naive kernel. Which rungs exist and which this CPU may run: rungs.cpp.
//
// Compiled for the baseline ISA; the arch files call back into it (attention_tiles), never the reverse.
#include "backend/cpu/attention.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace versus::cpu {

namespace detail {
void* thread_scratch(int slot, size_t bytes);  // kernels.cpp
}

namespace {

// thread_scratch slots (kernels.cpp keeps 4 per thread; GEMM uses 0 and 1).
constexpr int SLOT_STATE = 2;  // running state of the block a thread works on
constexpr int SLOT_TILES = 3;  // the rung's tile buffers (attention_tiles)

// A fused block holds about this many rows (query positions x the heads that share a kv head): enough
// to reuse each widened key and value tile many times, small enough to keep the block's state in L2.
constexpr int BLOCK_ROWS = 32;
// A key split makes ranges of at least this many keys: below it the merge costs more than it saves.
constexpr int SPLIT_MIN_KEYS = 128;

// ---- checks ------------------------------------------------------------------------------------------

[[noreturn]] void bad(const std::string& what, const std::string& hint) {
    throw std::invalid_argument("[attention] " + what + ". HINT: " + hint);
}

void check_shape(const AttentionShape& s, size_t k_row_stride, size_t v_row_stride) {
    if (s.n_head < 1 || s.n_head_kv < 1 || s.n_head % s.n_head_kv != 0)
        bad("n_head " + std::to_string(s.n_head) + " is not a positive multiple of n_head_kv " +
                std::to_string(s.n_head_kv),
            "every kv head serves n_head / n_head_kv query heads");
    if (s.head_dim < 1) bad("head_dim " + std::to_string(s.head_dim) + " is not positive", "pass the model's head_dim");
    if (s.n_q < 0 || s.n_kv < 0 || s.q_pos0 < 0)
        bad("negative n_q, n_kv or q_pos0", "queries are positions q_pos0 .. q_pos0 + n_q - 1 of n_kv cached ones");
    if (int64_t(s.q_pos0) + s.n_q > int64_t(INT32_MAX)) bad("q_pos0 + n_q overflows int", "use smaller positions");
    const size_t row = size_t(s.n_head_kv) * size_t(s.head_dim);
    if (s.n_kv > 0 && (k_row_stride < row || v_row_stride < row))
        bad("K/V row stride " + std::to_string(std::min(k_row_stride, v_row_stride)) + " is below n_head_kv * head_dim = " +
                std::to_string(row),
            "strides count f16 elements between consecutive positions");
}

void check_rung(const AttentionKernels& k, const AttentionShape& s) {
    if (s.head_dim % k.width != 0)
        bad("rung " + std::string(k.isa) + " needs head_dim to be a multiple of " + std::to_string(k.width) + ", not " +
                std::to_string(s.head_dim),
            "use attention_kernels_for(head_dim)");
}

void zero_out(const AttentionShape& s, float* out) {
    std::memset(out, 0, sizeof(float) * size_t(s.n_q) * size_t(s.n_head) * size_t(s.head_dim));
}

// ---- the fused kernel's work split -------------------------------------------------------------------

struct Plan {
    int n_rep;     // query heads per kv head
    int bq;        // query positions per block
    int n_qblk;    // query blocks
    int n_kvh;     // kv heads per block: 1, or all of them
    int items;     // blocks in all: n_qblk * n_head_kv / n_kvh
    int n_split;   // key ranges per block (1: no split)
    int rows_max;  // rows of the largest block: n_kvh * bq * n_rep
};

Plan make_plan(const AttentionShape& s, int n_threads) {
    Plan p{};
    p.n_rep = s.n_head / s.n_head_kv;
    p.bq = std::min(s.n_q, std::max(1, BLOCK_ROWS / p.n_rep));
    p.n_qblk = (s.n_q + p.bq - 1) / p.bq;
    const int kv_max = int(std::min<int64_t>(s.n_kv, int64_t(s.q_pos0) + s.n_q));  // keys the last query sees
    // One query block (decode, a short chunk): all kv heads go in one block, which reads the cache position
    // after position instead of one head's few cache lines at a time, and the keys are split over the
    // threads. Unless the keys are too few to split: then one block per kv head spreads the work.
    const bool all_heads = p.n_qblk == 1 && (n_threads == 1 || kv_max / SPLIT_MIN_KEYS >= n_threads);
    p.n_kvh = all_heads ? s.n_head_kv : 1;
    p.items = p.n_qblk * (s.n_head_kv / p.n_kvh);
    p.rows_max = p.n_kvh * p.bq * p.n_rep;
    p.n_split = 1;
    // Fewer than four blocks per thread leaves threads idle or unbalanced: split the keys as well, into
    // ranges of at least SPLIT_MIN_KEYS.
    if (n_threads > 1 && p.items < 4 * n_threads) {
        const int want = (4 * n_threads + p.items - 1) / p.items;
        p.n_split = std::max(1, std::min(want, kv_max / SPLIT_MIN_KEYS));
    }
    return p;
}

// State of one block: acc (rows, head_dim), then m (rows), then l (rows).
size_t state_floats(const Plan& p, int head_dim) { return size_t(p.rows_max) * (size_t(head_dim) + 2); }

struct Fused {
    const AttentionKernels& k;
    const AttentionShape& s;
    const float* Q;
    const f16_t* K;
    size_t ks;
    const f16_t* V;
    size_t vs;
    float* out;
    Plan p;

    // Block `item`, heaviest first: the last query blocks see the most keys. g is its first kv head.
    void block_of(int item, int* g, int* i0, int* i1) const {
        const int groups = s.n_head_kv / p.n_kvh;
        const int qb = p.n_qblk - 1 - item / groups;
        *g = item % groups * p.n_kvh;
        *i0 = qb * p.bq;
        *i1 = std::min(s.n_q, *i0 + p.bq);
    }
    int kv_end(int i1) const { return int(std::min<int64_t>(s.n_kv, int64_t(s.q_pos0) + i1)); }
    // Where row r of the block (g, i0, i1) goes in out (see AttentionBlock for the row order).
    float* out_row(int g, int i0, int i1, int r) const {
        const int rpg = (i1 - i0) * p.n_rep;
        const int head = (g + r / rpg) * p.n_rep + r % p.n_rep;
        return out + (size_t(i0 + r % rpg / p.n_rep) * s.n_head + head) * s.head_dim;
    }

    // Runs one (block, key range) task into `state`; writes out directly when the block is not split.
    void run_task(int task, float* state) const {
        const int item = task / p.n_split, split = task % p.n_split;
        int g, i0, i1;
        block_of(item, &g, &i0, &i1);
        const int d = s.head_dim, rows = p.n_kvh * (i1 - i0) * p.n_rep;
        const int end = kv_end(i1);
        const int tile = k.key_tile;
        const int chunk = ((end + p.n_split - 1) / p.n_split + tile - 1) / tile * tile;
        const int k0 = std::min(end, split * chunk), k1 = std::min(end, k0 + chunk);
        float* acc = state;
        float* m = acc + size_t(rows) * d;
        float* l = m + rows;
        std::fill(acc, acc + size_t(rows) * d, 0.0f);
        std::fill(m, m + rows, -std::numeric_limits<float>::infinity());
        std::fill(l, l + rows, 0.0f);
        const size_t q_stride = size_t(s.n_head) * d;
        AttentionBlock b{};
        b.q = Q + size_t(i0) * q_stride + size_t(g) * p.n_rep * d;
        b.q_stride = q_stride;
        b.k = K + size_t(g) * d;
        b.k_stride = ks;
        b.v = V + size_t(g) * d;
        b.v_stride = vs;
        b.n_pos = i1 - i0;
        b.n_kvh = p.n_kvh;
        b.n_rep = p.n_rep;
        b.head_dim = d;
        b.pos0 = s.q_pos0 + i0;
        b.k_begin = k0;
        b.k_end = k1;
        b.scale = s.scale;
        b.m = m;
        b.l = l;
        b.acc = acc;
        if (k0 < k1) k.attend(b);
        if (p.n_split > 1) return;
        // Every row sees key 0 (n_kv > 0), so l > 0.
        for (int r = 0; r < rows; ++r) {
            float* o = out_row(g, i0, i1, r);
            const float inv = 1.0f / l[r];
            const float* a = acc + size_t(r) * d;
            for (int x = 0; x < d; ++x) o[x] = a[x] * inv;
        }
    }

    // Log-sum-exp merge of a split block's partial states into out.
    void merge(int item, const float* partial) const {
        int g, i0, i1;
        block_of(item, &g, &i0, &i1);
        const int d = s.head_dim, rows = p.n_kvh * (i1 - i0) * p.n_rep;
        const size_t sf = state_floats(p, d);
        const float* first = partial + size_t(item) * p.n_split * sf;
        for (int r = 0; r < rows; ++r) {
            float mx = -std::numeric_limits<float>::infinity();
            for (int sp = 0; sp < p.n_split; ++sp) {
                const float* st = first + sp * sf;
                if (st[size_t(rows) * d + rows + r] > 0) mx = std::max(mx, st[size_t(rows) * d + r]);
            }
            float* o = out_row(g, i0, i1, r);
            std::fill(o, o + d, 0.0f);
            float denom = 0;
            for (int sp = 0; sp < p.n_split; ++sp) {
                const float* st = first + sp * sf;
                const float l = st[size_t(rows) * d + rows + r];
                if (!(l > 0)) continue;  // a range this row does not see (causal) or an empty one
                const float w = std::exp(st[size_t(rows) * d + r] - mx);
                denom += w * l;
                const float* a = st + size_t(r) * d;
                for (int x = 0; x < d; ++x) o[x] += w * a[x];
            }
            const float inv = 1.0f / denom;
            for (int x = 0; x < d; ++x) o[x] *= inv;
        }
    }
};

}  // namespace

// ---- public API ----------------------------------------------------------------------------------------

void attention_fused(const AttentionKernels& k, const AttentionShape& s, const float* Q, const f16_t* K,
                     size_t k_row_stride, const f16_t* V, size_t v_row_stride, float* out, ThreadPool& pool) {
    check_shape(s, k_row_stride, v_row_stride);
    check_rung(k, s);
    if (s.n_q == 0) return;
    if (s.n_kv == 0) return zero_out(s, out);
    const Fused f{k, s, Q, K, k_row_stride, V, v_row_stride, out, make_plan(s, pool.size())};
    const int tasks = f.p.items * f.p.n_split;
    const size_t sf = state_floats(f.p, s.head_dim);
    // Partial states of a split, kept per calling thread so back-to-back decode steps do not allocate.
    // (A pointer, not the thread_local itself, goes to the workers: there the name is their own copy.)
    thread_local std::vector<float> partial_buf;
    if (f.p.n_split > 1 && partial_buf.size() < size_t(tasks) * sf) partial_buf.resize(size_t(tasks) * sf);
    float* const partial = partial_buf.data();

    std::atomic<int> next{0};
    auto worker = [&](int, int) {
        float* own = f.p.n_split == 1 ? static_cast<float*>(detail::thread_scratch(SLOT_STATE, sf * sizeof(float)))
                                      : nullptr;
        for (int t; (t = next.fetch_add(1, std::memory_order_relaxed)) < tasks;) {
            f.run_task(t, own ? own : partial + size_t(t) * sf);
        }
    };
    if (tasks == 1) {
        worker(0, 1);
    } else {
        pool.run(worker);
    }
    if (f.p.n_split == 1) return;
    next.store(0, std::memory_order_relaxed);
    auto merger = [&](int, int) {
        for (int it; (it = next.fetch_add(1, std::memory_order_relaxed)) < f.p.items;) f.merge(it, partial);
    };
    if (f.p.items == 1) {
        merger(0, 1);
    } else {
        pool.run(merger);
    }
}

void attention_fused(const AttentionShape& s, const float* Q, const f16_t* K, size_t k_row_stride, const f16_t* V,
                     size_t v_row_stride, float* out, ThreadPool& pool) {
    attention_fused(attention_kernels_for(s.head_dim), s, Q, K, k_row_stride, V, v_row_stride, out, pool);
}

size_t attention_fused_scratch_bytes(const AttentionShape& s, int n_threads) {
    if (s.n_q <= 0 || s.n_kv <= 0 || s.n_head_kv <= 0 || s.n_head % s.n_head_kv != 0 || s.head_dim <= 0) return 0;
    const AttentionKernels& k = attention_kernels_for(s.head_dim);
    const Plan p = make_plan(s, std::max(1, n_threads));
    const size_t state = state_floats(p, s.head_dim) * sizeof(float);
    const size_t per_thread = attention_tiles_bytes(p.rows_max, s.head_dim, k.key_tile) + (p.n_split == 1 ? state : 0);
    const size_t split = p.n_split > 1 ? size_t(p.items) * p.n_split * state : 0;
    return size_t(std::max(1, n_threads)) * per_thread + split;
}

void attention_naive(const AttentionKernels& k, const AttentionShape& s, const float* Q, const f16_t* K,
                     size_t k_row_stride, const f16_t* V, size_t v_row_stride, float* out, float* scratch,
                     ThreadPool& pool) {
    check_shape(s, k_row_stride, v_row_stride);
    check_rung(k, s);
    if (s.n_q == 0) return;
    if (s.n_kv == 0) return zero_out(s, out);
    const int d = s.head_dim, n_rep = s.n_head / s.n_head_kv;
    const int64_t n_rows = int64_t(s.n_head) * s.n_q;  // row hr = h * n_q + i of S (n_head, n_q, n_kv)
    const int64_t grain = std::clamp<int64_t>(n_rows / (int64_t(pool.size()) * 16), 1, 64);
    auto visible = [&](int i) { return int(std::min<int64_t>(s.n_kv, int64_t(s.q_pos0) + i + 1)); };
    // Q and out are (n_q, n_head, head_dim): row hr's vector is at offset(hr) in both.
    auto offset = [&](int64_t hr) { return (size_t(hr % s.n_q) * s.n_head + size_t(hr / s.n_q)) * d; };
    auto s_row = [&](int64_t hr) { return scratch + size_t(hr) * size_t(s.n_kv); };

    // 1. S = Q K^T * scale, the causal part of every row.
    pool.parallel_for(n_rows, grain, [&](int64_t b, int64_t e) {
        for (int64_t hr = b; hr < e; ++hr) {
            const int g = int(hr / s.n_q) / n_rep;
            k.scores(Q + offset(hr), K + size_t(g) * d, k_row_stride, visible(int(hr % s.n_q)), d, s.scale, s_row(hr));
        }
    });
    // 2. Softmax of every row, in place.
    pool.parallel_for(n_rows, grain, [&](int64_t b, int64_t e) {
        for (int64_t hr = b; hr < e; ++hr) {
            float* row = s_row(hr);
            const int n = visible(int(hr % s.n_q));
            float mx = row[0];
            for (int j = 1; j < n; ++j) mx = std::max(mx, row[j]);
            const float inv = 1.0f / k.exp_sum(row, n, mx);
            for (int j = 0; j < n; ++j) row[j] *= inv;
        }
    });
    // 3. out = S V.
    pool.parallel_for(n_rows, grain, [&](int64_t b, int64_t e) {
        for (int64_t hr = b; hr < e; ++hr) {
            const int g = int(hr / s.n_q) / n_rep;
            k.weighted_sum(s_row(hr), V + size_t(g) * d, v_row_stride, visible(int(hr % s.n_q)), d, out + offset(hr));
        }
    });
}

void attention_naive(const AttentionShape& s, const float* Q, const f16_t* K, size_t k_row_stride, const f16_t* V,
                     size_t v_row_stride, float* out, float* scratch, ThreadPool& pool) {
    attention_naive(attention_kernels_for(s.head_dim), s, Q, K, k_row_stride, V, v_row_stride, out, scratch, pool);
}

size_t attention_naive_scratch_bytes(const AttentionShape& s) {
    if (s.n_head <= 0 || s.n_q <= 0 || s.n_kv <= 0) return 0;
    return size_t(s.n_head) * size_t(s.n_q) * size_t(s.n_kv) * sizeof(float);
}

// ---- tile buffers for the rungs ------------------------------------------------------------------------

namespace {
size_t round64(size_t n) { return (n + 63) & ~size_t{63}; }
}  // namespace

size_t attention_tiles_bytes(int rows, int head_dim, int key_tile) {
    const size_t r = size_t(rows), kt = size_t(key_tile), d = size_t(head_dim);
    return round64(r * sizeof(const float*)) + 2 * round64(kt * d * sizeof(float)) + round64(r * kt * sizeof(float)) +
           round64(r * sizeof(float)) + round64(r * sizeof(int));
}

AttentionTiles attention_tiles(int rows, int head_dim, int key_tile) {
    const size_t r = size_t(rows), kt = size_t(key_tile), d = size_t(head_dim);
    auto* base = static_cast<unsigned char*>(detail::thread_scratch(SLOT_TILES, attention_tiles_bytes(rows, head_dim, key_tile)));
    AttentionTiles t{};
    t.q_row = reinterpret_cast<const float**>(base);
    base += round64(r * sizeof(const float*));
    t.k = reinterpret_cast<float*>(base);
    base += round64(kt * d * sizeof(float));
    t.v = reinterpret_cast<float*>(base);
    base += round64(kt * d * sizeof(float));
    t.s = reinterpret_cast<float*>(base);
    base += round64(r * kt * sizeof(float));
    t.corr = reinterpret_cast<float*>(base);
    base += round64(r * sizeof(float));
    t.n_vis = reinterpret_cast<int*>(base);
    return t;
}

}  // namespace versus::cpu
