// gguf-writer: GgufWriter. Metadata is encoded when set (so values viewing a GgufFile may be copied in and
// the file closed); tensor data is kept, or produced by its source while the file is written. The file is
// written to PATH.tmp, flushed to disk and renamed, so PATH is either the old file or the whole new one.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "base/error.hpp"
#include "llm/gguf.hpp"

namespace versus::llm {

namespace {

constexpr uint32_t GGUF_MAGIC = 0x46554747;  // "GGUF" as a little-endian u32
constexpr uint32_t GGUF_VERSION = 3;
constexpr size_t MAX_KEY_BYTES = 65535;
const char* const PLACE = "gguf";

uint64_t align_up(uint64_t n, uint64_t alignment) { return n + (alignment - n % alignment) % alignment; }

template <class T>
void put(std::vector<uint8_t>& out, T v) {
    const size_t at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &v, sizeof(T));
}

void put_string(std::vector<uint8_t>& out, std::string_view s) {
    put<uint64_t>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
}

// The value without its type tag: what follows the type in a key-value pair or an array.
void put_payload(std::vector<uint8_t>& out, const GgufValue& v, std::string_view key, int depth) {
    switch (v.type()) {
    case GgufValueType::STRING: put_string(out, *v.to<std::string_view>()); return;
    case GgufValueType::ARRAY: {
        if (depth >= GGUF_MAX_ARRAY_DEPTH)
            throw UsageError(PLACE, fmt::format("key '{}' nests arrays more than {} deep", key, GGUF_MAX_ARRAY_DEPTH),
                             "flatten the value");
        put<uint32_t>(out, static_cast<uint32_t>(v.array_type()));
        put<uint64_t>(out, v.size());
        if (v.array_type() == GgufValueType::STRING) {
            for (std::string_view s : v.strings()) put_string(out, s);
        } else if (v.array_type() == GgufValueType::ARRAY) {
            for (uint64_t i = 0; i < v.size(); ++i) put_payload(out, v.at(i), key, depth + 1);
        } else {
            std::span<const uint8_t> raw = v.raw_elements();
            out.insert(out.end(), raw.begin(), raw.end());
        }
        return;
    }
    default: {
        // Scalars: their little-endian bytes, via the widest conversion of their kind.
        const size_t w = gguf_value_type_size(v.type());
        uint64_t bits = 0;
        switch (v.type()) {
        case GgufValueType::FLOAT32: {
            const float f = *v.to<float>();
            std::memcpy(&bits, &f, 4);
            break;
        }
        case GgufValueType::FLOAT64: {
            const double d = *v.to<double>();
            std::memcpy(&bits, &d, 8);
            break;
        }
        case GgufValueType::BOOL: bits = *v.to<bool>() ? 1 : 0; break;
        case GgufValueType::INT8:
        case GgufValueType::INT16:
        case GgufValueType::INT32:
        case GgufValueType::INT64: bits = static_cast<uint64_t>(*v.to<int64_t>()); break;
        default: bits = *v.to<uint64_t>(); break;
        }
        const size_t at = out.size();
        out.resize(at + w);
        std::memcpy(out.data() + at, &bits, w);  // little-endian host: the low bytes
        return;
    }
    }
}

}  // namespace

// Where the bytes go: a file or a buffer.
class GgufWriter::Out {
public:
    virtual ~Out() = default;
    virtual void put(const void* data, size_t n) = 0;
    void zeros(uint64_t n) {
        static const uint8_t z[256] = {};
        while (n > 0) {
            const size_t k = n < sizeof(z) ? static_cast<size_t>(n) : sizeof(z);
            put(z, k);
            n -= k;
        }
    }
};

