// The oneDNN graph of resnet.hpp. Forward ops are appended while the network is built; backward ops are
// built from the last layer back, with gradient buffers taken from a pool keyed by Mem descriptor and
// returned as soon as their consumer is built, so a gradient lives only as long as the backward pass needs it.
// Backward primitives are created with the forward pass's exact descriptors (no reorders between them); a
// weight gradient whose preferred layout differs gets a reorder into the weights' layout before SGD.
#include "train/resnet.hpp"

#if defined(VERSUS_HAVE_DNNL)
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include <dnnl.hpp>
#include <fmt/format.h>

#include "base/error.hpp"
#include "train/rng.hpp"

namespace versus::train {

using Mem = dnnl::memory;
using tag = Mem::format_tag;
using dt = Mem::data_type;
using Args = std::unordered_map<int, Mem>;
using dnnl::prop_kind;
using dnnl::algorithm;

namespace {

constexpr float BN_EPS = 1e-5f;

struct Op {
    std::string name;
    dnnl::primitive prim;
    Args args;
    std::function<void()> host;  // set for host ops (no primitive)
};

struct Param {
    Mem w, dw, mom;
    bool decay = false;
};

struct Conv {
    std::string name;
    ConvShape s;
    dnnl::convolution_forward::primitive_desc fwd;
    Mem src, w, dst;
    size_t param = 0;
};

struct Bn {
    std::string name;
    dnnl::batch_normalization_forward::primitive_desc fwd;
    Mem src, dst, mean, var, ws;
    size_t scale = 0, shift = 0;
    bool relu = false;
};

struct Block {
    std::string name;  // "s1b0."
    Conv c1, c2, c3, cd;
    Bn b1, b2, b3, bd;
    bool down = false;
    Mem x, out;  // out = relu(b3 + shortcut)
};

dnnl::normalization_flags bn_flags(bool relu) {
    auto f = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    return relu ? f | dnnl::normalization_flags::fuse_norm_relu : f;
}

float* data(const Mem& m) { return static_cast<float*>(m.get_data_handle()); }
size_t floats(const Mem& m) { return m.get_desc().get_size() / sizeof(float); }

}  // namespace

struct Resnet::Impl {
    dnnl::engine eng{dnnl::engine::kind::cpu, 0};
    dnnl::stream strm{eng};
    ResnetConfig c;
    int batch = 0, threads = 1;
    bool plan_only = false;
    SgdConfig sgd;
    std::vector<Op> ops;
    std::vector<Param> params;
    ResnetMemory bytes;
    std::vector<Mem> free_diffs;  // gradient buffers not in use
    Mem image, logits, dlogits;
    std::vector<int32_t> labels;
    double loss = 0;
    Rng rng{1};

    // ---- Mem ----
    Mem make(const Mem::desc& d, double* counter) {
        *counter += static_cast<double>(d.get_size());
        return plan_only ? Mem(d, eng, DNNL_MEMORY_NONE) : Mem(d, eng);
    }
    Mem act(const Mem::desc& d) { return make(d, &bytes.activations); }
    Mem diff(const Mem::desc& d) {
        for (auto it = free_diffs.begin(); it != free_diffs.end(); ++it)
            if (it->get_desc() == d) {
                Mem m = *it;
                free_diffs.erase(it);
                return m;
            }
        return act(d);
    }
    void release(const Mem& m) { free_diffs.push_back(m); }

    template <typename Prim, typename PD>
    void add(std::string name, const PD& pd, Args args) {
        Op op{std::move(name), {}, std::move(args), {}};
        if (!plan_only) op.prim = Prim(pd);
        ops.push_back(std::move(op));
    }
    void add_host(std::string name, std::function<void()> fn) { ops.push_back({std::move(name), {}, {}, std::move(fn)}); }

    size_t add_param(const Mem::desc& d, bool decay) {
        Param p;
        p.w = make(d, &bytes.weights);
        p.dw = make(d, &bytes.grads);
        p.mom = make(d, &bytes.momentum);
        p.decay = decay;
        if (!plan_only) std::memset(data(p.mom), 0, d.get_size());
        params.push_back(p);
        return params.size() - 1;
    }

