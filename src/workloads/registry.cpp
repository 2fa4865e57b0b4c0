// The explicit workload list (no self-registration): suite order is this order.
#include "workloads/workload.hpp"

namespace versus::workloads {

std::unique_ptr<Workload> make_gemm();
std::unique_ptr<Workload> make_membw();
std::unique_ptr<Workload> make_transfer();
std::unique_ptr<Workload> make_latency();
std::unique_ptr<Workload> make_attention();
std::unique_ptr<Workload> make_llm();
std::unique_ptr<Workload> make_quality();
std::unique_ptr<Workload> make_collective();
std::unique_ptr<Workload> make_p2p();
std::unique_ptr<Workload> make_train_gpt();
std::unique_ptr<Workload> make_train_resnet50();

const std::vector<std::unique_ptr<Workload>>& all_workloads() {
    static const auto list = [] {
        std::vector<std::unique_ptr<Workload>> v;
        v.push_back(make_latency());
        v.push_back(make_transfer());
        v.push_back(make_membw());
        v.push_back(make_gemm());
        v.push_back(make_attention());
        v.push_back(make_llm());
        v.push_back(make_quality());
        v.push_back(make_collective());
        v.push_back(make_p2p());
        v.push_back(make_train_gpt());
        v.push_back(make_train_resnet50());
        return v;
    }();
    return list;
}

cpu::ThreadPool& shared_pool(int threads) {
    static std::unique_ptr<cpu::ThreadPool> pool;
    if (!pool || pool->size() != threads) {
        pool.reset();
        pool = std::make_unique<cpu::ThreadPool>(threads);
    }
    return *pool;
}

const Workload* find_workload(std::string_view key) {
    for (const auto& w : all_workloads())
        if (w->key() == key) return w.get();
    return nullptr;
}

}  // namespace versus::workloads
