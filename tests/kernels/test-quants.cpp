// Contract: the GGUF quant formats and every rung of the quant ladder this machine can run (plus, where the
// build provides it, the AVX-512 rungs compiled against SIMDe):
//   - dequantize_row against decoders written here from the format text (hand-built blocks with known
//     answers, and random bit patterns in every field);
//   - quantize_row -> dequantize_row error on Gaussian data, per type, against measured bounds;
//   - activation quantizers: the same bytes on every rung, within half a step of the input, bsums right;
//   - vec_dot and matmul on every rung (decode and prefill token counts, output counts off the tile, 1-3
//     threads) against an fp64 dot of the decoded weights with the decoded activations (tight), and with
//     the unquantized activations (bounded by the activation rounding).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "system/cpu-features.hpp"
#include "backend/cpu/kernels.hpp"
#include "backend/cpu/quants.hpp"
#include "backend/cpu/rungs.hpp"

#if defined(VERSUS_KERNELS_AVX512_SIMDE)
namespace versus::cpu::qavx512_simde {
const QuantKernelSet& rung();
const QuantKernelSet& rung_vnni();
const QuantKernelSet& rung_vbmi();
}  // namespace versus::cpu::qavx512_simde
#endif

namespace {

using namespace versus::cpu;
using versus::system::cpu_features;
using versus::system::CpuFeatures;

std::vector<const QuantKernelSet*> rungs_under_test() {
    std::vector<const QuantKernelSet*> out(quant_kernels_available().begin(), quant_kernels_available().end());
#if defined(VERSUS_KERNELS_AVX512_SIMDE)
    out.push_back(&qavx512_simde::rung());
    out.push_back(&qavx512_simde::rung_vnni());
    out.push_back(&qavx512_simde::rung_vbmi());
#endif
    return out;
}

const QuantKernelSet& rung_named(const std::string& isa) {
    for (const QuantKernelSet* k : rungs_under_test()) {
        if (k->isa == isa) return *k;
    }
    throw std::runtime_error("no rung " + isa);
}

const QType WEIGHT_TYPES[] = {QType::F32, QType::F16, QType::BF16, QType::Q4_0,
                              QType::Q8_0, QType::Q4_K, QType::Q5_K, QType::Q6_K};

int block_of(QType t) { return qtype_info(t)->block_elems; }

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, sigma);
    std::vector<float> v(n);
    for (auto& x : v) x = g(rng);
    return v;
}

// ---- decoders written from the format definitions (independent of quants-ref.cpp) -----------------

double h2d(uint16_t h) { return double(f16_to_f32(h)); }
uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }  // little-endian, as GGUF

// Element e of one block, in double.
double ref_q4_0(const uint8_t* b, int e) {
    const int q = e < 16 ? (b[2 + e] & 0xF) : (b[2 + e - 16] >> 4);
    return (q - 8) * h2d(rd16(b));
}
double ref_q8_0(const uint8_t* b, int e) { return int8_t(b[2 + e]) * h2d(rd16(b)); }

// 6-bit scale / min of sub-block s from the 12 packed bytes (Q4_K, Q5_K).
void ref_k_scale(const uint8_t* sc12, int s, int* sc, int* mn) {
    if (s < 4) {
        *sc = sc12[s] % 64;
        *mn = sc12[s + 4] % 64;
    } else {
        *sc = (sc12[s + 4] % 16) + 16 * (sc12[s - 4] / 64);
        *mn = (sc12[s + 4] / 16) + 16 * (sc12[s] / 64);
    }
}

// Q4_K: element e is in chunk e / 64; within it, the first 32 use low nibbles, the next 32 high nibbles.
double ref_q4_k(const uint8_t* b, int e, double* scale_part = nullptr, double* min_part = nullptr) {
    const int chunk = e / 64, within = e % 64, s = e / 32;
    const uint8_t byte = b[16 + 32 * chunk + within % 32];
    const int q = within < 32 ? (byte & 0xF) : (byte >> 4);
    int sc, mn;
    ref_k_scale(b + 4, s, &sc, &mn);
    const double a = h2d(rd16(b)) * sc * q, m = h2d(rd16(b + 2)) * mn;
    if (scale_part) *scale_part = a, *min_part = m;
    return a - m;
}

double ref_q5_k(const uint8_t* b, int e, double* scale_part = nullptr, double* min_part = nullptr) {
    const int chunk = e / 64, within = e % 64, s = e / 32;
    const uint8_t byte = b[48 + 32 * chunk + within % 32];
    const int hbit = (b[16 + within % 32] >> s) & 1;  // bit s of qh[l]: s = 2*chunk (+1 for the high half)
    const int q = (within < 32 ? (byte & 0xF) : (byte >> 4)) + 16 * hbit;
    int sc, mn;
    ref_k_scale(b + 4, s, &sc, &mn);
    const double a = h2d(rd16(b)) * sc * q, m = h2d(rd16(b + 2)) * mn;
    if (scale_part) *scale_part = a, *min_part = m;
    return a - m;
}

