// Fuzzes the results-file reader: any bytes must give records and problems, never a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "base/error.hpp"
#include "core/results-file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string path = "/tmp/versus-fuzz-results-" + std::to_string(getpid()) + ".jsonl";
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    auto got = versus::core::read_results(path);
    for (const auto& r : got.records) (void)r.to_json().dump();
    return 0;
}