    // Fills weights given in a plain layout into their (possibly blocked) memory.
    void init_weights(const Mem& w, const Mem::dims& dims, tag plain, double stddev, bool uniform) {
        if (plan_only) return;
        Mem src({dims, dt::f32, plain}, eng);
        float* p = data(src);
        for (size_t i = 0; i < floats(src); ++i)
            p[i] = static_cast<float>(uniform ? (2 * rng.uniform() - 1) * stddev : rng.normal() * stddev);
        Mem dst = w;
        dnnl::reorder(src, dst).execute(strm, src, dst);
        strm.wait();
    }
    void fill(const Mem& m, float v) {
        if (plan_only) return;
        std::fill(data(m), data(m) + floats(m), v);
    }

    // ---- forward builders ----
    Conv conv(const std::string& name, const Mem& src, const ConvShape& s, bool first) {
        Conv cv{name, s, {}, src, {}, {}, 0};
        const dnnl::convolution_forward::desc desc(
            prop_kind::forward_training, algorithm::convolution_direct,
            first ? Mem::desc(src.get_desc().dims(), dt::f32, tag::any) : src.get_desc(),
            {{s.cout, s.cin, s.kernel, s.kernel}, dt::f32, tag::any}, {{batch, s.cout, s.out_hw, s.out_hw}, dt::f32, tag::any},
            {s.stride, s.stride}, {s.pad, s.pad}, {s.pad, s.pad});
        cv.fwd = dnnl::convolution_forward::primitive_desc(desc, eng);
        cv.param = add_param(cv.fwd.weights_desc(), true);
        cv.w = params[cv.param].w;
        init_weights(cv.w, {s.cout, s.cin, s.kernel, s.kernel}, tag::oihw, std::sqrt(2.0 / (s.cout * s.kernel * s.kernel)), false);
        cv.dst = act(cv.fwd.dst_desc());
        add<dnnl::convolution_forward>(name, cv.fwd, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, cv.w}, {DNNL_ARG_DST, cv.dst}});
        return cv;
    }

    Bn bn(const std::string& name, const Mem& src, bool relu) {
        Bn b;
        b.name = name;
        b.relu = relu;
        b.src = src;
        const auto d = src.get_desc();
        b.fwd = dnnl::batch_normalization_forward::primitive_desc(
            {prop_kind::forward_training, d, BN_EPS, bn_flags(relu)}, eng);
        const Mem::desc vec({d.dims()[1]}, dt::f32, tag::a);
        b.scale = add_param(vec, false);
        b.shift = add_param(vec, false);
        fill(params[b.scale].w, 1.0f);
        fill(params[b.shift].w, 0.0f);
        b.dst = act(b.fwd.dst_desc());
        b.mean = act(b.fwd.mean_desc());
        b.var = act(b.fwd.variance_desc());
        Args args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, b.dst}, {DNNL_ARG_SCALE, params[b.scale].w},
                  {DNNL_ARG_SHIFT, params[b.shift].w}, {DNNL_ARG_MEAN, b.mean}, {DNNL_ARG_VARIANCE, b.var}};
        if (relu) {
            b.ws = act(b.fwd.workspace_desc());
            args[DNNL_ARG_WORKSPACE] = b.ws;
        }
        add<dnnl::batch_normalization_forward>(name, b.fwd, std::move(args));
        return b;
    }

    // ---- backward builders (each returns the gradient of its input, from a pool buffer) ----
    // dsrc may be ddst (in place).
    void bn_backward(const Bn& b, const Mem& ddst, const Mem& dsrc) {
        const auto desc = b.src.get_desc();
        dnnl::batch_normalization_backward::primitive_desc pd(
            {prop_kind::backward, desc, desc, BN_EPS, bn_flags(b.relu)}, eng, b.fwd);
        Args args{{DNNL_ARG_SRC, b.src},          {DNNL_ARG_MEAN, b.mean},
                  {DNNL_ARG_VARIANCE, b.var},     {DNNL_ARG_DIFF_DST, ddst},
                  {DNNL_ARG_SCALE, params[b.scale].w}, {DNNL_ARG_SHIFT, params[b.shift].w}, {DNNL_ARG_DIFF_SRC, dsrc},
                  {DNNL_ARG_DIFF_SCALE, params[b.scale].dw}, {DNNL_ARG_DIFF_SHIFT, params[b.shift].dw}};
        if (b.relu) args[DNNL_ARG_WORKSPACE] = b.ws;
        add<dnnl::batch_normalization_backward>(b.name + ".bwd", pd, std::move(args));
    }

    // Weight gradient of a convolution, and (unless `first`) the gradient of its source into a pool buffer.
    Mem conv_backward(const Conv& cv, const Mem& d, bool first) {
        const Mem::dims strides{cv.s.stride, cv.s.stride}, pl{cv.s.pad, cv.s.pad}, pr{cv.s.pad, cv.s.pad};
        const Mem::desc wdesc = cv.w.get_desc();
        Param& p = params[cv.param];
        // Weights gradient, in the weights' layout when oneDNN has a kernel for it.
        dnnl::convolution_backward_weights::primitive_desc wpd;
        try {
            wpd = dnnl::convolution_backward_weights::primitive_desc(
                {algorithm::convolution_direct, cv.src.get_desc(), wdesc, d.get_desc(), strides, pl, pr}, eng, cv.fwd);
        } catch (const dnnl::error&) {
            wpd = dnnl::convolution_backward_weights::primitive_desc(
                {algorithm::convolution_direct, cv.src.get_desc(), {wdesc.dims(), dt::f32, tag::any}, d.get_desc(), strides,
                 pl, pr},
                eng, cv.fwd);
        }
        if (wpd.diff_weights_desc() == wdesc) {
            add<dnnl::convolution_backward_weights>(cv.name + ".bwd_w", wpd,
                                                    {{DNNL_ARG_SRC, cv.src}, {DNNL_ARG_DIFF_DST, d}, {DNNL_ARG_DIFF_WEIGHTS, p.dw}});
        } else {
            Mem tmp = make(wpd.diff_weights_desc(), &bytes.grads);
            add<dnnl::convolution_backward_weights>(cv.name + ".bwd_w", wpd,
                                                    {{DNNL_ARG_SRC, cv.src}, {DNNL_ARG_DIFF_DST, d}, {DNNL_ARG_DIFF_WEIGHTS, tmp}});
            add<dnnl::reorder>(cv.name + ".dw_reorder", dnnl::reorder::primitive_desc(tmp, p.dw),
                               {{DNNL_ARG_FROM, tmp}, {DNNL_ARG_TO, p.dw}});
        }
        if (first) return {};
        Mem ds = diff(cv.src.get_desc());
        // The data gradient's kernels read the weights in their own layout (transposed blocks): a copy in that
        // layout is made from the updated weights each step, as frameworks on oneDNN do.
        dnnl::convolution_backward_data::primitive_desc dpd(
            {algorithm::convolution_direct, cv.src.get_desc(), {wdesc.dims(), dt::f32, tag::any}, d.get_desc(), strides,
             pl, pr},
            eng, cv.fwd);
        Mem wb = cv.w;
        if (dpd.weights_desc() != wdesc) {
            wb = make(dpd.weights_desc(), &bytes.weights);
            add<dnnl::reorder>(cv.name + ".w_reorder", dnnl::reorder::primitive_desc(cv.w, wb),
                               {{DNNL_ARG_FROM, cv.w}, {DNNL_ARG_TO, wb}});
        }
        add<dnnl::convolution_backward_data>(cv.name + ".bwd_d", dpd,
                                             {{DNNL_ARG_DIFF_DST, d}, {DNNL_ARG_WEIGHTS, wb}, {DNNL_ARG_DIFF_SRC, ds}});
        return ds;
    }

    // a += b, in place.
    void accumulate(const std::string& name, const Mem& a, const Mem& b) {
        dnnl::binary::primitive_desc pd({algorithm::binary_add, a.get_desc(), b.get_desc(), a.get_desc()}, eng);
        add<dnnl::binary>(name, pd, {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, a}});
    }

    void build();
    Block block(const std::string& name, const Mem& x, int index, const std::vector<ConvShape>& shapes, bool down);
    Mem block_backward(const Block& b, const Mem& dout);
    void host_ops_loss();
    void host_ops_sgd();
};

