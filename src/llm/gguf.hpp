// gguf: the GGUF model file format (versions 3 and 2; version 1 is refused), read and written.
//
// Layout (all little-endian; "string" is a u64 byte length then the bytes, no terminator):
//   u32 magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count x { string key | u32 value type | value }        value: scalar, string, or
//                                                              array = u32 element type, u64 count, elements
//   tensor_count x { string name | u32 n_dims | n_dims x u64 ne | u32 ggml type | u64 offset }
//   zero padding to `alignment` | data section: each tensor at `offset` (relative to the section start,
//   a multiple of `alignment`), each followed by zero padding to `alignment`.
// `alignment` is the u32 key general.alignment, 32 when absent. ne[0] is the fastest-varying dimension
// (a row); numpy shapes are the reverse.
//
// This file owns: the ggml tensor type table (gguf-types.cpp), GgufFile, which maps a file read-only and
// checks every count, length and offset against the file before it allocates anything (gguf-reader.cpp),
// and GgufWriter, which builds a file atomically, streaming tensor data from callbacks (gguf-writer.cpp).
// Every bad-input error is a versus::UsageError "[gguf] FILE: what. HINT: how".
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace versus::llm {

// ---- ggml tensor types --------------------------------------------------------------------------

// ggml's type ids as stored in GGUF tensor infos (source: ggml/include/ggml.h, enum ggml_type).
// Gaps are ids that ggml removed (4, 5, 31-33, 36-38): see GgmlTypeInfo::removed.
enum class GgmlType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
};

// One row of the type table: `block_elements` consecutive values of a row are stored in `block_bytes`.
struct GgmlTypeInfo {
    GgmlType type;
    const char* name;        // "Q4_K", as ggml prints it
    int64_t block_elements;  // values per block (1 for plain types, 32 or 256 for quantized ones)
    int64_t block_bytes;     // bytes per block; 0 for removed types
    bool supported;          // versus's engine computes with it: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K
    bool removed;            // an id ggml no longer accepts in GGUF files (e.g. Q4_0_4_4, repacked at load now)
    const char* layout;      // the block's fields, for people (source: ggml/src/ggml-common.h)
};

// Every known id, removed ones included, in id order.
std::span<const GgmlTypeInfo> ggml_types();
// nullptr when the id is not in the table.
const GgmlTypeInfo* ggml_type_info(uint32_t id);
const GgmlTypeInfo& ggml_type_info(GgmlType type);
// Case-insensitive: "q4_k" and "Q4_K" both find Q4_K; nullptr when unknown.
const GgmlTypeInfo* ggml_type_info(std::string_view name);
const char* ggml_type_name(GgmlType type);
// "F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K", for messages.
std::string ggml_supported_type_names();
// Bytes of a tensor of shape ne (ne[0] fastest); nullopt if ne[0] is not a whole number of blocks,
// a dimension is < 1, the type is removed, or the size overflows int64.
std::optional<uint64_t> ggml_tensor_bytes(GgmlType type, std::span<const int64_t> ne);

// ---- metadata values ----------------------------------------------------------------------------

// Metadata value types (source: the GGUF specification, gguf_metadata_value_type).
enum class GgufValueType : uint32_t {
    UINT8 = 0,
    INT8 = 1,
    UINT16 = 2,
    INT16 = 3,
    UINT32 = 4,
    INT32 = 5,
    FLOAT32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    UINT64 = 10,
    INT64 = 11,
    FLOAT64 = 12,
};

// "UINT32", "ARRAY", ...; "unknown" for ids outside the spec.
const char* gguf_value_type_name(GgufValueType type);
// Bytes of one scalar of this type; 0 for STRING and ARRAY (variable size) and unknown ids.
size_t gguf_value_type_size(GgufValueType type);

// A metadata value: a scalar, a string, or an array of one element type (arrays may nest).
// Values read from a GgufFile view the file's mapping (strings and array elements are not copied) and
// are valid while that GgufFile lives. Values made with the of_* builders own their storage.
class GgufValue {
public:
    GgufValue() = default;

