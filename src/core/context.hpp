// context: the block printed before results and copied into every record: where and how the
// numbers were measured, with warnings for anything that makes them less trustworthy
// (debug build, sanitizers, a busy machine, a VM, BLAS threads that differ from ours).
#pragma once

#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "system/sysinfo.hpp"

namespace versus::core {

struct Context {
    std::string run_id;  // unique per invocation: UTC time + random suffix
    std::string time;    // RFC 3339, UTC
    std::string versus_version;
    std::string build_type;  // "Release", "Debug", "RelWithDebInfo+asan"
    std::string compiler;
    std::string host;
    std::string os;
    std::string cpu;
    std::string isa;
    std::string gpu;   // GPUs of all available backends, "" if none
    std::string blas;  // "OpenBLAS 0.3.21 (core SKYLAKEX, 2 threads)"
    int threads_available = 1;
    double load1 = 0, load5 = 0, load15 = 0;
    std::string energy;  // meter name, or "not available (reason)"
    std::vector<std::string> backends;  // "cpu: AMD EPYC ... (host memory, 23.1 GiB budget)", "cuda: not available (...)"
    std::vector<std::string> warnings;
};

Context build_context(const system::SystemInfo& sys, std::vector<backend::BackendSlot>& backends);
// Lines for humans; md=true writes a Markdown list.
std::string context_block(const Context& c, bool md);

// Build facts compiled in.
std::string build_type();
std::string versus_version();

}  // namespace versus::core
