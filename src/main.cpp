#include "cli/cli.hpp"

int main(int argc, char** argv) { return versus::cli::main(argc, argv); }
