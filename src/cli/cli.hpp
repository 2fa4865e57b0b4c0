// cli: argument parsing (CLI11) and the commands' plumbing; no measuring logic lives here.
#pragma once

namespace versus::cli {

// Returns the process exit code (see ExitCode in base/error.hpp).
int main(int argc, char** argv);

}  // namespace versus::cli