    // ---- builders (owning), for GgufWriter::set
    static GgufValue of_u8(uint8_t v);
    static GgufValue of_i8(int8_t v);
    static GgufValue of_u16(uint16_t v);
    static GgufValue of_i16(int16_t v);
    static GgufValue of_u32(uint32_t v);
    static GgufValue of_i32(int32_t v);
    static GgufValue of_u64(uint64_t v);
    static GgufValue of_i64(int64_t v);
    static GgufValue of_f32(float v);
    static GgufValue of_f64(double v);
    static GgufValue of_bool(bool v);
    static GgufValue of_string(std::string_view v);
    // Arrays of numbers or bools; T is one of uint8_t .. int64_t, float, double, bool.
    template <class T>
    static GgufValue of_array(std::span<const T> items);
    template <class T>
    static GgufValue of_array(const std::vector<T>& items) {
        if constexpr (std::is_same_v<T, bool>) {
            std::vector<uint8_t> bytes(items.begin(), items.end());
            return of_bool_array(bytes);
        } else {
            return of_array(std::span<const T>(items));
        }
    }
    static GgufValue of_bool_array(std::span<const uint8_t> items);  // each byte 0 or 1
    static GgufValue of_strings(std::span<const std::string> items);
    static GgufValue of_strings(std::span<const std::string_view> items);
    // An array of values of one type, e.g. an array of arrays (nested arrays are in the spec, but
    // llama.cpp refuses them: keep them out of model files). Throws std::invalid_argument if the items'
    // types differ; an empty list makes an empty array of `empty_type`.
    static GgufValue of_values(std::vector<GgufValue> items, GgufValueType empty_type = GgufValueType::ARRAY);

    // ---- inspection
    GgufValueType type() const { return type_; }
    bool is_array() const { return type_ == GgufValueType::ARRAY; }
    // ARRAY only: the element type and the number of elements (0 otherwise).
    GgufValueType array_type() const { return elem_; }
    uint64_t size() const { return count_; }
    // ARRAY only: element i as a value of array_type() (views the same storage). Throws std::out_of_range.
    GgufValue at(uint64_t i) const;
    // ARRAY of STRING only: every element, zero-copy; empty otherwise.
    std::span<const std::string_view> strings() const { return strings_; }
    // ARRAY of a fixed-size type only: the elements' little-endian bytes (count * type size); empty otherwise.
    std::span<const uint8_t> raw_elements() const;

    // Converts a scalar to T, nullopt when it does not convert: integers to any integer type whose range
    // holds the value, integers and floats to float/double, BOOL to bool, STRING to std::string_view
    // (a view) or std::string. T is one of uint8_t .. int64_t, float, double, bool, std::string_view,
    // std::string.
    template <class T>
    std::optional<T> to() const;
    // The same for every element of an ARRAY; nullopt if this is not an array or any element does not
    // convert.
    template <class T>
    std::optional<std::vector<T>> to_vector() const;

    // For people: `UINT32 4096`, `STRING "llama"`, `ARRAY[128256] of STRING ["<s>", "</s>", ...]`.
    // At most max_items elements per array, about 4 KiB in all.
    std::string to_string(size_t max_items = 8) const;

    // Internal: how gguf-*.cpp fill values (views into a mapping, or owned storage). Not for other code.
    struct Access {
        static GgufValue scalar(GgufValueType t, uint64_t bits) {
            GgufValue v;
            v.type_ = t;
            v.bits_ = bits;
            return v;
        }
        static GgufValue string(std::string_view s, std::shared_ptr<const void> owner) {
            GgufValue v;
            v.type_ = GgufValueType::STRING;
            v.str_ = s;
            v.owner_ = std::move(owner);
            return v;
        }
        // Fixed-size elements: `raw` holds count packed little-endian elements.
        static GgufValue array_raw(GgufValueType elem, uint64_t count, const uint8_t* raw,
                                   std::shared_ptr<const void> owner) {
            GgufValue v = array(elem, count, std::move(owner));
            v.raw_ = raw;
            return v;
        }
        static GgufValue array_strings(std::vector<std::string_view> items, std::shared_ptr<const void> owner) {
            GgufValue v = array(GgufValueType::STRING, items.size(), std::move(owner));
            v.strings_ = std::move(items);
            return v;
        }
        static GgufValue array_values(GgufValueType elem, std::vector<GgufValue> items) {
            GgufValue v = array(elem, items.size(), nullptr);
            v.items_ = std::move(items);
            return v;
        }

