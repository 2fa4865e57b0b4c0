// GGUF reader and writer: the type table, write -> read round trips of every metadata type and of tensors
// at several alignments, the exact bytes of a small file, atomic writes, a 128k-token vocabulary
// (hostile files: test-gguf-hostile.cpp).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "llm/gguf.hpp"

using namespace versus;
using namespace versus::llm;

#include "gguf-test-util.hpp"

using namespace gguf_test;

// ---- type table ---------------------------------------------------------------------------------

TEST(GgufTypes, TableSizesAndLookups) {
    struct Row {
        GgmlType t;
        const char* name;
        int64_t elems, bytes;
    };
    const Row rows[] = {{GgmlType::F32, "F32", 1, 4},         {GgmlType::F16, "F16", 1, 2},
                        {GgmlType::Q4_0, "Q4_0", 32, 18},     {GgmlType::Q4_1, "Q4_1", 32, 20},
                        {GgmlType::Q5_0, "Q5_0", 32, 22},     {GgmlType::Q5_1, "Q5_1", 32, 24},
                        {GgmlType::Q8_0, "Q8_0", 32, 34},     {GgmlType::Q8_1, "Q8_1", 32, 36},
                        {GgmlType::Q2_K, "Q2_K", 256, 84},    {GgmlType::Q3_K, "Q3_K", 256, 110},
                        {GgmlType::Q4_K, "Q4_K", 256, 144},   {GgmlType::Q5_K, "Q5_K", 256, 176},
                        {GgmlType::Q6_K, "Q6_K", 256, 210},   {GgmlType::Q8_K, "Q8_K", 256, 292},
                        {GgmlType::IQ4_NL, "IQ4_NL", 32, 18}, {GgmlType::IQ4_XS, "IQ4_XS", 256, 136},
                        {GgmlType::I8, "I8", 1, 1},           {GgmlType::I64, "I64", 1, 8},
                        {GgmlType::F64, "F64", 1, 8},         {GgmlType::BF16, "BF16", 1, 2},
                        {GgmlType::TQ2_0, "TQ2_0", 256, 66},  {GgmlType::MXFP4, "MXFP4", 32, 17}};
    for (const Row& r : rows) {
        const GgmlTypeInfo& t = ggml_type_info(r.t);
        EXPECT_STREQ(t.name, r.name);
        EXPECT_EQ(t.block_elements, r.elems) << r.name;
        EXPECT_EQ(t.block_bytes, r.bytes) << r.name;
        EXPECT_EQ(ggml_type_info(static_cast<uint32_t>(r.t)), &t);
    }
    EXPECT_EQ(ggml_type_info("q4_k"), &ggml_type_info(GgmlType::Q4_K));
    EXPECT_EQ(ggml_type_info("Q4_K"), &ggml_type_info(GgmlType::Q4_K));
    EXPECT_EQ(ggml_type_info("bf16"), &ggml_type_info(GgmlType::BF16));
    EXPECT_EQ(ggml_type_info("q4_kk"), nullptr);
    EXPECT_EQ(ggml_type_info(uint32_t{40}), nullptr);
    EXPECT_EQ(ggml_type_info(uint32_t{1000}), nullptr);
    EXPECT_TRUE(ggml_type_info(uint32_t{31})->removed);  // Q4_0_4_4
    EXPECT_STREQ(ggml_type_name(GgmlType::IQ2_XXS), "IQ2_XXS");

    std::vector<std::string> supported;
    for (const auto& t : ggml_types()) {
        if (t.supported) supported.push_back(t.name);
        if (!t.removed) {
            EXPECT_GT(t.block_bytes, 0) << t.name;
        }
        EXPECT_EQ(ggml_type_info(std::string_view(t.name)), &t);  // names are unique
    }
    EXPECT_EQ(supported, (std::vector<std::string>{"F32", "F16", "Q4_0", "Q8_0", "Q4_K", "Q5_K", "Q6_K", "BF16"}));
    EXPECT_EQ(ggml_supported_type_names(), "F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K");
}

