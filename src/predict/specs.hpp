// specs: the hardware spec database. One row per platform variant in data/specs/{apple,nvidia,cpu}.csv and
// one per multi-GPU system in data/specs/systems.csv (prices: predict/cost.hpp), compiled into the binary
// (cmake/EmbedFiles.cmake), parsed once on first use. Field names are the
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
    std::optional<int> pcie_gen, pcie_lanes;  // read from host_link ("pcie4x16": 4, 16); empty when not PCIe
    std::optional<int> nvlink_gen;            // NVLink generation; empty: no NVLink
    std::optional<double> nvlink_GBps;        // one direction, per GPU; both directions is twice this
    std::optional<int> nvlink_domain_gpus;    // GPUs one NVLink domain joins at that rate (2: a bridge, 8: HGX)
    std::optional<double> power_typical_W, power_max_W;
    int year = 0;
    std::string source;
    std::string checked;               // YYYY-MM-DD the figures were last checked against their sources
    std::vector<std::string> derived;      // columns computed here from the vendor's inputs (cores x clock...)
    std::vector<std::string> third_party;  // columns whose figure, or an input to it, no vendor source gives
    std::string notes;

    std::string table;     // data file it came from without ".csv": apple, nvidia, cpu
    int line = 0;          // its line there, for messages
    double memory_GB = 0;  // the memory size selected by `id@GB`; the largest option otherwise
};

// The figures a prediction rests on and whether the row gives them from the vendor (data/specs/README.md,
// "Thin rows"): a row is thin when one is missing or rests on a third party, when its source is not the
// vendor's, or when it was never checked. `reasons` says which, one short phrase each.
struct Thinness {
    bool thin = false;
    std::vector<std::string> reasons;
};
Thinness thinness(const Platform& p);

// The columns `thinness` requires of a row of this kind: bandwidth, the FP32 peak, the matrix peak prefill
// uses (the FP16 tensor rate on NVIDIA, the FP16 rate on GPUs without separate matrix units) and a power.
std::vector<std::string_view> key_columns(const Platform& p);

// True for the vendor's own pages: apple.com, nvidia.com, amd.com, intel.com and their subdomains.
bool is_vendor_source(std::string_view url);

// PCIe bandwidth of one lane in one direction after line coding, GB/s (3: 0.985, 4: 1.969, 5: 3.938,
// 6: 7.563, FLIT); 0 for an unknown generation.
double pcie_lane_GBps(int gen);
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

// A multi-GPU system or node a vendor defines (DGX, HGX, NVL72, DGX Spark): its GPUs, how they are joined
// inside (NVLink, NVSwitch) and the network per node for scale-out, from data/specs/systems.csv.
struct System {
    std::string id, name;
    std::vector<std::string> aliases;
    std::string gpu;  // platform id of its GPUs
    int gpus = 0;     // per node (per rack for NVL72)
    std::optional<int> nvswitch_chips;
    std::string scaleout_net;  // "InfiniBand NDR or 400GbE (ConnectX-7)"
    std::optional<int> scaleout_ports;
    std::optional<double> scaleout_port_Gbitps;  // gigabits per second, one direction, per port
    std::optional<int> frontend_ports;
    std::optional<double> frontend_port_Gbitps;
    std::string cpu;
    std::optional<double> host_memory_GB, power_max_kW;
    int year = 0;
    std::string source, checked, notes;
    int line = 0;
    // ports x rate / 8: the node's scale-out bandwidth in GB/s, one direction.
    std::optional<double> scaleout_GBps() const;
};
const std::vector<System>& systems();
// By id, name or alias (normalised as platforms are); UsageError suggesting ids otherwise.
const System& resolve_system(std::string_view query);
std::vector<System> parse_systems(std::string_view csv, std::string_view file);

// One spec table as platforms. The text is RFC 4180 CSV (quoted fields may hold commas, doubled quotes
// and newlines; LF or CRLF) with the header of data/specs/README.md. `file` (e.g. "nvidia.csv") names
// it in errors, which are std::logic_error "file:line: what". platforms() uses it on the embedded files.
std::vector<Platform> parse_platforms(std::string_view csv, std::string_view file);

namespace detail {
struct EmbeddedFile {
    std::string_view name, text;
};
// Defined in the generated embedded-specs.cpp: every data/specs/*.csv.
std::span<const EmbeddedFile> embedded_spec_files();
// The embedded file of that name (e.g. "prices.csv"); empty text when it was not embedded.
std::string_view embedded_spec_file(std::string_view name);
}  // namespace detail

}  // namespace versus::predict
