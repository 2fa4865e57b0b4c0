// train-handle: what a training handle of the table (train_*) is behind its void*: a GPT step (train-gpt.cu) or a
// ResNet-50 step (train-resnet.cu), freed and sized the same way (train-ops.cpp).
#pragma once

#include <cstdint>

#include "backend/backend-abi.h"

namespace versus::cuda::train {

struct Handle {
    virtual ~Handle() = default;
    virtual uint64_t bytes() const = 0;
};

// The table's entries, defined in train-gpt.cu and train-resnet.cu.
int gpt_create(void* ctx, int device, const versus_train_gpt_config* c, const float* params, void** handle);
int gpt_step(void* ctx, int device, void* handle, const int32_t* tokens, const int32_t* targets, float* loss, float* grads);
int gpt_params(void* ctx, int device, void* handle, float* params);
int resnet_create(void* ctx, int device, const versus_train_resnet_config* c, void** handle);
int resnet_step(void* ctx, int device, void* handle, float* loss);
// Empty when cuDNN can be used, else why not ("libcudnn.so.9: cannot open shared object file").
const char* cudnn_missing();

}  // namespace versus::cuda::train
