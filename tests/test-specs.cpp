// The spec database: every embedded row keeps the rules in data/specs/README.md, names resolve to the
// rows a person means, bad sizes and names are usage errors with hints, and `versus specs` works.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "predict/backtest.hpp"
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
    "host_link_GBps,nvlink_gen,nvlink_GBps,nvlink_domain_gpus,power_typical_W,power_max_W,year,source,checked,"
    "derived,third_party,notes\n";

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
                             "a-1,A,\"A 1;A one\",acme,,gpu,unified,16;8,,100,,,,,,,unified,,,,,,,2024,https://a.example,,,,"
                             "\"says \"\"fast, cheap\"\"\nover two lines\"\r\n"
                             "\r\n"
                             "b-2,\"B, the second\",,acme,,cpu,host,4,,3.2,,0.064,,,,,,,,,,,,2019,https://b.example,,,,\n";
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
        "x-1,X One,\"X 1;X one\",acme,X,gpu,discrete,8;16,16,100,10,1,,,,,pcie4x16,31.5,,,,,,2024,"
        "https://example.com,2026-01-02,fp32_TFLOPS,,\"a note, with a comma\"\n";
    const auto ok = parse_platforms(kHeader + good, "t.csv");
    ASSERT_EQ(ok.size(), 1u);
    EXPECT_EQ(ok[0].notes, "a note, with a comma");
    EXPECT_EQ(*ok[0].gpu_mem_max_GB, 16);
    EXPECT_EQ(*ok[0].gpu_cores, 10);
    EXPECT_EQ(*ok[0].pcie_gen, 4);
    EXPECT_EQ(*ok[0].pcie_lanes, 16);
    EXPECT_EQ(ok[0].checked, "2026-01-02");
    EXPECT_EQ(ok[0].derived, (std::vector<std::string>{"fp32_TFLOPS"}));

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

TEST(SpecsData, CoversEveryCommonGpuAndMac) {
    // GeForce RTX 20-50, the professional cards, the data-center parts and every Apple M1-M5 tier.
    for (const char* id :
         {"rtx-2060", "rtx-2060-super", "rtx-2070", "rtx-2070-super", "rtx-2080", "rtx-2080-super", "rtx-2080-ti",
          "rtx-3050", "rtx-3060-12", "rtx-3060-ti", "rtx-3070", "rtx-3070-ti", "rtx-3080", "rtx-3080-12", "rtx-3080-ti",
          "rtx-3090", "rtx-3090-ti", "rtx-4060", "rtx-4060-ti-8", "rtx-4060-ti-16", "rtx-4070", "rtx-4070-super",
          "rtx-4070-ti", "rtx-4070-ti-super", "rtx-4080", "rtx-4080-super", "rtx-4090", "rtx-5050", "rtx-5060",
          "rtx-5060-ti-8", "rtx-5060-ti-16", "rtx-5070", "rtx-5070-ti", "rtx-5080", "rtx-5090", "rtx-a2000", "rtx-a4000",
          "rtx-a4500", "rtx-a5000", "rtx-a5500", "rtx-a6000", "rtx-2000-ada", "rtx-4000-ada", "rtx-4500-ada",
          "rtx-5000-ada", "rtx-6000-ada", "rtx-pro-6000", "v100-pcie-16", "v100-sxm-32", "t4", "a10", "a30", "a40",
          "a100-pcie-40", "a100-pcie-80", "a100-sxm-40", "a100-sxm-80", "l4", "l40", "l40s", "h100-pcie", "h100-sxm",
          "h100-nvl", "h200", "h20", "b200", "gb200", "gb10", "m1-7c", "m1-8c", "m1-pro-14c", "m1-pro-16c", "m1-max-24c",
          "m1-max-32c", "m1-ultra-48c", "m1-ultra-64c", "m2-8c", "m2-10c", "m2-pro-16c", "m2-pro-19c", "m2-max-30c",
          "m2-max-38c", "m2-ultra-60c", "m2-ultra-76c", "m3-8c", "m3-10c", "m3-pro-14c", "m3-pro-18c", "m3-max-30c",
          "m3-max-40c", "m3-ultra-60c", "m3-ultra-80c", "m4-8c", "m4-10c", "m4-pro-16c", "m4-pro-20c", "m4-max-32c",
          "m4-max-40c", "m5-10c", "m5-pro-16c", "m5-pro-20c", "m5-max-32c", "m5-max-40c"}) {
        EXPECT_NO_THROW(resolve_platform(id)) << id;
    }
}

TEST(SpecsData, LinksAreConsistent) {
    for (const auto& p : platforms()) {
        SCOPED_TRACE(p.id);
        // The PCIe figure is the generation's lane rate times the lanes, one direction.
        if (p.pcie_gen) {
            ASSERT_TRUE(p.host_link_GBps.has_value());
            EXPECT_NEAR(*p.host_link_GBps, pcie_lane_GBps(*p.pcie_gen) * *p.pcie_lanes, 0.01 * *p.host_link_GBps);
        }
        if (p.nvlink_gen) {
            EXPECT_GE(*p.nvlink_gen, 1);
            EXPECT_LE(*p.nvlink_gen, 5);
            EXPECT_GT(*p.nvlink_GBps, 0);
            EXPECT_GE(*p.nvlink_domain_gpus, 2);
        }
        for (const auto& d : p.derived) EXPECT_FALSE(d.empty());
        if (!p.checked.empty()) {
            EXPECT_EQ(p.checked.size(), 10u);
        }
    }
    const auto h100 = resolve_platform("h100-sxm");
    EXPECT_EQ(*h100.pcie_gen, 5);
    EXPECT_EQ(*h100.pcie_lanes, 16);
    EXPECT_EQ(*h100.nvlink_gen, 4);
    EXPECT_EQ(*h100.nvlink_GBps, 450);  // 900 GB/s both directions
    EXPECT_EQ(*h100.nvlink_domain_gpus, 8);
    EXPECT_FALSE(resolve_platform("rtx-4090").nvlink_gen.has_value());
    EXPECT_FALSE(resolve_platform("m4-max-40c").pcie_gen.has_value());
    EXPECT_NEAR(pcie_lane_GBps(4) * 16, 31.5, 0.05);
}

