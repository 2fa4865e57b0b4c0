// fast-math: exp and tanh for the training engine's elementwise loops (softmax, GELU, SiLU), written so that
// the compiler vectorises them (no libm call, no branch), within 2 ulp of std::exp for float. The double
// overloads (the finite-difference tests) call libm.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace versus::train {

// e^x for float: x = n ln2 + r with |r| <= ln2/2, e^r by its degree-6 Taylor polynomial (error < 2e-7), 2^n
// through the exponent bits. Below -87.3 (where e^x leaves the normal range) the result is 0; -inf gives 0.
inline float exp_fast(float x) {
    const float lo = -87.3f, hi = 88.7f;
    const float xc = x < lo ? lo : (x > hi ? hi : x);
    const float round = 12582912.0f;  // 1.5 x 2^23: adding and subtracting it rounds to an integer
    const float n = (xc * 1.44269504f + round) - round;
    const float r = (xc - n * 0.693145752f) - n * 1.42860677e-6f;  // ln2 in two parts
    float p = 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const float scale = std::bit_cast<float>(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23);
    return x < lo ? 0.0f : p * scale;
}
inline double exp_fast(double x) { return std::exp(x); }

// tanh(u) = 1 - 2 / (e^(2u) + 1): exact limits at +-inf, absolute error ~1e-7 near 0.
inline float tanh_fast(float u) { return 1.0f - 2.0f / (exp_fast(2.0f * u) + 1.0f); }
inline double tanh_fast(double u) { return std::tanh(u); }

}  // namespace versus::train
