// Hostile GGUF files: each must give a UsageError with a useful message, never a crash or a huge
// allocation.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "gguf-test-util.hpp"

using namespace gguf_test;

TEST(GgufHostile, NotGguf) {
    expect_error({'G', 'G'}, {"only 2 bytes long, not a GGUF file"});
    expect_error({'P', 'K', 3, 4, 0, 0, 0, 0}, {"not a GGUF file: it starts with \"PK\\x03\\x04"});
    expect_error(Bytes().raw("tjgg").u32(3).u64(0).b, {"pre-GGUF GGML format"});
    expect_error(Bytes().u64(100).raw("{\"__metadata__\"").b, {"safetensors"});
    const auto path = temp_dir() / "empty.gguf";
    write_all(path, {});
    EXPECT_THROW((void)GgufFile::open(path), UsageError);
    try {
        (void)GgufFile::open(temp_dir() / "missing.gguf");
        FAIL();
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("cannot open: No such file"), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)GgufFile::open(temp_dir()), UsageError);  // a folder
}

TEST(GgufHostile, HugeCountsAndLengths) {
    const uint64_t big = uint64_t{1} << 60;
    expect_error(Bytes::header(uint64_t{1} << 40, 0).zeros(64).b, {"claims 1099511627776 tensors"});
    expect_error(Bytes::header(0, uint64_t{1} << 40).zeros(64).b, {"claims 1099511627776 metadata entries"});
    expect_error(Bytes::header(0, 1).u64(big).raw("k").zeros(16).b,
                 {"metadata entry 0 (key) at byte 24 claims a length of 1.00 EiB"});
    expect_error(Bytes::header(0, 1).str("k").u32(8).u64(big).b, {"key 'k'", "claims a length"});
    expect_error(Bytes::header(0, 1).str("k").u32(9).u32(4).u64(big).zeros(16).b,
                 {"key 'k' claims 1152921504606846976 elements of type UINT32"});
    expect_error(Bytes::header(0, 1).str("k").u32(9).u32(8).u64(big).zeros(16).b,
                 {"key 'k' claims 1152921504606846976 elements of type STRING"});
    expect_error(Bytes::header(0, 1).str("k").u32(9).u32(9).u64(big).zeros(16).b, {"elements of type ARRAY"});
    // A string inside an array whose length runs past the end.
    expect_error(Bytes::header(0, 1).str("k").u32(9).u32(8).u64(2).str("ok").u64(big).b,
                 {"key 'k'[1] at byte", "claims a length"});
    expect_error(Bytes::header(1, 0).u64(65).raw(std::string(65, 'n')).u32(1).u64(1).u32(0).u64(0).b,
                 {"tensor 0 (name) is 65 bytes long; at most 64"});
    expect_error(Bytes::header(0, 1).u64(65536).raw(std::string(65536, 'k')).u32(4).u32(0).b, {"at most 65535"});
}

TEST(GgufHostile, BadKeysAndValues) {
    expect_error(Bytes::header(0, 2).kv_u32("k", 1).kv_u32("k", 2).b, {"key 'k' appears twice"});
    expect_error(Bytes::header(0, 1).str("").u32(4).u32(0).b, {"metadata entry 0 has an empty key"});
    expect_error(Bytes::header(0, 1).str("k").u32(13).u32(0).b, {"key 'k' has unknown value type 13"});
    expect_error(Bytes::header(0, 1).str("k").u32(9).u32(77).u64(0).b,
                 {"key 'k' is an array of unknown value type 77"});
    expect_error(Bytes::header(0, 1).kv_u32("general.alignment", 48).b,
                 {"general.alignment is 48, not a power of two"});
    expect_error(Bytes::header(0, 1).kv_u32("general.alignment", 0).b, {"general.alignment is 0"});
    expect_error(Bytes::header(0, 1).kv_string("general.alignment", "32").b, {"general.alignment must be a UINT32"});
    // Arrays nested deeper than the limit.
    Bytes deep = Bytes::header(0, 1);
    deep.str("deep").u32(9);
    for (int i = 0; i < 20; ++i) deep.u32(9).u64(1);
    deep.u32(0).u64(0);
    expect_error(deep.b, {"key 'deep'[0][0][0][0][0][0][0][0] nests arrays more than 8 deep"});
    // At the limit, it opens.
    Bytes ok = Bytes::header(0, 1);
    ok.str("deep").u32(9);
    for (int i = 0; i < GGUF_MAX_ARRAY_DEPTH - 1; ++i) ok.u32(9).u64(1);
    ok.u32(0).u64(1).u8(5);
    EXPECT_EQ(GgufFile::from_bytes(ok.b, "ok").metadata().size(), 1u);
}

