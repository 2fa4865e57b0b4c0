// train-resnet: ResNet-50 v1.5 training on the GPU through cuDNN (backend-abi.h, train_resnet_*). cuDNN is loaded
// with dlopen the first time it is asked for (libcudnn.so.9 dispatches to its sub-libraries), so the plugin loads
// and every other op works where it is absent; supports(VERSUS_OP_TRAIN_RESNET) then says why. The network is the
// one of src/train/resnet-config.hpp (stem, stages [3, 4, 6, 3] of bottlenecks, stride in each stage's first 3x3),
// in NCHW f32 with strict f32 math (no TF32), as the CPU's f32: convolutions forward and backward, batch
// normalisation forward (training) and backward, max pooling from cuDNN; ReLU, the residual sum, global average
// pooling, the classifier's bias and SGD with momentum as the plugin's kernels; the classifier's products on cuBLAS.
#include <cudnn.h>
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "backend/cuda/train-common.cuh"
#include "backend/cuda/train-handle.hpp"

namespace versus::cuda::train {

namespace {

// ---- cuDNN through dlopen ----------------------------------------------------------------------------------

#define VERSUS_CUDNN_FUNCTIONS(X)                                                                                      \
    X(cudnnCreate) X(cudnnDestroy) X(cudnnSetStream) X(cudnnGetErrorString) X(cudnnCreateTensorDescriptor)             \
    X(cudnnSetTensor4dDescriptor) X(cudnnDestroyTensorDescriptor) X(cudnnCreateFilterDescriptor)                       \
    X(cudnnSetFilter4dDescriptor) X(cudnnDestroyFilterDescriptor) X(cudnnCreateConvolutionDescriptor)                  \
    X(cudnnSetConvolution2dDescriptor) X(cudnnSetConvolutionMathType) X(cudnnDestroyConvolutionDescriptor)             \
    X(cudnnGetConvolutionForwardAlgorithm_v7) X(cudnnGetConvolutionBackwardDataAlgorithm_v7)                           \
    X(cudnnGetConvolutionBackwardFilterAlgorithm_v7) X(cudnnConvolutionForward) X(cudnnConvolutionBackwardData)         \
    X(cudnnConvolutionBackwardFilter) X(cudnnDeriveBNTensorDescriptor) X(cudnnBatchNormalizationForwardTraining)        \
    X(cudnnBatchNormalizationBackward) X(cudnnCreatePoolingDescriptor) X(cudnnSetPooling2dDescriptor)                   \
    X(cudnnDestroyPoolingDescriptor) X(cudnnPoolingForward) X(cudnnPoolingBackward)

struct Cudnn {
#define VERSUS_CUDNN_POINTER(f) decltype(&::f) f = nullptr;
    VERSUS_CUDNN_FUNCTIONS(VERSUS_CUDNN_POINTER)
#undef VERSUS_CUDNN_POINTER
    std::string missing;  // empty when every function was found
};

const Cudnn& cudnn() {
    static Cudnn c;
    static std::once_flag once;
    std::call_once(once, [] {
        void* h = nullptr;
        for (const char* name : {"libcudnn.so.9", "libcudnn.so"})
            if ((h = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
        if (!h) {
            const char* e = dlerror();
            c.missing = e ? e : "libcudnn.so.9 not found";
            return;
        }
#define VERSUS_CUDNN_LOAD(f)                                                        \
    c.f = reinterpret_cast<decltype(c.f)>(dlsym(h, #f));                            \
    if (!c.f && c.missing.empty()) c.missing = std::string("no symbol ") + #f " in libcudnn.so.9";
        VERSUS_CUDNN_FUNCTIONS(VERSUS_CUDNN_LOAD)
#undef VERSUS_CUDNN_LOAD
    });
    return c;
}

// ---- the plugin's kernels for the network's glue ----------------------------------------------------------

__global__ void k_relu(float* x, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        x[i] = fmaxf(x[i], 0.0f);
}
// dy *= (y > 0), y the ReLU's output.
__global__ void k_relu_backward(float* dy, const float* y, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        if (y[i] <= 0) dy[i] = 0;
}
__global__ void k_add_relu(float* out, const float* a, const float* b, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[i] = fmaxf(a[i] + b[i], 0.0f);
}
// out (nc) = mean over hw of x (nc, hw); backward spreads dout / hw.
__global__ void k_avgpool(float* out, const float* x, int64_t nc, int hw) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < nc; i += int64_t(gridDim.x) * blockDim.x) {
        float s = 0;
        for (int j = 0; j < hw; ++j) s += x[i * hw + j];
        out[i] = s / hw;
    }
}
__global__ void k_avgpool_backward(float* dx, const float* dout, int64_t nc, int hw) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < nc * hw; i += int64_t(gridDim.x) * blockDim.x)
        dx[i] = dout[i / hw] / hw;
}
__global__ void k_sgd(float* w, const float* g, float* v, int64_t n, float lr, float mu, float wd) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        v[i] = mu * v[i] + g[i] + wd * w[i];
        w[i] -= lr * v[i];
    }
}

