// fill: deterministic pseudo-random inputs for workloads, identical on every machine, so
// checksums and fingerprints can be compared across machines and backends.
#pragma once

#include <cstdint>

namespace versus::workloads {

// splitmix64: tiny, fast, and the same sequence everywhere.
class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed) {}
    uint64_t next() {
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [-1, 1).
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-52 - 1.0; }
    // Uniform integer in [lo, hi].
    int64_t range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1)); }

private:
    uint64_t s_;
};

}  // namespace versus::workloads