TEST(GgufHostile, BadTensorInfos) {
    auto one = [](std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data = 4096) {
        Bytes x = Bytes::header(1, 0);
        x.tensor("blk.0.attn_q.weight", ne, type, offset).pad(32).zeros(data);
        return x.b;
    };
    expect_error(Bytes::header(1, 0).str("t").u32(5).zeros(64).b,
                 {"tensor 't' has 5 dimensions; GGUF allows at most 4"});
    expect_error(one({4, 0}, 0, 0), {"tensor 'blk.0.attn_q.weight' has a dimension of 0 (ne[1])"});
    expect_error(one({static_cast<uint64_t>(-5)}, 0, 0), {"negative dimension ne[0] = -5"});
    expect_error(one({uint64_t{1} << 32, uint64_t{1} << 32}, 0, 0), {"more elements than int64 can count"});
    expect_error(one({uint64_t{1} << 62}, 0, 0), {"too large: its byte size overflows int64"});
    expect_error(one({32}, 99, 0), {"tensor 'blk.0.attn_q.weight' has unknown ggml type id 99"});
    expect_error(one({32}, 31, 0), {"type Q4_0_4_4 (id 31), which ggml removed"});
    expect_error(one({100}, 12, 0), {"rows of 100 values, not a whole number of Q4_K blocks of 256"});
    expect_error(one({8}, 0, 16), {"data offset 16, not a multiple of the alignment 32"});
    expect_error(Bytes::header(1, 0).str("").u32(1).u64(1).u32(0).u64(0).pad(32).zeros(32).b,
                 {"tensor 0 has an empty name"});
    Bytes dup = Bytes::header(2, 0);
    dup.tensor("t", {8}, 0, 0).tensor("t", {8}, 0, 32).pad(32).zeros(64);
    expect_error(dup.b, {"tensor 't' appears twice"});
}

TEST(GgufHostile, DataPastEndAndOverlaps) {
    // 1 GiB of F32 declared, a few bytes present: a truncated download.
    Bytes big = Bytes::header(1, 0);
    big.tensor("token_embd.weight", {uint64_t{1} << 28}, 0, 0).pad(32).zeros(100);
    expect_error(big.b, {"tensor 'token_embd.weight' extends past the end of the file (its data ends at byte "
                         "1073741920 = 1.00 GiB, but the file is 196 bytes: 1.00 GiB missing)",
                         "HINT: the download looks truncated"});
    // An offset far past the end.
    Bytes far = Bytes::header(1, 0);
    far.tensor("t", {8}, 0, uint64_t{1} << 40).pad(32).zeros(32);
    expect_error(far.b, {"tensor 't' extends past the end of the file", "1.00 TiB"});
    // An offset so large that offset + size overflows u64.
    Bytes wrap = Bytes::header(1, 0);
    wrap.tensor("t", {8}, 0, UINT64_MAX - 31).pad(32).zeros(32);
    expect_error(wrap.b, {"extends past the end of the file"});
    // Header ends where the file ends: the data section would start past it.
    expect_error(Bytes::header(1, 0).tensor("t", {8}, 0, 0).b, {"the data section would start at", "truncated"});
    // Two tensors sharing bytes.
    Bytes ov = Bytes::header(3, 0);
    ov.tensor("a", {16}, 0, 0).tensor("b", {16}, 0, 32).tensor("c", {8}, 0, 128).pad(32).zeros(160);
    expect_error(ov.b, {"tensors 'a' (bytes 0..64) and 'b' (from byte 32) overlap"});
    // Adjacent tensors (and out-of-order offsets) are fine.
    Bytes adj = Bytes::header(2, 0);
    adj.tensor("a", {8}, 0, 32).tensor("b", {8}, 0, 0).pad(32).zeros(64);
    const GgufFile f = GgufFile::from_bytes(adj.b, "adj");
    EXPECT_EQ(f.tensors()[0].offset, 32u);
}

// Every prefix of a valid file that cuts into its header or tensor data is refused with a UsageError.
TEST(GgufHostile, TruncatedAtEveryByte) {
    const auto bytes = small_model().to_bytes();
    const GgufFile whole = GgufFile::from_bytes(bytes, "whole");
    uint64_t data_end = 0;
    for (const auto& t : whole.tensors()) data_end = std::max(data_end, whole.data_offset() + t.offset + t.n_bytes);
    ASSERT_LT(data_end, bytes.size());  // the last tensor's padding follows
    const auto path = temp_dir() / "cut.gguf";
    for (size_t len = 0; len < data_end; ++len) {
        const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len));
        EXPECT_THROW((void)GgufFile::from_bytes(cut, "cut"), UsageError) << "prefix of " << len << " bytes";
        write_all(path, cut);
        EXPECT_THROW((void)GgufFile::open(path), UsageError) << "prefix of " << len << " bytes";
    }
    // Without the final padding the data is whole, and the file opens.
    const std::vector<uint8_t> unpadded(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(data_end));
    EXPECT_EQ(GgufFile::from_bytes(unpadded, "unpadded").tensors().size(), 3u);
}

// A small in-test fuzzer: random byte changes to a valid file open or fail with a UsageError, never crash.
TEST(GgufHostile, RandomMutations) {
    const auto base = small_model(64).to_bytes();
    std::mt19937_64 rng(20240601);
    int opened = 0;
    for (int iter = 0; iter < 4000; ++iter) {
        std::vector<uint8_t> b = base;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e) {
            const size_t at = rng() % b.size();
            switch (rng() % 4) {
            case 0: b[at] = static_cast<uint8_t>(rng()); break;
            case 1: b[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
            case 2: b.erase(b.begin() + static_cast<std::ptrdiff_t>(at)); break;
            default: b[at] = (rng() % 2) ? 0xff : 0x00; break;
            }
            if (b.empty()) b.push_back(0);
        }
        try {
            const GgufFile f = GgufFile::from_bytes(b, "mutant");
            ++opened;
            size_t chars = 0;
            for (const auto& kv : f.metadata()) chars += kv.value.to_string().size();
            uint64_t sum = 0;
            for (const auto& t : f.tensors())
                for (uint8_t x : t.bytes()) sum += x;
            (void)chars;
            (void)sum;
        } catch (const UsageError&) {
        }
    }
    EXPECT_GT(opened, 0);
}