Block Resnet::Impl::block(const std::string& name, const Mem& x, int index, const std::vector<ConvShape>& shapes,
                          bool down) {
    Block b;
    b.name = name;
    b.x = x;
    b.down = down;
    b.c1 = conv(name + "conv1", x, shapes[static_cast<size_t>(index)], false);
    b.b1 = bn(name + "bn1", b.c1.dst, true);
    b.c2 = conv(name + "conv2", b.b1.dst, shapes[static_cast<size_t>(index + 1)], false);
    b.b2 = bn(name + "bn2", b.c2.dst, true);
    b.c3 = conv(name + "conv3", b.b2.dst, shapes[static_cast<size_t>(index + 2)], false);
    b.b3 = bn(name + "bn3", b.c3.dst, false);
    Mem shortcut = x;
    if (down) {
        b.cd = conv(name + "down", x, shapes[static_cast<size_t>(index + 3)], false);
        b.bd = bn(name + "down.bn", b.cd.dst, false);
        shortcut = b.bd.dst;
    }
    // out = relu(bn3 + shortcut): a binary add with ReLU as its post-op.
    dnnl::post_ops po;
    po.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    const auto d = b.b3.dst.get_desc();
    dnnl::binary::primitive_desc pd({algorithm::binary_add, d, shortcut.get_desc(), d}, attr, eng);
    b.out = act(pd.dst_desc());
    add<dnnl::binary>(name + "add_relu", pd, {{DNNL_ARG_SRC_0, b.b3.dst}, {DNNL_ARG_SRC_1, shortcut}, {DNNL_ARG_DST, b.out}});
    return b;
}

