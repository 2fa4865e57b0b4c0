#include "cli/cli-specs.hpp"

#include <iostream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "core/printers.hpp"
#include "predict/specs.hpp"

namespace versus::cli {

struct SpecsCommands {
    CLI::App* specs = nullptr;
    CLI::App* list = nullptr;
    CLI::App* show = nullptr;
    std::string vendor, list_format = "table", query, show_format = "table";
};

namespace {

using predict::Platform;
using Json = nlohmann::ordered_json;

Json opt(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

// Every column under its own name (units in the names), plus the selected memory size.
Json to_json(const Platform& p) {
    Json j;
    j["id"] = p.id;
    j["name"] = p.name;
    j["aliases"] = p.aliases;
    j["vendor"] = p.vendor;
    j["family"] = p.family;
    j["device_kind"] = predict::device_kind_name(p.device_kind);
    j["memory_kind"] = predict::memory_kind_name(p.memory_kind);
    j["memory_options_GB"] = p.memory_options_GB;
    j["memory_GB"] = p.memory_GB;
    j["gpu_mem_max_GB"] = opt(p.gpu_mem_max_GB);
    j["mem_bw_GBps"] = p.mem_bw_GBps;
    j["gpu_cores"] = p.gpu_cores ? Json(*p.gpu_cores) : Json(nullptr);
    j["fp32_TFLOPS"] = opt(p.fp32_TFLOPS);
    j["fp16_TFLOPS"] = opt(p.fp16_TFLOPS);
    j["fp16_tensor_TFLOPS"] = opt(p.fp16_tensor_TFLOPS);
    j["bf16_tensor_TFLOPS"] = opt(p.bf16_tensor_TFLOPS);
    j["int8_TOPS"] = opt(p.int8_TOPS);
    j["host_link"] = p.host_link.empty() ? Json(nullptr) : Json(p.host_link);
    j["host_link_GBps"] = opt(p.host_link_GBps);
    j["nvlink_GBps"] = opt(p.nvlink_GBps);
    j["power_typical_W"] = opt(p.power_typical_W);
    j["power_max_W"] = opt(p.power_max_W);
    j["year"] = p.year;
    j["source"] = p.source;
    j["notes"] = p.notes;
    return j;
}

std::string num(double v) { return fmt::format("{:g}", v); }

std::string with_unit(const std::optional<double>& v, std::string_view unit) {
    return v ? fmt::format("{} {}", num(*v), unit) : "-";
}

std::string join_gb(const std::vector<double>& gbs) {
    std::string s;
    for (double g : gbs) s += (s.empty() ? "" : ", ") + num(g);
    return s;
}

// The best 16-bit peak a row has, saying which unit it comes from; fp32 for rows without one.
std::string headline_flops(const Platform& p) {
    if (p.fp16_tensor_TFLOPS) return num(*p.fp16_tensor_TFLOPS) + " (tensor)";
    if (p.bf16_tensor_TFLOPS) return num(*p.bf16_tensor_TFLOPS) + " (bf16 tensor)";
    if (p.fp16_TFLOPS) return num(*p.fp16_TFLOPS);
    if (p.fp32_TFLOPS) return num(*p.fp32_TFLOPS) + " (fp32)";
    return "-";
}

int cmd_list(const SpecsCommands& c) {
    const auto& all = predict::platforms();
    std::set<std::string> choices;
    for (const auto& p : all) {
        choices.insert(p.table);
        choices.insert(p.vendor);
    }
    if (!c.vendor.empty() && !choices.contains(c.vendor)) {
        std::string known;
        for (const auto& v : choices) known += (known.empty() ? "" : ", ") + v;
        throw UsageError("--vendor", fmt::format("no platforms from '{}'", c.vendor), "choose from " + known);
    }
    // A data file's name or a vendor: `cpu` lists the CPU classes, `apple` also finds the M2 Ultra CPU row.
    std::vector<const Platform*> rows;
    for (const auto& p : all)
        if (c.vendor.empty() || p.table == c.vendor || p.vendor == c.vendor) rows.push_back(&p);

    const auto f = core::parse_format(c.list_format);
    if (f == core::Format::JSON) {
        Json j = Json::array();
        for (const auto* p : rows) j.push_back(to_json(*p));
        std::cout << j.dump(2) << "\n";
        return EXIT_ALL_OK;
    }
    if (f != core::Format::TABLE && f != core::Format::MD)
        throw UsageError("-o", fmt::format("specs list prints table, md or json, not '{}'", c.list_format),
                         "use -o table, -o md or -o json");
    std::vector<std::vector<std::string>> cells;
    for (const auto* p : rows)
        cells.push_back({p->id, p->name, join_gb(p->memory_options_GB), num(p->mem_bw_GBps), headline_flops(*p),
                         p->power_typical_W ? num(*p->power_typical_W) : "-"});
    std::cout << core::render_grid({"id", "name", "memory GB", "bandwidth GB/s", "fp16 TFLOPS", "power W"}, cells,
                                   {false, false, false, true, true, true}, f == core::Format::MD);
    std::cout << fmt::format(
        "\n{} platforms; dense peaks (no sparsity); `versus specs show ID` gives every field "
        "and its source\n",
        rows.size());
    return EXIT_ALL_OK;
}

int cmd_show(const SpecsCommands& c) {
    const Platform p = predict::resolve_platform(c.query);
    if (c.show_format == "json") {
        std::cout << to_json(p).dump(2) << "\n";
        return EXIT_ALL_OK;
    }
    if (c.show_format != "table")
        throw UsageError("-o", fmt::format("specs show prints table or json, not '{}'", c.show_format),
                         "use -o table or -o json");
    std::string aliases;
    for (const auto& a : p.aliases) aliases += (aliases.empty() ? "" : "; ") + a;
    const std::vector<std::vector<std::string>> rows = {
        {"id", p.id},
        {"name", p.name},
        {"aliases", aliases.empty() ? "-" : aliases},
        {"vendor", p.vendor},
        {"family", p.family.empty() ? "-" : p.family},
        {"device_kind", std::string(predict::device_kind_name(p.device_kind))},
        {"memory_kind", std::string(predict::memory_kind_name(p.memory_kind))},
        {"memory_options_GB", join_gb(p.memory_options_GB) + " GB"},
        {"memory_GB", num(p.memory_GB) + " GB (selected; id@GB picks another)"},
        {"gpu_mem_max_GB", with_unit(p.gpu_mem_max_GB, "GB")},
        {"mem_bw_GBps", num(p.mem_bw_GBps) + " GB/s"},
        {"gpu_cores", p.gpu_cores ? std::to_string(*p.gpu_cores) : "-"},
        {"fp32_TFLOPS", with_unit(p.fp32_TFLOPS, "TFLOPS")},
        {"fp16_TFLOPS", with_unit(p.fp16_TFLOPS, "TFLOPS")},
        {"fp16_tensor_TFLOPS", with_unit(p.fp16_tensor_TFLOPS, "TFLOPS dense")},
        {"bf16_tensor_TFLOPS", with_unit(p.bf16_tensor_TFLOPS, "TFLOPS dense")},
        {"int8_TOPS", with_unit(p.int8_TOPS, "TOPS dense")},
        {"host_link", p.host_link.empty() ? "-" : p.host_link},
        {"host_link_GBps", with_unit(p.host_link_GBps, "GB/s each way")},
        {"nvlink_GBps", with_unit(p.nvlink_GBps, "GB/s each way")},
        {"power_typical_W", with_unit(p.power_typical_W, "W")},
        {"power_max_W", with_unit(p.power_max_W, "W")},
        {"year", std::to_string(p.year)},
        {"source", p.source},
        {"notes", p.notes.empty() ? "-" : p.notes},
    };
    std::cout << core::render_grid({"field", "value"}, rows, {false, false}, false);
    std::cout << "\n'-' means no source gave the figure\n";
    return EXIT_ALL_OK;
}

}  // namespace

SpecsCommands* add_specs_commands(CLI::App& app) {
    static SpecsCommands c;
    c.specs = app.add_subcommand("specs", "the hardware spec database: bandwidth, peaks, memory, power, with sources");
    c.specs->require_subcommand(1);
    c.list = c.specs->add_subcommand("list", "one line per platform");
    c.list->add_option("--vendor", c.vendor, "only one data file or vendor: apple, nvidia, cpu, amd, intel");
    c.list->add_option("-o,--output", c.list_format, "table, md or json")->capture_default_str();
    c.show = c.specs->add_subcommand("show", "every field of one platform, with units and source");
    c.show->add_option("platform", c.query, "id, id@GB (memory size) or name, e.g. m2-ultra-76c@192, \"RTX 4090\"")
        ->required();
    c.show->add_option("-o,--output", c.show_format, "table or json")->capture_default_str();
    return &c;
}

int run_specs_commands(SpecsCommands* c) {
    if (*c->list) return cmd_list(*c);
    if (*c->show) return cmd_show(*c);
    return -1;
}

}  // namespace versus::cli
