// gemm: C(M,N) = A(M,K) · B(K,N) per dtype. On the CPU: f32/f64 through CBLAS, f16/bf16/int8
// through versus's own kernels; on CUDA through cuBLASLt (tf32 and fp8 too). Reports GFLOP/s (GOP/s
// for int8) and % of the device's peak. On devices with timers each op is timed on the device after
// a cache flush, so small sizes do not read inputs the previous repetition left in the cache.
#include <cmath>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "backend/cpu/kernels.hpp"
#include "base/error.hpp"
#include "workloads/fill.hpp"
#include "workloads/fp8.hpp"
#include "workloads/workload.hpp"

namespace versus::workloads {
namespace {

versus_dtype dtype_of(const Params& p) {
    versus_dtype d = VERSUS_DTYPE_F32;
    backend::dtype_from_name(p.str("dtype"), &d);
    return d;
}

// Output element size: i32 for int8, f64 for f64, f32 otherwise.
size_t out_size(versus_dtype d) { return d == VERSUS_DTYPE_F64 ? 8 : 4; }

class GemmInstance : public Instance {
public:
    GemmInstance(const Target& t, versus_dtype dtype, int n) : t_(t), dtype_(dtype), n_(n) {
        const size_t in = backend::dtype_size(dtype);
        const size_t elems = static_cast<size_t>(n) * n;
        // Host copies of the inputs in the device's format, kept for the check.
        a_.resize(elems * in);
        b_.resize(elems * in);
        Rng rng(0x6e6d6d + static_cast<uint64_t>(n));
        encode(rng, a_.data(), elems);
        encode(rng, b_.data(), elems);
        A_ = t.backend.alloc(t.device, elems * in);
        B_ = t.backend.alloc(t.device, elems * in);
        C_ = t.backend.alloc(t.device, elems * out_size(dtype));
        t.backend.copy_h2d(t.device, A_.get(), a_.data(), a_.size());
        t.backend.copy_h2d(t.device, B_.get(), b_.data(), b_.size());
        t.backend.synchronize(t.device);
    }

    void run() override {
        enqueue();
        t_.backend.synchronize(t_.device);
    }
    bool device_timed() const override { return t_.backend.has_timer(); }
    void enqueue() override { t_.backend.gemm(t_.device, dtype_, n_, n_, n_, A_.get(), B_.get(), C_.get()); }
    void before_rep() override {
        if (t_.backend.has_cache_flush()) t_.backend.cache_flush(t_.device);
    }

    Check check() override {
        const size_t elems = static_cast<size_t>(n_) * n_;
        std::vector<uint8_t> c(elems * out_size(dtype_));
        t_.backend.copy_d2h(t_.device, c.data(), C_.get(), c.size());
        t_.backend.synchronize(t_.device);
        // Spot-check entries against an fp64 dot product of the inputs as the device saw them;
        // the bound is f32 accumulation error relative to sum |a_k b_k| (exact for int8), wider for
        // tf32 (inputs rounded to 10 mantissa bits inside the op) and fp8 (tensor-core accumulation).
        const double rtol = dtype_ == VERSUS_DTYPE_I8    ? 0
                            : dtype_ == VERSUS_DTYPE_F64 ? 1e-12
                            : dtype_ == VERSUS_DTYPE_TF32 || dtype_ == VERSUS_DTYPE_FP8
                                ? 2e-3
                                : 1e-4 + 1e-6 * std::sqrt(n_);
        Rng pick(7);
        double checksum = 0;
        Check out;
        for (int s = 0; s < 64; ++s) {
            const int i = static_cast<int>(pick.range(0, n_ - 1)), j = static_cast<int>(pick.range(0, n_ - 1));
            double ref = 0, mag = 0;
            for (int k = 0; k < n_; ++k) {
                const double prod = input(a_.data(), static_cast<size_t>(i) * n_ + k) *
                                    input(b_.data(), static_cast<size_t>(k) * n_ + j);
                ref += prod;
                mag += std::fabs(prod);
            }
            const double got = value(c.data(), static_cast<size_t>(i) * n_ + j);
            checksum += got;
            if (!(std::fabs(got - ref) <= rtol * mag) && out.ok) {
                out.ok = false;
                out.message = fmt::format("C[{},{}] = {} but the fp64 reference is {} (bound {:.3g})", i, j, got, ref,
                                          rtol * mag);
            }
        }
        out.checksum = fmt::format("{:.6e}", checksum);
        return out;
    }

private:
    void encode(Rng& rng, uint8_t* dst, size_t n) const {
        for (size_t i = 0; i < n; ++i) {
            switch (dtype_) {
                case VERSUS_DTYPE_I8: dst[i] = static_cast<uint8_t>(static_cast<int8_t>(rng.range(-127, 127))); break;
                case VERSUS_DTYPE_FP8: dst[i] = f32_to_e4m3(static_cast<float>(rng.uniform())); break;
                case VERSUS_DTYPE_F64: {
                    const double v = rng.uniform();
                    std::memcpy(dst + i * 8, &v, 8);
                    break;
                }
                case VERSUS_DTYPE_BF16:
                case VERSUS_DTYPE_F16: {
                    const float f = static_cast<float>(rng.uniform());
                    const uint16_t v = dtype_ == VERSUS_DTYPE_BF16 ? cpu::f32_to_bf16(f) : cpu::f32_to_f16(f);
                    std::memcpy(dst + i * 2, &v, 2);
                    break;
                }
                default: {  // f32 and tf32 share f32 storage
                    const float v = static_cast<float>(rng.uniform());
                    std::memcpy(dst + i * 4, &v, 4);
                }
            }
        }
    }

