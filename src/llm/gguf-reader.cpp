// gguf-reader: GgufFile. Maps the file read-only and parses it with a cursor that checks every count and
// length against the bytes left before it reserves or allocates anything, so a hostile header costs at
// most memory proportional to the file's size. Strings and arrays are views into the mapping.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "base/error.hpp"
#include "llm/gguf.hpp"

namespace versus::llm {

namespace {

constexpr uint32_t GGUF_MAGIC = 0x46554747;  // "GGUF" as a little-endian u32
constexpr uint64_t MAX_KEY_BYTES = 65535;
// Smallest encodings, to refuse counts that cannot fit in the bytes left before reserving for them.
constexpr uint64_t MIN_KV_BYTES = 8 + 1 + 4 + 1;               // key length, 1-byte key, type, u8 value
constexpr uint64_t MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 4 + 8;  // name length, 1-byte name, n_dims, type, offset
constexpr uint64_t MIN_ARRAY_BYTES = 4 + 8;                    // element type, count

const char* const HINT_TRUNCATED = "the download looks truncated or the file is damaged; download it again";
const char* const HINT_DAMAGED =
    "the file is damaged or was written by a broken converter; download or convert it again";

// "1.20 GiB", "196 bytes": offsets and sizes in messages.
std::string human(uint64_t bytes) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (u < 6 && v >= 1023.995) {  // so that 1023.999 MiB prints as 1.00 GiB
        v /= 1024;
        ++u;
    }
    if (u == 0) return fmt::format("{} bytes", bytes);
    return fmt::format("{:.2f} {}", v, units[u]);
}

std::string printable(std::string_view s, size_t max_chars = 80) {
    std::string out;
    for (size_t i = 0; i < s.size() && i < max_chars; ++i) {
        const auto u = static_cast<unsigned char>(s[i]);
        out += (u < 0x20 || u >= 0x7f) ? fmt::format("\\x{:02x}", u) : std::string(1, s[i]);
    }
    if (s.size() > max_chars) out += "...";
    return out;
}

bool is_valid_value_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufValueType::FLOAT64); }

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

}  // namespace

// The bytes the file lives in: a read-only mapping, or a buffer (from_bytes).
struct GgufFile::Storage {
    void* map = nullptr;
    size_t map_size = 0;
    std::vector<uint8_t> buffer;
    ~Storage() {
        if (map) ::munmap(map, map_size);
    }
};

GgufFile::GgufFile(GgufFile&&) noexcept = default;
GgufFile& GgufFile::operator=(GgufFile&&) noexcept = default;
GgufFile::~GgufFile() = default;

void GgufFile::fail(const std::string& what, const std::string& hint) const {
    throw UsageError("gguf", name_ + ": " + what, hint);
}

GgufFile GgufFile::open(const std::filesystem::path& path) {
    GgufFile f;
    f.name_ = path.string();
    f.storage_ = std::make_unique<Storage>();

    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        f.fail(fmt::format("cannot open: {}", std::strerror(err)),
               err == ENOENT ? "check the path" : "check the path and the file's permissions");
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        f.fail(fmt::format("cannot stat: {}", std::strerror(err)), "check the path");
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        f.fail("not a regular file", "give the path of a .gguf file");
    }
    f.size_ = static_cast<uint64_t>(st.st_size);
    if (f.size_ == 0) {
        ::close(fd);
        f.fail("the file is empty, not a GGUF file", HINT_TRUNCATED);
    }
    if (f.size_ > std::numeric_limits<size_t>::max()) {
        ::close(fd);
        f.fail(fmt::format("the file ({}) does not fit in the address space", human(f.size_)), "use a 64-bit build");
    }
    void* p = ::mmap(nullptr, static_cast<size_t>(f.size_), PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);  // the mapping keeps the file open
    if (p == MAP_FAILED)
        f.fail(fmt::format("cannot map {}: {}", human(f.size_), std::strerror(err)),
               "check free address space and memory limits (ulimit -v)");
    f.storage_->map = p;
    f.storage_->map_size = static_cast<size_t>(f.size_);
    f.base_ = static_cast<const uint8_t*>(p);
    f.parse();
    return f;
}

