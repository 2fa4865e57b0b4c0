// thread-pool: a fixed set of workers for short, frequent parallel regions (GEMM tiles,
// STREAM passes, LLM decode steps). Workers spin briefly before sleeping so that back-to-back
// regions cost microseconds, not a futex round trip each.
//
// parallel_for ends when its items are done, not when every worker has checked in: a worker the
// OS has descheduled (a busy machine, a vCPU the hypervisor took away) costs the loop nothing
// when the others take its share, where a barrier would make every region wait out its time slice.
// Items are claimed with a compare-and-swap on one word that carries the loop's epoch, so a worker
// that wakes late cannot claim from a later loop with an earlier loop's state.
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

    // fn(begin, end) over [0, n) in whole multiples of `grain` (the last chunk may be shorter), handed out
    // dynamically, largest first (guided).
    void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end)>& fn);

    // The hardware threads this process may use (affinity mask), at least 1.
    static int available_threads();

private:
    void worker(int index);
    // Claims and runs items of the loop with this epoch until none is left; false once it is over.
    void work_loop(uint64_t epoch);
    void publish(uint64_t kind);

    int n_threads_;
    std::vector<std::thread> workers_;
    // Bumped by 2 per region; the low bit says which kind: 0 run(), 1 parallel_for().
    std::atomic<uint64_t> generation_{0};
    // run(): the job and the workers that have not finished it.
    const std::function<void(int, int)>* job_ = nullptr;
    std::atomic<int> pending_{0};
    // parallel_for(): (epoch << INDEX_BITS) | next item; the loop's fields, written before the epoch opens;
    // items finished.
    std::atomic<uint64_t> claim_{0};
    std::atomic<const std::function<void(int64_t, int64_t)>*> loop_fn_{nullptr};
    std::atomic<int64_t> loop_n_{0}, loop_grain_{1};
    std::atomic<int64_t> done_{0};
    uint64_t epoch_ = 0;
    std::atomic<bool> stop_{false};
};

}  // namespace versus::cpu