namespace {

class VectorOut : public GgufWriter::Out {
public:
    explicit VectorOut(std::vector<uint8_t>& v) : v_(v) {}
    void put(const void* data, size_t n) override {
        const auto* p = static_cast<const uint8_t*>(data);
        v_.insert(v_.end(), p, p + n);
    }

private:
    std::vector<uint8_t>& v_;
};

class FileOut : public GgufWriter::Out {
public:
    FileOut(std::FILE* f, const std::string& place) : f_(f), place_(place) {}
    void put(const void* data, size_t n) override {
        if (n > 0 && std::fwrite(data, 1, n, f_) != n)
            throw UsageError(PLACE, fmt::format("{}: write failed: {}", place_, std::strerror(errno)),
                             "check the free disk space");
    }

private:
    std::FILE* f_;
    const std::string& place_;
};

// Passes a source's bytes through, refusing more than the tensor's size.
class CountingSink : public GgufSink {
public:
    CountingSink(GgufWriter::Out& out, uint64_t expected, const std::string& tensor)
        : out_(out), left_(expected), tensor_(tensor) {}
    using GgufSink::write;
    void write(const void* data, size_t n) override {
        if (n > left_)
            throw UsageError(PLACE, fmt::format("the source of tensor '{}' wrote more bytes than its size", tensor_),
                             "a GgufTensorSource must write exactly the tensor's byte size");
        out_.put(data, n);
        left_ -= n;
    }
    uint64_t left() const { return left_; }

private:
    GgufWriter::Out& out_;
    uint64_t left_;
    const std::string& tensor_;
};

}  // namespace

void GgufWriter::set(std::string_view key, const GgufValue& value) {
    if (key.empty()) throw UsageError(PLACE, "empty metadata key", "give every key a name, e.g. general.name");
    if (key.size() > MAX_KEY_BYTES)
        throw UsageError(PLACE,
                         fmt::format("metadata key of {} bytes; GGUF allows at most {}", key.size(), MAX_KEY_BYTES),
                         "use a shorter key");
    if (key == "general.alignment") {
        const std::optional<uint32_t> a = value.to<uint32_t>();
        if (value.type() != GgufValueType::UINT32 || !a || *a == 0 || !std::has_single_bit(*a))
            throw UsageError(PLACE,
                             fmt::format("general.alignment must be a UINT32 power of two, not {}", value.to_string(4)),
                             "use set_alignment(32) or another power of two");
        alignment_ = *a;
    }
    std::vector<uint8_t> enc;
    put<uint32_t>(enc, static_cast<uint32_t>(value.type()));
    put_payload(enc, value, key, 0);
    auto it = kv_index_.find(std::string(key));
    if (it != kv_index_.end()) {
        kvs_[it->second].second = std::move(enc);
        return;
    }
    kv_index_.emplace(std::string(key), kvs_.size());
    kvs_.emplace_back(std::string(key), std::move(enc));
}

void GgufWriter::add(std::string_view name, std::vector<int64_t> ne, GgmlType type, std::vector<uint8_t> data,
                     GgufTensorSource source) {
    const std::string what = fmt::format("tensor '{}'", name);
    if (name.empty())
        throw UsageError(PLACE, "tensor with an empty name", "name every tensor, e.g. blk.0.attn_q.weight");
    if (name.size() > GGUF_MAX_TENSOR_NAME)
        throw UsageError(
            PLACE,
            fmt::format("{} has a name of {} bytes; ggml allows at most {}", what, name.size(), GGUF_MAX_TENSOR_NAME),
            "use a shorter name");
    if (tensor_index_.count(std::string(name)))
        throw UsageError(PLACE, what + " is added twice", "give every tensor its own name");
    if (ne.empty() || ne.size() > static_cast<size_t>(GGUF_MAX_DIMS))
        throw UsageError(PLACE, fmt::format("{} has {} dimensions; GGUF takes 1 to {}", what, ne.size(), GGUF_MAX_DIMS),
                         "reshape it");
    const GgmlTypeInfo* info = ggml_type_info(static_cast<uint32_t>(type));
    if (!info || info->removed)
        throw UsageError(
            PLACE, fmt::format("{} has type id {}, which GGUF files cannot hold", what, static_cast<uint32_t>(type)),
            "use a type of ggml_types() that is not removed");
    for (size_t d = 0; d < ne.size(); ++d)
        if (ne[d] < 1)
            throw UsageError(PLACE, fmt::format("{} has dimension ne[{}] = {}", what, d, ne[d]),
                             "every dimension is >= 1");
    if (ne[0] % info->block_elements != 0)
        throw UsageError(PLACE,
                         fmt::format("{} has rows of {} values, not a whole number of {} blocks of {}", what, ne[0],
                                     info->name, info->block_elements),
                         "pad the rows or use another type");
    const std::optional<uint64_t> bytes = ggml_tensor_bytes(type, ne);
    if (!bytes) throw UsageError(PLACE, what + " is too large: its byte size overflows int64", "check the shape");
    if (!source && data.size() != *bytes)
        throw UsageError(
            PLACE, fmt::format("{} of type {} needs {} bytes of data, got {}", what, info->name, *bytes, data.size()),
            "check the shape (ne[0] is the fastest-varying dimension) and the type");
    tensor_index_.emplace(std::string(name), tensors_.size());
    tensors_.push_back(Tensor{std::string(name), std::move(ne), type, *bytes, std::move(data), std::move(source)});
}

