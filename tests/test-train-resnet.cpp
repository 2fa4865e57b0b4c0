// ResNet-50 training through oneDNN: the shapes and counts of the real network, the memory estimate against
// what a built network holds, the backward graph's wiring (the directional derivative of the loss along its
// gradient equals the gradient's norm), and a fixed batch that a narrow ResNet-50 overfits. The numeric tests
// use the CIFAR-10 form at width 16 (ResNet-50's depth and structure at 1/4 of its channels, 32 px) to stay fast;
// oneDNN's own primitives are oneDNN's to test. Skipped where the build has no oneDNN.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "base/error.hpp"
#include "train/resnet.hpp"

using namespace versus;
using namespace versus::train;

namespace {

#if !defined(VERSUS_HAVE_DNNL)
#define SKIP_WITHOUT_ONEDNN() GTEST_SKIP() << "built without oneDNN"
#else
#define SKIP_WITHOUT_ONEDNN() (void)0
#endif

}  // namespace

TEST(TrainResnet, ShapesOfTheRealNetwork) {
    const ResnetConfig c = resnet50_config("imagenet-1k");
    EXPECT_EQ(resnet50_parameters(c), 25557032);  // torchvision's resnet50
    const auto convs = resnet50_convs(c);
    EXPECT_EQ(convs.size(), 53u);  // stem + 16 blocks x 3 + 4 projections
    EXPECT_EQ(convs.back().out_hw, 7);
    EXPECT_EQ(convs[2].stride, 1);
    // v1.5: the stride sits in the 3x3 of each stage's first block.
    for (const auto& s : convs) {
        if (s.name == "s2b0.conv2") {
            EXPECT_EQ(s.stride, 2);
        }
    }
    EXPECT_NEAR(resnet50_forward_macs(c), 4.09e9, 0.03e9);
    EXPECT_NEAR(resnet50_train_flops_per_image(c), 24.5e9, 0.2e9);
    const ResnetConfig cifar = resnet50_config("cifar-10");
    EXPECT_EQ(resnet50_convs(cifar).back().out_hw, 4);
    EXPECT_EQ(cifar.epoch_images, 50000);
    EXPECT_THROW(resnet50_config("mnist"), UsageError);
    EXPECT_THROW(resnet50_config("cifar-10", 24), UsageError);
}

TEST(TrainResnet, MemoryEstimateIsWhatTheNetworkHolds) {
    SKIP_WITHOUT_ONEDNN();
    const ResnetConfig c = resnet50_config("cifar-10", 16);
    const ResnetMemory plan = resnet_memory(c, 4);
    Resnet net(c, 4, 1, 1);
    EXPECT_DOUBLE_EQ(plan.total(), net.memory().total());
    EXPECT_GT(plan.activations, plan.weights);
    EXPECT_GE(plan.weights, plan.momentum);  // plus the copies in the data gradient's layout
    EXPECT_EQ(plan.grads, plan.momentum);
}

TEST(TrainResnet, GradientIsTheSlopeOfTheLoss) {
    SKIP_WITHOUT_ONEDNN();
    Resnet net(resnet50_config("cifar-10", 16), 4, 1, 3);
    const double l0 = net.loss_and_gradients();
    EXPECT_NEAR(l0, std::log(10.0), 1.0);
    auto params = net.parameters();
    std::vector<std::vector<float>> w0, g;
    double norm2 = 0;
    for (const auto& t : params) {
        w0.emplace_back(t.w, t.w + t.n);
        g.emplace_back(t.grad, t.grad + t.n);
        for (size_t i = 0; i < t.n; ++i) norm2 += static_cast<double>(t.grad[i]) * t.grad[i];
    }
    const double norm = std::sqrt(norm2), h = 1e-4;
    auto loss_at = [&](double step) {
        for (size_t k = 0; k < params.size(); ++k)
            for (size_t i = 0; i < params[k].n; ++i)
                params[k].w[i] = static_cast<float>(w0[k][i] + step * g[k][i] / norm);
        return net.loss_and_gradients();
    };
    // Along the unit gradient direction u: dL/ds = g . u = |g|.
    const double slope = (loss_at(h) - loss_at(-h)) / (2 * h);
    EXPECT_NEAR(slope, norm, 0.02 * norm) << "loss " << l0;
}

TEST(TrainResnet, OverfitsAFixedBatch) {
    SKIP_WITHOUT_ONEDNN();
    // From about ln(10) to below 0.05 within 60 steps on the same 4 images.
    SgdConfig sgd;
    sgd.lr = 0.05;
    Resnet net(resnet50_config("cifar-10", 16), 4, 1, 5, sgd);
    double first = 0, loss = 0;
    int steps = 0;
    for (; steps < 60; ++steps) {
        loss = net.step();
        if (steps == 0) first = loss;
        if (loss < 0.05) break;
    }
    EXPECT_NEAR(first, std::log(10.0), 1.0);
    EXPECT_LT(loss, 0.05) << "after " << steps << " steps";
    std::printf("fixed batch: loss %.3f -> %.4f in %d steps\n", first, loss, steps + 1);
}
