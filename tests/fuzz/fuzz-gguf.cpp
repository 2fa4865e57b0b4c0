// Fuzzes the GGUF reader: any bytes must open or give a UsageError, never crash, hang or allocate more than
// the file's size warrants. A file that opens is walked whole: every value converted and printed, every
// tensor's bytes read.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "base/error.hpp"
#include "llm/gguf.hpp"

using versus::llm::GgufFile;
using versus::llm::GgufValue;
using versus::llm::GgufValueType;

namespace {

size_t walk(const GgufValue& v) {
    size_t n = v.to_string().size();
    if (v.is_array()) {
        (void)v.to_vector<int64_t>();
        (void)v.to_vector<double>();
        (void)v.to_vector<std::string_view>();
        n += v.strings().size() + v.raw_elements().size();
        if (v.array_type() == GgufValueType::ARRAY)
            for (uint64_t i = 0; i < v.size(); ++i) n += walk(v.at(i));
    } else {
        (void)v.to<uint32_t>();
        (void)v.to<int64_t>();
        (void)v.to<float>();
        (void)v.to<bool>();
        (void)v.to<std::string>();
    }
    return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string path = "/tmp/versus-fuzz-gguf-" + std::to_string(getpid()) + ".gguf";
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    try {
        const GgufFile g = GgufFile::open(path);
        size_t n = 0;
        for (const auto& kv : g.metadata()) {
            n += walk(kv.value);
            if (g.find(kv.key) != &kv.value) __builtin_trap();
        }
        (void)g.get_u32("general.alignment");
        uint64_t sum = 0;
        for (const auto& t : g.tensors()) {
            if (g.find_tensor(t.name) != &t) __builtin_trap();
            for (uint8_t b : t.bytes()) sum += b;
        }
        try {
            g.require_supported_types();
        } catch (const versus::UsageError&) {
        }
        volatile uint64_t sink = sum + n;
        (void)sink;
    } catch (const versus::UsageError&) {
    }
    return 0;
}
