// The spec database: every embedded row keeps the rules in data/specs/README.md, names resolve to the
// rows a person means, bad sizes and names are usage errors with hints, and `versus specs` works.
#include <gtest/gtest.h>


#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "predict/specs.hpp"

using versus::UsageError;
using namespace versus::predict;

namespace {

std::string usage_message(std::string_view query) {
    try {
        resolve_platform(query);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(SpecsData, EveryRowIsWellFormed) {
    const auto& all = platforms();
    ASSERT_FALSE(all.empty());
    const std::regex slug("[a-z0-9]+(-[a-z0-9]+)*");
    std::set<std::string> ids;
    for (const auto& p : all) {
        SCOPED_TRACE(p.table + ".csv:" + std::to_string(p.line) + " " + p.id);
        EXPECT_TRUE(std::regex_match(p.id, slug));
        EXPECT_TRUE(ids.insert(p.id).second) << "duplicate id";
        EXPECT_FALSE(p.name.empty());
        EXPECT_EQ(p.source.rfind("http", 0), 0u) << p.source;
        EXPECT_GT(p.mem_bw_GBps, 0);
        ASSERT_FALSE(p.memory_options_GB.empty());
        for (double gb : p.memory_options_GB) EXPECT_GT(gb, 0);
        EXPECT_TRUE(std::is_sorted(p.memory_options_GB.begin(), p.memory_options_GB.end()));
        EXPECT_EQ(p.memory_GB, p.memory_options_GB.back());
        EXPECT_GE(p.year, 2015);
        EXPECT_LE(p.year, 2030);
        switch (p.memory_kind) {
            case MemoryKind::UNIFIED: {
                // The predictor models the GPU's working-set limit on unified memory itself.
                EXPECT_FALSE(p.gpu_mem_max_GB.has_value());
                break;
            }
            case MemoryKind::DISCRETE: {
                ASSERT_TRUE(p.gpu_mem_max_GB.has_value());
                EXPECT_EQ(*p.gpu_mem_max_GB, p.memory_options_GB.back());
                EXPECT_EQ(p.device_kind, DeviceKind::GPU);
                break;
            }
            case MemoryKind::HOST: {
                EXPECT_FALSE(p.gpu_mem_max_GB.has_value());
                EXPECT_EQ(p.device_kind, DeviceKind::CPU);
                break;
            }
        }
        if (p.device_kind == DeviceKind::GPU) {
            EXPECT_FALSE(p.host_link.empty());
        }
        for (const auto& v : {p.fp32_TFLOPS, p.fp16_TFLOPS, p.fp16_tensor_TFLOPS, p.bf16_tensor_TFLOPS, p.int8_TOPS,
                              p.host_link_GBps, p.nvlink_GBps, p.power_typical_W, p.power_max_W}) {
            if (v) {
                EXPECT_GT(*v, 0);
            }
        }
        if (p.power_typical_W && p.power_max_W) {
            EXPECT_LE(*p.power_typical_W, *p.power_max_W);
        }
        // A tensor unit is never slower than the vector unit for the same type.
        if (p.fp16_tensor_TFLOPS && p.fp16_TFLOPS) {
            EXPECT_GE(*p.fp16_tensor_TFLOPS, *p.fp16_TFLOPS);
        }
    }
}

TEST(SpecsData, HasTheListedPlatformsFromEveryTable) {
    std::map<std::string, int> per_table;
    for (const auto& p : platforms()) ++per_table[p.table];
    EXPECT_GT(per_table["apple"], 0);
    EXPECT_GT(per_table["nvidia"], 0);
    EXPECT_GT(per_table["cpu"], 0);
    for (const char* id : {"m1-7c", "m1-ultra-64c", "m2-ultra-76c", "m3-max-40c", "m4-max-40c", "m5-10c", "rtx-3060-12",
                           "rtx-4090", "rtx-5090", "t4", "v100-sxm-32", "a100-sxm-80", "l40s", "h100-sxm", "h200",
                           "b200", "gb10", "epyc-zen2", "zen2-vcpu"}) {
        EXPECT_NO_THROW(resolve_platform(id)) << id;
    }
}

TEST(SpecsData, EveryNameLeadsToOneRow) {
    std::map<std::string, std::string> owner;
    for (const auto& p : platforms()) {
        std::set<std::string> names{normalize_platform_name(p.id), normalize_platform_name(p.name)};
        for (const auto& a : p.aliases) names.insert(normalize_platform_name(a));
        for (const auto& n : names) {
            auto [it, fresh] = owner.emplace(n, p.id);
            EXPECT_TRUE(fresh) << "'" << n << "' names both " << it->second << " and " << p.id;
        }
        for (const auto& a : p.aliases) EXPECT_EQ(resolve_platform(a).id, p.id) << a;
        EXPECT_EQ(resolve_platform(p.name).id, p.id) << p.name;
    }
}

TEST(SpecsResolve, AliasesIdsAndMemorySuffix) {
    auto ultra = resolve_platform("Apple M2 Ultra");
    EXPECT_EQ(ultra.id, "m2-ultra-76c");  // the chip's name means its top GPU variant
    EXPECT_EQ(ultra.memory_GB, 192);      // and, without @, its largest memory
    EXPECT_EQ(resolve_platform("M2 Ultra").id, "m2-ultra-76c");
    EXPECT_EQ(resolve_platform("GeForce RTX 4090").id, "rtx-4090");
    EXPECT_EQ(resolve_platform("geforce_rtx-4090").id, "rtx-4090");
    EXPECT_EQ(resolve_platform("H100 SXM").id, "h100-sxm");
    EXPECT_EQ(resolve_platform("H100-SXM").id, "h100-sxm");
    EXPECT_EQ(resolve_platform("RTX-4090").id, "rtx-4090");

    auto sized = resolve_platform("m2-ultra-76c@192");
    EXPECT_EQ(sized.id, "m2-ultra-76c");
    EXPECT_EQ(sized.memory_GB, 192);
    EXPECT_EQ(resolve_platform("m2-ultra-76c@64").memory_GB, 64);
    EXPECT_EQ(resolve_platform("M2 Ultra@128GB").memory_GB, 128);
    // The selection is a copy: the table itself keeps the largest option.
    const auto& table = platforms();
    const auto it = std::find_if(table.begin(), table.end(), [](const Platform& p) { return p.id == "m2-ultra-76c"; });
    ASSERT_NE(it, table.end());
    EXPECT_EQ(it->memory_GB, 192);
}

TEST(SpecsResolve, MemorySizeNotOfferedListsTheOptions) {
    EXPECT_THROW(resolve_platform("m2-ultra-76c@100"), UsageError);
    const std::string msg = usage_message("m2-ultra-76c@100");
    EXPECT_NE(msg.find("[platform]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("64, 128, 192"), std::string::npos) << msg;
    EXPECT_NE(msg.find("HINT"), std::string::npos) << msg;
    EXPECT_NE(usage_message("rtx-4090@"), "");
    EXPECT_NE(usage_message("rtx-4090@lots"), "");
}

TEST(SpecsResolve, UnknownNameSuggestsTheClosestIds) {
    const std::string msg = usage_message("rtx-4900");
    EXPECT_NE(msg.find("unknown platform 'rtx-4900'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("did you mean: rtx-4090"), std::string::npos) << msg;
    EXPECT_NE(msg.find("versus specs list"), std::string::npos) << msg;
    const auto near = closest_platform_ids("h100 sxm4", 3);
    ASSERT_EQ(near.size(), 3u);
    EXPECT_EQ(near.front(), "h100-sxm");
    EXPECT_NE(usage_message(""), "");
    EXPECT_NE(usage_message("@64"), "");
}

namespace {

const std::string kHeader =
    "id,name,aliases,vendor,family,device_kind,memory_kind,memory_options_GB,gpu_mem_max_GB,mem_bw_GBps,"
    "gpu_cores,fp32_TFLOPS,fp16_TFLOPS,fp16_tensor_TFLOPS,bf16_tensor_TFLOPS,int8_TOPS,host_link,"
    "host_link_GBps,nvlink_GBps,power_typical_W,power_max_W,year,source,notes\n";

std::string parse_error(const std::string& text) {
    try {
        parse_platforms(text, "t.csv");
    } catch (const std::logic_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(SpecsParse, QuotedFieldsCommasQuotesNewlinesAndCrlf) {
    const std::string text = kHeader +
                             "a-1,A,\"A 1;A one\",acme,,gpu,unified,16;8,,100,,,,,,,unified,,,,,2024,https://a.example,"
                             "\"says \"\"fast, cheap\"\"\nover two lines\"\r\n"
                             "\r\n"
                             "b-2,\"B, the second\",,acme,,cpu,host,4,,3.2,,0.064,,,,,,,,,,2019,https://b.example,\n";
    const auto rows = parse_platforms(text, "t.csv");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].aliases, (std::vector<std::string>{"A 1", "A one"}));
    EXPECT_EQ(rows[0].notes, "says \"fast, cheap\"\nover two lines");
    EXPECT_EQ(rows[0].memory_options_GB, (std::vector<double>{8, 16}));
    EXPECT_EQ(rows[0].memory_GB, 16);
    EXPECT_EQ(rows[0].line, 2);
    EXPECT_EQ(rows[1].name, "B, the second");
    EXPECT_EQ(rows[1].line, 5);  // after a two-line row and a blank line
    EXPECT_EQ(rows[1].table, "t");
    EXPECT_FALSE(rows[1].fp16_TFLOPS.has_value());
    EXPECT_EQ(*rows[1].fp32_TFLOPS, 0.064);

    EXPECT_NE(parse_error(kHeader + "a-1,\"open\n").find("t.csv:2: a quoted field is not closed"), std::string::npos)
        << parse_error(kHeader + "a-1,\"open\n");
    EXPECT_NE(parse_error(kHeader + "a-1,\"closed\"junk\n").find("t.csv:2"), std::string::npos);
}

TEST(SpecsParse, MalformedRowIsALogicErrorNamingFileAndLine) {
    const std::string good =
        "x-1,X One,\"X 1;X one\",acme,X,gpu,discrete,8;16,16,100,10,1,,,,,pcie4x16,31.5,,,,2024,"
        "https://example.com,\"a note, with a comma\"\n";
    const auto ok = parse_platforms(kHeader + good, "t.csv");
    ASSERT_EQ(ok.size(), 1u);
    EXPECT_EQ(ok[0].notes, "a note, with a comma");
    EXPECT_EQ(*ok[0].gpu_mem_max_GB, 16);
    EXPECT_EQ(*ok[0].gpu_cores, 10);

    std::string bad_bw = good;
    bad_bw.replace(bad_bw.find(",100,"), 5, ",fast,");
    EXPECT_NE(parse_error(kHeader + good + bad_bw).find("t.csv:3"), std::string::npos)
        << parse_error(kHeader + good + bad_bw);
    EXPECT_NE(parse_error(kHeader + good + good).find("repeats"), std::string::npos);
    EXPECT_NE(parse_error(kHeader + "x,short\n").find("t.csv:2"), std::string::npos);
    EXPECT_NE(parse_error("id,name\n").find("header"), std::string::npos);
    std::string bad_kind = good;
    bad_kind.replace(bad_kind.find("gpu,"), 4, "tpu,");
    EXPECT_NE(parse_error(kHeader + bad_kind).find("device_kind"), std::string::npos);
    std::string bad_id = good;
    bad_id.replace(0, 3, "X 1");
    EXPECT_NE(parse_error(kHeader + bad_id).find("slug"), std::string::npos);
}
