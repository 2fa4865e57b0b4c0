// resnet-config: the shape of ResNet-50 v1.5 as the training workload builds it, and the counts derived from
// it that the workload and the predictor share (forward MACs, training FLOPs per image, parameters).
//   imagenet-1k  224 x 224 images, 1000 classes: 7x7/2 stem, 3x3/2 max pool, four stages of bottlenecks
//                [3, 4, 6, 3] at widths 64..512 (x4 out), the stride in each stage's first 3x3 (v1.5), global
//                average pool, a 2048 -> 1000 classifier.
//   cifar-10     32 x 32 images, 10 classes: the same stages behind a 3x3/1 stem without the max pool (the
//                form CIFAR training code uses), so the last stage works on 4 x 4 maps.
// `width` scales every layer's channels (64 is the real network; tests use a narrow one).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace versus::train {

struct ResnetConfig {
    std::string dataset;  // "imagenet-1k" or "cifar-10"
    int image = 224, classes = 1000, width = 64;
    bool small_stem = false;   // 3x3/1 stem, no max pool (cifar-10)
    int64_t epoch_images = 0;  // images in one pass over the training set
};

// Throws UsageError for an unknown data set or a width that is not a positive multiple of 16.
ResnetConfig resnet50_config(std::string_view dataset, int width = 64);

// Every convolution in execution order: the stem, then per block conv1 (1x1), conv2 (3x3, the stage's stride),
// conv3 (1x1) and, in each stage's first block, the projection shortcut (1x1, same stride).
struct ConvShape {
    std::string name;  // "stem", "s2b0.conv2", "s2b0.down"
    int cin = 0, cout = 0, kernel = 1, stride = 1, pad = 0, in_hw = 0, out_hw = 0;
    double macs() const { return static_cast<double>(cout) * out_hw * out_hw * cin * kernel * kernel; }
};
std::vector<ConvShape> resnet50_convs(const ResnetConfig& c);
int resnet50_features(const ResnetConfig& c);  // channels into the classifier: 32 x width

// Multiply-adds of one image's forward pass: every convolution and the classifier.
double resnet50_forward_macs(const ResnetConfig& c);
// Training FLOPs per image (the images/s workload's flops and the predictor's): 3 x 2 x forward MACs, the
// forward pass and the two products of the backward pass (data and weights). ImageNet: 24.6 GFLOP.
double resnet50_train_flops_per_image(const ResnetConfig& c);
// Trained parameters: convolution weights, batch-norm scales and shifts, classifier weights and biases.
int64_t resnet50_parameters(const ResnetConfig& c);

}  // namespace versus::train