int grid(int64_t n) { return static_cast<int>(std::min<int64_t>((n + 255) / 256, 65535 * 8)); }

// ---- the network --------------------------------------------------------------------------------------------

struct Tensor {
    int n = 0, c = 0, h = 0;  // square maps
    float* x = nullptr;
    float* dx = nullptr;
    cudnnTensorDescriptor_t desc = nullptr;
    int64_t size() const { return int64_t(n) * c * h * h; }
};

struct Param {
    float *w = nullptr, *g = nullptr, *v = nullptr;
    int64_t n = 0;
    bool decay = false;
};

struct Conv {
    cudnnFilterDescriptor_t filter = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    cudnnConvolutionFwdAlgo_t fwd{};
    cudnnConvolutionBwdDataAlgo_t bwd_data{};
    cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
    size_t param = 0;
    Tensor* in = nullptr;
    Tensor* out = nullptr;
};

struct Bn {
    size_t scale = 0, shift = 0;
    float *run_mean = nullptr, *run_var = nullptr, *save_mean = nullptr, *save_ivar = nullptr;
    cudnnTensorDescriptor_t desc = nullptr;
    Tensor* in = nullptr;   // the convolution's output
    Tensor* out = nullptr;  // normalised (ReLU applied in place when relu)
    bool relu = false;
};

// Indices into ResnetStep::convs and ::bns (the vectors grow while the network is built).
struct Block {
    size_t c1 = 0, c2 = 0, c3 = 0, cd = 0, b1 = 0, b2 = 0, b3 = 0, bd = 0;
    bool down = false;
    Tensor* in = nullptr;
    Tensor* out = nullptr;  // relu(b3 + shortcut)
};

constexpr double BN_EPS = 1e-5;        // cuDNN's minimum (CUDNN_BN_MIN_EPSILON), and the CPU engine's
constexpr size_t MAX_WORKSPACE = 1 << 30;  // algorithms needing more are passed over

}  // namespace

struct ResnetStep final : Handle {
    versus_train_resnet_config c{};
    Device* dev = nullptr;
    Arena arena;
    std::unique_ptr<Matmul> mm;
    cudnnHandle_t h = nullptr;
    std::vector<std::unique_ptr<Tensor>> tensors;
    std::vector<Param> params;
    std::vector<Conv> convs;  // the stem first
    std::vector<Bn> bns;
    std::vector<Block> blocks;
    Tensor *image = nullptr, *stem_pool = nullptr, *pooled = nullptr, *logits = nullptr;
    cudnnPoolingDescriptor_t maxpool = nullptr;
    size_t fc_w = 0, fc_b = 0;
    int32_t* labels = nullptr;
    double* loss_sum = nullptr;
    void* workspace = nullptr;
    size_t workspace_bytes = 0;
    std::string err;

    ~ResnetStep() override;
    uint64_t bytes() const override { return arena.bytes(); }
    bool ok(cudaError_t e, const char* what) {
        if (e == cudaSuccess) return true;
        if (err.empty()) err = std::string(what) + ": " + cudaGetErrorString(e);
        return false;
    }
    bool ok(cudnnStatus_t s, const char* what) {
        if (s == CUDNN_STATUS_SUCCESS) return true;
        if (err.empty()) err = std::string(what) + ": " + cudnn().cudnnGetErrorString(s);
        return false;
    }
    Tensor* tensor(int n, int ch, int hw, bool with_diff);
    size_t param(int64_t n, bool decay, float init_std, bool uniform, std::mt19937_64& rng);
    Tensor* conv(Tensor* in, int cout, int k, int stride, std::mt19937_64& rng);
    Tensor* bn(Tensor* in, bool relu, std::mt19937_64& rng);
    bool choose_algorithms(Conv& cv);
    bool build();
    bool forward();
    bool backward();
    bool conv_backward(const Conv& cv, bool data, float beta_data);
    bool bn_backward(const Bn& b, const float* dy);
    bool block_backward(const Block& b);
    int step(float* loss);
};

