// Fuzzes the summary tables' parser (data/summary/*.csv): any bytes give a table or a UsageError
// naming the place, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/error.hpp"
#include "report/summary-data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto d = versus::report::parse_summary_data(text, "fuzz.csv");
        for (const auto& r : d.rows)
            if (r.cells.size() != d.columns.size()) __builtin_trap();
    } catch (const versus::UsageError&) {
    }
    return 0;
}