void GgufWriter::add_tensor(std::string_view name, std::vector<int64_t> ne, GgmlType type, std::vector<uint8_t> data) {
    add(name, std::move(ne), type, std::move(data), nullptr);
}

void GgufWriter::add_tensor(std::string_view name, std::vector<int64_t> ne, GgmlType type, GgufTensorSource source) {
    if (!source) throw UsageError(PLACE, fmt::format("tensor '{}' has an empty source", name), "pass a callable");
    add(name, std::move(ne), type, {}, std::move(source));
}

std::vector<uint8_t> GgufWriter::header() const {
    std::vector<uint8_t> h;
    put<uint32_t>(h, GGUF_MAGIC);
    put<uint32_t>(h, GGUF_VERSION);
    put<uint64_t>(h, tensors_.size());
    put<uint64_t>(h, kvs_.size());
    for (const auto& [key, enc] : kvs_) {
        put_string(h, key);
        h.insert(h.end(), enc.begin(), enc.end());
    }
    uint64_t offset = 0;
    for (const Tensor& t : tensors_) {
        put_string(h, t.name);
        put<uint32_t>(h, static_cast<uint32_t>(t.ne.size()));
        for (int64_t d : t.ne) put<uint64_t>(h, static_cast<uint64_t>(d));
        put<uint32_t>(h, static_cast<uint32_t>(t.type));
        put<uint64_t>(h, offset);
        offset += align_up(t.n_bytes, alignment_);
    }
    h.resize(align_up(h.size(), alignment_), 0);
    return h;
}

uint64_t GgufWriter::file_size() const {
    uint64_t n = header().size();
    for (const Tensor& t : tensors_) n += align_up(t.n_bytes, alignment_);
    return n;
}

void GgufWriter::write_to(Out& out, const std::string& place) const {
    const std::vector<uint8_t> h = header();
    out.put(h.data(), h.size());
    for (const Tensor& t : tensors_) {
        if (t.source) {
            CountingSink sink(out, t.n_bytes, t.name);
            t.source(sink);
            if (sink.left() != 0)
                throw UsageError(PLACE,
                                 fmt::format("{}: the source of tensor '{}' wrote {} of its {} bytes", place, t.name,
                                             t.n_bytes - sink.left(), t.n_bytes),
                                 "a GgufTensorSource must write exactly the tensor's byte size");
        } else {
            out.put(t.data.data(), t.data.size());
        }
        out.zeros(align_up(t.n_bytes, alignment_) - t.n_bytes);
    }
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
    std::vector<uint8_t> v;
    v.reserve(static_cast<size_t>(file_size()));
    VectorOut out(v);
    write_to(out, "memory");
    return v;
}

void GgufWriter::write(const std::filesystem::path& path) const {
    const std::string place = path.string();
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    using FilePtr = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;
    FilePtr f(std::fopen(tmp.c_str(), "wb"), &std::fclose);
    if (!f)
        throw UsageError(PLACE, fmt::format("{}: cannot create {}: {}", place, tmp.string(), std::strerror(errno)),
                         "check that the folder exists and is writable");
    try {
        std::setvbuf(f.get(), nullptr, _IOFBF, size_t{4} << 20);
        FileOut out(f.get(), place);
        write_to(out, place);
        if (std::fflush(f.get()) != 0 || ::fsync(fileno(f.get())) != 0)
            throw UsageError(PLACE, fmt::format("{}: write failed: {}", place, std::strerror(errno)),
                             "check the free disk space");
        if (std::fclose(f.release()) != 0)
            throw UsageError(PLACE, fmt::format("{}: write failed: {}", place, std::strerror(errno)),
                             "check the free disk space");
        std::error_code ec;
        std::filesystem::rename(tmp, path, ec);
        if (ec)
            throw UsageError(PLACE, fmt::format("{}: cannot rename {} to it: {}", place, tmp.string(), ec.message()),
                             "check that the folder is writable");
    } catch (...) {
        f.reset();
        std::error_code ec;
        std::filesystem::remove(tmp, ec);
        throw;
    }
}

}  // namespace versus::llm
