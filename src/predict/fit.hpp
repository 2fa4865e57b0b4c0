// fit: does an LLM fit a platform, and where do its layers go? Weights + KV cache + working buffers
// against the accelerator's usable budget; what does not fit there is offloaded layer by layer to host
// RAM, as llama.cpp's partial offload (-ngl) does. Rules and their evidence: docs/predictor.md.
#pragma once

#include "predict/roofline.hpp"

namespace versus::predict {

// Bytes an accelerator may hold for one process:
//   discrete GPU  VRAM less a fixed reserve for the driver context and the framework;
//   Apple         macOS's GPU working-set limit: 2/3 of RAM up to 32 GiB and 3/4 above, unless the user
//                 raised it (sysctl iogpu.wired_limit_mb, PredictOptions::apple_wired_limit_GB);
//   CPU           the RAM less a reserve for the system.
double device_budget_bytes(const Platform& p, const PredictOptions& opt, std::string* rule);

// Host RAM beside a discrete GPU (the offload target): PredictOptions::host_ram_GB or a default.
double host_ram_bytes(const Platform& p, const PredictOptions& opt, std::string* rule);

// Layer by layer: the output matrix and working buffers stay on the accelerator, the token embedding
// in host memory (llama.cpp keeps it there), then as many blocks (weights + their KV cache) as fit.
MemoryPlan plan_memory(const Platform& p, const LlmQuery& q, const PredictOptions& opt);

}  // namespace versus::predict