    // Input element idx as the device sees it, widened exactly to double.
    double input(const uint8_t* src, size_t idx) const {
        switch (dtype_) {
            case VERSUS_DTYPE_I8: return static_cast<int8_t>(src[idx]);
            case VERSUS_DTYPE_FP8: return e4m3_to_f32(src[idx]);
            case VERSUS_DTYPE_F64: {
                double v;
                std::memcpy(&v, src + idx * 8, 8);
                return v;
            }
            case VERSUS_DTYPE_BF16:
            case VERSUS_DTYPE_F16: {
                uint16_t v;
                std::memcpy(&v, src + idx * 2, 2);
                return dtype_ == VERSUS_DTYPE_BF16 ? cpu::bf16_to_f32(v) : cpu::f16_to_f32(v);
            }
            default: {
                float v;
                std::memcpy(&v, src + idx * 4, 4);
                return v;
            }
        }
    }

    double value(const uint8_t* c, size_t idx) const {
        if (dtype_ == VERSUS_DTYPE_I8) {
            int32_t v;
            std::memcpy(&v, c + idx * 4, 4);
            return v;
        }
        if (dtype_ == VERSUS_DTYPE_F64) {
            double v;
            std::memcpy(&v, c + idx * 8, 8);
            return v;
        }
        float v;
        std::memcpy(&v, c + idx * 4, 4);
        return v;
    }

    Target t_;
    versus_dtype dtype_;
    int n_;
    std::vector<uint8_t> a_, b_;
    backend::DeviceBuffer A_, B_, C_;
};

class Gemm : public Workload {
public:
    std::string_view key() const override { return "gemm"; }
    std::string_view description() const override {
        return "dense matrix multiply C = A*B per dtype (square, row-major); GFLOP/s and % of peak";
    }
    std::vector<ParamSpec> params() const override {
        return {
            {"dtype", "dtype", core::ParamKind::CHOICE, "input type (i8 gives int32 output)",
             {"f32", "f64", "tf32", "f16", "bf16", "i8", "fp8"}, "f32,bf16,f16,i8", "f32,f64,tf32,f16,bf16,i8,fp8"},
            {"size", "size", core::ParamKind::INT, "M = N = K", {}, "1024", "256-4096*2", 1, 65536},
        };
    }
    double flops(const Params& p) const override {
        const double n = static_cast<double>(p.integer("size"));
        return 2 * n * n * n;
    }
    double bytes(const Params& p) const override {
        // Compulsory traffic: read A and B once, write C once.
        const double n = static_cast<double>(p.integer("size"));
        const versus_dtype d = dtype_of(p);
        return n * n * (2.0 * static_cast<double>(backend::dtype_size(d)) + static_cast<double>(out_size(d)));
    }
    // Device buffers plus the host copies of A and B kept for the check.
    double memory_bytes(const Params& p) const override {
        const double n = static_cast<double>(p.integer("size"));
        return bytes(p) + 2 * n * n * static_cast<double>(backend::dtype_size(dtype_of(p)));
    }
    bool has_peak(const Params& p, versus_dtype* dtype) const override {
        *dtype = dtype_of(p);
        return true;
    }
    std::unique_ptr<Instance> prepare(const Target& t, const Params& p) const override {
        const versus_dtype d = dtype_of(p);
        std::string why;
        if (!t.backend.supports(t.device, VERSUS_OP_GEMM, d, &why)) throw Skip(why);
        return std::make_unique<GemmInstance>(t, d, static_cast<int>(p.integer("size")));
    }
};

}  // namespace

std::unique_ptr<Workload> make_gemm() { return std::make_unique<Gemm>(); }

}  // namespace versus::workloads