Mem Resnet::Impl::block_backward(const Block& b, const Mem& dout) {
    const std::string& n = b.name;
    // ReLU of the sum, in place: dout becomes the gradient of both the batch norm and the shortcut.
    dnnl::eltwise_backward::primitive_desc rpd(
        {algorithm::eltwise_relu_use_dst_for_bwd, dout.get_desc(), b.out.get_desc(), 0.0f, 0.0f}, eng,
        dnnl::eltwise_forward::primitive_desc(
            {prop_kind::forward_training, algorithm::eltwise_relu_use_dst_for_bwd, b.out.get_desc(), 0.0f, 0.0f}, eng));
    add<dnnl::eltwise_backward>(n + "relu.bwd", rpd, {{DNNL_ARG_DIFF_DST, dout}, {DNNL_ARG_DST, b.out}, {DNNL_ARG_DIFF_SRC, dout}});
    Mem d3 = diff(b.c3.dst.get_desc());
    bn_backward(b.b3, dout, d3);
    Mem d2 = conv_backward(b.c3, d3, false);
    release(d3);
    bn_backward(b.b2, d2, d2);
    Mem d1 = conv_backward(b.c2, d2, false);
    release(d2);
    bn_backward(b.b1, d1, d1);
    Mem dx = conv_backward(b.c1, d1, false);
    release(d1);
    if (b.down) {
        bn_backward(b.bd, dout, dout);  // dout's last use: the shortcut's batch norm takes it in place
        Mem ds = conv_backward(b.cd, dout, false);
        accumulate(n + "down.sum", dx, ds);
        release(ds);
    } else {
        accumulate(n + "sum", dx, dout);
    }
    release(dout);
    return dx;
}