GgufFile GgufFile::from_bytes(std::vector<uint8_t> bytes, std::string name) {
    GgufFile f;
    f.name_ = std::move(name);
    f.storage_ = std::make_unique<Storage>();
    f.storage_->buffer = std::move(bytes);
    f.size_ = f.storage_->buffer.size();
    f.base_ = f.storage_->buffer.data();
    if (f.size_ == 0) f.fail("the file is empty, not a GGUF file", HINT_TRUNCATED);
    f.parse();
    return f;
}

// ---- parsing --------------------------------------------------------------------------------------

namespace {

// What is being read, for messages; formatted only when something is wrong, so that reading 128k
// vocabulary strings formats nothing.
struct Label {
    std::string_view what;       // "key 'tokenizer.ggml.tokens'"
    const char* part = nullptr;  // "array length"
    int64_t elem = -1;           // array element index
    bool numbered = false;       // "metadata entry 3" rather than "... element 3"
    std::string str() const {
        std::string s(what);
        if (elem >= 0) s += numbered ? fmt::format(" {}", elem) : fmt::format("[{}]", elem);
        if (part) s += fmt::format(" ({})", part);
        return s;
    }
};

// Reads little-endian fields from [base, base + size); every read is checked against the end first.
class Cursor {
public:
    Cursor(const uint8_t* base, uint64_t size, const std::string& name) : base_(base), size_(size), name_(name) {}

    uint64_t pos() const { return pos_; }
    uint64_t left() const { return size_ - pos_; }
    const uint8_t* here() const { return base_ + pos_; }

    [[noreturn]] void fail(const std::string& what, const std::string& hint) const {
        throw UsageError("gguf", name_ + ": " + what, hint);
    }

