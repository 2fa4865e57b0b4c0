// Contract: the ISA-independent half of quants: the type table and the matmul driver every rung shares: it
// splits the output rows over the pool and walks each chunk in tiles that the rung computes. Which rungs
// exist and which this CPU may run: rungs.cpp.
//
// Ladder (x86): scalar → avx2 (AVX2+FMA+F16C: vpmaddubsw/vpmaddwd) → avx512 (F/BW/VL/DQ, the same at 512
// bits) → avx512-vnni (vpdpbusd/vpdpwssd) → avx512-vnni-vbmi (blocks gathered by byte permutes).
// Ladder (Arm): scalar → neon (smull/sadalp) → neon-dotprod (sdot).
//
// Work split. Decode (one token) reads every weight once and is bound by memory bandwidth: rows go out in
// chunks of ~32 KiB of weights, handed out dynamically so that a thread slowed by its neighbours takes
// fewer, and each chunk is walked in (rows x 1) tiles that share the loaded activation block between rows.
// Prefill (many tokens) is bound by arithmetic: a chunk is at most ~128 KiB of weights so it stays in L2
// while every token group of the batch passes over it, tile by tile (rows x toks), so that each weight block
// is decoded once per `toks` tokens and read from DRAM once per matmul. Rungs whose tiles want the
// activations in another layout (QuantTile::prep) get them rewritten here first, once per token.
//
// This file is compiled for the baseline ISA, like kernels.cpp.
#include "quants.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>


namespace versus::cpu {

namespace {

constexpr QTypeInfo TYPES[] = {
    {QType::F32, "f32", 1, 4},
    {QType::F16, "f16", 1, 2},
    {QType::Q4_0, "q4_0", VERSUS_QK4_0, sizeof(versus_block_q4_0)},
    {QType::Q8_0, "q8_0", VERSUS_QK8_0, sizeof(versus_block_q8_0)},
    {QType::Q4_K, "q4_K", VERSUS_QK_K, sizeof(versus_block_q4_K)},
    {QType::Q5_K, "q5_K", VERSUS_QK_K, sizeof(versus_block_q5_K)},
    {QType::Q6_K, "q6_K", VERSUS_QK_K, sizeof(versus_block_q6_K)},
    {QType::Q8_K, "q8_K", VERSUS_QK_K, sizeof(versus_block_q8_K)},
    {QType::BF16, "bf16", 1, 2},
};

std::string type_name(QType type) {
    const QTypeInfo* info = qtype_info(type);
    return info ? info->name : "type id " + std::to_string(uint32_t(type));
}

const QuantTile& tile_for(const QuantKernelSet& k, QType w) {
    switch (w) {
        case QType::F32: return k.f32;
        case QType::F16: return k.f16;
        case QType::BF16: return k.bf16;
        case QType::Q4_0: return k.q4_0;
        case QType::Q8_0: return k.q8_0;
        case QType::Q4_K: return k.q4_k;
        case QType::Q5_K: return k.q5_k;
        case QType::Q6_K: return k.q6_k;
        case QType::Q8_K: break;
    }
    throw std::invalid_argument("[quants] matmul: no kernel for weights of " + type_name(w) +
                                ". HINT: weights may be f32, f16, bf16, q4_0, q8_0, q4_K, q5_K or q6_K");
}

constexpr size_t DECODE_CHUNK_BYTES = size_t{32} << 10;
constexpr size_t PREFILL_CHUNK_BYTES = size_t{128} << 10;

struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};

// Prepared activations: 64-byte aligned, owned by the calling thread and kept between calls (a decode step
// runs hundreds of matmuls); the pool's workers only read it while the call lasts.
// Slot 0: prepared activations; slot 1: the panel a thread is working on (its own).
uint8_t* scratch(int slot, size_t bytes) {
    thread_local std::unique_ptr<void, FreeDeleter> buf[2];
    thread_local size_t size[2] = {0, 0};
    if (size[slot] < bytes) {
        const size_t want = (bytes + 4095) & ~size_t{4095};
        buf[slot].reset(std::aligned_alloc(64, want));
        if (!buf[slot]) throw std::bad_alloc();
        size[slot] = want;
    }
    return static_cast<uint8_t*>(buf[slot].get());
}

// Every token's activations rewritten by prep (xs bytes apart) into the calling thread's scratch.
const uint8_t* prepare(void (*prep)(int64_t, const void*, void*), int64_t n_in, const uint8_t* x, size_t x_rb,
                       int64_t n_tok, size_t xs, ThreadPool& pool) {
    uint8_t* buf = scratch(0, xs * size_t(n_tok));
    auto prep_rows = [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) prep(n_in, x + size_t(t) * x_rb, buf + size_t(t) * xs);
    };
    if (pool.size() > 1 && n_tok >= 16) {
        pool.parallel_for(n_tok, 8, prep_rows);
    } else {
        prep_rows(0, n_tok);
    }
    return buf;
}

