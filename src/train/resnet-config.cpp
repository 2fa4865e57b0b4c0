#include "train/resnet-config.hpp"

#include <fmt/format.h>

#include "base/error.hpp"

namespace versus::train {

ResnetConfig resnet50_config(std::string_view dataset, int width) {
    // Multiples of 16 keep every layer in the CPU's 16-channel blocked layout, which oneDNN's fast kernels read.
    if (width < 16 || width % 16)
        throw UsageError("--width", fmt::format("{} is not a positive multiple of 16", width), "64 is ResNet-50 itself");
    ResnetConfig c;
    c.dataset = std::string(dataset);
    c.width = width;
    if (dataset == "imagenet-1k") {
        c.epoch_images = 1281167;
    } else if (dataset == "cifar-10") {
        c.image = 32;
        c.classes = 10;
        c.small_stem = true;
        c.epoch_images = 50000;
    } else {
        throw UsageError("--dataset", fmt::format("unknown data set '{}'", dataset), "imagenet-1k or cifar-10");
    }
    return c;
}

std::vector<ConvShape> resnet50_convs(const ResnetConfig& c) {
    std::vector<ConvShape> out;
    int hw = c.image;
    auto conv = [&](std::string name, int cin, int cout, int k, int stride) {
        const int pad = k / 2;
        const int o = (hw + 2 * pad - k) / stride + 1;
        out.push_back({std::move(name), cin, cout, k, stride, pad, hw, o});
        return o;
    };
    const int w = c.width;
    if (c.small_stem) {
        conv("stem", 3, w, 3, 1);
    } else {
        hw = conv("stem", 3, w, 7, 2);
        hw = (hw + 2 - 3) / 2 + 1;  // 3x3/2 max pool, padding 1
    }
    int cin = w;
    const int blocks[4] = {3, 4, 6, 3};
    for (int s = 0; s < 4; ++s) {
        const int mid = w << s, cout = 4 * mid;
        for (int b = 0; b < blocks[s]; ++b) {
            const std::string n = fmt::format("s{}b{}.", s + 1, b);
            const int stride = b == 0 && s > 0 ? 2 : 1;
            const int in_hw = hw;
            conv(n + "conv1", cin, mid, 1, 1);
            const int o = conv(n + "conv2", mid, mid, 3, stride);
            hw = o;
            conv(n + "conv3", mid, cout, 1, 1);
            if (b == 0) {
                hw = in_hw;
                conv(n + "down", cin, cout, 1, stride);
                hw = o;
            }
            cin = cout;
        }
    }
    return out;
}

int resnet50_features(const ResnetConfig& c) { return 32 * c.width; }

double resnet50_forward_macs(const ResnetConfig& c) {
    double macs = static_cast<double>(resnet50_features(c)) * c.classes;
    for (const auto& s : resnet50_convs(c)) macs += s.macs();
    return macs;
}

double resnet50_train_flops_per_image(const ResnetConfig& c) { return 3 * 2 * resnet50_forward_macs(c); }

int64_t resnet50_parameters(const ResnetConfig& c) {
    int64_t n = static_cast<int64_t>(resnet50_features(c)) * c.classes + c.classes;
    for (const auto& s : resnet50_convs(c))
        n += static_cast<int64_t>(s.cout) * s.cin * s.kernel * s.kernel + 2 * s.cout;  // weights, BN scale and shift
    return n;
}

}  // namespace versus::train
