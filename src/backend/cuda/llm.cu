// The LLM half of the CUDA plugin (placeholder until it lands): fills no entries.
#include "backend/cuda/cuda-common.cuh"

namespace versus::cuda {

void fill_llm_ops(versus_backend_i*) {}

}  // namespace versus::cuda
