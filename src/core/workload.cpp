#include "core/workload.hpp"

namespace versus::core {

std::vector<std::pair<std::string, std::string>> Workload::suite(const versus_device_info&, bool full) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& s : params()) out.emplace_back(s.name, full ? s.full : s.quick);
    return out;
}

}  // namespace versus::core