TEST(GgufTypes, TensorBytes) {
    const std::vector<int64_t> a = {4096, 4096};
    EXPECT_EQ(ggml_tensor_bytes(GgmlType::F32, a), 4096u * 4096 * 4);
    EXPECT_EQ(ggml_tensor_bytes(GgmlType::Q4_K, a), 4096u / 256 * 144 * 4096);
    EXPECT_EQ(ggml_tensor_bytes(GgmlType::Q8_0, std::vector<int64_t>{32, 3, 2}), 34u * 6);
    EXPECT_FALSE(ggml_tensor_bytes(GgmlType::Q4_K, std::vector<int64_t>{100}));  // not whole blocks
    EXPECT_FALSE(ggml_tensor_bytes(GgmlType::F32, std::vector<int64_t>{0}));
    EXPECT_FALSE(ggml_tensor_bytes(GgmlType::F32, std::vector<int64_t>{int64_t{1} << 40, int64_t{1} << 23}));
    EXPECT_FALSE(ggml_tensor_bytes(GgmlType::F32, std::vector<int64_t>{int64_t{1} << 31, int64_t{1} << 31}));
    EXPECT_FALSE(ggml_tensor_bytes(static_cast<GgmlType>(31), std::vector<int64_t>{32}));
}

TEST(GgufValue, Conversions) {
    EXPECT_EQ(GgufValue::of_i32(-1).to<int64_t>(), -1);
    EXPECT_FALSE(GgufValue::of_i32(-1).to<uint32_t>());
    EXPECT_FALSE(GgufValue::of_u64(uint64_t{1} << 40).to<uint32_t>());
    EXPECT_EQ(GgufValue::of_u64(7).to<uint8_t>(), 7);
    EXPECT_EQ(GgufValue::of_u8(255).to<int8_t>(), std::nullopt);
    EXPECT_EQ(GgufValue::of_i8(-128).to<int16_t>(), -128);
    EXPECT_EQ(GgufValue::of_u32(3).to<double>(), 3.0);
    EXPECT_EQ(GgufValue::of_f64(0.5).to<float>(), 0.5f);
    EXPECT_FALSE(GgufValue::of_f32(1.0f).to<int32_t>());
    EXPECT_FALSE(GgufValue::of_u8(1).to<bool>());
    EXPECT_EQ(GgufValue::of_bool(true).to<bool>(), true);
    EXPECT_FALSE(GgufValue::of_string("1").to<uint32_t>());
    EXPECT_EQ(GgufValue::of_string("hi").to<std::string>(), "hi");
    EXPECT_EQ(GgufValue::of_u16(9).to_string(), "UINT16 9");
    EXPECT_EQ(GgufValue::of_string("a\"b").to_string(), "STRING \"a\\\"b\"");
    const std::vector<std::string> s = {"x", "y", "z"};
    EXPECT_EQ(GgufValue::of_strings(s).to_string(2), "ARRAY[3] of STRING [\"x\", \"y\", ...]");
    EXPECT_THROW(GgufValue::of_values({GgufValue::of_u8(1), GgufValue::of_i8(1)}), std::invalid_argument);
    EXPECT_THROW((void)GgufValue::of_u8(1).at(0), std::out_of_range);
}

// ---- round trips --------------------------------------------------------------------------------

// A file with every metadata type, nested arrays and a replaced key.
std::filesystem::path write_every_type() {
    GgufWriter w;
    w.set_u8("t.u8", 250);
    w.set_i8("t.i8", -120);
    w.set_u16("t.u16", 65000);
    w.set_i16("t.i16", -32000);
    w.set_u32("t.u32", 4000000000u);
    w.set_i32("t.i32", -2000000000);
    w.set_f32("t.f32", 1.5f);
    w.set_bool("t.bool", true);
    w.set_bool("t.bool_false", false);
    w.set_string("t.string", std::string("h\xc3\xa9llo\0world", 12));  // UTF-8 and an embedded NUL
    w.set_string("t.empty", "");
    w.set_u64("t.u64", std::numeric_limits<uint64_t>::max());
    w.set_i64("t.i64", std::numeric_limits<int64_t>::min());
    w.set_f64("t.f64", -1e300);
    w.set_f32("t.nan", std::numeric_limits<float>::quiet_NaN());
    w.set_array("a.u8", std::vector<uint8_t>{1, 2, 255});
    w.set_array("a.i8", std::vector<int8_t>{-1, 2});
    w.set_array("a.u16", std::vector<uint16_t>{1, 65535});
    w.set_array("a.i16", std::vector<int16_t>{-32768, 7});
    w.set_array("a.u32", std::vector<uint32_t>{1, 2, 3});
    w.set_array("a.i32", std::vector<int32_t>{-1, 0, 1});
    w.set_array("a.u64", std::vector<uint64_t>{uint64_t{1} << 63});
    w.set_array("a.i64", std::vector<int64_t>{-5});
    w.set_array("a.f32", std::vector<float>{0.25f, -2.0f});
    w.set_array("a.f64", std::vector<double>{3.5, -0.0});
    w.set_array("a.bool", std::vector<bool>{true, false, true});
    w.set_strings("a.string", std::vector<std::string>{"", "one", std::string(300, 'x')});
    w.set_array("a.empty", std::vector<float>{});
    w.set("a.nested", GgufValue::of_values({GgufValue::of_array(std::vector<int32_t>{1, 2}),
                                            GgufValue::of_strings(std::vector<std::string>{"p", "q"}),
                                            GgufValue::of_values({GgufValue::of_array(std::vector<uint8_t>{9})})}));
    w.set_u32("t.replaced", 1);
    w.set_u32("t.replaced", 2);  // replaces in place
    EXPECT_EQ(w.kv_count(), 30u);

    const auto path = temp_dir() / "meta.gguf";
    w.write(path);
    EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
    EXPECT_EQ(std::filesystem::file_size(path), w.file_size());
    return path;
}