ResnetStep::~ResnetStep() {
    const Cudnn& d = cudnn();
    for (auto& t : tensors)
        if (t->desc) d.cudnnDestroyTensorDescriptor(t->desc);
    for (auto& cv : convs) {
        if (cv.filter) d.cudnnDestroyFilterDescriptor(cv.filter);
        if (cv.conv) d.cudnnDestroyConvolutionDescriptor(cv.conv);
    }
    for (auto& b : bns)
        if (b.desc) d.cudnnDestroyTensorDescriptor(b.desc);
    if (maxpool) d.cudnnDestroyPoolingDescriptor(maxpool);
    if (h) d.cudnnDestroy(h);
}

Tensor* ResnetStep::tensor(int n, int ch, int hw, bool with_diff) {
    auto t = std::make_unique<Tensor>();
    t->n = n, t->c = ch, t->h = hw;
    cudaError_t e = cudaSuccess;
    t->x = arena.alloc<float>(size_t(t->size()), &e);
    if (e == cudaSuccess && with_diff) t->dx = arena.alloc<float>(size_t(t->size()), &e);
    if (!ok(e, "cudaMalloc (ResNet activations)") ||
        !ok(cudnn().cudnnCreateTensorDescriptor(&t->desc), "cudnnCreateTensorDescriptor") ||
        !ok(cudnn().cudnnSetTensor4dDescriptor(t->desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, ch, hw, hw),
            "cudnnSetTensor4dDescriptor"))
        return nullptr;
    tensors.push_back(std::move(t));
    return tensors.back().get();
}

// Initialised on the host (deterministic by seed) and copied: normal or uniform of the given spread, or a
// constant (init_std 0: zeros, negative: ones).
size_t ResnetStep::param(int64_t n, bool decay, float init_std, bool uniform, std::mt19937_64& rng) {
    Param p;
    p.n = n;
    p.decay = decay;
    cudaError_t e = cudaSuccess;
    p.w = arena.alloc<float>(size_t(n), &e);
    if (e == cudaSuccess) p.g = arena.alloc<float>(size_t(n), &e);
    if (e == cudaSuccess) p.v = arena.alloc<float>(size_t(n), &e);
    std::vector<float> host(static_cast<size_t>(n));
    std::normal_distribution<float> normal(0.0f, init_std > 0 ? init_std : 1.0f);
    std::uniform_real_distribution<float> uni(-std::fabs(init_std), std::fabs(init_std));
    for (auto& x : host) x = init_std > 0 ? (uniform ? uni(rng) : normal(rng)) : (init_std == 0 ? 0.0f : 1.0f);
    if (e == cudaSuccess) e = cudaMemcpy(p.w, host.data(), size_t(n) * 4, cudaMemcpyHostToDevice);
    if (e == cudaSuccess) e = cudaMemset(p.v, 0, size_t(n) * 4);
    ok(e, "ResNet parameters");
    params.push_back(p);
    return params.size() - 1;
}

