#include "llm/synth.hpp"

#include <cmath>
#include <cstring>

#include "backend/cpu/kernels.hpp"

namespace versus::llm {
namespace {

// splitmix64, the same generator the workloads use.
struct Rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [-1, 1).
    float uniform() { return static_cast<float>(static_cast<double>(next() >> 11) * 0x1.0p-52 - 1.0); }
};

// Uniform on [-1,1) has standard deviation 1/sqrt(3).
constexpr float UNIFORM_TO_UNIT = 1.7320508f;

void put_f16(uint8_t* p, float v) {
    const uint16_t h = cpu::f32_to_f16(v);
    std::memcpy(p, &h, 2);
}

// Fills `n_blocks` blocks of a quantized type with random bits and scales chosen so that the
// decoded values have about `sigma` standard deviation (see the per-type comments).
void fill_blocks(GgmlType type, uint8_t* dst, int64_t n_blocks, float sigma, Rng& rng) {
    const auto& info = ggml_type_info(type);
    const int64_t bb = info.block_bytes;
    for (int64_t b = 0; b < n_blocks; ++b) {
        uint8_t* blk = dst + b * bb;
        for (int64_t i = 0; i < bb; i += 8) {
            const uint64_t r = rng.next();
            std::memcpy(blk + i, &r, static_cast<size_t>(std::min<int64_t>(8, bb - i)));
        }
        switch (type) {
            case GgmlType::Q4_0:  // (q - 8) d, q uniform 0..15: sd 4.61 d
                put_f16(blk, sigma / 4.61f);
                break;
            case GgmlType::Q8_0:  // q d, q uniform int8: sd 73.9 d; keep -128 out as real files do
                put_f16(blk, sigma / 73.9f);
                for (int i = 2; i < 34; ++i)
                    if (blk[i] == 0x80) blk[i] = 0x81;
                break;
            case GgmlType::Q4_K:  // d sc q - dmin m; sc, m 6-bit, q 4-bit: sd about 168 d
                put_f16(blk, sigma / 168.0f);
                put_f16(blk + 2, sigma / 168.0f * 7.5f);
                break;
            case GgmlType::Q5_K:  // as Q4_K with q 5-bit: sd about 336 d
                put_f16(blk, sigma / 336.0f);
                put_f16(blk + 2, sigma / 336.0f * 15.5f);
                break;
            case GgmlType::Q6_K:  // d sc (q - 32), sc int8, q 6-bit: sd about 1369 d; d is last
                put_f16(blk + 208, sigma / 1369.0f);
                break;
            default: break;
        }
    }
}

}  // namespace

uint64_t tensor_seed(uint64_t seed, std::string_view name) {
    uint64_t h = 0xcbf29ce484222325ull ^ seed;  // FNV-1a over the name, keyed by the seed
    for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
    return h;
}

float synth_sigma(std::string_view name, int64_t ne0) {
    if (name == "token_embd.weight") return 1.0f;
    if (name.ends_with(".bias")) return 0.02f;
    return 1.0f / std::sqrt(static_cast<float>(ne0));
}

void synth_tensor(GgmlType type, int64_t ne0, int64_t ne1, float sigma, bool ones, uint64_t seed, uint8_t* dst,
                  cpu::ThreadPool* pool) {
    const auto& info = ggml_type_info(type);
    const int64_t n_blocks = ne0 * ne1 / info.block_elements;
    // Fixed-size chunks, each with its own stream, so the bytes do not depend on the thread count.
    constexpr int64_t CHUNK_BLOCKS = 4096;
    const int64_t n_chunks = (n_blocks + CHUNK_BLOCKS - 1) / CHUNK_BLOCKS;
    auto chunk = [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            Rng rng{seed ^ (0x9e3779b97f4a7c15ull * static_cast<uint64_t>(c + 1))};
            const int64_t b0 = c * CHUNK_BLOCKS, b1 = std::min(n_blocks, b0 + CHUNK_BLOCKS);
            uint8_t* p = dst + b0 * info.block_bytes;
            switch (type) {
                case GgmlType::F32:
                    for (int64_t i = b0; i < b1; ++i, p += 4) {
                        const float v = ones ? 1.0f : rng.uniform() * sigma * UNIFORM_TO_UNIT;
                        std::memcpy(p, &v, 4);
                    }
                    break;
                case GgmlType::F16:
                case GgmlType::BF16:
                    for (int64_t i = b0; i < b1; ++i, p += 2) {
                        const float v = ones ? 1.0f : rng.uniform() * sigma * UNIFORM_TO_UNIT;
                        const uint16_t h = type == GgmlType::F16 ? cpu::f32_to_f16(v) : cpu::f32_to_bf16(v);
                        std::memcpy(p, &h, 2);
                    }
                    break;
                default: fill_blocks(type, p, b1 - b0, sigma, rng);
            }
        }
    };
    if (pool && n_chunks > 1)
        pool->parallel_for(n_chunks, 1, chunk);
    else
        chunk(0, n_chunks);
}

}  // namespace versus::llm