// Prefill through panels (QuantPanel): each thread packs a few panels of rows (about PANEL_CHUNK_BYTES) into its
// scratch, then runs every token over them, toks at a time, all panels per group of tokens: the packed rows stay
// in its L2 while the activations stream past, each group of tokens loaded once for all of them.
constexpr size_t PANEL_CHUNK_BYTES = size_t{512} << 10;

void panel_matmul(const QuantPanel& pn, const uint8_t* W, size_t w_rb, int64_t n_in, int64_t n_out,
                  const uint8_t* x, size_t x_rb, int64_t n_tok, float* y, ThreadPool& pool) {
    const size_t xs = pn.prep_bytes(n_in);
    const uint8_t* xp = prepare(pn.prep, n_in, x, x_rb, n_tok, xs, pool);
    const size_t pb = pn.pack_bytes(n_in);
    const int64_t n_panels = (n_out + pn.rows - 1) / pn.rows;
    int64_t per_chunk = std::max<int64_t>(1, int64_t(PANEL_CHUNK_BYTES / pb));
    per_chunk = std::min(per_chunk, std::max<int64_t>(1, n_panels / (4 * int64_t(pool.size()))));
    const int64_t n_chunks = (n_panels + per_chunk - 1) / per_chunk;
    auto run_chunks = [&](int64_t c0, int64_t c1) {
        uint8_t* panels = scratch(1, pb * size_t(per_chunk));
        for (int64_t c = c0; c < c1; ++c) {
            const int64_t q0 = c * per_chunk, q1 = std::min(n_panels, q0 + per_chunk);
            for (int64_t q = q0; q < q1; ++q) {
                const int64_t r0 = q * pn.rows;
                pn.pack(n_in, W + size_t(r0) * w_rb, w_rb, int(std::min<int64_t>(pn.rows, n_out - r0)),
                        panels + size_t(q - q0) * pb);
            }
            for (int64_t t0 = 0; t0 < n_tok; t0 += pn.toks) {
                const int nt = int(std::min<int64_t>(pn.toks, n_tok - t0));
                for (int64_t q = q0; q < q1; ++q) {
                    const int64_t r0 = q * pn.rows;
                    pn.run(n_in, panels + size_t(q - q0) * pb, int(std::min<int64_t>(pn.rows, n_out - r0)),
                           xp + size_t(t0) * xs, xs, nt, y + size_t(t0) * size_t(n_out) + size_t(r0), size_t(n_out));
                }
            }
        }
    };
    if (pool.size() == 1 || n_chunks == 1) {
        run_chunks(0, n_chunks);
    } else {
        pool.parallel_for(n_chunks, 1, run_chunks);
    }
}

}  // namespace

const QTypeInfo* qtype_info(QType type) {
    for (const QTypeInfo& t : TYPES) {
        if (t.type == type) return &t;
    }
    return nullptr;
}

size_t qtype_row_bytes(QType type, int64_t n) {
    const QTypeInfo* info = qtype_info(type);
    if (!info) {
        throw std::invalid_argument("[quants] unsupported type id " + std::to_string(uint32_t(type)) +
                                    ". HINT: versus implements f32, f16, bf16, q4_0, q8_0, q4_K, q5_K, q6_K, q8_K");
    }
    if (n < 0 || n % info->block_elems != 0) {
        throw std::invalid_argument("[quants] a row of " + std::to_string(n) + " elements is not a whole number of " +
                                    info->name + " blocks (" + std::to_string(info->block_elems) +
                                    "). HINT: the tensor's first dimension must be a multiple of the block size");
    }
    return size_t(n / info->block_elems) * size_t(info->block_bytes);
}

QType vec_dot_type(QType w) {
    switch (w) {
        case QType::F32:
        case QType::F16:
        case QType::BF16: return QType::F32;
        case QType::Q4_0:
        case QType::Q8_0: return QType::Q8_0;
        case QType::Q4_K:
        case QType::Q5_K:
        case QType::Q6_K: return QType::Q8_K;
        case QType::Q8_K: break;
    }
    throw std::invalid_argument("[quants] vec_dot_type: " + type_name(w) +
                                " is not a weight type. HINT: weights may be f32, f16, bf16, q4_0, q8_0, q4_K, "
                                "q5_K or q6_K");
}

void quantize_rows(QType type, const float* src, void* dst, int64_t n_rows, int64_t n_per_row, ThreadPool& pool) {
    const size_t row_bytes = qtype_row_bytes(type, n_per_row);
    // Rows of ~64 Ki elements per grab: the K-quant searches cost ~1 us per 32 elements.
    const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, n_per_row));
    uint8_t* out = static_cast<uint8_t*>(dst);
    pool.parallel_for(n_rows, grain, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            quantize_row(type, src + size_t(r) * size_t(n_per_row), out + size_t(r) * row_bytes, n_per_row);
        }
    });
}