    void need(uint64_t n, const Label& l) const {
        if (n > left())
            fail(fmt::format("truncated: {} needs {} at byte {}, but the file is only {}", l.str(), human(n), pos_,
                             human(size_)),
                 HINT_TRUNCATED);
    }
    void skip(uint64_t n, const Label& l) {
        need(n, l);
        pos_ += n;
    }
    template <class T>
    T read(const Label& l) {
        need(sizeof(T), l);
        T v;
        std::memcpy(&v, base_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    std::string_view read_string(const Label& l, uint64_t max_len = UINT64_MAX) {
        const uint64_t at = pos_;
        const uint64_t n = read<uint64_t>(Label{l.what, l.part ? l.part : "string length", l.elem, l.numbered});
        if (n > left())
            fail(fmt::format("{} at byte {} claims a length of {}, which runs past the end of the file ({})", l.str(),
                             at, human(n), human(size_)),
                 n > size_ ? HINT_DAMAGED : HINT_TRUNCATED);
        if (n > max_len)
            fail(fmt::format("{} is {} long; at most {} bytes are allowed", l.str(), human(n), max_len), HINT_DAMAGED);
        std::string_view s(reinterpret_cast<const char*>(base_ + pos_), static_cast<size_t>(n));
        pos_ += n;
        return s;
    }

private:
    const uint8_t* base_;
    uint64_t size_;
    uint64_t pos_ = 0;
    const std::string& name_;
};

using Access = GgufValue::Access;

// One value of type `t` at the cursor; `l` names it ("key 'x'") for messages.
GgufValue read_value(Cursor& c, GgufValueType t, const Label& l, int depth) {
    switch (t) {
        case GgufValueType::STRING:
            return Access::string(c.read_string(l), nullptr);
        case GgufValueType::ARRAY: {
            if (depth >= GGUF_MAX_ARRAY_DEPTH)
                c.fail(fmt::format("{} nests arrays more than {} deep", l.str(), GGUF_MAX_ARRAY_DEPTH), HINT_DAMAGED);
            const uint64_t at = c.pos();
            const uint32_t et = c.read<uint32_t>(Label{l.what, "array element type", l.elem});
            if (!is_valid_value_type(et))
                c.fail(fmt::format("{} is an array of unknown value type {} (byte {})", l.str(), et, at), HINT_DAMAGED);
            const auto elem = static_cast<GgufValueType>(et);
            const uint64_t count = c.read<uint64_t>(Label{l.what, "array length", l.elem});
            const uint64_t min_elem = elem == GgufValueType::STRING  ? 8
                                      : elem == GgufValueType::ARRAY ? MIN_ARRAY_BYTES
                                                                     : gguf_value_type_size(elem);
            if (count > c.left() / min_elem)
                c.fail(fmt::format("{} claims {} elements of type {}, which cannot fit in the {} left in the file",
                                   l.str(), count, gguf_value_type_name(elem), human(c.left())),
                       count > UINT32_MAX ? HINT_DAMAGED : HINT_TRUNCATED);
            if (elem == GgufValueType::STRING) {
                std::vector<std::string_view> items;
                items.reserve(static_cast<size_t>(count));
                for (uint64_t i = 0; i < count; ++i)
                    items.push_back(c.read_string(Label{l.what, nullptr, static_cast<int64_t>(i)}));
                return Access::array_strings(std::move(items), nullptr);
            }
            if (elem == GgufValueType::ARRAY) {
                std::vector<GgufValue> items;
                items.reserve(static_cast<size_t>(count));
                for (uint64_t i = 0; i < count; ++i) {
                    const std::string inner = Label{l.what, nullptr, l.elem}.str() + fmt::format("[{}]", i);
                    items.push_back(read_value(c, elem, Label{inner}, depth + 1));
                }
                return Access::array_values(elem, std::move(items));
            }
            const uint8_t* raw = c.here();
            c.skip(count * min_elem, l);
            return Access::array_raw(elem, count, raw, nullptr);
        }
        default: {
            const size_t w = gguf_value_type_size(t);
            c.need(w, l);
            uint64_t bits = 0;
            std::memcpy(&bits, c.here(), w);
            c.skip(w, l);
            return Access::scalar(t, bits);
        }
    }
}

void check_magic(const uint8_t* p, uint64_t size, Cursor& c) {
    if (size < 4)
        c.fail(fmt::format("only {} long, not a GGUF file", human(size)), "give the path of a .gguf model file");
    uint32_t magic;
    std::memcpy(&magic, p, 4);
    if (magic == GGUF_MAGIC) return;
    const std::string head = printable(std::string_view(reinterpret_cast<const char*>(p), std::min<uint64_t>(size, 8)));
    // Older formats of the same family (u32 magics written little-endian).
    for (const char* old : {"lmgg", "fmgg", "tjgg"})
        if (std::memcmp(p, old, 4) == 0)
            c.fail(fmt::format("not a GGUF file: it starts with \"{}\", the pre-GGUF GGML format", head),
                   "convert it to GGUF with llama.cpp's convert scripts, or download the .gguf version");
    if (size >= 9 && p[8] == '{')
        c.fail("not a GGUF file: it looks like a safetensors file",
               "convert it to GGUF with llama.cpp's convert_hf_to_gguf.py, or download the .gguf version");
    c.fail(fmt::format("not a GGUF file: it starts with \"{}\", not \"GGUF\"", head),
           "give the path of a .gguf model file");
}

// One tensor's name, shape, type and offset, each checked; `i` counts the tensors for messages.
GgufTensorInfo read_tensor_info(Cursor& c, uint64_t i, uint32_t alignment) {
    GgufTensorInfo t;
    t.name = c.read_string(Label{"tensor", "name", int64_t(i), true}, 64);  // the spec's limit
    if (t.name.empty()) c.fail(fmt::format("tensor {} has an empty name", i), HINT_DAMAGED);
    const std::string what = fmt::format("tensor '{}'", printable(t.name));
    const uint32_t n_dims = c.read<uint32_t>(Label{what, "dimension count"});
    if (n_dims > GGUF_MAX_DIMS)
        c.fail(fmt::format("{} has {} dimensions; GGUF allows at most {}", what, n_dims, GGUF_MAX_DIMS), HINT_DAMAGED);
    t.n_dims = static_cast<int>(n_dims);
    int64_t n = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
        const uint64_t raw = c.read<uint64_t>(Label{what, "dimensions"});
        if (raw == 0) c.fail(fmt::format("{} has a dimension of 0 (ne[{}])", what, d), HINT_DAMAGED);
        if (raw > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            c.fail(fmt::format("{} has a negative dimension ne[{}] = {}", what, d, static_cast<int64_t>(raw)),
                   HINT_DAMAGED);
        const auto ne = static_cast<int64_t>(raw);
        if (n > std::numeric_limits<int64_t>::max() / ne)
            c.fail(fmt::format("{} has more elements than int64 can count (ne[{}] = {})", what, d, ne), HINT_DAMAGED);
        n *= ne;
        t.ne[d] = ne;
    }
    t.n_elements = n;
    const uint32_t type_id = c.read<uint32_t>(Label{what, "type"});
    const GgmlTypeInfo* info = ggml_type_info(type_id);
    if (!info)
        c.fail(fmt::format("{} has unknown ggml type id {}", what, type_id),
               "the file is damaged, or uses a type newer than this versus knows; update versus");
    if (info->removed)
        c.fail(fmt::format("{} has type {} (id {}), which ggml removed from GGUF files", what, info->name, type_id),
               "download or convert the model again with a current llama.cpp");
    t.type = info->type;
    if (t.ne[0] % info->block_elements != 0)
        c.fail(fmt::format("{} has rows of {} values, not a whole number of {} blocks of {}", what, t.ne[0], info->name,
                           info->block_elements),
               HINT_DAMAGED);
    const std::optional<uint64_t> bytes = ggml_tensor_bytes(t.type, t.ne);
    if (!bytes) c.fail(fmt::format("{} is too large: its byte size overflows int64", what), HINT_DAMAGED);
    t.n_bytes = *bytes;
    t.offset = c.read<uint64_t>(Label{what, "data offset"});
    if (t.offset % alignment != 0)
        c.fail(fmt::format("{} has data offset {}, not a multiple of the alignment {}", what, t.offset, alignment),
               HINT_DAMAGED);
    return t;
}

}  // namespace

void GgufFile::parse() {
    Cursor c(base_, size_, name_);
    check_magic(base_, size_, c);
    c.skip(4, Label{"the magic"});

    version_ = c.read<uint32_t>(Label{"the version"});
    if (version_ == 1)
        fail("GGUF version 1 is not supported (it is the obsolete 2023 layout with 32-bit counts)",
             "convert the model again with a current llama.cpp, or download a newer .gguf");
    if (version_ != 2 && version_ != 3) {
        const uint32_t swapped = __builtin_bswap32(version_);
        if (swapped >= 1 && swapped <= 3)
            fail(fmt::format("a big-endian GGUF file (version {}); versus reads little-endian files only", swapped),
                 "download the little-endian version of the model");
        fail(fmt::format("GGUF version {} is not supported (versus reads versions 2 and 3)", version_),
             "update versus, or convert the model with a llama.cpp that writes GGUF v3");
    }

    const uint64_t n_tensors = c.read<uint64_t>(Label{"the tensor count"});
    const uint64_t n_kv = c.read<uint64_t>(Label{"the metadata count"});
    if (n_kv > c.left() / MIN_KV_BYTES)
        fail(fmt::format("the header claims {} metadata entries, which cannot fit in a file of {}", n_kv, human(size_)),
             n_kv > UINT32_MAX ? HINT_DAMAGED : HINT_TRUNCATED);
    if (n_tensors > c.left() / MIN_TENSOR_INFO_BYTES)
        fail(fmt::format("the header claims {} tensors, which cannot fit in a file of {}", n_tensors, human(size_)),
             n_tensors > UINT32_MAX ? HINT_DAMAGED : HINT_TRUNCATED);

    // ---- metadata
    kvs_.reserve(static_cast<size_t>(n_kv));
    kv_index_.reserve(static_cast<size_t>(n_kv));
    for (uint64_t i = 0; i < n_kv; ++i) {
        const std::string_view key = c.read_string(Label{"metadata entry", "key", int64_t(i), true}, MAX_KEY_BYTES);
        if (key.empty()) fail(fmt::format("metadata entry {} has an empty key", i), HINT_DAMAGED);
        const std::string what = fmt::format("key '{}'", printable(key));
        const uint64_t at = c.pos();
        const uint32_t t = c.read<uint32_t>(Label{what, "value type"});
        if (!is_valid_value_type(t))
            fail(fmt::format("{} has unknown value type {} (byte {})", what, t, at), HINT_DAMAGED);
        GgufValue v = read_value(c, static_cast<GgufValueType>(t), Label{what}, 0);
        if (!kv_index_.emplace(key, kvs_.size()).second)
            fail(fmt::format("{} appears twice in the metadata", what), HINT_DAMAGED);
        kvs_.push_back(GgufKv{key, std::move(v)});
    }

    // ---- alignment
    if (const GgufValue* a = find("general.alignment")) {
        const std::optional<uint32_t> v = a->to<uint32_t>();
        if (!v) fail(fmt::format("general.alignment must be a UINT32, not {}", a->to_string(4)), HINT_DAMAGED);
        if (*v == 0 || !std::has_single_bit(*v))
            fail(fmt::format("general.alignment is {}, not a power of two", *v), HINT_DAMAGED);
        alignment_ = *v;
    }

    // ---- tensor infos
    tensors_.reserve(static_cast<size_t>(n_tensors));
    tensor_index_.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) {
        GgufTensorInfo t = read_tensor_info(c, i, alignment_);
        const std::string what = fmt::format("tensor '{}'", printable(t.name));
        if (!tensor_index_.emplace(t.name, tensors_.size()).second)
            fail(fmt::format("{} appears twice", what), HINT_DAMAGED);
        tensors_.push_back(t);
    }

