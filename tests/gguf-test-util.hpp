// Helpers shared by the GGUF tests: a temporary folder, byte builders for hand-made (and hostile) files,
// the expected error of a file that must be refused, a small model.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "llm/gguf.hpp"

namespace gguf_test {

using namespace versus;
using namespace versus::llm;


inline std::filesystem::path temp_dir() {
    auto dir = std::filesystem::temp_directory_path() / ("versus-test-gguf-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return dir;
}

inline std::vector<uint8_t> read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_all(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Little-endian byte builder for hand-made (and hostile) files.
struct Bytes {
    std::vector<uint8_t> b;
    template <class T>
    Bytes& put(T v) {
        const size_t at = b.size();
        b.resize(at + sizeof(T));
        std::memcpy(b.data() + at, &v, sizeof(T));
        return *this;
    }
    Bytes& u8(uint8_t v) { return put(v); }
    Bytes& u32(uint32_t v) { return put(v); }
    Bytes& u64(uint64_t v) { return put(v); }
    Bytes& str(std::string_view s) {
        u64(s.size());
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    Bytes& raw(std::string_view s) {
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    Bytes& pad(size_t alignment) {
        b.resize((b.size() + alignment - 1) / alignment * alignment, 0);
        return *this;
    }
    Bytes& zeros(size_t n) {
        b.resize(b.size() + n, 0);
        return *this;
    }
    // magic, version, counts
    static Bytes header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
        Bytes x;
        x.raw("GGUF").u32(version).u64(n_tensors).u64(n_kv);
        return x;
    }
    // key, STRING value
    Bytes& kv_string(std::string_view key, std::string_view value) { return str(key).u32(8).str(value); }
    Bytes& kv_u32(std::string_view key, uint32_t value) { return str(key).u32(4).u32(value); }
    Bytes& tensor(std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
        str(name).u32(static_cast<uint32_t>(ne.size()));
        for (uint64_t d : ne) u64(d);
        return u32(type).u64(offset);
    }
};

// Opens `bytes` both through a file (mmap) and from memory; expects a UsageError from both whose message
// holds every fragment, and returns the message.
inline std::string expect_error(const std::vector<uint8_t>& bytes, std::vector<std::string> fragments) {
    const auto path = temp_dir() / "hostile.gguf";
    write_all(path, bytes);
    std::string msg[2];
    for (int way = 0; way < 2; ++way) {
        try {
            if (way == 0) {
                (void)GgufFile::open(path);
            } else {
                (void)GgufFile::from_bytes(bytes, path.string());
            }
            ADD_FAILURE() << "no error; expected: " << fragments[0];
        } catch (const UsageError& e) {
            msg[way] = e.what();
        }
    }
    EXPECT_EQ(msg[0], msg[1]);
    for (const auto& f : fragments) EXPECT_NE(msg[0].find(f), std::string::npos) << "'" << f << "' not in: " << msg[0];
    EXPECT_EQ(msg[0].rfind("[gguf] " + path.string() + ": ", 0), 0u) << msg[0];
    EXPECT_NE(msg[0].find(". HINT: "), std::string::npos) << msg[0];
    return msg[0];
}

inline std::vector<uint8_t> iota_bytes(size_t n, uint8_t start = 0) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(start + i * 7);
    return v;
}

// A small model-like file: a few kvs and three tensors.
inline GgufWriter small_model(uint32_t alignment = 32) {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    if (alignment != GGUF_DEFAULT_ALIGNMENT) w.set_alignment(alignment);
    w.set_u32("llama.block_count", 2);
    w.set_f32("llama.rope.freq_base", 10000.0f);
    w.set_strings("tokenizer.ggml.tokens", std::vector<std::string>{"<s>", "</s>", "a"});
    w.add_tensor("token_embd.weight", {8, 3}, GgmlType::F32, iota_bytes(8 * 3 * 4));
    w.add_tensor("blk.0.attn_q.weight", {32, 2}, GgmlType::Q8_0, iota_bytes(2 * 34, 1));
    w.add_tensor("output_norm.weight", {5}, GgmlType::F16, iota_bytes(10, 2));
    return w;
}


}  // namespace gguf_test