void quantize_activations(const QuantKernelSet& k, QType act_type, const float* x, void* dst, int64_t n) {
    qtype_row_bytes(act_type, n);  // validates n
    switch (act_type) {
        case QType::Q8_0: k.quantize_q8_0(x, dst, n); return;
        case QType::Q8_K: k.quantize_q8_k(x, dst, n); return;
        case QType::F32: std::memcpy(dst, x, size_t(n) * sizeof(float)); return;
        default: break;
    }
    throw std::invalid_argument("[quants] quantize_activations: " + type_name(act_type) +
                                " is not an activation type. HINT: use vec_dot_type(weight type)");
}

void quantize_activations(QType act_type, const float* x, void* dst, int64_t n) {
    quantize_activations(quant_kernels_best(), act_type, x, dst, n);
}

void matmul(const QuantKernelSet& k, QType w_type, const void* W, int64_t n_in, int64_t n_out, const void* x_act,
            int64_t n_tok, float* y, ThreadPool& pool) {
    const QuantTile& tile = tile_for(k, w_type);
    const size_t w_rb = qtype_row_bytes(w_type, n_in);
    const size_t x_rb = qtype_row_bytes(vec_dot_type(w_type), n_in);
    if (n_out <= 0 || n_tok <= 0) return;
    if (n_in == 0) {
        std::fill(y, y + size_t(n_out) * size_t(n_tok), 0.0f);
        return;
    }
    const uint8_t* wp = static_cast<const uint8_t*>(W);
    const uint8_t* xp = static_cast<const uint8_t*>(x_act);
    if (tile.gemm.fn && n_tok >= tile.gemm.min_toks) {
        tile.gemm.fn(n_in, n_out, W, static_cast<const float*>(x_act), n_tok, y, pool);
        return;
    }
    if (tile.panel.pack && n_tok >= tile.panel.min_toks) {
        panel_matmul(tile.panel, wp, w_rb, n_in, n_out, xp, x_rb, n_tok, y, pool);
        return;
    }
    const int R = tile.rows, T = tile.toks;
    const int64_t n_threads = pool.size();

    // Rows per chunk: whole tiles, about the cache budget, and enough chunks to keep every thread busy.
    const size_t budget = n_tok == 1 ? DECODE_CHUNK_BYTES : PREFILL_CHUNK_BYTES;
    int64_t chunk = std::max<int64_t>(1, int64_t(budget / w_rb));
    chunk = std::min(chunk, (n_out + 4 * n_threads - 1) / (4 * n_threads));
    chunk = std::max<int64_t>(R, (chunk + R - 1) / R * R);
    const int64_t n_chunks = (n_out + chunk - 1) / chunk;

    size_t xs = x_rb;
    if (tile.prep) {
        xs = tile.prep_bytes(n_in);
        xp = prepare(tile.prep, n_in, xp, x_rb, n_tok, xs, pool);
    }
    auto run_chunks = [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            const int64_t o0 = c * chunk, o1 = std::min(n_out, o0 + chunk);
            for (int64_t t0 = 0; t0 < n_tok; t0 += T) {
                const int nt = int(std::min<int64_t>(T, n_tok - t0));
                for (int64_t r = o0; r < o1; r += R) {
                    const int nr = int(std::min<int64_t>(R, o1 - r));
                    tile.fn(n_in, wp + size_t(r) * w_rb, w_rb, nr, xp + size_t(t0) * xs, xs, nt,
                            y + size_t(t0) * size_t(n_out) + size_t(r), size_t(n_out));
                }
            }
        }
    };
    // Below ~64 KiB of weight traffic waking the pool costs more than it saves.
    if (n_threads == 1 || n_chunks == 1 || w_rb * size_t(n_out) * size_t(n_tok) < (size_t{64} << 10)) {
        run_chunks(0, n_chunks);
        return;
    }
    pool.parallel_for(n_chunks, 1, run_chunks);
}

void matmul(QType w_type, const void* W, int64_t n_in, int64_t n_out, const void* x_act, int64_t n_tok, float* y,
            ThreadPool& pool) {
    matmul(quant_kernels_best(), w_type, W, n_in, n_out, x_act, n_tok, y, pool);
}

float vec_dot(const QuantKernelSet& k, QType w_type, int64_t n, const void* w_row, const void* x_act) {
    const QuantTile& tile = tile_for(k, w_type);
    const size_t w_rb = qtype_row_bytes(w_type, n);
    const size_t x_rb = qtype_row_bytes(vec_dot_type(w_type), n);
    if (n == 0) return 0.0f;
    float y = 0.0f;
    if (tile.prep) {
        std::vector<uint8_t> prepared(tile.prep_bytes(n));
        tile.prep(n, x_act, prepared.data());
        tile.fn(n, w_row, w_rb, 1, prepared.data(), prepared.size(), 1, &y, 1);
    } else {
        tile.fn(n, w_row, w_rb, 1, x_act, x_rb, 1, &y, 1);
    }
    return y;
}

float vec_dot(QType w_type, int64_t n, const void* w_row, const void* x_act) {
    return vec_dot(quant_kernels_best(), w_type, n, w_row, x_act);
}

}  // namespace versus::cpu