TEST(SpecsThin, DefinitionOnRowsWorkedByHand) {
    const std::string vendor =
        "x-1,X,,nvidia,X,gpu,discrete,8,8,100,10,10,10,40,40,80,pcie4x16,31.5,,,,100,100,2024,"
        "https://www.nvidia.com/x,2026-01-02,fp16_tensor_TFLOPS,,\n";
    const auto full = parse_platforms(kHeader + vendor, "t.csv").front();
    EXPECT_FALSE(thinness(full).thin) << "derived alone is arithmetic on the vendor's own figures";

    std::string no_power = vendor;
    no_power.replace(no_power.find(",100,100,2024"), 13, ",,,2024");
    const auto t1 = thinness(parse_platforms(kHeader + no_power, "t.csv").front());
    EXPECT_TRUE(t1.thin);
    EXPECT_EQ(t1.reasons, (std::vector<std::string>{"power unknown"}));

    std::string third = vendor;
    third.replace(third.find("fp16_tensor_TFLOPS,,"), 20, ",fp32_TFLOPS,");
    third.replace(third.find("2026-01-02"), 10, "");
    third.replace(third.find("https://www.nvidia.com/x"), 24, "https://example.com/x");
    const auto t2 = thinness(parse_platforms(kHeader + third, "t.csv").front());
    EXPECT_EQ(t2.reasons, (std::vector<std::string>{"fp32_TFLOPS from a third party", "source is not the vendor's",
                                                    "not checked against its source"}));
    // On Apple the FP16 rate of the ALUs stands for the matrix peak.
    EXPECT_EQ(key_columns(resolve_platform("m2-ultra-76c"))[2], "fp16_TFLOPS");
    EXPECT_EQ(key_columns(resolve_platform("h100-sxm"))[2], "fp16_tensor_TFLOPS");
}

TEST(SpecsThin, VendorSourcesByDomain) {
    EXPECT_TRUE(is_vendor_source("https://www.nvidia.com/en-us/data-center/h100/"));
    EXPECT_TRUE(is_vendor_source("https://images.nvidia.com/a.pdf"));
    EXPECT_TRUE(is_vendor_source("https://docs.nvidia.com/dgx/"));
    EXPECT_TRUE(is_vendor_source("https://www.apple.com/newsroom/2024/10/x/"));
    EXPECT_TRUE(is_vendor_source("http://apple.com"));
    EXPECT_FALSE(is_vendor_source("https://notnvidia.com/x"));
    EXPECT_FALSE(is_vendor_source("https://nvidia.com.example.org/x"));
    EXPECT_FALSE(is_vendor_source("https://www.macrumors.com/apple.com"));
    // Data-center and GeForce rows from NVIDIA's own pages, checked, with their key figures: not thin.
    for (const char* id : {"h100-sxm", "a100-sxm-80", "rtx-4090", "rtx-3090", "l40s"}) EXPECT_FALSE(thinness(resolve_platform(id)).thin) << id;
}

TEST(SpecsSystems, EveryGpuIsAPlatformAndNetworksAddUp) {
    ASSERT_FALSE(systems().empty());
    for (const auto& s : systems()) {
        SCOPED_TRACE(s.id);
        EXPECT_NO_THROW(resolve_platform(s.gpu));
        EXPECT_GE(s.gpus, 1);
        EXPECT_EQ(s.source.rfind("http", 0), 0u);
    }
    const auto& dgx = resolve_system("DGX H100");
    EXPECT_EQ(dgx.id, "dgx-h100");
    EXPECT_EQ(dgx.gpus, 8);
    EXPECT_DOUBLE_EQ(*dgx.scaleout_GBps(), 400);  // 8 x 400 Gb/s = 400 GB/s one direction
    EXPECT_FALSE(resolve_system("hgx-h100-8").scaleout_GBps().has_value());  // the server maker's choice
    EXPECT_THROW(resolve_system("dgx-h900"), UsageError);
}

// Every measured row of the public back-test whose platform is in the database gets a prediction: a model
// that llama-bench ran on the GPU must be predicted to fit, with a positive figure.
TEST(SpecsBacktest, EveryRowOfAKnownPlatformIsPredicted) {
    std::ifstream f(std::string(VERSUS_TEST_DATA) + "/../../data/backtest/llama-cpp.csv");
    ASSERT_TRUE(f) << "data/backtest/llama-cpp.csv";
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto rows = parse_backtest(text, "llama-cpp.csv");
    ASSERT_GT(rows.size(), 400u);
    evaluate_backtest(rows, Calibration::builtin());
    for (const auto& r : rows) {
        SCOPED_TRACE("llama-cpp.csv:" + std::to_string(r.line) + " " + r.platform + " " + r.model + " " + r.test);
        EXPECT_EQ(r.error, "");
        ASSERT_TRUE(r.spec.has_value());
        if (r.measured_oom) continue;
        EXPECT_TRUE(r.predicted_fit);
        EXPECT_GT(r.predicted.value, 0);
        EXPECT_TRUE(std::isfinite(r.predicted.value));
    }
}
