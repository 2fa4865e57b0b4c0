// Sweep grammar and expansion, and its errors.
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "base/text.hpp"
#include "core/params.hpp"

using namespace versus;
using namespace versus::core;

namespace {
ParamSpec size_spec() { return {"size", "size_bytes", ParamKind::SIZE, "", {}, "", "", 1, INT64_MAX}; }
ParamSpec int_spec() { return {"threads", "threads", ParamKind::INT, "", {}, "", "", 1, 64}; }
ParamSpec choice_spec() { return {"dtype", "dtype", ParamKind::CHOICE, "", {"f32", "bf16", "i8"}, "", ""}; }
std::vector<int64_t> ints(const std::vector<ParamValue>& v) {
    std::vector<int64_t> out;
    for (const auto& x : v) out.push_back(std::get<int64_t>(x));
    return out;
}
}  // namespace

TEST(Sweep, ListsAndSuffixes) {
    EXPECT_EQ(ints(parse_sweep(int_spec(), "1,2,4")), (std::vector<int64_t>{1, 2, 4}));
    EXPECT_EQ(ints(parse_sweep(size_spec(), "64K,1M, 2G")), (std::vector<int64_t>{65536, 1 << 20, int64_t{2} << 30}));
}

TEST(Sweep, MultiplicativeRange) {
    EXPECT_EQ(ints(parse_sweep(size_spec(), "1M-1G*4")),
              (std::vector<int64_t>{1 << 20, 4 << 20, 16 << 20, 64 << 20, 256 << 20, int64_t{1} << 30}));
    // Sizes default to doubling; the end is included only when reached.
    EXPECT_EQ(ints(parse_sweep(size_spec(), "1K-5K")), (std::vector<int64_t>{1024, 2048, 4096}));
}

TEST(Sweep, AdditiveRange) {
    EXPECT_EQ(ints(parse_sweep(int_spec(), "1-4")), (std::vector<int64_t>{1, 2, 3, 4}));
    EXPECT_EQ(ints(parse_sweep(int_spec(), "1-8+3")), (std::vector<int64_t>{1, 4, 7}));
    EXPECT_EQ(ints(parse_sweep(int_spec(), "1,8-16*2")), (std::vector<int64_t>{1, 8, 16}));
}

TEST(Sweep, Choices) {
    auto v = parse_sweep(choice_spec(), "bf16,f32");
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(std::get<std::string>(v[0]), "bf16");
    EXPECT_EQ(parse_sweep(choice_spec(), "all").size(), 3u);
}

TEST(Sweep, Errors) {
    EXPECT_THROW(parse_sweep(int_spec(), ""), UsageError);
    EXPECT_THROW(parse_sweep(int_spec(), "0"), UsageError);      // below min
    EXPECT_THROW(parse_sweep(int_spec(), "-2"), UsageError);     // negative
    EXPECT_THROW(parse_sweep(int_spec(), "65"), UsageError);     // above max
    EXPECT_THROW(parse_sweep(int_spec(), "8-1"), UsageError);    // backwards
    EXPECT_THROW(parse_sweep(int_spec(), "1-8*1"), UsageError);  // never advances
    EXPECT_THROW(parse_sweep(int_spec(), "1,,2"), UsageError);
    EXPECT_THROW(parse_sweep(int_spec(), "abc"), UsageError);
    EXPECT_THROW(parse_sweep(size_spec(), "4Q"), UsageError);
    EXPECT_THROW(parse_sweep(size_spec(), "99999999999T"), UsageError);  // overflow
    EXPECT_THROW(parse_sweep(choice_spec(), "f64"), UsageError);
    EXPECT_THROW(parse_sweep(int_spec(), "1-100000000"), UsageError);  // too many points
    try {
        parse_sweep(choice_spec(), "f64");
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("[--dtype]"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("HINT"), std::string::npos);
    }
}

TEST(Sweep, ExpandIsCartesianFirstAxisOutermost) {
    auto jobs = expand_sweep({{"threads", {int64_t{1}, int64_t{2}}}, {"dtype", {std::string("f32"), std::string("i8")}}});
    ASSERT_EQ(jobs.size(), 4u);
    EXPECT_EQ(jobs[0].key(), "threads=1,dtype=f32");
    EXPECT_EQ(jobs[1].key(), "threads=1,dtype=i8");
    EXPECT_EQ(jobs[3].key(), "threads=2,dtype=i8");
}

TEST(Sizes, FormatAndHuman) {
    EXPECT_EQ(format_size(1 << 20), "1M");
    EXPECT_EQ(format_size(1536), "1536");
    EXPECT_EQ(base::human_bytes(1536), "1.50 KiB");
    EXPECT_EQ(parse_size("x", "3G"), int64_t{3} << 30);
}