TEST(Gguf, RoundTripEveryMetadataType) {
    const auto path = write_every_type();
    const GgufFile f = GgufFile::open(path);

    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), 32u);
    EXPECT_TRUE(f.tensors().empty());
    ASSERT_EQ(f.metadata().size(), 30u);
    EXPECT_EQ(f.metadata()[0].key, "t.u8");  // file order
    EXPECT_EQ(f.metadata()[28].key, "a.nested");
    EXPECT_EQ(f.metadata()[29].key, "t.replaced");
    EXPECT_EQ(f.find("t.u8")->type(), GgufValueType::UINT8);

    EXPECT_EQ(f.find("t.u8")->to<uint8_t>(), 250);
    EXPECT_EQ(f.find("t.i8")->to<int8_t>(), -120);
    EXPECT_EQ(f.find("t.u16")->to<uint16_t>(), 65000);
    EXPECT_EQ(f.find("t.i16")->to<int16_t>(), -32000);
    EXPECT_EQ(f.get_u32("t.u32"), 4000000000u);
    EXPECT_EQ(f.get_i32("t.i32"), -2000000000);
    EXPECT_EQ(f.get_i64("t.i32"), -2000000000);  // widening is fine
    EXPECT_EQ(f.get_f32("t.f32"), 1.5f);
    EXPECT_EQ(f.get_bool("t.bool"), true);
    EXPECT_EQ(f.get_bool("t.bool_false"), false);
    EXPECT_EQ(f.get_string("t.string"), std::string_view("h\xc3\xa9llo\0world", 12));
    EXPECT_EQ(f.get_string("t.empty"), "");
    EXPECT_EQ(f.get_u64("t.u64"), std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(f.get_i64("t.i64"), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(f.get_f64("t.f64"), -1e300);
    EXPECT_TRUE(std::isnan(*f.get_f32("t.nan")));
    EXPECT_EQ(f.get_u32("t.replaced"), 2u);

    EXPECT_EQ(f.get_array<uint8_t>("a.u8"), (std::vector<uint8_t>{1, 2, 255}));
    EXPECT_EQ(f.get_array<int8_t>("a.i8"), (std::vector<int8_t>{-1, 2}));
    EXPECT_EQ(f.get_array<uint16_t>("a.u16"), (std::vector<uint16_t>{1, 65535}));
    EXPECT_EQ(f.get_array<int16_t>("a.i16"), (std::vector<int16_t>{-32768, 7}));
    EXPECT_EQ(f.get_array<uint32_t>("a.u32"), (std::vector<uint32_t>{1, 2, 3}));
    EXPECT_EQ(f.get_array<int64_t>("a.u32"), (std::vector<int64_t>{1, 2, 3}));  // converted
    EXPECT_EQ(f.get_array<int32_t>("a.i32"), (std::vector<int32_t>{-1, 0, 1}));
    EXPECT_EQ(f.get_array<uint64_t>("a.u64"), (std::vector<uint64_t>{uint64_t{1} << 63}));
    EXPECT_EQ(f.get_array<int64_t>("a.i64"), (std::vector<int64_t>{-5}));
    EXPECT_EQ(f.get_array<float>("a.f32"), (std::vector<float>{0.25f, -2.0f}));
    const auto f64 = *f.get_array<double>("a.f64");
    EXPECT_EQ(f64[0], 3.5);
    EXPECT_TRUE(std::signbit(f64[1]));
    EXPECT_EQ(f.get_array<bool>("a.bool"), (std::vector<bool>{true, false, true}));
    EXPECT_EQ(f.get_array<std::string>("a.string"), (std::vector<std::string>{"", "one", std::string(300, 'x')}));
    EXPECT_EQ(f.find("a.string")->strings()[1], "one");
    EXPECT_EQ(f.get_array<float>("a.empty"), std::vector<float>{});
    EXPECT_EQ(f.find("a.empty")->array_type(), GgufValueType::FLOAT32);

    const GgufValue& nested = f.require("a.nested");
    ASSERT_EQ(nested.array_type(), GgufValueType::ARRAY);
    ASSERT_EQ(nested.size(), 3u);
    EXPECT_EQ(nested.at(0).to_vector<int32_t>(), (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(nested.at(1).to_vector<std::string_view>(), (std::vector<std::string_view>{"p", "q"}));
    EXPECT_EQ(nested.at(2).at(0).to_vector<uint8_t>(), (std::vector<uint8_t>{9}));
    EXPECT_EQ(nested.to_string(), "ARRAY[3] of ARRAY [[1, 2], [\"p\", \"q\"], [[9]]]");
}

TEST(Gguf, AbsentKeysWrongTypesAndValuesThatDoNotFit) {
    const auto path = write_every_type();
    const GgufFile f = GgufFile::open(path);
    EXPECT_EQ(f.get_u32("nope"), std::nullopt);
    EXPECT_EQ(f.get_array<float>("nope"), std::nullopt);
    try {
        (void)f.require_u32("llama.block_count");
        FAIL();
    } catch (const UsageError& e) {
        EXPECT_EQ(
            std::string(e.what()).rfind("[gguf] " + path.string() + ": missing key 'llama.block_count'. HINT: ", 0), 0u)
            << e.what();
    }
    EXPECT_THROW((void)f.require_array<float>("nope"), UsageError);
    EXPECT_THROW((void)f.require("nope"), UsageError);
    EXPECT_THROW((void)f.get_u32("t.string"), UsageError);
    EXPECT_THROW((void)f.get_u32("t.i32"), UsageError);  // negative
    EXPECT_THROW((void)f.get_string("t.u8"), UsageError);
    EXPECT_THROW((void)f.get_array<std::string>("a.u8"), UsageError);
    EXPECT_THROW((void)f.get_array<uint8_t>("a.i8"), UsageError);  // -1 does not fit
    EXPECT_THROW((void)f.get_array<float>("t.f32"), UsageError);   // not an array
    try {
        (void)f.get_bool("t.string");
        FAIL();
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("key 't.string' is STRING"), std::string::npos) << e.what();
    }
}

class GgufAlignment : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufAlignment, RoundTripTensors) {
    const uint32_t alignment = GetParam();
    GgufWriter w;
    w.set_string("general.architecture", "test");
    if (alignment != 32) w.set_alignment(alignment);
    EXPECT_EQ(w.alignment(), alignment);
    struct T {
        std::string name;
        std::vector<int64_t> ne;
        GgmlType type;
    };
    const std::vector<T> ts = {
        {"f32.vec", {7}, GgmlType::F32},           {"f16.mat", {16, 3}, GgmlType::F16},
        {"bf16.4d", {4, 3, 2, 2}, GgmlType::BF16}, {"q8_0", {64, 2}, GgmlType::Q8_0},
        {"q4_0", {32, 1, 3}, GgmlType::Q4_0},      {"q4_k", {256, 2, 3}, GgmlType::Q4_K},
        {"q5_k", {512}, GgmlType::Q5_K},           {"q6_k", {256, 5}, GgmlType::Q6_K},
        {"q5_0", {32, 2}, GgmlType::Q5_0},         {"i32", {3}, GgmlType::I32},
    };
    std::vector<std::vector<uint8_t>> data;
    for (size_t i = 0; i < ts.size(); ++i) {
        data.push_back(iota_bytes(*ggml_tensor_bytes(ts[i].type, ts[i].ne), static_cast<uint8_t>(i)));
        w.add_tensor(ts[i].name, ts[i].ne, ts[i].type, data.back());
    }
    const auto path = temp_dir() / ("tensors-" + std::to_string(alignment) + ".gguf");
    w.write(path);
    const auto bytes = read_all(path);
    EXPECT_EQ(bytes, w.to_bytes());
    EXPECT_EQ(bytes.size() % alignment, 0u);

    const GgufFile f = GgufFile::open(path);
    EXPECT_EQ(f.alignment(), alignment);
    EXPECT_EQ(f.data_offset() % alignment, 0u);
    EXPECT_EQ(f.file_size(), bytes.size());
    ASSERT_EQ(f.tensors().size(), ts.size());
    for (size_t i = 0; i < ts.size(); ++i) {
        const GgufTensorInfo& t = f.tensors()[i];
        EXPECT_EQ(t.name, ts[i].name);
        EXPECT_EQ(f.find_tensor(ts[i].name), &t);
        EXPECT_EQ(t.n_dims, static_cast<int>(ts[i].ne.size()));
        EXPECT_EQ(std::vector<int64_t>(t.shape().begin(), t.shape().end()), ts[i].ne);
        for (int d = t.n_dims; d < GGUF_MAX_DIMS; ++d) EXPECT_EQ(t.ne[d], 1);
        EXPECT_EQ(t.type, ts[i].type);
        EXPECT_EQ(t.offset % alignment, 0u);
        EXPECT_EQ(static_cast<uint64_t>(t.data - f.base()) % alignment, 0u);
        EXPECT_EQ(t.data, f.base() + f.data_offset() + t.offset);  // in place, not a copy
        EXPECT_EQ(t.n_bytes, data[i].size());
        EXPECT_TRUE(std::equal(data[i].begin(), data[i].end(), t.bytes().begin(), t.bytes().end())) << t.name;
    }
    EXPECT_EQ(f.tensors()[5].n_elements, 256 * 2 * 3);
    EXPECT_EQ(f.find_tensor("nope"), nullptr);
    EXPECT_THROW((void)f.require_tensor("nope"), UsageError);
    if (alignment != 32) {
        EXPECT_EQ(f.get_u32("general.alignment"), alignment);
    } else {
        EXPECT_FALSE(f.has("general.alignment"));  // the default is not written, as gguf-py does
    }
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufAlignment, ::testing::Values(32u, 64u, 1u, 4096u));

// The exact bytes of a tiny file, assembled by hand from the specification.
TEST(Gguf, GoldenBytes) {
    GgufWriter w;
    w.set_u32("a", 7);
    const float v[2] = {1.0f, 2.0f};
    std::vector<uint8_t> data(8);
    std::memcpy(data.data(), v, 8);
    w.add_tensor("t", {2}, GgmlType::F32, data);

    Bytes x = Bytes::header(1, 1);
    x.kv_u32("a", 7).tensor("t", {2}, 0, 0).pad(32);
    EXPECT_EQ(x.b.size(), 96u);  // 74 bytes of header, padded
    x.b.insert(x.b.end(), data.begin(), data.end());
    x.pad(32);
    EXPECT_EQ(w.to_bytes(), x.b);
    EXPECT_EQ(w.file_size(), 128u);

    // And 64-byte alignment: the key comes first, offsets and padding follow it.
    GgufWriter w64;
    w64.set_alignment(64);
    w64.add_tensor("x", {8}, GgmlType::F32, iota_bytes(32));
    w64.add_tensor("y", {8}, GgmlType::F32, iota_bytes(32, 5));
    Bytes y = Bytes::header(2, 1);
    y.kv_u32("general.alignment", 64).tensor("x", {8}, 0, 0).tensor("y", {8}, 0, 64).pad(64);
    const auto d1 = iota_bytes(32), d2 = iota_bytes(32, 5);
    y.b.insert(y.b.end(), d1.begin(), d1.end());
    y.pad(64);
    y.b.insert(y.b.end(), d2.begin(), d2.end());
    y.pad(64);
    EXPECT_EQ(w64.to_bytes(), y.b);
}

// Reading a file and writing back everything it holds gives the same bytes.
TEST(Gguf, CopyThroughIsIdentical) {
    const auto original = small_model(64).to_bytes();
    const GgufFile f = GgufFile::from_bytes(original, "small.gguf");
    GgufWriter w;
    for (const auto& kv : f.metadata()) w.set(kv.key, kv.value);
    for (const auto& t : f.tensors()) {
        const std::span<const uint8_t> src = t.bytes();
        w.add_tensor(t.name, std::vector<int64_t>(t.shape().begin(), t.shape().end()), t.type,
                     [src](GgufSink& sink) { sink.write(src); });
    }
    EXPECT_EQ(w.to_bytes(), original);
}

// A file written by another implementation (@huggingface/gguf 0.4.6, serializeGgufMetadata): versus reads it,
// and versus's writer produces the same bytes from the same metadata.
TEST(Gguf, ReadsAndMatchesAnotherWriter) {
    const auto path = std::filesystem::path(VERSUS_TEST_DATA) / "gguf" / "hf-metadata.gguf";
    const GgufFile f = GgufFile::open(path);
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.metadata().size(), 18u);
    EXPECT_EQ(f.require_string("general.architecture"), "llama");
    EXPECT_EQ(f.require_string("general.name"), "h\xc3\xa9llo \xf0\x9f\x98\x80");
    EXPECT_EQ(f.require_u32("llama.block_count"), 32u);
    EXPECT_EQ(f.require_f32("llama.rope.freq_base"), 500000.0f);
    EXPECT_EQ(f.find("t.u8")->to<uint8_t>(), 200);
    EXPECT_EQ(f.find("t.i8")->to<int8_t>(), -100);
    EXPECT_EQ(f.find("t.u16")->to<uint16_t>(), 60000);
    EXPECT_EQ(f.find("t.i16")->to<int16_t>(), -30000);
    EXPECT_EQ(f.require_i32("t.i32"), -7);
    EXPECT_EQ(f.require_u64("t.u64"), 12345678901234u);
    EXPECT_EQ(f.require_i64("t.i64"), -12345678901234);
    EXPECT_EQ(f.require_f64("t.f64"), 0.1);
    EXPECT_EQ(f.require_bool("t.bool"), true);
    const std::vector<std::string> tokens = {"<s>", "</s>", "\xe2\x96\x81the", ""};
    EXPECT_EQ(f.require_array<std::string>("tokenizer.ggml.tokens"), tokens);
    const std::vector<float> scores = {0, -1.5f, -2.25f, 3};
    EXPECT_EQ(f.require_array<float>("tokenizer.ggml.scores"), scores);
    const std::vector<int32_t> types = {3, 3, 1, 1};
    EXPECT_EQ(f.require_array<int32_t>("tokenizer.ggml.token_type"), types);
    EXPECT_EQ(f.require_array<bool>("a.bool"), (std::vector<bool>{true, false}));
    EXPECT_EQ(f.require_array<uint64_t>("a.u64"), (std::vector<uint64_t>{1, 2}));

    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_string("general.name", "h\xc3\xa9llo \xf0\x9f\x98\x80");
    w.set_u32("llama.block_count", 32);
    w.set_f32("llama.rope.freq_base", 500000.0f);
    w.set_u8("t.u8", 200);
    w.set_i8("t.i8", -100);
    w.set_u16("t.u16", 60000);
    w.set_i16("t.i16", -30000);
    w.set_i32("t.i32", -7);
    w.set_u64("t.u64", 12345678901234u);
    w.set_i64("t.i64", -12345678901234);
    w.set_f64("t.f64", 0.1);
    w.set_bool("t.bool", true);
    w.set_strings("tokenizer.ggml.tokens", tokens);
    w.set_array("tokenizer.ggml.scores", scores);
    w.set_array("tokenizer.ggml.token_type", types);
    w.set_array("a.bool", std::vector<bool>{true, false});
    w.set_array("a.u64", std::vector<uint64_t>{1, 2});
    EXPECT_EQ(w.to_bytes(), read_all(path));
}