    // ---- data section: starts at the next multiple of the alignment after the header
    const uint64_t header_end = c.pos();
    data_offset_ = header_end + (alignment_ - header_end % alignment_) % alignment_;
    if (tensors_.empty()) return;
    if (data_offset_ > size_)
        fail(fmt::format("the data section would start at {}, past the end of the file ({})", human(data_offset_),
                         human(size_)),
             HINT_TRUNCATED);
    const uint64_t data_size = size_ - data_offset_;
    for (auto& t : tensors_) {
        if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
            // Saturate for the message: offset + bytes may overflow u64 in a hostile file.
            const uint64_t end =
                t.offset > UINT64_MAX - data_offset_ - t.n_bytes ? UINT64_MAX : data_offset_ + t.offset + t.n_bytes;
            fail(fmt::format("tensor '{}' extends past the end of the file (its data ends at byte {} = {}, but the "
                             "file is {}: {} missing)",
                             printable(t.name), end, human(end), human(size_), human(end - size_)),
                 "the download looks truncated; download the file again");
        }
        t.data = base_ + data_offset_ + t.offset;
    }

    // ---- overlaps: sorted by offset, each tensor must end before the next begins
    std::vector<size_t> order(tensors_.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(),
              [this](size_t a, size_t b) { return tensors_[a].offset < tensors_[b].offset; });
    for (size_t i = 1; i < order.size(); ++i) {
        const GgufTensorInfo& prev = tensors_[order[i - 1]];
        const GgufTensorInfo& cur = tensors_[order[i]];
        if (cur.offset < prev.offset + prev.n_bytes)
            fail(fmt::format("tensors '{}' (bytes {}..{}) and '{}' (from byte {}) overlap in the data section",
                             printable(prev.name), prev.offset, prev.offset + prev.n_bytes, printable(cur.name),
                             cur.offset),
                 HINT_DAMAGED);
    }
}

