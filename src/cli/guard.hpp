// guard: every failure of a command ends in one line on stderr, naming the place and a hint, and an exit
// code of the documented set (0 all ran, 1 some rows or the program failed, 2 bad usage or input,
// 130 interrupted): never std::terminate.
#pragma once

#include <functional>
#include <string>

namespace versus::cli {

// Runs the command and returns its exit code; an exception becomes its line and code:
//   UsageError -> its own message, 2;  std::filesystem::filesystem_error -> the path, 2;
//   std::bad_alloc -> 1;  any other exception -> "unexpected error", 1.
int run_guarded(const std::function<int()>& command);

// The message on one line (newlines become "; "), as run_guarded prints it.
std::string one_line(std::string text);

}  // namespace versus::cli