    private:
        static GgufValue array(GgufValueType elem, uint64_t count, std::shared_ptr<const void> owner) {
            GgufValue v;
            v.type_ = GgufValueType::ARRAY;
            v.elem_ = elem;
            v.count_ = count;
            v.owner_ = std::move(owner);
            return v;
        }
    };

private:
    GgufValueType type_ = GgufValueType::UINT8;
    GgufValueType elem_ = GgufValueType::UINT8;  // ARRAY: element type
    uint64_t bits_ = 0;                          // scalars: the value's little-endian bytes, zero-extended
    std::string_view str_;                       // STRING
    uint64_t count_ = 0;                         // ARRAY: element count
    const uint8_t* raw_ = nullptr;               // ARRAY of a fixed-size type: count_ packed elements
    std::vector<std::string_view> strings_;      // ARRAY of STRING
    std::vector<GgufValue> items_;               // ARRAY of ARRAY
    std::shared_ptr<const void> owner_;          // storage of built values; null for views into a file
};

struct GgufKv {
    std::string_view key;
    GgufValue value;
};

// ---- tensors ------------------------------------------------------------------------------------

inline constexpr int GGUF_MAX_DIMS = 4;
inline constexpr uint32_t GGUF_DEFAULT_ALIGNMENT = 32;
inline constexpr size_t GGUF_MAX_TENSOR_NAME = 63;  // ggml keeps names in char[64] with the terminator
inline constexpr int GGUF_MAX_ARRAY_DEPTH = 8;      // nested arrays deeper than this are refused

struct GgufTensorInfo {
    std::string_view name;
    int n_dims = 0;                                        // as stored, 0..4
    std::array<int64_t, GGUF_MAX_DIMS> ne = {1, 1, 1, 1};  // ne[0] fastest-varying; unused dims are 1
    GgmlType type = GgmlType::F32;
    uint64_t offset = 0;   // from the data section start; a multiple of the alignment
    uint64_t n_bytes = 0;  // computed from ne and type
    int64_t n_elements = 0;
    const uint8_t* data = nullptr;  // into the mapping, n_bytes long, read-only; page base + offset, so aligned to
                                    // the file's alignment (from_bytes: only to the buffer's 16 bytes)

    std::span<const uint8_t> bytes() const { return {data, static_cast<size_t>(n_bytes)}; }
    std::span<const int64_t> shape() const { return {ne.data(), static_cast<size_t>(n_dims)}; }
};

// ---- reader -------------------------------------------------------------------------------------

// An open GGUF file: the whole file mapped read-only, metadata and tensor infos parsed and checked.
// Tensor data is never copied: GgufTensorInfo::data points into the mapping. Move-only. Like any mmap
// reader, a file truncated by another process while open makes later reads of the lost pages fault (SIGBUS).
class GgufFile {
public:
    // Maps and parses `path`; throws UsageError for a missing, unreadable, foreign, damaged or truncated
    // file. A tensor of a known type that versus cannot compute with (e.g. Q5_0) is not an error here:
    // see require_supported_types().
    static GgufFile open(const std::filesystem::path& path);
    // Parses bytes already in memory (tests, fuzzing, files read without mmap); `name` is used in messages.
    static GgufFile from_bytes(std::vector<uint8_t> bytes, std::string name);

    GgufFile(GgufFile&&) noexcept;
    GgufFile& operator=(GgufFile&&) noexcept;
    ~GgufFile();

