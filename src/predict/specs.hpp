// specs: the hardware spec database. One row per platform variant in data/specs/{apple,nvidia,cpu}.csv,
// compiled into the binary (cmake/EmbedFiles.cmake), parsed once on first use. Field names are the
// column names, units included (data/specs/README.md). A figure no source gave is an empty optional,
// never a guess: the predictor must treat it as unknown.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace versus::predict {

enum class DeviceKind { GPU, CPU };
// unified: CPU and GPU share one memory (Apple, GB10); discrete: the GPU has its own VRAM; host: a CPU's RAM.
enum class MemoryKind { UNIFIED, DISCRETE, HOST };

std::string_view device_kind_name(DeviceKind k);
std::string_view memory_kind_name(MemoryKind k);

struct Platform {
    std::string id;  // lowercase slug: m2-ultra-76c, rtx-4090, zen2-vcpu
    std::string name;
    std::vector<std::string> aliases;  // human names; the chip's short name sits on its top variant only
    std::string vendor, family;
    DeviceKind device_kind = DeviceKind::GPU;
    MemoryKind memory_kind = MemoryKind::DISCRETE;
    std::vector<double> memory_options_GB;  // ascending, never empty
    std::optional<double> gpu_mem_max_GB;   // VRAM of a discrete GPU; empty for unified and host memory
    double mem_bw_GBps = 0;
    std::optional<int> gpu_cores;
    // Dense peaks (no sparsity); tensor columns are matrix units only.
    std::optional<double> fp32_TFLOPS, fp16_TFLOPS, fp16_tensor_TFLOPS, bf16_tensor_TFLOPS, int8_TOPS;
    std::string host_link;                 // pcie4x16, pcie5x16, nvlink-c2c, unified, or empty for CPUs
    std::optional<double> host_link_GBps;  // one direction
    std::optional<double> nvlink_GBps;     // one direction, per GPU
    std::optional<double> power_typical_W, power_max_W;
    int year = 0;
    std::string source, notes;

    std::string table;     // data file it came from without ".csv": apple, nvidia, cpu
    int line = 0;          // its line there, for messages
    double memory_GB = 0;  // the memory size selected by `id@GB`; the largest option otherwise
};

// The vendor a platform's calibration is grouped under: "cpu" for every CPU, the vendor otherwise.
inline std::string vendor_group(const Platform& p) { return p.device_kind == DeviceKind::CPU ? "cpu" : p.vendor; }

// Every platform, in file order (apple, cpu, nvidia), memory_GB at the largest option. Parsed on the
// first call; a malformed embedded row is a bug in the data and throws std::logic_error naming file:line.
const std::vector<Platform>& platforms();

// `id`, `id@GB` (GB must be one of memory_options_GB), the name or an alias, ignoring case, spaces,
// '-' and '_'. Unknown names and sizes are UsageErrors whose hint lists the closest ids or the sizes.
Platform resolve_platform(std::string_view query);

// Up to n ids nearest to `query` by edit distance (over ids, names and aliases, normalised as below).
std::vector<std::string> closest_platform_ids(std::string_view query, std::size_t n);

// The form names are compared in: lowercase, without spaces, '-' and '_'.
std::string normalize_platform_name(std::string_view s);

// One spec table as platforms. The text is RFC 4180 CSV (quoted fields may hold commas, doubled quotes
// and newlines; LF or CRLF) with the header of data/specs/README.md. `file` (e.g. "nvidia.csv") names
// it in errors, which are std::logic_error "file:line: what". platforms() uses it on the embedded files.
std::vector<Platform> parse_platforms(std::string_view csv, std::string_view file);

namespace detail {
struct EmbeddedFile {
    std::string_view name, text;
};
// Defined in the generated embedded-specs.cpp.
std::span<const EmbeddedFile> embedded_spec_files();
}  // namespace detail

}  // namespace versus::predict
