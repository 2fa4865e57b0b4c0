#include "cli/guard.hpp"

#include <cstdio>
#include <filesystem>
#include <new>

#include <fmt/format.h>

#include "base/error.hpp"

namespace versus::cli {

namespace {

int report(const std::string& line, int code) {
    std::fprintf(stderr, "%s\n", one_line(line).c_str());
    return code;
}

}  // namespace

std::string one_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    std::string out;
    for (char ch : text) {
        if (ch == '\r') continue;
        out += ch == '\n' ? std::string("; ") : std::string(1, ch);
    }
    return out;
}

int run_guarded(const std::function<int()>& command) {
    try {
        return command();
    } catch (const UsageError& e) {
        return report(e.what(), EXIT_USAGE);
    } catch (const std::filesystem::filesystem_error& e) {
        const std::string place = e.path1().empty() ? "file" : e.path1().string();
        return report(fmt::format("[{}] {}. HINT: check the path and its permissions", place, e.code().message()),
                      EXIT_USAGE);
    } catch (const std::bad_alloc&) {
        return report("[memory] out of memory. HINT: use a smaller model, size or thread count", EXIT_SOME_FAILED);
    } catch (const std::exception& e) {
        return report(fmt::format("[versus] unexpected error: {}. HINT: this is a bug; please report it with the "
                                  "command that caused it", e.what()),
                      EXIT_SOME_FAILED);
    } catch (...) {
        return report("[versus] unexpected error of unknown type. HINT: this is a bug; please report it with the "
                      "command that caused it",
                      EXIT_SOME_FAILED);
    }
}

}  // namespace versus::cli