void Resnet::Impl::build() {
    const auto shapes = resnet50_convs(c);
    // Input: synthetic N(0, 1) pixels and uniform labels, in the layout the stem convolution reads.
    const Mem::desc plain({batch, 3, c.image, c.image}, dt::f32, tag::nchw);
    const Mem placeholder(plain, eng, DNNL_MEMORY_NONE);
    Conv stem = conv("stem", placeholder, shapes[0], true);
    // The stem was built against a placeholder: give it the real image in its chosen layout.
    image = act(stem.fwd.src_desc());
    stem.src = image;
    ops.back().args[DNNL_ARG_SRC] = image;
    if (!plan_only) {
        Mem src(plain, eng);
        for (size_t i = 0; i < floats(src); ++i) data(src)[i] = static_cast<float>(rng.normal());
        dnnl::reorder(src, image).execute(strm, src, image);
        strm.wait();
        for (int i = 0; i < batch; ++i) labels.push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(c.classes))));
    }
    Bn stem_bn = bn("stem.bn", stem.dst, true);
    Mem x = stem_bn.dst;
    dnnl::pooling_forward::primitive_desc max_pd;
    Mem max_ws;
    if (!c.small_stem) {
        const int hw = shapes[1].in_hw;
        max_pd = dnnl::pooling_forward::primitive_desc(
            {prop_kind::forward_training, algorithm::pooling_max, x.get_desc(),
             {{batch, c.width, hw, hw}, dt::f32, tag::any}, {2, 2}, {3, 3}, {1, 1}, {1, 1}},
            eng);
        Mem pooled = act(max_pd.dst_desc());
        max_ws = act(max_pd.workspace_desc());
        add<dnnl::pooling_forward>("stem.maxpool", max_pd, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, pooled}, {DNNL_ARG_WORKSPACE, max_ws}});
        x = pooled;
    }
    std::vector<Block> blocks;
    const int counts[4] = {3, 4, 6, 3};
    size_t index = 1;
    for (int st = 0; st < 4; ++st)
        for (int k = 0; k < counts[st]; ++k) {
            blocks.push_back(block(fmt::format("s{}b{}.", st + 1, k), x, static_cast<int>(index), shapes, k == 0));
            index += k == 0 ? 4 : 3;
            x = blocks.back().out;
        }
    // Global average pool, then the classifier on the (batch, features, 1, 1) result.
    const int hw = static_cast<int>(x.get_desc().dims()[2]), feat = resnet50_features(c);
    dnnl::pooling_forward::primitive_desc avg_pd(
        {prop_kind::forward_training, algorithm::pooling_avg_exclude_padding, x.get_desc(),
         {{batch, feat, 1, 1}, dt::f32, tag::any}, {1, 1}, {hw, hw}, {0, 0}, {0, 0}},
        eng);
    Mem pooled = act(avg_pd.dst_desc());
    add<dnnl::pooling_forward>("avgpool", avg_pd, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, pooled}});
    dnnl::inner_product_forward::primitive_desc fc_pd(
        {prop_kind::forward_training, pooled.get_desc(), {{c.classes, feat, 1, 1}, dt::f32, tag::any},
         {{c.classes}, dt::f32, tag::a}, {{batch, c.classes}, dt::f32, tag::nc}},
        eng);
    const size_t fc_w = add_param(fc_pd.weights_desc(), true), fc_b = add_param(fc_pd.bias_desc(), false);
    init_weights(params[fc_w].w, {c.classes, feat, 1, 1}, tag::oihw, 1.0 / std::sqrt(feat), true);
    fill(params[fc_b].w, 0.0f);
    logits = act(fc_pd.dst_desc());
    dlogits = act(fc_pd.dst_desc());
    add<dnnl::inner_product_forward>("fc", fc_pd, {{DNNL_ARG_SRC, pooled}, {DNNL_ARG_WEIGHTS, params[fc_w].w},
                                                   {DNNL_ARG_BIAS, params[fc_b].w}, {DNNL_ARG_DST, logits}});
    host_ops_loss();

    // ---- backward ----
    dnnl::inner_product_backward_weights::primitive_desc fcw_pd(
        {pooled.get_desc(), params[fc_w].w.get_desc(), params[fc_b].w.get_desc(), dlogits.get_desc()}, eng, fc_pd);
    add<dnnl::inner_product_backward_weights>("fc.bwd_w", fcw_pd, {{DNNL_ARG_SRC, pooled}, {DNNL_ARG_DIFF_DST, dlogits},
                                                                   {DNNL_ARG_DIFF_WEIGHTS, params[fc_w].dw},
                                                                   {DNNL_ARG_DIFF_BIAS, params[fc_b].dw}});
    Mem dpooled = diff(pooled.get_desc());
    dnnl::inner_product_backward_data::primitive_desc fcd_pd(
        {dpooled.get_desc(), params[fc_w].w.get_desc(), dlogits.get_desc()}, eng, fc_pd);
    add<dnnl::inner_product_backward_data>("fc.bwd_d", fcd_pd, {{DNNL_ARG_DIFF_DST, dlogits},
                                                               {DNNL_ARG_WEIGHTS, params[fc_w].w}, {DNNL_ARG_DIFF_SRC, dpooled}});
    Mem d = diff(x.get_desc());
    dnnl::pooling_backward::primitive_desc avgb_pd(
        {algorithm::pooling_avg_exclude_padding, x.get_desc(), dpooled.get_desc(), {1, 1}, {hw, hw}, {0, 0}, {0, 0}}, eng,
        avg_pd);
    add<dnnl::pooling_backward>("avgpool.bwd", avgb_pd, {{DNNL_ARG_DIFF_DST, dpooled}, {DNNL_ARG_DIFF_SRC, d}});
    release(dpooled);
    for (size_t i = blocks.size(); i-- > 0;) d = block_backward(blocks[i], d);
    if (!c.small_stem) {
        Mem dbn = diff(stem_bn.dst.get_desc());
        dnnl::pooling_backward::primitive_desc maxb_pd(
            {algorithm::pooling_max, stem_bn.dst.get_desc(), d.get_desc(), {2, 2}, {3, 3}, {1, 1}, {1, 1}}, eng, max_pd);
        add<dnnl::pooling_backward>("stem.maxpool.bwd", maxb_pd,
                                    {{DNNL_ARG_DIFF_DST, d}, {DNNL_ARG_WORKSPACE, max_ws}, {DNNL_ARG_DIFF_SRC, dbn}});
        release(d);
        d = dbn;
    }
    bn_backward(stem_bn, d, d);
    conv_backward(stem, d, true);
    release(d);
    host_ops_sgd();
}

