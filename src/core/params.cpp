#include "core/params.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/text.hpp"

namespace versus::core {

void Params::set(std::string field, ParamValue v) {
    for (auto& [k, val] : items_)
        if (k == field) {
            val = std::move(v);
            return;
        }
    items_.emplace_back(std::move(field), std::move(v));
}

void Params::erase(std::string_view field) {
    std::erase_if(items_, [&](const auto& kv) { return kv.first == field; });
}

const ParamValue* Params::find(std::string_view field) const {
    for (const auto& [k, v] : items_)
        if (k == field) return &v;
    return nullptr;
}

int64_t Params::integer(std::string_view field) const {
    const ParamValue* v = find(field);
    if (!v || !std::holds_alternative<int64_t>(*v)) throw std::out_of_range("no integer parameter " + std::string(field));
    return std::get<int64_t>(*v);
}

const std::string& Params::str(std::string_view field) const {
    const ParamValue* v = find(field);
    if (!v || !std::holds_alternative<std::string>(*v)) throw std::out_of_range("no text parameter " + std::string(field));
    return std::get<std::string>(*v);
}

std::string Params::key() const {
    std::string out;
    for (const auto& [k, v] : items_) {
        if (!out.empty()) out += ',';
        out += k + '=' + (std::holds_alternative<int64_t>(v) ? std::to_string(std::get<int64_t>(v)) : std::get<std::string>(v));
    }
    return out;
}


int64_t parse_size(std::string_view place, std::string_view text) {
    text = base::trim(text);
    int64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr == text.data())
        throw UsageError(std::string(place), fmt::format("'{}' is not a number", text), "write e.g. 512, 64K, 1M or 2G");
    std::string_view suffix(ptr, text.data() + text.size() - ptr);
    int shift = 0;
    if (suffix == "" || suffix == "B") shift = 0;
    else if (suffix == "K" || suffix == "k" || suffix == "KiB" || suffix == "KB") shift = 10;
    else if (suffix == "M" || suffix == "MiB" || suffix == "MB") shift = 20;
    else if (suffix == "G" || suffix == "GiB" || suffix == "GB") shift = 30;
    else if (suffix == "T" || suffix == "TiB" || suffix == "TB") shift = 40;
    else
        throw UsageError(std::string(place), fmt::format("unknown unit '{}' in '{}'", suffix, text),
                         "use K, M, G or T (powers of 1024)");
    if (value < 0) throw UsageError(std::string(place), fmt::format("'{}' is negative", text), "give a positive value");
    if (shift && value > (std::numeric_limits<int64_t>::max() >> shift))
        throw UsageError(std::string(place), fmt::format("'{}' is too large", text), "give a smaller value");
    return value << shift;
}

std::string format_size(int64_t v) {
    static const char* units[] = {"", "K", "M", "G", "T"};
    int u = 0;
    while (u < 4 && v != 0 && v % 1024 == 0) {
        v /= 1024;
        ++u;
    }
    return std::to_string(v) + units[u];
}

std::vector<ParamValue> parse_sweep(const ParamSpec& spec, std::string_view text) {
    const std::string place = "--" + spec.name;
    std::vector<ParamValue> out;
    if (base::trim(text).empty()) throw UsageError(place, "empty value", "give a value, a list (a,b) or a range (a-b*2)");

    if (spec.kind == ParamKind::TEXT) {
        for (auto item : base::split(text, ',', base::SPLIT_TRIM)) {
            if (item.empty()) throw UsageError(place, fmt::format("empty item in '{}'", text), "remove the extra comma");
            out.emplace_back(std::string(item));
        }
        return out;
    }
    if (spec.kind == ParamKind::CHOICE) {
        for (auto item : base::split(text, ',', base::SPLIT_TRIM)) {
            if (item == "all") {
                for (const auto& c : spec.choices) out.emplace_back(c);
                continue;
            }
            bool known = false;
            for (const auto& c : spec.choices) known = known || c == item;
            if (!known) {
                std::string list;
                for (const auto& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
                throw UsageError(place, fmt::format("unknown value '{}'", item), "choose from " + list + " or all");
            }
            out.emplace_back(std::string(item));
        }
        return out;
    }

    auto check = [&](int64_t v, std::string_view item) {
        if (v < spec.min || v > spec.max)
            throw UsageError(place, fmt::format("{} is out of range", item),
                             spec.max == INT64_MAX ? fmt::format("give a value of at least {}", spec.min)
                                                   : fmt::format("give a value from {} to {}", spec.min, spec.max));
        return v;
    };
    for (auto item : base::split(text, ',', base::SPLIT_TRIM)) {
        if (item.empty()) throw UsageError(place, fmt::format("empty item in '{}'", text), "remove the extra comma");
        // A range is first-last[*mult|+step]; a leading '-' is a negative number, caught by check().
        const size_t dash = item.find('-', 1);
        if (dash == std::string_view::npos) {
            out.emplace_back(check(parse_size(place, item), item));
            continue;
        }
        std::string_view first = item.substr(0, dash), rest = item.substr(dash + 1);
        char op = 0;
        std::string_view step_text;
        if (size_t p = rest.find_first_of("*+"); p != std::string_view::npos) {
            op = rest[p];
            step_text = rest.substr(p + 1);
            rest = rest.substr(0, p);
        }
        const int64_t a = check(parse_size(place, first), first);
        const int64_t b = check(parse_size(place, rest), rest);
        if (a > b) throw UsageError(place, fmt::format("range '{}' runs backwards", item), "write first-last with first <= last");
        if (op == 0) op = spec.kind == ParamKind::SIZE ? '*' : '+';
        const int64_t step = step_text.empty() ? (op == '*' ? 2 : 1) : parse_size(place, step_text);
        if ((op == '*' && step < 2) || (op == '+' && step < 1))
            throw UsageError(place, fmt::format("step in '{}' never advances", item),
                             op == '*' ? "use a multiplier of at least 2" : "use a step of at least 1");
        for (int64_t v = a; v <= b;) {
            out.emplace_back(v);
            if (out.size() > MAX_SWEEP_POINTS)
                throw UsageError(place, fmt::format("range '{}' has too many points", item), "use a larger step");
            if (op == '*' ? v > b / step : v > b - step) break;
            v = op == '*' ? v * step : v + step;
        }
    }
    return out;
}

std::vector<Params> expand_sweep(const std::vector<std::pair<std::string, std::vector<ParamValue>>>& axes) {
    std::vector<Params> out(1);
    for (const auto& [field, values] : axes) {
        if (values.empty()) continue;
        std::vector<Params> next;
        next.reserve(out.size() * values.size());
        for (const auto& base : out)
            for (const auto& v : values) {
                Params p = base;
                p.set(field, v);
                next.push_back(std::move(p));
            }
        if (next.size() > MAX_SWEEP_POINTS)
            throw UsageError("sweep", fmt::format("{} configurations", next.size()), "narrow the lists or ranges");
        out = std::move(next);
    }
    return out;
}

}  // namespace versus::core
