#include "base/io.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>

#include "base/error.hpp"

namespace versus::base {

std::string read_file(const std::filesystem::path& path, const std::string& hint) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw UsageError(path.string(), "is a directory, not a file", hint);
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) throw UsageError(path.string(), std::string("cannot open: ") + std::strerror(errno), hint);
    std::string out;
    char buf[1 << 16];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) out.append(buf, n);
    if (std::ferror(f.get())) throw UsageError(path.string(), std::string("cannot read: ") + std::strerror(errno), hint);
    return out;
}

}  // namespace versus::base