// Q6_K: element e = 128h + 32k + l.
double ref_q6_k(const uint8_t* b, int e) {
    const int h = e / 128, k = (e % 128) / 32, l = e % 32;
    const uint8_t low_byte = b[64 * h + 32 * (k % 2) + l];
    const int low = k < 2 ? (low_byte & 0xF) : (low_byte >> 4);
    const int high = (b[128 + 32 * h + l] >> (2 * k)) & 3;
    const int q = low | (high << 4);
    return h2d(rd16(b + 208)) * int8_t(b[192 + e / 16]) * (q - 32);
}

double ref_q8_k(const uint8_t* b, int e) {
    float d;
    std::memcpy(&d, b, 4);
    return double(d * float(int8_t(b[4 + e])));  // an f32 scale: the product rounds to f32
}

// Whole row decode, in double, by the functions above.
std::vector<double> ref_decode(QType t, const uint8_t* p, int64_t n) {
    std::vector<double> out(static_cast<size_t>(n));
    const int be = block_of(t), bb = qtype_info(t)->block_bytes;
    for (int64_t i = 0; i < n; ++i) {
        const uint8_t* b = p + size_t(i / be) * size_t(bb);
        const int e = int(i % be);
        switch (t) {
            case QType::F32: {
                float f;
                std::memcpy(&f, b, 4);
                out[i] = f;
                break;
            }
            case QType::F16: out[i] = h2d(rd16(b)); break;
            case QType::BF16: out[i] = double(bf16_to_f32(rd16(b))); break;
            case QType::Q4_0: out[i] = ref_q4_0(b, e); break;
            case QType::Q8_0: out[i] = ref_q8_0(b, e); break;
            case QType::Q4_K: out[i] = ref_q4_k(b, e); break;
            case QType::Q5_K: out[i] = ref_q5_k(b, e); break;
            case QType::Q6_K: out[i] = ref_q6_k(b, e); break;
            case QType::Q8_K: out[i] = ref_q8_k(b, e); break;
        }
    }
    return out;
}

// Random bit patterns in every quant field, with scales kept to sane finite f16 values.
std::vector<uint8_t> random_blocks(QType t, int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_real_distribution<float> scale(0.002f, 0.02f);
    std::vector<uint8_t> v(qtype_row_bytes(t, n));
    for (auto& b : v) b = uint8_t(byte(rng));
    const int bb = qtype_info(t)->block_bytes;
    auto put16 = [](uint8_t* p, uint16_t h) { p[0] = uint8_t(h & 0xFF), p[1] = uint8_t(h >> 8); };
    for (size_t off = 0; off < v.size(); off += size_t(bb)) {
        uint8_t* b = v.data() + off;
        switch (t) {
            case QType::F32: {
                const float f = scale(rng) * 50 * (byte(rng) & 1 ? 1 : -1);
                std::memcpy(b, &f, 4);
                break;
            }
            case QType::F16: put16(b, f32_to_f16(scale(rng) * 50 * (byte(rng) & 1 ? 1 : -1))); break;
            case QType::BF16: put16(b, f32_to_bf16(scale(rng) * 50 * (byte(rng) & 1 ? 1 : -1))); break;
            case QType::Q4_0:
            case QType::Q8_0: put16(b, f32_to_f16(scale(rng))); break;
            case QType::Q4_K:
            case QType::Q5_K:
                put16(b, f32_to_f16(scale(rng) * 0.1f));
                put16(b + 2, f32_to_f16(scale(rng) * 0.1f));
                break;
            case QType::Q6_K: put16(b + 208, f32_to_f16(scale(rng) * 0.01f)); break;
            case QType::Q8_K: {
                const float d = scale(rng);
                std::memcpy(b, &d, 4);
                break;
            }
        }
    }
    return v;
}

// ---- hand-built blocks -----------------------------------------------------------------------------

TEST(QuantFormats, SizesAndIds) {
    EXPECT_EQ(sizeof(versus_block_q4_0), 18u);
    EXPECT_EQ(sizeof(versus_block_q8_0), 34u);
    EXPECT_EQ(sizeof(versus_block_q4_K), 144u);
    EXPECT_EQ(sizeof(versus_block_q5_K), 176u);
    EXPECT_EQ(sizeof(versus_block_q6_K), 210u);
    EXPECT_EQ(sizeof(versus_block_q8_K), 292u);
    EXPECT_EQ(uint32_t(QType::BF16), 30u);
    EXPECT_EQ(uint32_t(QType::Q6_K), 14u);
    EXPECT_EQ(qtype_row_bytes(QType::Q4_0, 4096), 2304u);
    EXPECT_EQ(qtype_row_bytes(QType::Q4_K, 4096), 2304u);
    EXPECT_EQ(qtype_row_bytes(QType::Q6_K, 4096), 3360u);
    EXPECT_EQ(qtype_row_bytes(QType::F16, 3), 6u);
    EXPECT_STREQ(qtype_info(QType::Q5_K)->name, "q5_K");
    EXPECT_EQ(qtype_info(QType(3)), nullptr);  // Q4_1: not ours
    EXPECT_THROW(qtype_row_bytes(QType::Q4_0, 33), std::invalid_argument);
    EXPECT_THROW(qtype_row_bytes(QType(3), 32), std::invalid_argument);
    EXPECT_EQ(vec_dot_type(QType::Q4_0), QType::Q8_0);
    EXPECT_EQ(vec_dot_type(QType::Q8_0), QType::Q8_0);
    EXPECT_EQ(vec_dot_type(QType::Q5_K), QType::Q8_K);
    EXPECT_EQ(vec_dot_type(QType::BF16), QType::F32);
    EXPECT_THROW(vec_dot_type(QType::Q8_K), std::invalid_argument);
}