    const std::string& name() const { return name_; }  // the path, as given, for messages
    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    uint64_t file_size() const { return size_; }
    uint64_t data_offset() const { return data_offset_; }  // absolute start of the data section
    const uint8_t* base() const { return base_; }          // the first byte of the file

    // ---- metadata, in file order
    const std::vector<GgufKv>& metadata() const { return kvs_; }
    const GgufValue* find(std::string_view key) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }
    // nullopt when the key is absent; UsageError when present with a value that does not convert
    // (see GgufValue::to: a STRING asked for as u32, -1 asked for as u32, ...).
    std::optional<uint32_t> get_u32(std::string_view key) const;
    std::optional<int32_t> get_i32(std::string_view key) const;
    std::optional<uint64_t> get_u64(std::string_view key) const;
    std::optional<int64_t> get_i64(std::string_view key) const;
    std::optional<float> get_f32(std::string_view key) const;
    std::optional<double> get_f64(std::string_view key) const;
    std::optional<bool> get_bool(std::string_view key) const;
    std::optional<std::string_view> get_string(std::string_view key) const;  // views the mapping
    // T as for GgufValue::to; std::string_view elements view the mapping.
    template <class T>
    std::optional<std::vector<T>> get_array(std::string_view key) const;
    // The same, but an absent key is a UsageError "[gguf] FILE: missing key 'K'. HINT: ...".
    uint32_t require_u32(std::string_view key) const;
    int32_t require_i32(std::string_view key) const;
    uint64_t require_u64(std::string_view key) const;
    int64_t require_i64(std::string_view key) const;
    float require_f32(std::string_view key) const;
    double require_f64(std::string_view key) const;
    bool require_bool(std::string_view key) const;
    std::string_view require_string(std::string_view key) const;
    template <class T>
    std::vector<T> require_array(std::string_view key) const;
    // The value itself, for zero-copy access to big arrays (GgufValue::strings()); UsageError if absent.
    const GgufValue& require(std::string_view key) const;

    // ---- tensors, in file order
    const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
    const GgufTensorInfo* find_tensor(std::string_view name) const;     // nullptr when absent
    const GgufTensorInfo& require_tensor(std::string_view name) const;  // UsageError when absent
    // UsageError naming the first tensor whose type versus's engine does not compute with, and the
    // supported types.
    void require_supported_types() const;

private:
    GgufFile() = default;
    struct Storage;
    void parse();
    [[noreturn]] void fail(const std::string& what, const std::string& hint) const;
    template <class T>
    std::optional<T> get_as(std::string_view key, const char* want) const;
    template <class T>
    T require_as(std::string_view key, const char* want) const;

    std::string name_;
    std::unique_ptr<Storage> storage_;  // the mapping or the buffer; base_ points into it
    const uint8_t* base_ = nullptr;
    uint64_t size_ = 0;
    uint32_t version_ = 0;
    uint32_t alignment_ = GGUF_DEFAULT_ALIGNMENT;
    uint64_t data_offset_ = 0;
    std::vector<GgufKv> kvs_;
    std::unordered_map<std::string_view, size_t> kv_index_;
    std::vector<GgufTensorInfo> tensors_;
    std::unordered_map<std::string_view, size_t> tensor_index_;
};

// ---- writer -------------------------------------------------------------------------------------

// Receives one tensor's bytes from a GgufTensorSource, in order, in pieces of any size. Writing more
// than the tensor's byte size throws; the writer checks afterwards that exactly that many came.
class GgufSink {
public:
    virtual ~GgufSink() = default;
    virtual void write(const void* data, size_t n) = 0;
    void write(std::span<const uint8_t> bytes) { write(bytes.data(), bytes.size()); }
};
// Produces a tensor's data when the file is written, so multi-GB models never sit in memory.
using GgufTensorSource = std::function<void(GgufSink& sink)>;

// Builds a GGUF v3 file laid out as llama.cpp and gguf-py write them: metadata in insertion order,
// tensor infos, padding to the alignment, then each tensor at an aligned offset, padded to the alignment.
class GgufWriter {
public:
    GgufWriter() = default;

