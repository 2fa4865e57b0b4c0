// rng: the training engine's deterministic random numbers (weights, synthetic tokens and images), the same
// sequence on every machine: splitmix64, uniform and normal draws.
#pragma once

#include <cmath>
#include <cstdint>

namespace versus::train {

class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed) {}
    uint64_t next() {
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1).
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    // Uniform integer in [0, n).
    uint64_t below(uint64_t n) { return next() % n; }
    // Standard normal (Box-Muller, one draw per call).
    double normal() {
        const double u1 = 1.0 - uniform(), u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }

private:
    uint64_t s_;
};

}  // namespace versus::train