// Mean softmax cross-entropy of the logits (batch, classes) and its gradient.
void Resnet::Impl::host_ops_loss() {
    add_host("loss", [this] {
        const float* z = data(logits);
        float* g = data(dlogits);
        const int K = c.classes;
        double total = 0;
        for (int n = 0; n < batch; ++n) {
            const float* zr = z + static_cast<size_t>(n) * K;
            float* gr = g + static_cast<size_t>(n) * K;
            const float mx = *std::max_element(zr, zr + K);
            double sum = 0;
            for (int k = 0; k < K; ++k) sum += std::exp(static_cast<double>(zr[k] - mx));
            total += std::log(sum) - (zr[labels[static_cast<size_t>(n)]] - mx);
            for (int k = 0; k < K; ++k) gr[k] = static_cast<float>(std::exp(static_cast<double>(zr[k] - mx)) / sum / batch);
            gr[labels[static_cast<size_t>(n)]] -= 1.0f / static_cast<float>(batch);
        }
        loss = total / batch;
    });
}

// SGD with momentum as PyTorch has it: v = mu v + (g + wd w); w -= lr v.
void Resnet::Impl::host_ops_sgd() {
    add_host("sgd", [this] {
        const float lr = static_cast<float>(sgd.lr), mu = static_cast<float>(sgd.momentum);
        for (const Param& p : params) {
            float* w = data(p.w);
            const float* g = data(p.dw);
            float* v = data(p.mom);
            const float wd = p.decay ? static_cast<float>(sgd.weight_decay) : 0.0f;
            const int64_t n = static_cast<int64_t>(floats(p.w));
#pragma omp parallel for simd schedule(static) if (n > 65536)
            for (int64_t i = 0; i < n; ++i) {
                v[i] = mu * v[i] + g[i] + wd * w[i];
                w[i] -= lr * v[i];
            }
        }
    });
}