TEST(Gguf, SourcesStreamAndWritesAreAtomic) {
    const auto path = temp_dir() / "atomic.gguf";
    const auto tmp = std::filesystem::path(path.string() + ".tmp");
    // A streamed tensor, written in uneven pieces.
    {
        GgufWriter w;
        int64_t n = 32 * 3000;  // values
        w.add_tensor("big", {32, 3000}, GgmlType::F32, [n](GgufSink& sink) {
            std::vector<float> chunk(777);
            for (int64_t i = 0; i < n;) {
                const int64_t k = std::min<int64_t>(static_cast<int64_t>(chunk.size()), n - i);
                for (int64_t j = 0; j < k; ++j) chunk[static_cast<size_t>(j)] = static_cast<float>(i + j);
                sink.write(chunk.data(), static_cast<size_t>(k) * 4);
                i += k;
            }
        });
        w.write(path);
        const GgufFile f = GgufFile::open(path);
        const auto& t = f.require_tensor("big");
        float last;
        std::memcpy(&last, t.data + t.n_bytes - 4, 4);
        EXPECT_EQ(last, static_cast<float>(n - 1));
    }
    const auto before = read_all(path);

    auto expect_untouched = [&]() {
        EXPECT_EQ(read_all(path), before);
        EXPECT_FALSE(std::filesystem::exists(tmp));
    };
    {  // a source that fails half-way
        GgufWriter w;
        w.add_tensor("a", {64}, GgmlType::F32, [](GgufSink& sink) {
            sink.write(std::vector<uint8_t>(100).data(), 100);
            throw std::runtime_error("generator failed");
        });
        EXPECT_THROW(w.write(path), std::runtime_error);
        expect_untouched();
    }
    {  // a source that writes too little
        GgufWriter w;
        w.add_tensor("a", {64}, GgmlType::F32, [](GgufSink& sink) { sink.write(std::vector<uint8_t>(100)); });
        try {
            w.write(path);
            FAIL();
        } catch (const UsageError& e) {
            EXPECT_NE(std::string(e.what()).find("wrote 100 of its 256 bytes"), std::string::npos) << e.what();
        }
        expect_untouched();
    }
    {  // a source that writes too much
        GgufWriter w;
        w.add_tensor("a", {64}, GgmlType::F32, [](GgufSink& sink) { sink.write(std::vector<uint8_t>(257)); });
        EXPECT_THROW(w.write(path), UsageError);
        expect_untouched();
    }
    {  // a folder that does not exist
        GgufWriter w;
        EXPECT_THROW(w.write(temp_dir() / "no-such-dir" / "x.gguf"), UsageError);
    }
}

