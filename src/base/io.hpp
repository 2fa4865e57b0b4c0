// io: reading a file the user named. Failures are the user's to fix, so they are UsageErrors naming the
// path with a hint (a directory, a missing file, a read error), never a stream exception.
#pragma once

#include <filesystem>
#include <string>

namespace versus::base {

// The whole file. `hint` ends the message when the file cannot be read.
std::string read_file(const std::filesystem::path& path, const std::string& hint = "check the path");

}  // namespace versus::base
