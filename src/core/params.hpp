// params: a workload's declared parameters and the llama-bench style sweep grammar that expands
// command-line values into the list of configurations to run.
//   list:    1,2,4          f32,bf16
//   range:   1-8            (step 1)        1-8+2   (additive step)
//            1M-1G*4        (multiplicative step; sizes take K/M/G/T suffixes, powers of 1024)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace versus::core {

using ParamValue = std::variant<int64_t, std::string>;

enum class ParamKind { INT, SIZE, CHOICE, TEXT, STRING };  // TEXT: free text (paths, names), listed with commas;
                                                           // STRING: one value, never split (prompt text)

struct ParamSpec {
    std::string name;           // command-line name: --name
    std::string field;          // record field; units in the name ("size_bytes")
    ParamKind kind = ParamKind::INT;
    std::string help;
    std::vector<std::string> choices;  // CHOICE only
    std::string quick;          // sweep of the quick suite
    std::string full;           // sweep of --full
    int64_t min = 1;            // INT/SIZE lower bound (inclusive)
    int64_t max = INT64_MAX;    // INT/SIZE upper bound (inclusive)
    std::string flags;          // extra command-line spellings, e.g. "-p" (llama-bench's)
    std::string flag_value;     // CHOICE: the value of the option given alone ("--data-parallel" = on); "" if none
};

// One configuration: (field, value) in declaration order.
class Params {
public:
    void set(std::string field, ParamValue v);
    void erase(std::string_view field);
    const ParamValue* find(std::string_view field) const;
    int64_t integer(std::string_view field) const;    // throws std::out_of_range if absent
    const std::string& str(std::string_view field) const;
    const std::vector<std::pair<std::string, ParamValue>>& items() const { return items_; }
    // "dtype=f32,m=1024,..." — stable text used in record keys.
    std::string key() const;

private:
    std::vector<std::pair<std::string, ParamValue>> items_;
};

// Parses one sweep expression for `spec`; throws UsageError naming `--name` with a hint.
std::vector<ParamValue> parse_sweep(const ParamSpec& spec, std::string_view text);
// Parses "64K", "1M", "3G", "1024" to bytes / counts; throws UsageError on garbage or overflow.
int64_t parse_size(std::string_view place, std::string_view text);
// 1048576 -> "1M", 1536 -> "1536" (exact binary units only).
std::string format_size(int64_t v);

// Cartesian product, first axis outermost.
std::vector<Params> expand_sweep(const std::vector<std::pair<std::string, std::vector<ParamValue>>>& axes);

inline constexpr size_t MAX_SWEEP_POINTS = 100000;

}  // namespace versus::core