TEST(Gguf, WriterRefusesBadInput) {
    GgufWriter w;
    auto msg = [](auto fn) -> std::string {
        try {
            fn();
        } catch (const UsageError& e) {
            return e.what();
        }
        return "no error";
    };
    EXPECT_NE(msg([&] { w.set_u32("", 1); }).find("empty metadata key"), std::string::npos);
    EXPECT_NE(msg([&] { w.set_u32(std::string(65536, 'k'), 1); }).find("at most 65535"), std::string::npos);
    EXPECT_NE(msg([&] { w.set_alignment(48); }).find("power of two"), std::string::npos);
    EXPECT_NE(msg([&] { w.set_alignment(0); }).find("power of two"), std::string::npos);
    EXPECT_NE(msg([&] { w.set_u64("general.alignment", 64); }).find("UINT32"), std::string::npos);
    EXPECT_EQ(w.alignment(), 32u);
    const auto f32x4 = iota_bytes(16);
    EXPECT_NE(msg([&] { w.add_tensor("", {4}, GgmlType::F32, f32x4); }).find("empty name"), std::string::npos);
    EXPECT_NE(msg([&] { w.add_tensor(std::string(64, 'n'), {4}, GgmlType::F32, f32x4); }).find("at most 63"),
              std::string::npos);
    EXPECT_NE(msg([&] { w.add_tensor("t", {}, GgmlType::F32, f32x4); }).find("0 dimensions"), std::string::npos);
    EXPECT_NE(msg([&] {
                  w.add_tensor("t", {1, 1, 1, 1, 4}, GgmlType::F32, f32x4);
              }).find("5 dimensions"),
              std::string::npos);
    EXPECT_NE(msg([&] { w.add_tensor("t", {4, 0}, GgmlType::F32, f32x4); }).find("ne[1] = 0"), std::string::npos);
    EXPECT_NE(msg([&] { w.add_tensor("t", {5}, GgmlType::F32, f32x4); }).find("needs 20 bytes of data, got 16"),
              std::string::npos);
    EXPECT_NE(msg([&] { w.add_tensor("t", {100}, GgmlType::Q4_K, f32x4); }).find("not a whole number of Q4_K blocks"),
              std::string::npos);
    EXPECT_NE(msg([&] { w.add_tensor("t", {32}, static_cast<GgmlType>(31), f32x4); }).find("type id 31"),
              std::string::npos);
    EXPECT_NE(msg([&] { w.add_tensor("t", {32}, static_cast<GgmlType>(77), f32x4); }).find("type id 77"),
              std::string::npos);
    w.add_tensor("t", {4}, GgmlType::F32, f32x4);
    EXPECT_NE(msg([&] { w.add_tensor("t", {4}, GgmlType::F32, f32x4); }).find("added twice"), std::string::npos);
    GgufValue deep = GgufValue::of_array(std::vector<uint8_t>{1});
    for (int i = 0; i < GGUF_MAX_ARRAY_DEPTH; ++i) deep = GgufValue::of_values({deep});
    EXPECT_NE(msg([&] { w.set("deep", deep); }).find("nests arrays"), std::string::npos);
    EXPECT_EQ(w.tensor_count(), 1u);
}