    // Sets a key; setting an existing key replaces its value in place. Keys are non-empty and at most
    // 65535 bytes. "general.alignment" must be a UINT32 power of two: it sets the alignment (default 32).
    void set(std::string_view key, const GgufValue& value);
    void set_u8(std::string_view key, uint8_t v) { set(key, GgufValue::of_u8(v)); }
    void set_i8(std::string_view key, int8_t v) { set(key, GgufValue::of_i8(v)); }
    void set_u16(std::string_view key, uint16_t v) { set(key, GgufValue::of_u16(v)); }
    void set_i16(std::string_view key, int16_t v) { set(key, GgufValue::of_i16(v)); }
    void set_u32(std::string_view key, uint32_t v) { set(key, GgufValue::of_u32(v)); }
    void set_i32(std::string_view key, int32_t v) { set(key, GgufValue::of_i32(v)); }
    void set_u64(std::string_view key, uint64_t v) { set(key, GgufValue::of_u64(v)); }
    void set_i64(std::string_view key, int64_t v) { set(key, GgufValue::of_i64(v)); }
    void set_f32(std::string_view key, float v) { set(key, GgufValue::of_f32(v)); }
    void set_f64(std::string_view key, double v) { set(key, GgufValue::of_f64(v)); }
    void set_bool(std::string_view key, bool v) { set(key, GgufValue::of_bool(v)); }
    void set_string(std::string_view key, std::string_view v) { set(key, GgufValue::of_string(v)); }
    template <class T>
    void set_array(std::string_view key, const std::vector<T>& items) {
        set(key, GgufValue::of_array(items));
    }
    void set_strings(std::string_view key, std::span<const std::string> items) {
        set(key, GgufValue::of_strings(items));
    }
    // Writes general.alignment (UINT32); a power of two.
    void set_alignment(uint32_t alignment) { set_u32("general.alignment", alignment); }
    uint32_t alignment() const { return alignment_; }

    // Adds a tensor of shape ne (ne[0] fastest-varying, 1 to 4 dims, each >= 1, ne[0] a whole number of
    // blocks). Names are unique, non-empty and at most 63 bytes. `data` must hold exactly the tensor's
    // byte size; `source` must write exactly that many bytes when the file is written.
    void add_tensor(std::string_view name, std::vector<int64_t> ne, GgmlType type, std::vector<uint8_t> data);
    void add_tensor(std::string_view name, std::vector<int64_t> ne, GgmlType type, GgufTensorSource source);
    size_t tensor_count() const { return tensors_.size(); }
    size_t kv_count() const { return kvs_.size(); }

    // Writes PATH.tmp, flushes it to disk, then renames it to PATH; on any error (including one thrown
    // by a source) the temporary file is removed, so a partial file never appears under PATH.
    void write(const std::filesystem::path& path) const;
    // The whole file in memory (tests, small files).
    std::vector<uint8_t> to_bytes() const;
    // Bytes write() will produce.
    uint64_t file_size() const;

    class Out;  // internal: where write() and to_bytes() put the bytes

private:
    struct Tensor {
        std::string name;
        std::vector<int64_t> ne;
        GgmlType type;
        uint64_t n_bytes;
        std::vector<uint8_t> data;  // when source is empty
        GgufTensorSource source;
    };
    void add(std::string_view name, std::vector<int64_t> ne, GgmlType type, std::vector<uint8_t> data,
             GgufTensorSource source);
    std::vector<uint8_t> header() const;  // magic .. tensor infos, padded to the alignment
    void write_to(Out& out, const std::string& place) const;

    std::vector<std::pair<std::string, std::vector<uint8_t>>> kvs_;  // key, encoded type + value
    std::unordered_map<std::string, size_t> kv_index_;
    std::vector<Tensor> tensors_;
    std::unordered_map<std::string, size_t> tensor_index_;
    uint32_t alignment_ = GGUF_DEFAULT_ALIGNMENT;
};

}  // namespace versus::llm
