// gguf-types: the ggml tensor type table and GgufValue, the metadata value (views and owned values).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "llm/gguf.hpp"

namespace versus::llm {

static_assert(std::endian::native == std::endian::little,
              "versus reads GGUF tensors in place: little-endian hosts only");

namespace {

constexpr int64_t QK_K = 256;  // elements of a K-quant / IQ super-block

// Source: ggml/include/ggml.h (ids, names) and ggml/src/ggml-common.h (block structs; sizes are the
// static_asserts there). Removed ids keep their names so that errors can say what a file holds.
constexpr GgmlTypeInfo TYPES[] = {
    // type              name        block_elements  block_bytes  supported removed  layout
    {GgmlType::F32, "F32", 1, 4, true, false, "float"},
    {GgmlType::F16, "F16", 1, 2, true, false, "IEEE half"},
    {GgmlType::Q4_0, "Q4_0", 32, 18, true, false, "f16 d, 16 B of 4-bit quants"},
    {GgmlType::Q4_1, "Q4_1", 32, 20, false, false, "f16 d, f16 m, 16 B of 4-bit quants"},
    {static_cast<GgmlType>(4), "Q4_2", 16, 0, false, true, "removed from ggml in 2023"},
    {static_cast<GgmlType>(5), "Q4_3", 16, 0, false, true, "removed from ggml in 2023"},
    {GgmlType::Q5_0, "Q5_0", 32, 22, false, false, "f16 d, 4 B high bits, 16 B low nibbles"},
    {GgmlType::Q5_1, "Q5_1", 32, 24, false, false, "f16 d, f16 m, 4 B high bits, 16 B low nibbles"},
    {GgmlType::Q8_0, "Q8_0", 32, 34, true, false, "f16 d, 32 int8"},
    {GgmlType::Q8_1, "Q8_1", 32, 36, false, false, "f16 d, f16 s, 32 int8"},
    {GgmlType::Q2_K, "Q2_K", QK_K, 84, false, false, "16 B scales, 64 B quants, f16 d, f16 dmin"},
    {GgmlType::Q3_K, "Q3_K", QK_K, 110, false, false, "32 B hmask, 64 B quants, 12 B scales, f16 d"},
    {GgmlType::Q4_K, "Q4_K", QK_K, 144, true, false, "f16 d, f16 dmin, 12 B scales, 128 B quants"},
    {GgmlType::Q5_K, "Q5_K", QK_K, 176, true, false, "f16 d, f16 dmin, 12 B scales, 32 B qh, 128 B quants"},
    {GgmlType::Q6_K, "Q6_K", QK_K, 210, true, false, "128 B ql, 64 B qh, 16 int8 scales, f16 d"},
    {GgmlType::Q8_K, "Q8_K", QK_K, 292, false, false, "f32 d, 256 int8, 16 int16 bsums"},
    {GgmlType::IQ2_XXS, "IQ2_XXS", QK_K, 66, false, false, "f16 d, 32 u16"},
    {GgmlType::IQ2_XS, "IQ2_XS", QK_K, 74, false, false, "f16 d, 32 u16, 8 B scales"},
    {GgmlType::IQ3_XXS, "IQ3_XXS", QK_K, 98, false, false, "f16 d, 96 B"},
    {GgmlType::IQ1_S, "IQ1_S", QK_K, 50, false, false, "f16 d, 32 B qs, 8 u16 qh"},
    {GgmlType::IQ4_NL, "IQ4_NL", 32, 18, false, false, "f16 d, 16 B of 4-bit indices"},
    {GgmlType::IQ3_S, "IQ3_S", QK_K, 110, false, false, "f16 d, 64 B qs, 8 B qh, 32 B signs, 4 B scales"},
    {GgmlType::IQ2_S, "IQ2_S", QK_K, 82, false, false, "f16 d, 64 B qs, 8 B qh, 8 B scales"},
    {GgmlType::IQ4_XS, "IQ4_XS", QK_K, 136, false, false, "f16 d, u16 scales_h, 4 B scales_l, 128 B qs"},
    {GgmlType::I8, "I8", 1, 1, false, false, "int8"},
    {GgmlType::I16, "I16", 1, 2, false, false, "int16"},
    {GgmlType::I32, "I32", 1, 4, false, false, "int32"},
    {GgmlType::I64, "I64", 1, 8, false, false, "int64"},
    {GgmlType::F64, "F64", 1, 8, false, false, "double"},
    {GgmlType::IQ1_M, "IQ1_M", QK_K, 56, false, false, "32 B qs, 16 B qh, 8 B scales"},
    {GgmlType::BF16, "BF16", 1, 2, true, false, "bfloat16"},
    {static_cast<GgmlType>(31), "Q4_0_4_4", 32, 0, false, true, "repacked Q4_0, removed from GGUF (repacked at load)"},
    {static_cast<GgmlType>(32), "Q4_0_4_8", 32, 0, false, true, "repacked Q4_0, removed from GGUF (repacked at load)"},
    {static_cast<GgmlType>(33), "Q4_0_8_8", 32, 0, false, true, "repacked Q4_0, removed from GGUF (repacked at load)"},
    {GgmlType::TQ1_0, "TQ1_0", QK_K, 54, false, false, "48 B qs, 4 B qh, f16 d"},
    {GgmlType::TQ2_0, "TQ2_0", QK_K, 66, false, false, "64 B qs, f16 d"},
    {static_cast<GgmlType>(36), "IQ4_NL_4_4", 32, 0, false, true, "repacked IQ4_NL, removed from GGUF"},
    {static_cast<GgmlType>(37), "IQ4_NL_4_8", 32, 0, false, true, "repacked IQ4_NL, removed from GGUF"},
    {static_cast<GgmlType>(38), "IQ4_NL_8_8", 32, 0, false, true, "repacked IQ4_NL, removed from GGUF"},
    {GgmlType::MXFP4, "MXFP4", 32, 17, false, false, "u8 e8m0 scale, 16 B of fp4 e2m1"},
};
constexpr size_t N_TYPES = sizeof(TYPES) / sizeof(TYPES[0]);

constexpr bool table_in_id_order() {
    for (size_t i = 0; i + 1 < N_TYPES; ++i)
        if (static_cast<uint32_t>(TYPES[i].type) >= static_cast<uint32_t>(TYPES[i + 1].type)) return false;
    return true;
}
static_assert(table_in_id_order(), "TYPES must be sorted by id");

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

}  // namespace

std::span<const GgmlTypeInfo> ggml_types() { return {TYPES, N_TYPES}; }

const GgmlTypeInfo* ggml_type_info(uint32_t id) {
    auto it = std::lower_bound(std::begin(TYPES), std::end(TYPES), id,
                               [](const GgmlTypeInfo& t, uint32_t v) { return static_cast<uint32_t>(t.type) < v; });
    return it != std::end(TYPES) && static_cast<uint32_t>(it->type) == id ? &*it : nullptr;
}

const GgmlTypeInfo& ggml_type_info(GgmlType type) {
    const GgmlTypeInfo* t = ggml_type_info(static_cast<uint32_t>(type));
    if (!t) throw std::out_of_range(fmt::format("ggml type id {} is not in the table", static_cast<uint32_t>(type)));
    return *t;
}

const GgmlTypeInfo* ggml_type_info(std::string_view name) {
    for (const auto& t : TYPES)
        if (iequals(t.name, name)) return &t;
    return nullptr;
}

const char* ggml_type_name(GgmlType type) {
    const GgmlTypeInfo* t = ggml_type_info(static_cast<uint32_t>(type));
    return t ? t->name : "unknown";
}

std::string ggml_supported_type_names() {
    // In the order people meet them, not id order.
    static const GgmlType order[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0,
                                     GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};
    std::string out;
    for (GgmlType t : order) out += (out.empty() ? "" : ", ") + std::string(ggml_type_name(t));
    return out;
}

std::optional<uint64_t> ggml_tensor_bytes(GgmlType type, std::span<const int64_t> ne) {
    const GgmlTypeInfo* t = ggml_type_info(static_cast<uint32_t>(type));
    if (!t || t->removed || t->block_bytes <= 0 || ne.size() > static_cast<size_t>(GGUF_MAX_DIMS)) return std::nullopt;
    constexpr int64_t MAX = std::numeric_limits<int64_t>::max();
    int64_t n = 1;
    for (int64_t d : ne) {
        if (d < 1 || n > MAX / d) return std::nullopt;
        n *= d;
    }
    const int64_t ne0 = ne.empty() ? 1 : ne[0];
    if (ne0 % t->block_elements != 0) return std::nullopt;
    // bytes = n / block_elements * block_bytes, without overflow.
    const int64_t blocks = n / t->block_elements;
    if (blocks > MAX / t->block_bytes) return std::nullopt;
    return static_cast<uint64_t>(blocks * t->block_bytes);
}

// ---- value types ----------------------------------------------------------------------------------

const char* gguf_value_type_name(GgufValueType type) {
    switch (type) {
    case GgufValueType::UINT8: return "UINT8";
    case GgufValueType::INT8: return "INT8";
    case GgufValueType::UINT16: return "UINT16";
    case GgufValueType::INT16: return "INT16";
    case GgufValueType::UINT32: return "UINT32";
    case GgufValueType::INT32: return "INT32";
    case GgufValueType::FLOAT32: return "FLOAT32";
    case GgufValueType::BOOL: return "BOOL";
    case GgufValueType::STRING: return "STRING";
    case GgufValueType::ARRAY: return "ARRAY";
    case GgufValueType::UINT64: return "UINT64";
    case GgufValueType::INT64: return "INT64";
    case GgufValueType::FLOAT64: return "FLOAT64";
    }
    return "unknown";
}

size_t gguf_value_type_size(GgufValueType type) {
    switch (type) {
    case GgufValueType::UINT8:
    case GgufValueType::INT8:
    case GgufValueType::BOOL: return 1;
    case GgufValueType::UINT16:
    case GgufValueType::INT16: return 2;
    case GgufValueType::UINT32:
    case GgufValueType::INT32:
    case GgufValueType::FLOAT32: return 4;
    case GgufValueType::UINT64:
    case GgufValueType::INT64:
    case GgufValueType::FLOAT64: return 8;
    case GgufValueType::STRING:
    case GgufValueType::ARRAY: return 0;
    }
    return 0;
}

// ---- GgufValue ------------------------------------------------------------------------------------

namespace {

template <class T>
constexpr GgufValueType value_type_of() {
    if constexpr (std::is_same_v<T, uint8_t>)
        return GgufValueType::UINT8;
    else if constexpr (std::is_same_v<T, int8_t>)
        return GgufValueType::INT8;
    else if constexpr (std::is_same_v<T, uint16_t>)
        return GgufValueType::UINT16;
    else if constexpr (std::is_same_v<T, int16_t>)
        return GgufValueType::INT16;
    else if constexpr (std::is_same_v<T, uint32_t>)
        return GgufValueType::UINT32;
    else if constexpr (std::is_same_v<T, int32_t>)
        return GgufValueType::INT32;
    else if constexpr (std::is_same_v<T, uint64_t>)
        return GgufValueType::UINT64;
    else if constexpr (std::is_same_v<T, int64_t>)
        return GgufValueType::INT64;
    else if constexpr (std::is_same_v<T, float>)
        return GgufValueType::FLOAT32;
    else if constexpr (std::is_same_v<T, double>)
        return GgufValueType::FLOAT64;
    else if constexpr (std::is_same_v<T, bool>)
        return GgufValueType::BOOL;
    else
        static_assert(sizeof(T) == 0, "not a GGUF scalar type");
}

bool is_int_type(GgufValueType t) {
    switch (t) {
    case GgufValueType::UINT8:
    case GgufValueType::INT8:
    case GgufValueType::UINT16:
    case GgufValueType::INT16:
    case GgufValueType::UINT32:
    case GgufValueType::INT32:
    case GgufValueType::UINT64:
    case GgufValueType::INT64: return true;
    default: return false;
    }
}

bool is_signed_type(GgufValueType t) {
    return t == GgufValueType::INT8 || t == GgufValueType::INT16 || t == GgufValueType::INT32 ||
           t == GgufValueType::INT64;
}

// The signed value of a signed scalar stored in `bits` (little-endian, zero-extended).
int64_t as_signed(GgufValueType t, uint64_t bits) {
    switch (t) {
    case GgufValueType::INT8: return static_cast<int8_t>(static_cast<uint8_t>(bits));
    case GgufValueType::INT16: return static_cast<int16_t>(static_cast<uint16_t>(bits));
    case GgufValueType::INT32: return static_cast<int32_t>(static_cast<uint32_t>(bits));
    default: return static_cast<int64_t>(bits);
    }
}

double as_double(GgufValueType t, uint64_t bits) {
    if (t == GgufValueType::FLOAT32) {
        float f;
        const uint32_t b = static_cast<uint32_t>(bits);
        std::memcpy(&f, &b, 4);
        return f;
    }
    if (t == GgufValueType::FLOAT64) {
        double d;
        std::memcpy(&d, &bits, 8);
        return d;
    }
    if (is_signed_type(t)) return static_cast<double>(as_signed(t, bits));
    return static_cast<double>(bits);
}

// std::in_range without relying on a recent libc++ (Apple's).
template <class T>
bool fits_signed(int64_t v) {
    if constexpr (std::is_signed_v<T>)
        return v >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
               v <= static_cast<int64_t>(std::numeric_limits<T>::max());
    else
        return v >= 0 && static_cast<uint64_t>(v) <= static_cast<uint64_t>(std::numeric_limits<T>::max());
}
template <class T>
bool fits_unsigned(uint64_t v) {
    return v <= static_cast<uint64_t>(std::numeric_limits<T>::max());
}

template <class T>
uint64_t bits_of(T v) {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    return bits;
}

}  // namespace

namespace {
GgufValue scalar(GgufValueType t, uint64_t bits) { return GgufValue::Access::scalar(t, bits); }
}  // namespace

GgufValue GgufValue::of_u8(uint8_t v) { return scalar(GgufValueType::UINT8, v); }
GgufValue GgufValue::of_i8(int8_t v) { return scalar(GgufValueType::INT8, bits_of(v)); }
GgufValue GgufValue::of_u16(uint16_t v) { return scalar(GgufValueType::UINT16, v); }
GgufValue GgufValue::of_i16(int16_t v) { return scalar(GgufValueType::INT16, bits_of(v)); }
GgufValue GgufValue::of_u32(uint32_t v) { return scalar(GgufValueType::UINT32, v); }
GgufValue GgufValue::of_i32(int32_t v) { return scalar(GgufValueType::INT32, bits_of(v)); }
GgufValue GgufValue::of_u64(uint64_t v) { return scalar(GgufValueType::UINT64, v); }
GgufValue GgufValue::of_i64(int64_t v) { return scalar(GgufValueType::INT64, bits_of(v)); }
GgufValue GgufValue::of_f32(float v) { return scalar(GgufValueType::FLOAT32, bits_of(v)); }
GgufValue GgufValue::of_f64(double v) { return scalar(GgufValueType::FLOAT64, bits_of(v)); }
GgufValue GgufValue::of_bool(bool v) { return scalar(GgufValueType::BOOL, v ? 1 : 0); }

GgufValue GgufValue::of_string(std::string_view v) {
    auto owned = std::make_shared<const std::string>(v);
    std::string_view view = *owned;
    return Access::string(view, std::move(owned));
}

template <class T>
GgufValue GgufValue::of_array(std::span<const T> items) {
    auto owned = std::make_shared<std::vector<uint8_t>>(items.size() * sizeof(T));
    if constexpr (std::is_same_v<T, bool>) {
        for (size_t i = 0; i < items.size(); ++i) (*owned)[i] = items[i] ? 1 : 0;
    } else if (!items.empty()) {
        std::memcpy(owned->data(), items.data(), items.size() * sizeof(T));
    }
    const uint8_t* raw = owned->data();
    return Access::array_raw(value_type_of<T>(), items.size(), raw, std::move(owned));
}

template GgufValue GgufValue::of_array<uint8_t>(std::span<const uint8_t>);
template GgufValue GgufValue::of_array<int8_t>(std::span<const int8_t>);
template GgufValue GgufValue::of_array<uint16_t>(std::span<const uint16_t>);
template GgufValue GgufValue::of_array<int16_t>(std::span<const int16_t>);
template GgufValue GgufValue::of_array<uint32_t>(std::span<const uint32_t>);
template GgufValue GgufValue::of_array<int32_t>(std::span<const int32_t>);
template GgufValue GgufValue::of_array<uint64_t>(std::span<const uint64_t>);
template GgufValue GgufValue::of_array<int64_t>(std::span<const int64_t>);
template GgufValue GgufValue::of_array<float>(std::span<const float>);
template GgufValue GgufValue::of_array<double>(std::span<const double>);
template GgufValue GgufValue::of_array<bool>(std::span<const bool>);

GgufValue GgufValue::of_bool_array(std::span<const uint8_t> items) {
    auto owned = std::make_shared<std::vector<uint8_t>>(items.size());
    for (size_t i = 0; i < items.size(); ++i) (*owned)[i] = items[i] ? 1 : 0;
    const uint8_t* raw = owned->data();
    return Access::array_raw(GgufValueType::BOOL, items.size(), raw, std::move(owned));
}

namespace {
template <class S>
GgufValue strings_value(std::span<const S> items) {
    auto owned = std::make_shared<std::vector<std::string>>(items.begin(), items.end());
    std::vector<std::string_view> views(owned->begin(), owned->end());
    return GgufValue::Access::array_strings(std::move(views), std::move(owned));
}
}  // namespace

GgufValue GgufValue::of_strings(std::span<const std::string> items) { return strings_value(items); }
GgufValue GgufValue::of_strings(std::span<const std::string_view> items) { return strings_value(items); }

GgufValue GgufValue::of_values(std::vector<GgufValue> items, GgufValueType empty_type) {
    if (items.empty()) return Access::array_values(empty_type, {});
    const GgufValueType t = items[0].type();
    for (const auto& it : items)
        if (it.type() != t)
            throw std::invalid_argument(fmt::format("GgufValue::of_values: items of types {} and {}",
                                                    gguf_value_type_name(t), gguf_value_type_name(it.type())));
    if (t == GgufValueType::ARRAY) return Access::array_values(t, std::move(items));
    if (t == GgufValueType::STRING) {
        std::vector<std::string> s;
        s.reserve(items.size());
        for (const auto& it : items) s.emplace_back(it.str_);
        return of_strings(std::span<const std::string>(s));
    }
    const size_t w = gguf_value_type_size(t);
    auto owned = std::make_shared<std::vector<uint8_t>>(items.size() * w);
    for (size_t i = 0; i < items.size(); ++i) std::memcpy(owned->data() + i * w, &items[i].bits_, w);
    const uint8_t* raw = owned->data();
    return Access::array_raw(t, items.size(), raw, std::move(owned));
}

GgufValue GgufValue::at(uint64_t i) const {
    if (type_ != GgufValueType::ARRAY || i >= count_)
        throw std::out_of_range(fmt::format("GgufValue::at({}) of a value of {} elements", i, count_));
    switch (elem_) {
    case GgufValueType::STRING: return Access::string(strings_[i], owner_);
    case GgufValueType::ARRAY: return items_[i];
    default: {
        const size_t w = gguf_value_type_size(elem_);
        uint64_t bits = 0;
        std::memcpy(&bits, raw_ + i * w, w);
        return scalar(elem_, bits);
    }
    }
}

std::span<const uint8_t> GgufValue::raw_elements() const {
    if (type_ != GgufValueType::ARRAY || !raw_) return {};
    return {raw_, static_cast<size_t>(count_ * gguf_value_type_size(elem_))};
}

template <class T>
std::optional<T> GgufValue::to() const {
    if constexpr (std::is_same_v<T, std::string_view>) {
        if (type_ != GgufValueType::STRING) return std::nullopt;
        return str_;
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (type_ != GgufValueType::STRING) return std::nullopt;
        return std::string(str_);
    } else if constexpr (std::is_same_v<T, bool>) {
        if (type_ != GgufValueType::BOOL) return std::nullopt;
        return bits_ != 0;
    } else if constexpr (std::is_floating_point_v<T>) {
        if (type_ == GgufValueType::FLOAT32 || type_ == GgufValueType::FLOAT64 || is_int_type(type_))
            return static_cast<T>(as_double(type_, bits_));
        return std::nullopt;
    } else {
        static_assert(std::is_integral_v<T>);
        if (!is_int_type(type_)) return std::nullopt;
        if (is_signed_type(type_)) {
            const int64_t v = as_signed(type_, bits_);
            if (!fits_signed<T>(v)) return std::nullopt;
            return static_cast<T>(v);
        }
        if (!fits_unsigned<T>(bits_)) return std::nullopt;
        return static_cast<T>(bits_);
    }
}

template <class T>
std::optional<std::vector<T>> GgufValue::to_vector() const {
    if (type_ != GgufValueType::ARRAY) return std::nullopt;
    std::vector<T> out;
    out.reserve(static_cast<size_t>(count_));
    if constexpr (std::is_same_v<T, std::string_view> || std::is_same_v<T, std::string>) {
        if (elem_ != GgufValueType::STRING) return std::nullopt;
        for (std::string_view s : strings_) out.emplace_back(s);
        return out;
    } else {
        if (elem_ == GgufValueType::STRING || elem_ == GgufValueType::ARRAY) return std::nullopt;
        if (raw_ && elem_ == value_type_of<T>()) {  // same type: one copy
            out.resize(static_cast<size_t>(count_));
            if constexpr (std::is_same_v<T, bool>) {
                for (uint64_t i = 0; i < count_; ++i) out[i] = raw_[i] != 0;
            } else if (count_ > 0) {
                std::memcpy(out.data(), raw_, static_cast<size_t>(count_) * sizeof(T));
            }
            return out;
        }
        const size_t w = gguf_value_type_size(elem_);
        for (uint64_t i = 0; i < count_; ++i) {
            uint64_t bits = 0;
            std::memcpy(&bits, raw_ + i * w, w);
            std::optional<T> v = scalar(elem_, bits).to<T>();
            if (!v) return std::nullopt;
            out.push_back(*v);
        }
        return out;
    }
}

#define VERSUS_GGUF_INSTANTIATE(T)                      \
    template std::optional<T> GgufValue::to<T>() const; \
    template std::optional<std::vector<T>> GgufValue::to_vector<T>() const;
VERSUS_GGUF_INSTANTIATE(uint8_t)
VERSUS_GGUF_INSTANTIATE(int8_t)
VERSUS_GGUF_INSTANTIATE(uint16_t)
VERSUS_GGUF_INSTANTIATE(int16_t)
VERSUS_GGUF_INSTANTIATE(uint32_t)
VERSUS_GGUF_INSTANTIATE(int32_t)
VERSUS_GGUF_INSTANTIATE(uint64_t)
VERSUS_GGUF_INSTANTIATE(int64_t)
VERSUS_GGUF_INSTANTIATE(float)
VERSUS_GGUF_INSTANTIATE(double)
VERSUS_GGUF_INSTANTIATE(bool)
VERSUS_GGUF_INSTANTIATE(std::string_view)
VERSUS_GGUF_INSTANTIATE(std::string)
#undef VERSUS_GGUF_INSTANTIATE

namespace {

void append_quoted(std::string& out, std::string_view s, size_t max_chars) {
    out += '"';
    size_t n = 0;
    for (char c : s) {
        if (n++ == max_chars) {
            out += "...";
            break;
        }
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (u < 0x20 || u == 0x7f) {
            out += fmt::format("\\x{:02x}", u);
        } else {
            out += c;
        }
    }
    out += '"';
}

void append_scalar(std::string& out, const GgufValue& v) {
    const GgufValueType t = v.type();
    if (t == GgufValueType::STRING) {
        append_quoted(out, *v.to<std::string_view>(), 200);
    } else if (t == GgufValueType::BOOL) {
        out += *v.to<bool>() ? "true" : "false";
    } else if (t == GgufValueType::FLOAT32) {
        out += fmt::format("{}", *v.to<float>());
    } else if (t == GgufValueType::FLOAT64) {
        out += fmt::format("{}", *v.to<double>());
    } else if (is_signed_type(t)) {
        out += fmt::format("{}", *v.to<int64_t>());
    } else {
        out += fmt::format("{}", *v.to<uint64_t>());
    }
}

// Nested arrays multiply: stop at a total length so that a hostile file cannot make this slow.
constexpr size_t MAX_TEXT = 4096;

void append_value(std::string& out, const GgufValue& v, size_t max_items) {
    if (!v.is_array()) {
        append_scalar(out, v);
        return;
    }
    out += '[';
    for (uint64_t i = 0; i < v.size(); ++i) {
        if (i) out += ", ";
        if (i == max_items || out.size() > MAX_TEXT) {
            out += "...";
            break;
        }
        append_value(out, v.at(i), max_items);
    }
    out += ']';
}

}  // namespace

std::string GgufValue::to_string(size_t max_items) const {
    std::string out;
    if (type_ == GgufValueType::ARRAY) {
        out = fmt::format("ARRAY[{}] of {} ", count_, gguf_value_type_name(elem_));
    } else {
        out = fmt::format("{} ", gguf_value_type_name(type_));
    }
    append_value(out, *this, max_items);
    return out;
}

}  // namespace versus::llm