// The fastest algorithms cuDNN's heuristics rank first that fit MAX_WORKSPACE; the workspace grows to the largest.
bool ResnetStep::choose_algorithms(Conv& cv) {
    const Cudnn& d = cudnn();
    int found = 0;
    cudnnConvolutionFwdAlgoPerf_t fp[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    cudnnConvolutionBwdDataAlgoPerf_t dp[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    cudnnConvolutionBwdFilterAlgoPerf_t wp[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    auto pick = [&](const auto* perf, int n, auto* algo) {
        for (int i = 0; i < n; ++i)
            if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= MAX_WORKSPACE) {
                *algo = perf[i].algo;
                workspace_bytes = std::max(workspace_bytes, perf[i].memory);
                return true;
            }
        err = "cuDNN offers no convolution algorithm within the workspace limit";
        return false;
    };
    return ok(d.cudnnGetConvolutionForwardAlgorithm_v7(h, cv.in->desc, cv.filter, cv.conv, cv.out->desc,
                                                       CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, fp),
              "cudnnGetConvolutionForwardAlgorithm_v7") &&
           pick(fp, found, &cv.fwd) &&
           ok(d.cudnnGetConvolutionBackwardDataAlgorithm_v7(h, cv.filter, cv.out->desc, cv.conv, cv.in->desc,
                                                            CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &found, dp),
              "cudnnGetConvolutionBackwardDataAlgorithm_v7") &&
           pick(dp, found, &cv.bwd_data) &&
           ok(d.cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, cv.in->desc, cv.out->desc, cv.conv, cv.filter,
                                                              CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &found, wp),
              "cudnnGetConvolutionBackwardFilterAlgorithm_v7") &&
           pick(wp, found, &cv.bwd_filter);
}

// A k x k convolution without bias (padding k / 2), He-normal weights; returns its output, nullptr on error.
Tensor* ResnetStep::conv(Tensor* in, int cout, int k, int stride, std::mt19937_64& rng) {
    if (!in) return nullptr;
    const Cudnn& d = cudnn();
    Conv cv;
    cv.in = in;
    const int pad = k / 2, out_hw = (in->h + 2 * pad - k) / stride + 1;
    cv.out = tensor(in->n, cout, out_hw, true);
    cv.param = param(int64_t(cout) * in->c * k * k, true, std::sqrt(2.0f / float(in->c * k * k)), false, rng);
    convs.push_back(cv);
    Conv& r = convs.back();
    const bool made =
        r.out && ok(d.cudnnCreateFilterDescriptor(&r.filter), "cudnnCreateFilterDescriptor") &&
        ok(d.cudnnSetFilter4dDescriptor(r.filter, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, cout, in->c, k, k),
           "cudnnSetFilter4dDescriptor") &&
        ok(d.cudnnCreateConvolutionDescriptor(&r.conv), "cudnnCreateConvolutionDescriptor") &&
        ok(d.cudnnSetConvolution2dDescriptor(r.conv, pad, pad, stride, stride, 1, 1, CUDNN_CROSS_CORRELATION,
                                             CUDNN_DATA_FLOAT),
           "cudnnSetConvolution2dDescriptor") &&
        // Strict f32 (no TF32), as the CPU's f32 step computes.
        ok(d.cudnnSetConvolutionMathType(r.conv, CUDNN_FMA_MATH), "cudnnSetConvolutionMathType") && choose_algorithms(r);
    return made ? r.out : nullptr;
}

// Batch normalisation in training mode (scale 1, shift 0, no decay), ReLU after it when asked.
Tensor* ResnetStep::bn(Tensor* in, bool relu, std::mt19937_64& rng) {
    if (!in) return nullptr;
    Bn b;
    b.in = in;
    b.relu = relu;
    b.out = tensor(in->n, in->c, in->h, true);
    b.scale = param(in->c, false, -1.0f, false, rng);
    b.shift = param(in->c, false, 0.0f, false, rng);
    cudaError_t e = cudaSuccess;
    for (float** p : {&b.run_mean, &b.run_var, &b.save_mean, &b.save_ivar})
        if (e == cudaSuccess) *p = arena.alloc<float>(size_t(in->c), &e);
    bns.push_back(b);
    Bn& r = bns.back();
    const bool made = r.out && ok(e, "cudaMalloc (batch norm)") &&
                      ok(cudnn().cudnnCreateTensorDescriptor(&r.desc), "cudnnCreateTensorDescriptor") &&
                      ok(cudnn().cudnnDeriveBNTensorDescriptor(r.desc, in->desc, CUDNN_BATCHNORM_SPATIAL),
                         "cudnnDeriveBNTensorDescriptor");
    return made ? r.out : nullptr;
}

// The network of src/train/resnet-config.hpp: stem, [3, 4, 6, 3] bottlenecks, average pool, classifier.
bool ResnetStep::build() {
    std::mt19937_64 rng(c.seed);
    const Cudnn& d = cudnn();
    if (!ok(d.cudnnCreate(&h), "cudnnCreate") || !ok(d.cudnnSetStream(h, dev->stream), "cudnnSetStream")) return false;
    image = tensor(c.batch, 3, c.image, false);
    if (!image) return false;
    {
        std::vector<float> host(size_t(image->size()));
        std::normal_distribution<float> normal(0.0f, 1.0f);
        for (auto& x : host) x = normal(rng);
        std::vector<int32_t> lab(size_t(c.batch));
        for (auto& l : lab) l = static_cast<int32_t>(rng() % uint64_t(c.classes));
        cudaError_t e = cudaMemcpy(image->x, host.data(), host.size() * 4, cudaMemcpyHostToDevice);
        if (e == cudaSuccess) labels = arena.alloc<int32_t>(lab.size(), &e);
        if (e == cudaSuccess) e = cudaMemcpy(labels, lab.data(), lab.size() * 4, cudaMemcpyHostToDevice);
        if (e == cudaSuccess) loss_sum = arena.alloc<double>(1, &e);
        if (!ok(e, "ResNet batch")) return false;
    }
    Tensor* x = bn(conv(image, c.width, c.small_stem ? 3 : 7, c.small_stem ? 1 : 2, rng), true, rng);
    if (!x) return false;
    if (!c.small_stem) {
        stem_pool = tensor(c.batch, c.width, (x->h + 2 - 3) / 2 + 1, true);
        if (!stem_pool || !ok(d.cudnnCreatePoolingDescriptor(&maxpool), "cudnnCreatePoolingDescriptor") ||
            !ok(d.cudnnSetPooling2dDescriptor(maxpool, CUDNN_POOLING_MAX, CUDNN_NOT_PROPAGATE_NAN, 3, 3, 1, 1, 2, 2),
                "cudnnSetPooling2dDescriptor"))
            return false;
        x = stem_pool;
    }
    const int counts[4] = {3, 4, 6, 3};
    for (int st = 0; st < 4; ++st)
        for (int k = 0; k < counts[st]; ++k) {
            const int mid = c.width << st, stride = k == 0 && st > 0 ? 2 : 1;
            Block b;
            b.in = x;
            b.down = k == 0;
            Tensor* y = bn(conv(x, mid, 1, 1, rng), true, rng);
            b.c1 = convs.size() - 1, b.b1 = bns.size() - 1;
            y = bn(conv(y, mid, 3, stride, rng), true, rng);
            b.c2 = convs.size() - 1, b.b2 = bns.size() - 1;
            y = bn(conv(y, 4 * mid, 1, 1, rng), false, rng);
            b.c3 = convs.size() - 1, b.b3 = bns.size() - 1;
            if (b.down) {
                if (!bn(conv(x, 4 * mid, 1, stride, rng), false, rng)) return false;
                b.cd = convs.size() - 1, b.bd = bns.size() - 1;
            }
            if (!y || !(b.out = tensor(c.batch, 4 * mid, y->h, true))) return false;
            blocks.push_back(b);
            x = b.out;
        }
    const int feat = 32 * c.width;
    pooled = tensor(c.batch, feat, 1, true);
    logits = tensor(c.batch, c.classes, 1, false);
    if (!pooled || !logits) return false;
    fc_w = param(int64_t(c.classes) * feat, true, 1.0f / std::sqrt(float(feat)), true, rng);
    fc_b = param(c.classes, false, 0.0f, false, rng);
    cudaError_t e = cudaSuccess;
    workspace = arena.alloc<char>(workspace_bytes, &e);
    return ok(e, "cudaMalloc (cuDNN workspace)") && err.empty();
}

bool ResnetStep::forward() {
    const Cudnn& d = cudnn();
    const cudaStream_t st = dev->stream;
    const float one = 1, zero = 0;
    size_t ci = 0, bi = 0;
    auto conv_fwd = [&](const Conv& cv) {
        return ok(d.cudnnConvolutionForward(h, &one, cv.in->desc, cv.in->x, cv.filter, params[cv.param].w, cv.conv, cv.fwd,
                                            workspace, workspace_bytes, &zero, cv.out->desc, cv.out->x),
                  "cudnnConvolutionForward");
    };
    auto bn_fwd = [&](const Bn& b) {
        if (!ok(d.cudnnBatchNormalizationForwardTraining(h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, b.in->desc, b.in->x,
                                                         b.out->desc, b.out->x, b.desc, params[b.scale].w,
                                                         params[b.shift].w, 0.1, b.run_mean, b.run_var, BN_EPS,
                                                         b.save_mean, b.save_ivar),
                "cudnnBatchNormalizationForwardTraining"))
            return false;
        if (b.relu) k_relu<<<grid(b.out->size()), 256, 0, st>>>(b.out->x, b.out->size());
        return ok(cudaGetLastError(), "relu");
    };
    if (!conv_fwd(convs[ci++]) || !bn_fwd(bns[bi++])) return false;
    if (stem_pool && !ok(d.cudnnPoolingForward(h, maxpool, &one, bns[0].out->desc, bns[0].out->x, &zero, stem_pool->desc,
                                               stem_pool->x),
                         "cudnnPoolingForward"))
        return false;
    for (const Block& b : blocks) {
        for (size_t k : {b.c1, b.c2, b.c3})
            if (!conv_fwd(convs[k])) return false;
        if (!bn_fwd(bns[b.b1]) || !bn_fwd(bns[b.b2]) || !bn_fwd(bns[b.b3])) return false;
        const float* shortcut = b.in->x;
        if (b.down) {
            if (!conv_fwd(convs[b.cd]) || !bn_fwd(bns[b.bd])) return false;
            shortcut = bns[b.bd].out->x;
        }
        k_add_relu<<<grid(b.out->size()), 256, 0, st>>>(b.out->x, bns[b.b3].out->x, shortcut, b.out->size());
        if (!ok(cudaGetLastError(), "add_relu")) return false;
    }
    const Tensor* last = blocks.back().out;
    k_avgpool<<<grid(pooled->size()), 256, 0, st>>>(pooled->x, last->x, pooled->size(), last->h * last->h);
    const int feat = pooled->c;
    // logits (batch, classes) = pooled (batch, feat) W^T + b, then the loss and its gradient in place.
    return ok(cudaGetLastError(), "avgpool") && ok(fill_rows(logits->x, params[fc_b].w, c.batch, c.classes, st), "fill_rows") &&
           mm->run(false, true, c.batch, c.classes, feat, 1.0f, pooled->x, feat, params[fc_w].w, feat, 1.0f, logits->x,
                   c.classes, false, &err) == 0 &&
           ok(cross_entropy(logits->x, labels, c.batch, c.classes, 1.0f / float(c.batch), loss_sum, st), "cross_entropy");
}

// dW of the convolution, and when `data` its input's gradient: dx = beta_data dx + conv^T(dy).
bool ResnetStep::conv_backward(const Conv& cv, bool data, float beta_data) {
    const Cudnn& d = cudnn();
    const float one = 1, zero = 0;
    return ok(d.cudnnConvolutionBackwardFilter(h, &one, cv.in->desc, cv.in->x, cv.out->desc, cv.out->dx, cv.conv,
                                               cv.bwd_filter, workspace, workspace_bytes, &zero, cv.filter,
                                               params[cv.param].g),
              "cudnnConvolutionBackwardFilter") &&
           (!data || ok(d.cudnnConvolutionBackwardData(h, &one, cv.filter, params[cv.param].w, cv.out->desc, cv.out->dx,
                                                       cv.conv, cv.bwd_data, workspace, workspace_bytes, &beta_data,
                                                       cv.in->desc, cv.in->dx),
                        "cudnnConvolutionBackwardData"));
}

// dy (the output's gradient, ReLU's mask applied first when the layer has one) -> the input's gradient (the
// convolution's output, set), the scale's and shift's.
bool ResnetStep::bn_backward(const Bn& b, const float* dy) {
    const float one = 1, zero = 0;
    if (b.relu) {
        k_relu_backward<<<grid(b.out->size()), 256, 0, dev->stream>>>(b.out->dx, b.out->x, b.out->size());
        if (!ok(cudaGetLastError(), "relu_backward")) return false;
    }
    return ok(cudnn().cudnnBatchNormalizationBackward(h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, b.in->desc,
                                                      b.in->x, b.out->desc, dy, b.in->desc, b.in->dx, b.desc,
                                                      params[b.scale].w, params[b.scale].g, params[b.shift].g, BN_EPS,
                                                      b.save_mean, b.save_ivar),
              "cudnnBatchNormalizationBackward");
}

// From the block's output gradient (b.out->dx) to its input's (b.in->dx, set).
bool ResnetStep::block_backward(const Block& b) {
    const cudaStream_t st = dev->stream;
    k_relu_backward<<<grid(b.out->size()), 256, 0, st>>>(b.out->dx, b.out->x, b.out->size());
    if (!ok(cudaGetLastError(), "relu_backward") || !bn_backward(bns[b.b3], b.out->dx) || !conv_backward(convs[b.c3], true, 0) ||
        !bn_backward(bns[b.b2], bns[b.b2].out->dx) || !conv_backward(convs[b.c2], true, 0) ||
        !bn_backward(bns[b.b1], bns[b.b1].out->dx) || !conv_backward(convs[b.c1], true, 0))
        return false;
    if (b.down) return bn_backward(bns[b.bd], b.out->dx) && conv_backward(convs[b.cd], true, 1.0f);
    return ok(add(b.in->dx, b.in->dx, b.out->dx, b.in->size(), st), "add");
}

bool ResnetStep::backward() {
    const cudaStream_t st = dev->stream;
    const Tensor* last = blocks.back().out;
    const int feat = pooled->c;
    // dW = dlogits^T pooled, db = column sums of dlogits, dpooled = dlogits W.
    if (!ok(cudaMemsetAsync(params[fc_b].g, 0, size_t(c.classes) * 4, st), "memset") ||
        mm->run(true, false, c.classes, feat, c.batch, 1.0f, logits->x, c.classes, pooled->x, feat, 0.0f, params[fc_w].g,
                feat, false, &err) != 0 ||
        !ok(column_sums(params[fc_b].g, logits->x, c.batch, c.classes, st), "column_sums") ||
        mm->run(false, false, c.batch, feat, c.classes, 1.0f, logits->x, c.classes, params[fc_w].w, feat, 0.0f, pooled->dx,
                feat, false, &err) != 0)
        return false;
    k_avgpool_backward<<<grid(last->size()), 256, 0, st>>>(last->dx, pooled->dx, pooled->size(), last->h * last->h);
    if (!ok(cudaGetLastError(), "avgpool_backward")) return false;
    for (size_t i = blocks.size(); i-- > 0;)
        if (!block_backward(blocks[i])) return false;
    const Bn& sb = bns[0];
    const float one = 1, zero = 0;
    if (stem_pool && !ok(cudnn().cudnnPoolingBackward(h, maxpool, &one, stem_pool->desc, stem_pool->x, stem_pool->desc,
                                                      stem_pool->dx, sb.out->desc, sb.out->x, &zero, sb.out->desc, sb.out->dx),
                         "cudnnPoolingBackward"))
        return false;
    return bn_backward(sb, sb.out->dx) && conv_backward(convs[0], false, 0);
}

int ResnetStep::step(float* loss) {
    const cudaStream_t st = dev->stream;
    double sum = 0;
    if (!ok(cudaMemsetAsync(loss_sum, 0, sizeof(double), st), "memset") || !forward() || !backward()) return 1;
    for (const Param& p : params) {
        k_sgd<<<grid(p.n), 256, 0, st>>>(p.w, p.g, p.v, p.n, c.lr, c.momentum, p.decay ? c.weight_decay : 0.0f);
        if (!ok(cudaGetLastError(), "sgd")) return 1;
    }
    if (!ok(cudaMemcpyAsync(&sum, loss_sum, sizeof(double), cudaMemcpyDeviceToHost, st), "copy loss") ||
        !ok(cudaStreamSynchronize(st), "cudaStreamSynchronize"))
        return 1;
    *loss = static_cast<float>(sum / c.batch);
    return 0;
}

// ---- the table's entries ----------------------------------------------------------------------------------

const char* cudnn_missing() { return cudnn().missing.c_str(); }

int resnet_create(void* ctx, int index, const versus_train_resnet_config* cfg, void** handle) {
    Device* d = device(ctx, index);
    if (!d) return 1;
    if (const char* why = cudnn_missing(); why[0]) return fail(ctx, std::string("cuDNN: ") + why);
    if (cfg->batch <= 0 || cfg->classes <= 0 || cfg->width <= 0 || cfg->width % 16 || cfg->image < 32 || cfg->precision != 0)
        return fail(ctx, "train_resnet_create: inconsistent configuration (batch, classes, width a multiple of 16, "
                         "image >= 32, precision f32)");
    auto s = std::make_unique<ResnetStep>();
    s->c = *cfg;
    s->dev = d;
    s->mm = std::make_unique<Matmul>(*d);
    if (!s->build()) return fail(ctx, "train_resnet_create: " + s->err);
    *handle = s.release();
    return 0;
}

int resnet_step(void* ctx, int index, void* handle, float* loss) {
    if (!device(ctx, index)) return 1;
    auto* s = dynamic_cast<ResnetStep*>(static_cast<Handle*>(handle));
    if (!s) return fail(ctx, "train_resnet_step: not a ResNet training handle");
    return s->step(loss) ? fail(ctx, "train_resnet_step: " + s->err) : 0;
}

}  // namespace versus::cuda::train