// ---- metadata access ------------------------------------------------------------------------------

const GgufValue* GgufFile::find(std::string_view key) const {
    auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

template <class T>
std::optional<T> GgufFile::get_as(std::string_view key, const char* want) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    std::optional<T> out;
    if constexpr (is_vector<T>::value) {
        out = v->to_vector<typename T::value_type>();
    } else {
        out = v->to<T>();
    }
    if (!out)
        fail(fmt::format("key '{}' is {}, which does not convert to {}", key, v->to_string(4), want),
             "the file was written by a converter versus does not understand; convert the model again with a "
             "current llama.cpp");
    return out;
}

template <class T>
T GgufFile::require_as(std::string_view key, const char* want) const {
    std::optional<T> v = get_as<T>(key, want);
    if (!v)
        fail(fmt::format("missing key '{}'", key),
             "the file lacks metadata this model needs; convert the model again with a current llama.cpp");
    return std::move(*v);
}

std::optional<uint32_t> GgufFile::get_u32(std::string_view key) const { return get_as<uint32_t>(key, "u32"); }
std::optional<int32_t> GgufFile::get_i32(std::string_view key) const { return get_as<int32_t>(key, "i32"); }
std::optional<uint64_t> GgufFile::get_u64(std::string_view key) const { return get_as<uint64_t>(key, "u64"); }
std::optional<int64_t> GgufFile::get_i64(std::string_view key) const { return get_as<int64_t>(key, "i64"); }
std::optional<float> GgufFile::get_f32(std::string_view key) const { return get_as<float>(key, "f32"); }
std::optional<double> GgufFile::get_f64(std::string_view key) const { return get_as<double>(key, "f64"); }
std::optional<bool> GgufFile::get_bool(std::string_view key) const { return get_as<bool>(key, "bool"); }
std::optional<std::string_view> GgufFile::get_string(std::string_view key) const {
    return get_as<std::string_view>(key, "a string");
}
uint32_t GgufFile::require_u32(std::string_view key) const { return require_as<uint32_t>(key, "u32"); }
int32_t GgufFile::require_i32(std::string_view key) const { return require_as<int32_t>(key, "i32"); }
uint64_t GgufFile::require_u64(std::string_view key) const { return require_as<uint64_t>(key, "u64"); }
int64_t GgufFile::require_i64(std::string_view key) const { return require_as<int64_t>(key, "i64"); }
float GgufFile::require_f32(std::string_view key) const { return require_as<float>(key, "f32"); }
double GgufFile::require_f64(std::string_view key) const { return require_as<double>(key, "f64"); }
bool GgufFile::require_bool(std::string_view key) const { return require_as<bool>(key, "bool"); }
std::string_view GgufFile::require_string(std::string_view key) const {
    return require_as<std::string_view>(key, "a string");
}

