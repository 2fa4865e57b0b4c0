// Helpers the compare files share: reading a record's figures, naming machines, picking rows. Private
// to src/report/compare*.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/record.hpp"
#include "predict/roofline.hpp"
#include "report/compare.hpp"

namespace versus::report::detail {

// Working sets from this size on are out of every cache (the largest Apple SLC is 96 MB), so a
// STREAM figure there is a memory bandwidth the predictor's figure is comparable with.
constexpr int64_t DRAM_SIZE_BYTES = int64_t{128} << 20;

// "k=v,k=v" -> pairs; the record's key.
std::vector<std::pair<std::string, std::string>> key_items(const std::string& key);
std::string basename_of(const std::string& path);
// The parameters that define a test: the key less `threads`, GGUF files by name.
std::vector<std::pair<std::string, std::string>> test_params(const core::Record& r);

bool is_ok(const core::Record& r);
bool has_value(const core::Record& r, const std::string& field);
std::string system_key(const core::Record& r);
std::string system_key(const System& s);
std::string generation_key(const core::Record& r);

// The headline figure's field for the unit core::headline() chose (the printers' choice, so that a
// compare table shows what `versus bench` showed); empty when the record has none.
std::string headline_field(const core::Record& r, std::string* unit);

std::string value_text(double v, double err, bool unstable);
std::string num(double v);
std::string pct_range(double lo, double hi);
// "memory" is the predictor's name for what people call bandwidth-bound.
std::string bound_word(predict::Bound b);

struct BoundEvidence {
    std::string bound;
    std::string metric;  // "MBU", "MFU", "peak"
    double pct = -1;
};
// What limits a measured row, from the record's own figures: MBU and MFU for the llm workload, % of
// peak for GEMM, the kind of memory and the transfer size elsewhere.
BoundEvidence measured_bound(const core::Record& r);

std::string machine_name(const System& s);
// The size parameter of a row's record, 0 when it has none.
int64_t size_param(const core::Record& r);
const Generation* main_generation(const Comparison& c);
const core::Record* cell_record(const Comparison& c, const Cell& cell);
const core::Record* first_ok_record(const Comparison& c, const Row& row);
// Systems with a measurement, in machine-number order.
std::vector<size_t> measured_systems(const Comparison& c);
// Systems with a figure in any of the rows, in machine order.
std::vector<size_t> systems_in(const Comparison& c, const std::vector<const Row*>& rows);
std::vector<const Row*> rows_where(const Generation* g, const std::function<bool(const Row&)>& pred);

struct Best {
    double value = 0;
    const Row* row = nullptr;
    bool found = false;
};
// The bandwidth a machine reached at the largest STREAM working set it ran (out of the caches).
Best bandwidth_of(const Comparison& c, const Generation& g, size_t sys);

// Each machine's caution line (compare-caution.cpp); rec_sys: the machine of each record.
void set_cautions(Comparison& c, const std::vector<size_t>& rec_sys, const HostFindings* here);

// The headline tables, one function each (compare-tables.cpp, compare-needs.cpp).
Table architecture_table(const Comparison& c);
Table performance_table(const Comparison& c);
Table energy_table(const Comparison& c);
Table support_table(const Comparison& c);
// Throughput per price and cost per million for the llm decode and training rows (compare-cost.cpp).
Table cost_table(const Comparison& c);
// "Which platform for which need": for each need the test most machines ran, the best of them, and the
// best predicted platform, each citing its figure.
Table needs_table(const Comparison& c);

}  // namespace versus::report::detail
