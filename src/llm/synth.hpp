// synth: deterministic random tensor contents for the synthetic presets, generated straight in
// the storage format (random quants and scales for quantized types, so a 70B model is made at
// memory speed rather than quantized from floats). The same (seed, tensor name) gives the same
// bytes on every machine and for any thread count.
#pragma once

#include <cstdint>
#include <string_view>

#include "backend/cpu/thread-pool.hpp"
#include "llm/gguf.hpp"

namespace versus::llm {

// Per-tensor seed from the model seed and the tensor's name.
uint64_t tensor_seed(uint64_t seed, std::string_view name);

// Fills `dst` (ggml_tensor_bytes(type, {ne0, ne1}) bytes) with values of standard deviation about
// `sigma` and mean about 0. `ones` writes 1.0 everywhere (norm weights; f32 only).
void synth_tensor(GgmlType type, int64_t ne0, int64_t ne1, float sigma, bool ones, uint64_t seed, uint8_t* dst,
                  cpu::ThreadPool* pool);

// The standard deviation the presets use for a tensor, so activations stay finite in every layer.
float synth_sigma(std::string_view name, int64_t ne0);

}  // namespace versus::llm