template <class T>
std::optional<std::vector<T>> GgufFile::get_array(std::string_view key) const {
    return get_as<std::vector<T>>(key, "an array of that element type");
}
template <class T>
std::vector<T> GgufFile::require_array(std::string_view key) const {
    return require_as<std::vector<T>>(key, "an array of that element type");
}

#define VERSUS_GGUF_INSTANTIATE(T)                                                         \
    template std::optional<std::vector<T>> GgufFile::get_array<T>(std::string_view) const; \
    template std::vector<T> GgufFile::require_array<T>(std::string_view) const;
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

const GgufValue& GgufFile::require(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v)
        fail(fmt::format("missing key '{}'", key),
             "the file lacks metadata this model needs; convert the model again with a current llama.cpp");
    return *v;
}

// ---- tensors --------------------------------------------------------------------------------------

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufFile::require_tensor(std::string_view name) const {
    const GgufTensorInfo* t = find_tensor(name);
    if (!t)
        fail(fmt::format("missing tensor '{}'", name),
             "the file is not a complete model of the architecture it declares; convert it again");
    return *t;
}

void GgufFile::require_supported_types() const {
    const GgufTensorInfo* first = nullptr;
    size_t n_bad = 0;
    std::vector<GgmlType> bad_types;
    for (const auto& t : tensors_) {
        if (ggml_type_info(t.type).supported) continue;
        if (!first) first = &t;
        ++n_bad;
        if (std::find(bad_types.begin(), bad_types.end(), t.type) == bad_types.end()) bad_types.push_back(t.type);
    }
    if (!first) return;
    std::string types;
    for (GgmlType t : bad_types) types += (types.empty() ? "" : ", ") + std::string(ggml_type_name(t));
    fail(fmt::format("tensor '{}' has type {}, which versus does not support ({} of {} tensors are of unsupported "
                     "types: {})",
                     printable(first->name), ggml_type_name(first->type), n_bad, tensors_.size(), types),
         fmt::format("supported: {}; re-quantize the model to one of them, e.g. llama-quantize "
                     "--allow-requantize in.gguf out.gguf Q4_K_M",
                     ggml_supported_type_names()));
}

}  // namespace versus::llm