Resnet::Resnet(const ResnetConfig& c, int batch, int threads, uint64_t seed, const SgdConfig& sgd, bool plan_only)
    : impl_(std::make_unique<Impl>()), c_(c), batch_(batch) {
    if (batch < 1) throw UsageError("--batch", "must be at least 1");
    impl_->c = c;
    impl_->batch = batch;
    impl_->threads = threads;
    impl_->plan_only = plan_only;
    impl_->sgd = sgd;
    impl_->rng = Rng(seed);
    omp_set_num_threads(threads);
    try {
        impl_->build();
    } catch (const dnnl::error& e) {
        throw std::runtime_error(fmt::format("[oneDNN] {} (status {})", e.what(), static_cast<int>(e.status)));
    }
}

Resnet::~Resnet() = default;

double Resnet::step() { return run_ops(impl_->ops.size()); }
double Resnet::loss_and_gradients() { return run_ops(impl_->ops.size() - 1); }  // the last op is SGD

std::vector<Resnet::Tensor> Resnet::parameters() {
    std::vector<Tensor> out;
    for (const Param& p : impl_->params) out.push_back({data(p.w), data(p.dw), floats(p.w)});
    return out;
}

double Resnet::run_ops(size_t n) {
    omp_set_num_threads(impl_->threads);
    for (size_t i = 0; i < n; ++i) {
        Op& op = impl_->ops[i];
        if (op.host) {
            impl_->strm.wait();
            op.host();
        } else {
            try {
                op.prim.execute(impl_->strm, op.args);
            } catch (const dnnl::error& e) {
                throw std::runtime_error(fmt::format("[oneDNN] {}: {} (status {})", op.name, e.what(), static_cast<int>(e.status)));
            }
        }
    }
    impl_->strm.wait();
    return impl_->loss;
}

ResnetMemory Resnet::memory() const { return impl_->bytes; }

std::vector<Resnet::OpInfo> Resnet::ops() const {
    std::vector<OpInfo> out;
    for (const auto& op : impl_->ops) out.push_back({op.name, !op.host});
    return out;
}

void Resnet::run_op(size_t i) {
    Op& op = impl_->ops.at(i);
    omp_set_num_threads(impl_->threads);
    if (op.host) {
        op.host();
    } else {
        op.prim.execute(impl_->strm, op.args);
        impl_->strm.wait();
    }
}

ResnetMemory resnet_memory(const ResnetConfig& c, int batch) { return Resnet(c, batch, 1, 1, {}, true).memory(); }

std::string onednn_version() {
    const dnnl_version_t* v = dnnl_version();
    return fmt::format("oneDNN {}.{}.{} (cpu runtime: {})", v->major, v->minor, v->patch,
                       v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB" : "other");
}

}  // namespace versus::train

#else  // built without oneDNN: every ResNet is a skipped row

#include "base/error.hpp"

namespace versus::train {

struct Resnet::Impl {};
namespace {
[[noreturn]] void no_onednn() { throw Skip("built without oneDNN (libdnnl-dev): no CPU convolutions for ResNet-50"); }
}  // namespace
Resnet::Resnet(const ResnetConfig& c, int batch, int, uint64_t, const SgdConfig&, bool) : c_(c), batch_(batch) { no_onednn(); }
Resnet::~Resnet() = default;
double Resnet::step() { no_onednn(); }
double Resnet::loss_and_gradients() { no_onednn(); }
std::vector<Resnet::Tensor> Resnet::parameters() { no_onednn(); }
double Resnet::run_ops(size_t) { no_onednn(); }
ResnetMemory Resnet::memory() const { no_onednn(); }
std::vector<Resnet::OpInfo> Resnet::ops() const { no_onednn(); }
void Resnet::run_op(size_t) { no_onednn(); }
ResnetMemory resnet_memory(const ResnetConfig&, int) { no_onednn(); }
std::string onednn_version() { return "none (built without oneDNN)"; }

}  // namespace versus::train

#endif
