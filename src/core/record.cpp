#include "core/record.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace versus::core {

void Record::set(std::string_view name, Value v) {
    for (auto& [k, val] : fields_) {
        if (k == name) {
            val = std::move(v);
            return;
        }
    }
    fields_.emplace_back(std::string(name), std::move(v));
}

const Value* Record::find(std::string_view name) const {
    for (const auto& [k, val] : fields_)
        if (k == name) return &val;
    return nullptr;
}

std::string Record::str(std::string_view name, std::string fallback) const {
    const Value* v = find(name);
    if (!v || is_null(*v)) return fallback;
    if (auto s = std::get_if<std::string>(v)) return *s;
    return format_value(*v, 17);
}

double Record::num(std::string_view name, double fallback) const {
    const Value* v = find(name);
    if (!v) return fallback;
    if (auto d = std::get_if<double>(v)) return *d;
    if (auto i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
    if (auto b = std::get_if<bool>(v)) return *b ? 1.0 : 0.0;
    return fallback;
}

int64_t Record::integer(std::string_view name, int64_t fallback) const {
    const Value* v = find(name);
    if (!v) return fallback;
    if (auto i = std::get_if<int64_t>(v)) return *i;
    if (auto d = std::get_if<double>(v)) return static_cast<int64_t>(*d);
    return fallback;
}

bool is_null(const Value& v) { return std::holds_alternative<Null>(v); }

std::string format_value(const Value& v, int sig) {
    struct Visitor {
        int sig;
        std::string operator()(Null) const { return ""; }
        std::string operator()(bool b) const { return b ? "true" : "false"; }
        std::string operator()(int64_t i) const { return std::to_string(i); }
        std::string operator()(double d) const {
            if (std::isnan(d)) return "nan";
            if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
            // Fixed notation with `sig` significant digits for readable tables; large values keep
            // their integer digits.
            if (d == 0) return "0";
            const int mag = static_cast<int>(std::floor(std::log10(std::fabs(d))));
            const int decimals = std::clamp(sig - 1 - mag, 0, 9);
            return fmt::format("{:.{}f}", d, decimals);
        }
        std::string operator()(const std::string& s) const { return s; }
        std::string operator()(const Samples& s) const {
            std::string out = "[";
            for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
            return out + "]";
        }
    };
    return std::visit(Visitor{sig}, v);
}

nlohmann::ordered_json Record::to_json(bool with_samples) const {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& field : fields_) {
        const std::string& k = field.first;  // not a structured binding: lambdas below capture it
        const Value& v = field.second;
        if (!with_samples && std::holds_alternative<Samples>(v)) continue;
        std::visit(
            [&](const auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, Null>)
                    j[k] = nullptr;
                else if constexpr (std::is_same_v<T, double>)
                    j[k] = std::isfinite(x) ? nlohmann::ordered_json(x) : nlohmann::ordered_json(nullptr);
                else
                    j[k] = x;
            },
            v);
    }
    return j;
}

Record Record::from_json(const nlohmann::ordered_json& j) {
    Record r;
    if (!j.is_object()) throw std::runtime_error("record is not a JSON object");
    for (const auto& [k, v] : j.items()) {
        if (v.is_null())
            r.set(k, Null{});
        else if (v.is_boolean())
            r.set(k, v.get<bool>());
        else if (v.is_number_integer())
            r.set(k, v.get<int64_t>());
        else if (v.is_number())
            r.set(k, v.get<double>());
        else if (v.is_string())
            r.set(k, v.get<std::string>());
        else if (v.is_array()) {
            Samples s;
            for (const auto& e : v) {
                if (!e.is_number()) throw std::runtime_error("field '" + k + "' is an array of non-numbers");
                s.push_back(e.get<int64_t>());
            }
            r.set(k, std::move(s));
        } else
            throw std::runtime_error("field '" + k + "' has an unsupported JSON type");
    }
    return r;
}

const std::vector<std::string>& record_common_fields() {
    static const std::vector<std::string> f = {
        "schema_version", "run_id", "time",   "versus_version", "build_type", "host",        "rank",     "world_size",
        "os",             "cpu",    "gpu",    "backend",        "device",     "memory_kind", "workload", "key",
    };
    return f;
}

const std::vector<std::string>& record_key_fields() {
    // rank and world_size: the ranks of one job measure the same test on different shares of a host, and a
    // collective on 2 ranks is not the one on 4 (both null in a single process).
    static const std::vector<std::string> f = {"host", "rank", "world_size", "backend", "device", "workload", "key"};
    return f;
}

}  // namespace versus::core
