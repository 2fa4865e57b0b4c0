// The explicit workload list (no self-registration): suite order is this order.
#include "workloads/workload.hpp"

namespace versus::workloads {

std::unique_ptr<Workload> make_gemm();
std::unique_ptr<Workload> make_membw();
std::unique_ptr<Workload> make_transfer();
std::unique_ptr<Workload> make_latency();
std::unique_ptr<Workload> make_attention();
std::unique_ptr<Workload> make_llm();

const std::vector<std::unique_ptr<Workload>>& all_workloads() {
    static const auto list = [] {
        std::vector<std::unique_ptr<Workload>> v;
        v.push_back(make_latency());
        v.push_back(make_transfer());
        v.push_back(make_membw());
        v.push_back(make_gemm());
        v.push_back(make_attention());
        v.push_back(make_llm());
        return v;
    }();
    return list;
}

const Workload* find_workload(std::string_view key) {
    for (const auto& w : all_workloads())
        if (w->key() == key) return w.get();
    return nullptr;
}

}  // namespace versus::workloads
