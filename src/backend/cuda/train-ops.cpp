// train-ops: the training entries of the CUDA plugin's table (backend-abi.h, train_*) and supports() for them.
#include <string>

#include "backend/cuda/cuda-common.hpp"
#include "backend/cuda/train-handle.hpp"

namespace versus::cuda {

namespace {

int train_memory(void* ctx, int index, void* handle, uint64_t* bytes) {
    if (!device(ctx, index)) return 1;
    *bytes = static_cast<train::Handle*>(handle)->bytes();
    return 0;
}

int train_free(void* ctx, int index, void* handle) {
    if (!device(ctx, index)) return 1;
    cudaStreamSynchronize(as_ctx(ctx)->devices[static_cast<size_t>(index)].stream);
    delete static_cast<train::Handle*>(handle);
    return 0;
}

}  // namespace

int train_supports(void* ctx, int index, versus_op op, versus_dtype dtype) {
    if (op == VERSUS_OP_TRAIN_GPT) {
        if (dtype == VERSUS_DTYPE_F32 || dtype == VERSUS_DTYPE_BF16) return 1;
        return (fail(ctx, "the GPU training step computes f32 or bf16 GEMMs"), 0);
    }
    if (dtype != VERSUS_DTYPE_F32) return (fail(ctx, "ResNet-50 on cuDNN trains in f32 here (bf16 is not written yet)"), 0);
    if (const char* why = train::cudnn_missing(); why[0]) return (fail(ctx, std::string("cuDNN: ") + why), 0);
    return 1;
}

void fill_train_ops(versus_backend_i* t) {
    t->train_gpt_create = train::gpt_create;
    t->train_gpt_step = train::gpt_step;
    t->train_gpt_params = train::gpt_params;
    t->train_resnet_create = train::resnet_create;
    t->train_resnet_step = train::resnet_step;
    t->train_memory = train_memory;
    t->train_free = train_free;
}

}  // namespace versus::cuda
