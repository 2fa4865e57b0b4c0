// model-io: writing models as GGUF files other tools accept (llama.cpp's metadata and tokenizer
// keys), from a synthetic preset or by re-quantizing an F32/F16/BF16 file.
#pragma once

#include <cstdint>
#include <filesystem>

#include "backend/cpu/thread-pool.hpp"
#include "llm/config.hpp"
#include "llm/gguf.hpp"
#include "llm/tokenizer-json.hpp"

namespace versus::llm {

// The architecture keys llama.cpp reads for `c` (llama.* or qwen2.*), general.* keys, and a
// SentencePiece-style vocabulary of c.n_vocab pieces (<unk>, <s>, </s>, 256 byte tokens, words).
void set_model_metadata(GgufWriter& w, const ModelConfig& c, GgmlType type);
void set_synthetic_vocab(GgufWriter& w, const ModelConfig& c);

// Writes the synthetic model of Model::synthetic(c, type, seed) to `path`, tensor by tensor
// (never the whole model in memory); atomic: a partial file is never left under `path`. With `vocab`, the
// file carries that vocabulary (c.n_vocab must be at least its size) instead of the synthetic one.
void write_synthetic_gguf(const ModelConfig& c, GgmlType type, uint64_t seed, const std::filesystem::path& path,
                          const HfVocabulary* vocab = nullptr);

// Re-quantizes the matrices of `in` (F32, F16, BF16 or already quantized) into `type` and writes
// `out`; norms, biases and other 1-D tensors stay F32; metadata is copied (general.file_type
// updated).
void quantize_gguf(const std::filesystem::path& in, const std::filesystem::path& out, GgmlType type,
                   cpu::ThreadPool& pool);

// llama.cpp's general.file_type for a model whose matrices are `type`.
uint32_t llama_file_type(GgmlType type);

}  // namespace versus::llm
