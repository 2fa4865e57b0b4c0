// thread-pool: a fixed set of workers for short, frequent parallel regions (GEMM tiles,
// STREAM passes, LLM decode steps). Workers spin briefly before sleeping so that back-to-back
// regions cost microseconds, not a futex round trip each.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace versus::cpu {

class ThreadPool {
public:
    // n_threads counts the calling thread, which always takes part: ThreadPool(1) starts no worker.
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // fn(thread, n_threads) on every thread of the pool; returns when all have returned.
    // Not reentrant: call from one thread at a time, never from inside fn.
    void run(const std::function<void(int thread, int n_threads)>& fn);

    // fn(begin, end) over [0, n) in chunks of `grain`, handed out dynamically.
    void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end)>& fn);

    // The hardware threads this process may use (affinity mask), at least 1.
    static int available_threads();

private:
    void worker(int index);

    int n_threads_;
    std::vector<std::thread> workers_;
    const std::function<void(int, int)>* job_ = nullptr;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<bool> stop_{false};
};

}  // namespace versus::cpu