// A 128k-entry vocabulary (as in Llama 3) opens quickly: strings are views into the mapping.
TEST(Gguf, BigVocabularyOpensFast) {
    const size_t n = 128256;
    std::vector<std::string> tokens(n);
    std::vector<float> scores(n);
    std::vector<int32_t> types(n);
    for (size_t i = 0; i < n; ++i) {
        tokens[i] = "tok_" + std::to_string(i * 2654435761u % 1000003);
        scores[i] = -static_cast<float>(i);
        types[i] = static_cast<int32_t>(i % 6);
    }
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_strings("tokenizer.ggml.tokens", tokens);
    w.set_array("tokenizer.ggml.scores", scores);
    w.set_array("tokenizer.ggml.token_type", types);
    w.set_strings("tokenizer.ggml.merges", std::vector<std::string>(280147, "a b"));
    w.add_tensor("token_embd.weight", {64, 4}, GgmlType::F32, iota_bytes(64 * 4 * 4));
    const auto path = temp_dir() / "vocab.gguf";
    w.write(path);

    double best_ms = 1e9;
    for (int rep = 0; rep < 3; ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        const GgufFile f = GgufFile::open(path);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        best_ms = std::min(best_ms, ms);
        const GgufValue& tok = f.require("tokenizer.ggml.tokens");
        ASSERT_EQ(tok.size(), n);
        EXPECT_EQ(tok.strings()[12345], tokens[12345]);
        EXPECT_EQ(tok.strings()[n - 1], tokens[n - 1]);
        const uint8_t* lo = f.base();
        EXPECT_TRUE(reinterpret_cast<const uint8_t*>(tok.strings()[7].data()) >= lo &&
                    reinterpret_cast<const uint8_t*>(tok.strings()[7].data()) < lo + f.file_size());  // a view
        EXPECT_EQ(f.require_array<float>("tokenizer.ggml.scores")[n - 1], -static_cast<float>(n - 1));
        EXPECT_EQ(f.require_array<int32_t>("tokenizer.ggml.token_type")[7], 1);
        EXPECT_EQ(f.require("tokenizer.ggml.merges").size(), 280147u);
    }
    std::printf("open with a %zu-token vocabulary and 280k merges: %.2f ms (best of 3)\n", n, best_ms);
    EXPECT_LT(best_ms, 1000.0);  // ~7 ms in a release build, ~30 ms under ASan; generous for slow machines
    std::filesystem::remove(path);
}

