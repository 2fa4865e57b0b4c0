// fp8: the OCP E4M3 ("FN") 8-bit float that fp8 GEMM inputs use: 1 sign, 4 exponent (bias 7), 3
// mantissa bits, no infinities, NaN = 0x7f/0xff, largest finite 448. Host-side conversions so that
// inputs are written in the device's format and checks see exactly what the device multiplied.
#pragma once

#include <cmath>
#include <cstdint>

namespace versus::workloads {

inline float e4m3_to_f32(uint8_t b) {
    const int e = (b >> 3) & 0xf, m = b & 7;
    float v;
    if (e == 0xf && m == 7)
        v = NAN;
    else if (e == 0)
        v = std::ldexp(static_cast<float>(m), -9);  // subnormal: m/8 * 2^-6
    else
        v = std::ldexp(1.0f + m / 8.0f, e - 7);
    return (b & 0x80) ? -v : v;
}

// Round to nearest, ties to even; saturates to +-448 (what the CUDA conversion does with satfinite).
inline uint8_t f32_to_e4m3(float f) {
    if (std::isnan(f)) return 0x7f;
    const uint8_t sign = std::signbit(f) ? 0x80 : 0;
    const float a = std::fabs(f);
    if (a >= 448.0f) return sign | 0x7e;
    // Codes 0x00..0x7e grow with their value: the largest code not above a, then the nearer neighbour.
    int lo = 0, hi = 0x7e;
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        if (e4m3_to_f32(static_cast<uint8_t>(mid)) <= a)
            lo = mid;
        else
            hi = mid - 1;
    }
    int code = lo;
    if (lo < 0x7e) {
        const float below = a - e4m3_to_f32(static_cast<uint8_t>(lo));
        const float above = e4m3_to_f32(static_cast<uint8_t>(lo + 1)) - a;
        if (above < below || (above == below && ((lo + 1) & 1) == 0)) code = lo + 1;
    }
    return sign | static_cast<uint8_t>(code);
}

}  // namespace versus::workloads
