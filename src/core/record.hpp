// record: the one flat result record of DESIGN.md. Every printer reads only Records.
// A Record is an ordered list of typed fields; the common fields come first in a fixed order
// (record_schema()), then the workload's parameters, then its metrics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace versus::core {

inline constexpr int SCHEMA_VERSION = 1;

using Null = std::monostate;
using Samples = std::vector<int64_t>;
using Value = std::variant<Null, bool, int64_t, double, std::string, Samples>;

class Record {
public:
    // Sets a field, keeping its first position if it exists.
    void set(std::string_view name, Value v);
    const Value* find(std::string_view name) const;
    bool has(std::string_view name) const { return find(name) != nullptr; }

    // Typed reads with a fallback for absent or null fields.
    std::string str(std::string_view name, std::string fallback = {}) const;
    double num(std::string_view name, double fallback = 0) const;
    int64_t integer(std::string_view name, int64_t fallback = 0) const;

    const std::vector<std::pair<std::string, Value>>& fields() const { return fields_; }

    nlohmann::ordered_json to_json(bool with_samples = true) const;
    static Record from_json(const nlohmann::ordered_json& j);

private:
    std::vector<std::pair<std::string, Value>> fields_;
};

// Names of the common fields, in order; every record starts with these (null where unknown).
const std::vector<std::string>& record_common_fields();
// Fields that, with the workload parameters, say which records describe the same test.
const std::vector<std::string>& record_key_fields();

// "12.3" style formatting shared by printers: doubles with `sig` significant digits.
std::string format_value(const Value& v, int sig = 4);
bool is_null(const Value& v);

}  // namespace versus::core