TEST(Gguf, Version2OpensVersion1IsRefused) {
    auto bytes = small_model().to_bytes();
    bytes[4] = 2;
    const GgufFile f = GgufFile::from_bytes(bytes, "v2.gguf");
    EXPECT_EQ(f.version(), 2u);
    EXPECT_EQ(f.tensors().size(), 3u);
    bytes[4] = 1;
    expect_error(bytes, {"GGUF version 1 is not supported", "HINT: convert the model again"});
    bytes[4] = 99;
    expect_error(bytes, {"GGUF version 99 is not supported"});
    bytes[4] = 0;
    bytes[7] = 3;  // 0x03000000: a big-endian file
    expect_error(bytes, {"big-endian GGUF file (version 3)"});
}

TEST(Gguf, RequireSupportedTypes) {
    {
        const GgufFile f = GgufFile::from_bytes(small_model().to_bytes(), "ok.gguf");
        EXPECT_NO_THROW(f.require_supported_types());
    }
    GgufWriter w;
    w.add_tensor("token_embd.weight", {32}, GgmlType::F32, iota_bytes(128));
    w.add_tensor("blk.0.attn_q.weight", {32, 2}, GgmlType::Q5_0, iota_bytes(44));
    w.add_tensor("blk.0.attn_k.weight", {32, 2}, GgmlType::Q5_0, iota_bytes(44));
    w.add_tensor("blk.0.ffn_up.weight", {256}, GgmlType::IQ4_XS, iota_bytes(136));
    const auto path = temp_dir() / "q5_0.gguf";
    w.write(path);
    const GgufFile f = GgufFile::open(path);  // opens: a known type is not a parse error
    EXPECT_EQ(f.tensors()[1].type, GgmlType::Q5_0);
    try {
        f.require_supported_types();
        FAIL();
    } catch (const UsageError& e) {
        const std::string m = e.what();
        EXPECT_EQ(m.rfind("[gguf] " + path.string() +
                              ": tensor 'blk.0.attn_q.weight' has type Q5_0, which versus does not support",
                          0),
                  0u)
            << m;
        EXPECT_NE(m.find("3 of 4 tensors are of unsupported types: Q5_0, IQ4_XS"), std::string::npos) << m;
        EXPECT_NE(m.find("HINT: supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K; re-quantize"),
                  std::string::npos)
            << m;
    }
}
