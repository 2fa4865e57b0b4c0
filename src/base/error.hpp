// error: the two kinds of failure the program distinguishes. A UsageError is the user's to fix
// (bad option, bad file, does not fit): one line "[place] what. HINT: how", exit code 2.
// Anything else thrown inside a workload becomes an `error` row and the run goes on.
#pragma once

#include <stdexcept>
#include <string>

namespace versus {

class UsageError : public std::runtime_error {
public:
    UsageError(const std::string& place, const std::string& what, const std::string& hint = {})
        : std::runtime_error("[" + place + "] " + what + (hint.empty() ? "" : ". HINT: " + hint)) {}
};

// A workload or backend that cannot run a configuration says so with this; the runner writes a
// `skipped` row with the message as the reason.
class Skip : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum ExitCode { EXIT_ALL_OK = 0, EXIT_SOME_FAILED = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

}  // namespace versus
