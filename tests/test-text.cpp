// The one split, trim, join and human_bytes every layer uses, and the CSV table, with the behaviour each
// caller relies on.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/csv.hpp"
#include "base/error.hpp"
#include "base/text.hpp"

using namespace versus::base;
using Views = std::vector<std::string_view>;

TEST(Text, SplitKeepsEveryFieldByDefault) {
    // Positional formats (/proc/self/cgroup "0::/user.slice", mountinfo) need empty fields kept.
    EXPECT_EQ(split("0::/user.slice", ':'), (Views{"0", "", "/user.slice"}));
    EXPECT_EQ(split("a,,b,", ','), (Views{"a", "", "b", ""}));
    EXPECT_EQ(split("", ','), (Views{""}));
    EXPECT_EQ(split("abc", ','), (Views{"abc"}));
}

TEST(Text, SplitTrimsAndSkipsOnRequest) {
    // Sweep lists ("1, 2,4") trim each item and keep empty ones so that "1,,2" is reported.
    EXPECT_EQ(split(" 1, 2 ,4\t", ',', SPLIT_TRIM), (Views{"1", "2", "4"}));
    EXPECT_EQ(split("1,,2", ',', SPLIT_TRIM), (Views{"1", "", "2"}));
    // Claim lists ("a;;b;") drop empty items.
    EXPECT_EQ(split(";a;;b;", ';', SPLIT_SKIP_EMPTY), (Views{"a", "b"}));
    EXPECT_EQ(split(" ; a ;", ';', SPLIT_TRIM | SPLIT_SKIP_EMPTY), (Views{"a"}));
    EXPECT_TRUE(split("", ';', SPLIT_SKIP_EMPTY).empty());
    EXPECT_EQ(split_copy("x;y", ';'), (std::vector<std::string>{"x", "y"}));
}

TEST(Text, TrimLowerContainsJoin) {
    EXPECT_EQ(trim(" \t a b \r\n"), "a b");
    EXPECT_EQ(trim(" \n "), "");
    EXPECT_EQ(lower("AuthenticAMD"), "authenticamd");
    EXPECT_TRUE(contains("kvm-clock tsc", "kvm-clock"));
    EXPECT_FALSE(contains("tsc", "kvm"));
    // Optional pieces of a sentence are passed as they are; empty ones leave no separator behind.
    EXPECT_EQ(join({"a", "", "b"}, ", "), "a, b");
    EXPECT_EQ(join({"", ""}, "; "), "");
    EXPECT_EQ(join({}, ", "), "");
}

TEST(Text, HumanBytesExactWholeOtherwiseTwoDecimals) {
    EXPECT_EQ(human_bytes(512), "512 B");
    EXPECT_EQ(human_bytes(0), "0 B");
    EXPECT_EQ(human_bytes(48 * 1024), "48 KiB");         // a cache size
    EXPECT_EQ(human_bytes(1536), "1.50 KiB");
    EXPECT_EQ(human_bytes(32.0 * 1024 * 1024), "32 MiB");
    EXPECT_EQ(human_bytes(58.4 * 1024 * 1024 * 1024), "58.40 GiB");  // a memory budget
    EXPECT_EQ(human_bytes(1073741920), "1.00 GiB");      // not exact: two decimals even when they round to .00
    EXPECT_EQ(human_bytes(2.0 * 1024 * 1024 * 1024 * 1024 * 1024), "2048 TiB");
}

TEST(Csv, TableNamesColumnsAndRequiresThem) {
    const CsvTable t("a,b\n1,\"x,y\"\n", "t.csv");
    EXPECT_EQ(t.column("b"), 1);
    EXPECT_EQ(t.column("c"), -1);
    ASSERT_EQ(t.rows().size(), 1u);
    EXPECT_EQ(t.cell(t.rows()[0], "b"), "x,y");
    EXPECT_NO_THROW(t.require({"a", "b"}, "hint"));
    try {
        t.require({"a", "c"}, "add column c");
        FAIL() << "a missing column must throw";
    } catch (const versus::UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("t.csv:1"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("'c'"), std::string::npos) << e.what();
    }
}
