// Fuzzes the spec-database parsers (platform rows, multi-GPU systems): any bytes give rows or a
// std::logic_error naming file and line, never a crash. The embedded tables are replaced by none.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "predict/specs.hpp"

namespace versus::predict::detail {
std::span<const EmbeddedFile> embedded_spec_files() { return {}; }
}  // namespace versus::predict::detail

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        for (const auto& p : versus::predict::parse_platforms(text, "fuzz.csv")) (void)versus::predict::thinness(p);
    } catch (const std::logic_error&) {
    }
    try {
        for (const auto& s : versus::predict::parse_systems(text, "fuzz.csv")) (void)s.scaleout_GBps();
    } catch (const std::logic_error&) {
    }
    return 0;
}
