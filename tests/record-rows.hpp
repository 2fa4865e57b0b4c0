// A completed row as the runner writes it, reduced to the fields that the report's readers (the audit,
// the summary tables) look at: for tests that build small record sets by hand.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/record.hpp"

namespace versus::testing {

inline core::Record ok_row(const std::string& host, const std::string& backend, const std::string& device,
                           const std::string& workload, const std::vector<std::pair<std::string, core::Value>>& fields) {
    core::Record r;
    r.set("host", host);
    r.set("os", std::string("Debian GNU/Linux 12 (bookworm), Linux 6.1"));
    r.set("backend", backend);
    r.set("device", device);
    r.set("workload", workload);
    for (const auto& [k, v] : fields) r.set(k, v);
    r.set("status", std::string("ok"));
    return r;
}

}  // namespace versus::testing
