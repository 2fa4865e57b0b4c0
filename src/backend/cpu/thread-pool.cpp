#include "thread-pool.hpp"

#include <algorithm>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VERSUS_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define VERSUS_CPU_RELAX() __asm__ volatile("yield")
#else
#define VERSUS_CPU_RELAX() ((void)0)
#endif

namespace versus::cpu {

namespace {
// About 50-100 us of spinning: long enough to bridge the gap between decode steps,
// short enough not to burn a core while the program waits on I/O.
constexpr int SPIN_ITERS = 20000;
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
    workers_.reserve(n_threads_ - 1);
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
    stop_.store(true, std::memory_order_release);
    publish(0);
    for (auto& t : workers_) t.join();
}

namespace {
constexpr int INDEX_BITS = 36;
constexpr uint64_t INDEX_MASK = (uint64_t{1} << INDEX_BITS) - 1;
constexpr uint64_t EPOCH_MASK = (uint64_t{1} << (64 - INDEX_BITS)) - 1;
// Between loops the claim word holds an index no loop reaches, so no claim of the old epoch can succeed
// while the new loop's fields are being written.
constexpr uint64_t CLOSED = INDEX_MASK;
}  // namespace

void ThreadPool::worker(int index) {
    uint64_t seen = 0;
    for (;;) {
        uint64_t gen = generation_.load(std::memory_order_acquire);
        for (int spin = 0; gen == seen && spin < SPIN_ITERS; ++spin) {
            VERSUS_CPU_RELAX();
            gen = generation_.load(std::memory_order_acquire);
        }
        if (gen == seen) {
            generation_.wait(seen, std::memory_order_acquire);
            continue;
        }
        seen = gen;
        if (stop_.load(std::memory_order_acquire)) return;
        if (gen & 1) {
            // A loop: whatever is left of the newest one (an older one is over by now, or will be without us).
            work_loop(claim_.load(std::memory_order_acquire) >> INDEX_BITS);
        } else {
            (*job_)(index, n_threads_);
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
        }
    }
}

void ThreadPool::work_loop(uint64_t epoch) {
    for (;;) {
        uint64_t w = claim_.load(std::memory_order_acquire);
        if ((w >> INDEX_BITS) != epoch || (w & INDEX_MASK) == CLOSED) return;
        // These may already be a later loop's; then the claim below fails, as the word has moved on.
        const auto* fn = loop_fn_.load(std::memory_order_acquire);
        const int64_t n = loop_n_.load(std::memory_order_acquire);
        const int64_t grain = loop_grain_.load(std::memory_order_acquire);
        const auto begin = static_cast<int64_t>(w & INDEX_MASK);
        if (begin >= n) return;
        // Guided: a share of what is left, in whole grains, shrinking to one grain at the end. Long runs keep
        // each thread's memory stream contiguous (a decode matmul's prefetches then land on its own next
        // rows) and the small last claims keep the threads level.
        const int64_t share = (n - begin) / (2 * int64_t{n_threads_});
        const int64_t end = std::min(n, begin + std::max<int64_t>(1, share / grain) * grain);
        if (!claim_.compare_exchange_weak(w, w + static_cast<uint64_t>(end - begin), std::memory_order_acq_rel,
                                          std::memory_order_acquire))
            continue;
        (*fn)(begin, end);
        if (done_.fetch_add(end - begin, std::memory_order_acq_rel) + (end - begin) == n) done_.notify_one();
    }
}

void ThreadPool::publish(uint64_t kind) {
    const uint64_t g = generation_.load(std::memory_order_relaxed);
    generation_.store((g | 1) + 1 + kind, std::memory_order_release);
    generation_.notify_all();
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
    if (n_threads_ == 1) {
        fn(0, 1);
        return;
    }
    job_ = &fn;
    pending_.store(n_threads_ - 1, std::memory_order_release);
    publish(0);
    fn(0, n_threads_);
    for (int spin = 0; spin < SPIN_ITERS; ++spin) {
        if (pending_.load(std::memory_order_acquire) == 0) return;
        VERSUS_CPU_RELAX();
    }
    for (int left; (left = pending_.load(std::memory_order_acquire)) != 0;) pending_.wait(left);
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    if (n_threads_ == 1 || n <= grain) {
        fn(0, n);
        return;
    }
    epoch_ = (epoch_ + 1) & EPOCH_MASK;
    claim_.store(epoch_ << INDEX_BITS | CLOSED, std::memory_order_seq_cst);
    loop_fn_.store(&fn, std::memory_order_release);
    loop_n_.store(n, std::memory_order_release);
    loop_grain_.store(grain, std::memory_order_release);
    done_.store(0, std::memory_order_release);
    claim_.store(epoch_ << INDEX_BITS, std::memory_order_release);
    publish(1);
    work_loop(epoch_);
    for (int spin = 0; spin < SPIN_ITERS; ++spin) {
        if (done_.load(std::memory_order_acquire) == n) return;
        VERSUS_CPU_RELAX();
    }
    for (int64_t d; (d = done_.load(std::memory_order_acquire)) != n;) done_.wait(d);
}

int ThreadPool::available_threads() {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
    return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace versus::cpu