TEST(QuantFormats, Q4_0NibbleOrder) {
    uint8_t b[18];
    b[0] = 0x00, b[1] = 0x3C;  // d = 1.0
    for (int j = 0; j < 16; ++j) b[2 + j] = uint8_t(j | ((15 - j) << 4));
    float y[32];
    dequantize_row(QType::Q4_0, b, y, 32);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(y[j], float(j - 8)) << j;
        EXPECT_EQ(y[16 + j], float(7 - j)) << 16 + j;
    }
    b[0] = 0x00, b[1] = 0xB8;  // d = -0.5
    dequantize_row(QType::Q4_0, b, y, 32);
    EXPECT_EQ(y[0], 4.0f);     // (0 - 8) * -0.5
    EXPECT_EQ(y[16], -3.5f);   // (15 - 8) * -0.5
}

TEST(QuantFormats, Q8_0Signed) {
    uint8_t b[34];
    b[0] = 0x00, b[1] = 0x40;  // d = 2.0
    for (int j = 0; j < 32; ++j) b[2 + j] = uint8_t(int8_t(j * 8 - 128));
    float y[32];
    dequantize_row(QType::Q8_0, b, y, 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 2.0f * float(j * 8 - 128)) << j;
}

// Scales 0..7 = 1, 10, 20, 30, 40, 50, 60, 63 and mins 63 - scale, packed by hand.
TEST(QuantFormats, Q4_KScaleUnpacking) {
    const int sc[8] = {1, 10, 20, 30, 40, 50, 60, 63}, mn[8] = {62, 53, 43, 33, 23, 13, 3, 0};
    uint8_t b[144] = {};
    b[0] = 0x00, b[1] = 0x3C;  // d = 1
    b[2] = 0x00, b[3] = 0x38;  // dmin = 0.5
    for (int j = 0; j < 4; ++j) {
        b[4 + j] = uint8_t(sc[j] | ((sc[j + 4] >> 4) << 6));
        b[8 + j] = uint8_t(mn[j] | ((mn[j + 4] >> 4) << 6));
        b[12 + j] = uint8_t((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
    }
    for (int l = 0; l < 128; ++l) b[16 + l] = uint8_t(l % 16 | ((15 - l % 16) << 4));
    float y[256];
    dequantize_row(QType::Q4_K, b, y, 256);
    for (int e = 0; e < 256; ++e) {
        const int s = e / 32, l = e % 32, chunk = e / 64;
        const int byte = (32 * chunk + l) % 16;  // qs index 32 * chunk + l, pattern repeats every 16
        const int q = (e % 64) < 32 ? byte : 15 - byte;
        EXPECT_EQ(y[e], float(sc[s] * q) - 0.5f * float(mn[s])) << e;
    }
}

TEST(QuantFormats, Q6_KLayout) {
    uint8_t b[210] = {};
    for (int g = 0; g < 16; ++g) b[192 + g] = uint8_t(int8_t(g - 8));  // scales -8 .. 7
    b[208] = 0x00, b[209] = 0x3C;  // d = 1
    // Element 128h + 32k + l gets quant (l + 7k + 3h) % 64.
    for (int h = 0; h < 2; ++h) {
        for (int k = 0; k < 4; ++k) {
            for (int l = 0; l < 32; ++l) {
                const int q = (l + 7 * k + 3 * h) % 64;
                uint8_t& lo = b[64 * h + 32 * (k % 2) + l];
                lo |= uint8_t(k < 2 ? (q & 15) : (q & 15) << 4);
                b[128 + 32 * h + l] |= uint8_t((q >> 4) << (2 * k));
            }
        }
    }
    float y[256];
    dequantize_row(QType::Q6_K, b, y, 256);
    for (int e = 0; e < 256; ++e) {
        const int h = e / 128, k = (e % 128) / 32, l = e % 32;
        const int q = (l + 7 * k + 3 * h) % 64;
        EXPECT_EQ(y[e], float((e / 16 - 8) * (q - 32))) << e;
    }
}

// Random bits in every field, decoded here and by dequantize_row.
TEST(QuantFormats, RandomBlocksDecodeAsDefined) {
    for (QType t : {QType::F32, QType::F16, QType::BF16, QType::Q4_0, QType::Q8_0, QType::Q4_K, QType::Q5_K,
                    QType::Q6_K, QType::Q8_K}) {
        const int64_t n = 256 * 6;
        const auto bytes = random_blocks(t, n, 7 + uint32_t(t));
        std::vector<float> got(n);
        dequantize_row(t, bytes.data(), got.data(), n);
        const auto want = ref_decode(t, bytes.data(), n);
        int bad = 0;
        for (int64_t i = 0; i < n; ++i) {
            double tol = 0;
            if (t == QType::Q4_K || t == QType::Q5_K) {
                // d * sc * q - dmin * m in f32: each product rounds once, then the difference.
                const uint8_t* b = bytes.data() + size_t(i / 256) * qtype_info(t)->block_bytes;
                double a, m;
                (t == QType::Q4_K ? ref_q4_k : ref_q5_k)(b, int(i % 256), &a, &m);
                tol = 2 * std::ldexp(std::fabs(a) + std::fabs(m), -24);
            }
            if (!(std::fabs(double(got[i]) - want[i]) <= tol) && ++bad <= 5) {
                ADD_FAILURE() << qtype_info(t)->name << " element " << i << ": got " << got[i] << " want " << want[i];
            }
        }
        EXPECT_EQ(bad, 0) << qtype_info(t)->name;
    }
}

// ---- quantizers ------------------------------------------------------------------------------------

double relative_rmse(QType t, const std::vector<float>& x) {
    std::vector<uint8_t> q(qtype_row_bytes(t, int64_t(x.size())));
    quantize_row(t, x.data(), q.data(), int64_t(x.size()));
    std::vector<float> y(x.size());
    dequantize_row(t, q.data(), y.data(), int64_t(x.size()));
    double err = 0, sig = 0;
    for (size_t i = 0; i < x.size(); ++i) err += (double(x[i]) - y[i]) * (double(x[i]) - y[i]), sig += double(x[i]) * x[i];
    return std::sqrt(err / sig);
}

// Relative RMS error on N(0, 1) data, bounds ~3% above what this implementation measures (f16 0.00021,
// bf16 0.00168, q8_0 0.00535, q8_K 0.00694, q6_K 0.01693, q5_K 0.03473, q4_K 0.07041, q4_0 0.08602). For
// comparison, libggml's reference quantizers on such data: q8_0 and q4_0 the same bytes, q6_K 0.0178, q5_K
// 0.0360, q4_K 0.0712. Q4_0 cannot do better than ~0.086 by rounding: its step is max|x| / 8.
TEST(Quantize, GaussianErrorBounds) {
    const auto x = gaussian(256 * 128, 11);
    struct Bound {
        QType t;
        double max_rel_rmse;
    };
    const Bound bounds[] = {
        {QType::F16, 0.00022}, {QType::BF16, 0.00175}, {QType::Q8_0, 0.0055}, {QType::Q8_K, 0.0072},
        {QType::Q6_K, 0.0175}, {QType::Q5_K, 0.0358},  {QType::Q4_K, 0.0725}, {QType::Q4_0, 0.0886},
    };
    for (const Bound& b : bounds) {
        const double e = relative_rmse(b.t, x);
        RecordProperty(std::string("rmse_") + qtype_info(b.t)->name, std::to_string(e));
        std::printf("  %-5s relative rmse %.5f (bound %.4f)\n", qtype_info(b.t)->name, e, b.max_rel_rmse);
        EXPECT_LT(e, b.max_rel_rmse) << qtype_info(b.t)->name;
    }
    EXPECT_EQ(relative_rmse(QType::F32, x), 0.0);
}

// Awkward inputs: zeros, one spike, all positive (mins clamp at 0), tiny and huge magnitudes.
TEST(Quantize, EdgeInputsRoundTrip) {
    std::vector<std::vector<float>> cases;
    cases.push_back(std::vector<float>(256, 0.0f));
    std::vector<float> spike(256, 0.0f);
    spike[77] = -3.0f;
    cases.push_back(spike);
    auto pos = gaussian(256, 5);
    for (auto& v : pos) v = std::fabs(v) + 1.0f;
    cases.push_back(pos);
    auto tiny = gaussian(256, 6, 1e-4f);  // scales in f16's subnormal range
    cases.push_back(tiny);
    auto big = gaussian(256, 7, 1000.0f);
    cases.push_back(big);
    for (QType t : {QType::Q4_0, QType::Q8_0, QType::Q4_K, QType::Q5_K, QType::Q6_K, QType::Q8_K}) {
        for (size_t c = 0; c < cases.size(); ++c) {
            const auto& x = cases[c];
            std::vector<uint8_t> q(qtype_row_bytes(t, 256));
            quantize_row(t, x.data(), q.data(), 256);
            std::vector<float> y(256);
            dequantize_row(t, q.data(), y.data(), 256);
            double amax = 0, err = 0;
            for (int i = 0; i < 256; ++i) amax = std::max(amax, std::fabs(double(x[i])));
            for (int i = 0; i < 256; ++i) err = std::max(err, std::fabs(double(x[i]) - y[i]));
            // Zero stays zero; otherwise no element is off by more than a quarter of the block's range
            // (Q4's step is amax / 8; all-positive K-quant blocks keep their offset in the mins).
            if (amax == 0) {
                EXPECT_EQ(err, 0.0) << qtype_info(t)->name << " case " << c;
            } else {
                EXPECT_LE(err, 0.25 * amax) << qtype_info(t)->name << " case " << c;
            }
        }
    }
}

TEST(Quantize, ReferenceRoundingQ4_0Q8_0) {
    // Q8_0: d = 127 / 127 = 1, q = round half away from zero.
    std::vector<float> x(32, 0.0f);
    x[0] = 127.0f, x[1] = 2.5f, x[2] = -2.5f, x[3] = 0.49f;
    uint8_t q8[34];
    quantize_row(QType::Q8_0, x.data(), q8, 32);
    EXPECT_EQ(rd16(q8), f32_to_f16(1.0f));
    EXPECT_EQ(int8_t(q8[2]), 127);
    EXPECT_EQ(int8_t(q8[3]), 3);
    EXPECT_EQ(int8_t(q8[4]), -3);
    EXPECT_EQ(int8_t(q8[5]), 0);
    // Q4_0: the largest-magnitude element (-8) maps to q = 0 with d = -8 / -8 = 1.
    std::vector<float> z(32, 0.0f);
    z[0] = -8.0f, z[17] = 7.0f, z[5] = 0.5f;
    uint8_t q4[18];
    quantize_row(QType::Q4_0, z.data(), q4, 32);
    EXPECT_EQ(rd16(q4), f32_to_f16(1.0f));
    EXPECT_EQ(q4[2] & 0xF, 0);         // -8 -> 0
    EXPECT_EQ(q4[2 + 1] >> 4, 15);     // 7 -> 15
    EXPECT_EQ(q4[2 + 5] & 0xF, 9);     // 0.5 -> floor(8.5 + 0.5) = 9
}

TEST(Quantize, RowsInParallelMatchRowByRow) {
    const int64_t rows = 37, n = 512;
    const auto x = gaussian(size_t(rows * n), 3);
    ThreadPool pool(3);
    for (QType t : {QType::Q4_0, QType::Q4_K, QType::Q6_K, QType::BF16}) {
        const size_t rb = qtype_row_bytes(t, n);
        std::vector<uint8_t> a(rb * rows), b(rb * rows);
        quantize_rows(t, x.data(), a.data(), rows, n, pool);
        for (int64_t r = 0; r < rows; ++r) quantize_row(t, x.data() + r * n, b.data() + size_t(r) * rb, n);
        EXPECT_EQ(a, b) << qtype_info(t)->name;
    }
}

// ---- activation quantizers ---------------------------------------------------------------------------

// Per rung (what runs on the calling thread) and per (rung, threads) (what the pool splits).
class QuantRung : public ::testing::TestWithParam<std::string> {
protected:
    const QuantKernelSet& k() const { return rung_named(GetParam()); }
};

class QuantRungTest : public ::testing::TestWithParam<std::tuple<std::string, int>> {
protected:
    const QuantKernelSet& k() const { return rung_named(std::get<0>(GetParam())); }
    int threads() const { return std::get<1>(GetParam()); }
};

TEST_P(QuantRung, ActivationsMatchScalarBytes) {
    auto x = gaussian(256 * 9, 21);
    for (int i = 0; i < 32; ++i) x[256 + i] = 0.0f;   // an all-zero Q8_0 block
    for (int i = 0; i < 256; ++i) x[512 + i] = 0.0f;  // an all-zero Q8_K block
    x[1000] = 1e4f;                                   // a spike
    x[1001] = -3.5f;
    const int64_t n = int64_t(x.size());
    for (QType act : {QType::Q8_0, QType::Q8_K}) {
        std::vector<uint8_t> want(qtype_row_bytes(act, n)), got(want.size(), 0xAB);
        quantize_activations(quant_kernels_ref(), act, x.data(), want.data(), n);
        quantize_activations(k(), act, x.data(), got.data(), n);
        EXPECT_EQ(got, want) << qtype_info(act)->name;
        // Within half a step (plus the f16 rounding of Q8_0's d) of the input; bsums are the group sums.
        std::vector<float> y(static_cast<size_t>(n));
        dequantize_row(act, got.data(), y.data(), n);
        const int be = block_of(act), bb = qtype_info(act)->block_bytes;
        for (int64_t i = 0; i < n; ++i) {
            const uint8_t* b = got.data() + size_t(i / be) * size_t(bb);
            const double d = act == QType::Q8_0 ? h2d(rd16(b)) : ref_q8_k(b, 0) / std::max(1, std::abs(int8_t(b[4])));
            double amax = 0;
            for (int64_t j = i / be * be; j < i / be * be + be; ++j) amax = std::max(amax, std::fabs(double(x[j])));
            ASSERT_LE(std::fabs(double(x[i]) - y[i]), amax / 127 * 0.5 * 1.001 + std::fabs(d) * 127 * 1e-3) << i;
        }
        if (act == QType::Q8_K) {
            for (int64_t ib = 0; ib < n / 256; ++ib) {
                const uint8_t* b = got.data() + size_t(ib) * 292;
                for (int g = 0; g < 16; ++g) {
                    int sum = 0;
                    for (int j = 0; j < 16; ++j) sum += int8_t(b[4 + 16 * g + j]);
                    int16_t bs;
                    std::memcpy(&bs, b + 260 + 2 * g, 2);
                    ASSERT_EQ(bs, sum) << "block " << ib << " group " << g;
                }
            }
        }
    }
}

// ---- vec_dot and matmul -----------------------------------------------------------------------------

struct MatmulCase {
    int64_t n_in, n_out, n_tok;
};

// Weights: random bits in every field (quant types) or random values; activations: Gaussian, quantized
// by the scalar rung (every rung produces the same bytes, tested above).
struct Problem {
    QType wt;
    MatmulCase c;
    std::vector<uint8_t> W, X;        // W (n_out rows), X (n_tok rows in vec_dot_type)
    std::vector<float> xf;            // unquantized activations (n_tok, n_in)
    std::vector<double> wd, xd;       // decoded W and X
};

Problem make_problem(QType wt, const MatmulCase& c, uint32_t seed) {
    Problem p{wt, c, {}, {}, {}, {}, {}};
    p.W = random_blocks(wt, c.n_in * c.n_out, seed);
    p.xf = gaussian(size_t(c.n_in * c.n_tok), seed + 1);
    const QType at = vec_dot_type(wt);
    const size_t xrb = qtype_row_bytes(at, c.n_in);
    p.X.resize(xrb * size_t(c.n_tok));
    for (int64_t t = 0; t < c.n_tok; ++t) {
        quantize_activations(quant_kernels_ref(), at, p.xf.data() + t * c.n_in, p.X.data() + size_t(t) * xrb, c.n_in);
    }
    p.wd = ref_decode(wt, p.W.data(), c.n_in * c.n_out);
    p.xd = ref_decode(at, p.X.data(), c.n_in * c.n_tok);
    return p;
}

// Checks y (n_tok, n_out) against fp64 references: tight against the decoded activations (the kernels are
// exact integer block dots scaled in f32), and bounded by the activation rounding against the raw ones.
void check_result(const Problem& p, const std::vector<float>& y, const std::string& what) {
    const auto& c = p.c;
    const bool quant_act = vec_dot_type(p.wt) != QType::F32;
    const int ab = quant_act ? block_of(vec_dot_type(p.wt)) : 1;
    int bad = 0;
    for (int64_t t = 0; t < c.n_tok; ++t) {
        // Per element bound of |x - decoded x|: half a step plus the rounding of the stored scale.
        std::vector<double> xerr(size_t(c.n_in), 0.0);
        if (quant_act) {
            for (int64_t b0 = 0; b0 < c.n_in; b0 += ab) {
                double amax = 0;
                for (int64_t i = b0; i < b0 + ab; ++i) amax = std::max(amax, std::fabs(double(p.xf[t * c.n_in + i])));
                for (int64_t i = b0; i < b0 + ab; ++i) xerr[i] = amax / 127 * (0.5 + 127.0 / 1024);
            }
        }
        for (int64_t o = 0; o < c.n_out; ++o) {
            double exact = 0, abs_sum = 0, raw = 0, raw_bound = 0;
            for (int64_t i = 0; i < c.n_in; ++i) {
                const double w = p.wd[o * c.n_in + i], xq = p.xd[t * c.n_in + i];
                exact += w * xq;
                abs_sum += std::fabs(w * xq);
                raw += w * double(p.xf[t * c.n_in + i]);
                raw_bound += std::fabs(w) * xerr[i];
            }
            const double got = y[size_t(t * c.n_out + o)];
            const double tight = 2e-6 * abs_sum + 1e-30;
            const double loose = raw_bound * 1.0001 + tight;
            if (!(std::fabs(got - exact) <= tight) || !(std::fabs(got - raw) <= loose)) {
                if (++bad <= 5) {
                    ADD_FAILURE() << what << " " << qtype_info(p.wt)->name << " n_in=" << c.n_in << " n_out=" << c.n_out
                                  << " n_tok=" << c.n_tok << " at (t=" << t << ", o=" << o << "): got " << got
                                  << " want " << exact << " (tol " << tight << "), raw " << raw << " (tol " << loose
                                  << ")";
                }
            }
        }
    }
    EXPECT_EQ(bad, 0) << what << " " << qtype_info(p.wt)->name;
}

std::vector<MatmulCase> cases_for(QType wt) {
    const int64_t b = block_of(wt) == 1 ? 32 : block_of(wt);
    // Odd block counts for Q4_0/Q8_0 (their rungs pair blocks) and n_in off the vector width for floats.
    const int64_t small = wt == QType::Q4_0 || wt == QType::Q8_0 ? 3 * b : (block_of(wt) == 1 ? 83 : b);
    const int64_t big = wt == QType::Q4_0 || wt == QType::Q8_0 ? 33 * b : (block_of(wt) == 1 ? 515 : 4 * b);
    // The last cases are large enough (> 64 KiB of weight traffic) for matmul to use the pool.
    return {
        {small, 1, 1},  {small, 7, 3},  {small, 37, 8}, {small, 5, 33},
        {big, 67, 1},   {big, 301, 1},  {big, 67, 33},  {big, 130, 8},
    };
}

TEST_P(QuantRungTest, MatmulAgainstFp64) {
    ThreadPool pool(threads());
    uint32_t seed = 100;
    for (QType wt : WEIGHT_TYPES) {
        for (const MatmulCase& c : cases_for(wt)) {
            const Problem p = make_problem(wt, c, seed += 7);
            std::vector<float> y(size_t(c.n_out * c.n_tok), std::numeric_limits<float>::quiet_NaN());
            matmul(k(), wt, p.W.data(), c.n_in, c.n_out, p.X.data(), c.n_tok, y.data(), pool);
            check_result(p, y, std::string(k().isa) + " matmul");
        }
    }
}

// The prefill paths (QuantPanel, QuantGemm) from their first token count on, whatever that is: panels cut off
// the rows (n_out not a multiple of the panel) and token counts off the kernel's group.
TEST_P(QuantRungTest, PrefillPathsAgainstFp64) {
    ThreadPool pool(threads());
    uint32_t seed = 500;
    for (QType wt : WEIGHT_TYPES) {
        const QuantKernelSet& rung = k();
        const QuantTile* tile = wt == QType::F32    ? &rung.f32
                                : wt == QType::F16  ? &rung.f16
                                : wt == QType::BF16 ? &rung.bf16
                                : wt == QType::Q4_0 ? &rung.q4_0
                                : wt == QType::Q8_0 ? &rung.q8_0
                                : wt == QType::Q4_K ? &rung.q4_k
                                : wt == QType::Q5_K ? &rung.q5_k
                                                    : &rung.q6_k;
        int64_t first = 0, rows = 1;
        if (tile->panel.pack) first = tile->panel.min_toks, rows = tile->panel.rows;
        if (tile->gemm.fn) first = tile->gemm.min_toks, rows = 32;
        if (first == 0) continue;
        const int64_t n_in = block_of(wt) == 1 ? 300 : 2 * std::max(block_of(wt), 256);
        for (const MatmulCase& c : {MatmulCase{n_in, 2 * rows + 5, first}, MatmulCase{n_in, rows - 3, first + 7}}) {
            const Problem p = make_problem(wt, c, seed += 7);
            std::vector<float> y(size_t(c.n_out * c.n_tok), std::numeric_limits<float>::quiet_NaN());
            matmul(rung, wt, p.W.data(), c.n_in, c.n_out, p.X.data(), c.n_tok, y.data(), pool);
            check_result(p, y, std::string(rung.isa) + " prefill");
        }
    }
}

TEST_P(QuantRung, VecDotAgainstFp64) {
    uint32_t seed = 900;
    for (QType wt : WEIGHT_TYPES) {
        const MatmulCase c = cases_for(wt)[4];
        const Problem p = make_problem(wt, {c.n_in, 3, 2}, seed += 7);
        const size_t wrb = qtype_row_bytes(wt, c.n_in), xrb = qtype_row_bytes(vec_dot_type(wt), c.n_in);
        std::vector<float> y(6);
        for (int t = 0; t < 2; ++t) {
            for (int o = 0; o < 3; ++o) {
                y[size_t(t * 3 + o)] =
                    vec_dot(k(), wt, c.n_in, p.W.data() + size_t(o) * wrb, p.X.data() + size_t(t) * xrb);
            }
        }
        check_result(p, y, std::string(k().isa) + " vec_dot");
    }
}

// Weights produced by the quantizers (not random bits) and activations at LLM scale, on a shape with
// several chunks per thread: the end-to-end path of a decode step and a short prefill.
TEST_P(QuantRungTest, QuantizedGaussianWeights) {
    ThreadPool pool(threads());
    for (QType wt : {QType::Q4_0, QType::Q8_0, QType::Q4_K, QType::Q5_K, QType::Q6_K, QType::F16}) {
        const int64_t n_in = 512, n_out = 150;
        const auto wf = gaussian(size_t(n_in * n_out), 77, 0.02f);
        std::vector<uint8_t> W(qtype_row_bytes(wt, n_in) * n_out);
        quantize_rows(wt, wf.data(), W.data(), n_out, n_in, pool);
        for (int64_t n_tok : {1, 9}) {
            Problem p{wt, {n_in, n_out, n_tok}, W, {}, gaussian(size_t(n_in * n_tok), 78), {}, {}};
            const QType at = vec_dot_type(wt);
            const size_t xrb = qtype_row_bytes(at, n_in);
            p.X.resize(xrb * n_tok);
            for (int64_t t = 0; t < n_tok; ++t) {
                quantize_activations(k(), at, p.xf.data() + t * n_in, p.X.data() + t * xrb, n_in);
            }
            p.wd = ref_decode(wt, W.data(), n_in * n_out);
            p.xd = ref_decode(at, p.X.data(), n_in * n_tok);
            std::vector<float> y(size_t(n_out * n_tok));
            matmul(k(), wt, W.data(), n_in, n_out, p.X.data(), n_tok, y.data(), pool);
            check_result(p, y, std::string(k().isa) + " quantized");
        }
    }
}

TEST_P(QuantRung, RejectsBadShapesAndTypes) {
    ThreadPool pool(2);
    std::vector<uint8_t> buf(4096);
    float y[4];
    EXPECT_THROW(matmul(k(), QType::Q8_K, buf.data(), 256, 1, buf.data(), 1, y, pool), std::invalid_argument);
    EXPECT_THROW(matmul(k(), QType::Q4_0, buf.data(), 48, 1, buf.data(), 1, y, pool), std::invalid_argument);
    EXPECT_THROW(matmul(k(), QType(3), buf.data(), 32, 1, buf.data(), 1, y, pool), std::invalid_argument);
    matmul(k(), QType::Q4_0, buf.data(), 32, 0, buf.data(), 1, y, pool);  // nothing to do, no throw
    y[0] = 5;
    matmul(k(), QType::Q4_K, buf.data(), 0, 1, buf.data(), 1, y, pool);   // empty rows: dot is 0
    EXPECT_EQ(y[0], 0.0f);
}

std::vector<std::tuple<std::string, int>> all_params() {
    std::vector<std::tuple<std::string, int>> out;
    for (const QuantKernelSet* k : rungs_under_test()) {
        for (int t : {1, 2, 3}) out.emplace_back(std::string(k->isa), t);
    }
    return out;
}

std::string param_name(const ::testing::TestParamInfo<std::tuple<std::string, int>>& info) {
    std::string name = std::get<0>(info.param) + "_t" + std::to_string(std::get<1>(info.param));
    for (char& c : name) {
        if (c == '-') c = '_';
    }
    return name;
}

INSTANTIATE_TEST_SUITE_P(Rungs, QuantRungTest, ::testing::ValuesIn(all_params()), param_name);

std::vector<std::string> all_rungs() {
    std::vector<std::string> out;
    for (const QuantKernelSet* k : rungs_under_test()) out.emplace_back(k->isa);
    return out;
}

INSTANTIATE_TEST_SUITE_P(Rungs, QuantRung, ::testing::ValuesIn(all_rungs()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             std::string name = info.param;
                             for (char& c : name) {
                                 if (c == '-') c = '_';
                             }
                             return name;
                         });

// ---- registry -------------------------------------------------------------------------------------

TEST(QuantLadder, ScalarFirstBestLast) {
    const auto rungs = quant_kernels_available();
    ASSERT_FALSE(rungs.empty());
    EXPECT_EQ(rungs.front()->isa, "scalar");
    EXPECT_EQ(&quant_kernels_ref(), rungs.front());
    EXPECT_EQ(&quant_kernels_best(), rungs.back());
    for (size_t i = 0; i < rungs.size(); ++i) {
        for (size_t j = 0; j < i; ++j) EXPECT_NE(rungs[j]->isa, rungs[i]->isa);
        for (const QuantTile* t : {&rungs[i]->f32, &rungs[i]->f16, &rungs[i]->bf16, &rungs[i]->q4_0, &rungs[i]->q8_0,
                                   &rungs[i]->q4_k, &rungs[i]->q5_k, &rungs[i]->q6_k}) {
            EXPECT_NE(t->fn, nullptr);
            EXPECT_GE(t->rows, 1);
            EXPECT_GE(t->toks, 1);
        }
    }
}

TEST(QuantLadder, MatchesIsaBits) {
    const uint32_t bits = isa_bits();
    std::vector<std::string> want = {"scalar"};
#if defined(__x86_64__)
    if (bits & ISA_AVX2) want.push_back("avx2");
    const bool avx512 = bits & ISA_AVX512;
    if (avx512) want.push_back("avx512");
    if (avx512 && (bits & ISA_AVX512_VNNI)) want.push_back("avx512-vnni");
    if (avx512 && (bits & ISA_AVX512_VNNI) && (bits & ISA_AVX512_VBMI)) want.push_back("avx512-vnni-vbmi");
#elif defined(__aarch64__)
    want.push_back("neon");
    if (bits & ISA_NEON_DOTPROD) want.push_back("neon-dotprod");
#endif
    std::vector<std::string> got;
    for (const QuantKernelSet* k : quant_kernels_available()) got.emplace_back(k->isa);
    EXPECT_EQ(got, want);
    (void)bits;
}

}  // namespace
