// Fuzzes the CSV reader the back-test files and the spec database go through: any bytes give rows
// (some with an error) and cell lookups stay in bounds, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/csv.hpp"
#include "base/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        versus::base::CsvTable t(text, "fuzz.csv");
        for (const auto& row : t.rows())
            for (const auto& h : t.header()) (void)t.cell(row, h);
        (void)t.cell(versus::base::CsvRow{}, "platform");
    } catch (const versus::UsageError&) {
    }
    return 0;
}
