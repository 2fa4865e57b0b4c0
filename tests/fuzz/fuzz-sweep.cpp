// Fuzzes the sweep grammar: any text must parse or raise UsageError, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.hpp"
#include "core/params.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace versus::core;
    const std::string text(reinterpret_cast<const char*>(data), size);
    static const ParamSpec specs[] = {
        {"size", "size_bytes", ParamKind::SIZE, "", {}, "", "", 1, INT64_MAX},
        {"threads", "threads", ParamKind::INT, "", {}, "", "", 1, 4096},
        {"dtype", "dtype", ParamKind::CHOICE, "", {"f32", "bf16", "i8"}, "", ""},
    };
    for (const auto& spec : specs) {
        try {
            auto values = parse_sweep(spec, text);
            if (values.size() > MAX_SWEEP_POINTS + 1) __builtin_trap();
        } catch (const versus::UsageError&) {
        }
    }
    return 0;
}
