// kernels: the CUDA plugin's own device code: STREAM's four ops, the empty task, the device timer's hold
// and a byte transpose (cuBLASLt's int8/fp8 path wants B with K contiguous). Kept small: every kernel is
// compiled once per target architecture.
#include "backend/cuda/cuda-common.hpp"

namespace versus::cuda {
namespace {

// Grid-stride loop repeated `passes` times: a thread touches the same elements on every pass, so a
// working set that fits a cache stays there between passes without a grid-wide barrier.
template <int KIND>
__global__ void stream_kernel(double* a, const double* b, const double* c, double s, uint64_t n, uint32_t passes) {
    const uint64_t stride = uint64_t(gridDim.x) * blockDim.x;
    const uint64_t first = uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    for (uint32_t p = 0; p < passes; ++p) {
        for (uint64_t i = first; i < n; i += stride) {
            if constexpr (KIND == VERSUS_STREAM_COPY) a[i] = b[i];
            if constexpr (KIND == VERSUS_STREAM_SCALE) a[i] = s * b[i];
            if constexpr (KIND == VERSUS_STREAM_ADD) a[i] = b[i] + c[i];
            if constexpr (KIND == VERSUS_STREAM_TRIAD) a[i] = b[i] + s * c[i];
        }
    }
}

__global__ void empty_kernel() {}

__device__ __forceinline__ uint64_t global_ns() {
    uint64_t t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

// Spins on a host-written word (pinned memory, read through the bus on every iteration).
__global__ void hold_kernel(const volatile uint32_t* release, uint32_t ticket, uint64_t limit_ns) {
    const uint64_t t0 = global_ns();
    while (static_cast<int32_t>(*release - ticket) < 0 && global_ns() - t0 < limit_ns) {
    }
}

constexpr int TILE = 64;  // bytes per side of a tile; 16 x 16 threads, 4 bytes each per row pass

// A 64 x 64 byte tile per block through shared memory, read and written as 32-bit words (rows and cols are
// multiples of 4, which the int8/fp8 GEMMs need anyway), so both sides are coalesced 64-byte runs.
__global__ void transpose_u8_kernel(const uint8_t* in, uint8_t* out, int rows, int cols) {
    __shared__ __align__(4) uint8_t tile[TILE][TILE + 4];
    const int r0 = blockIdx.y * TILE, c0 = blockIdx.x * TILE;
    const int tx = threadIdx.x, ty = threadIdx.y;  // tx: a 4-byte column group, ty: a row
    for (int r = ty; r < TILE; r += 16) {
        if (r0 + r < rows && c0 + 4 * tx < cols) {
            *reinterpret_cast<uint32_t*>(&tile[r][4 * tx]) =
                *reinterpret_cast<const uint32_t*>(in + size_t(r0 + r) * cols + c0 + 4 * tx);
        }
    }
    __syncthreads();
    // Output row c (an input column), bytes of input rows 4tx .. 4tx+3.
    for (int c = ty; c < TILE; c += 16) {
        if (c0 + c < cols && r0 + 4 * tx < rows) {
            uint32_t w = 0;
            for (int j = 0; j < 4; ++j) w |= static_cast<uint32_t>(tile[4 * tx + j][c]) << (8 * j);
            *reinterpret_cast<uint32_t*>(out + size_t(c0 + c) * rows + r0 + 4 * tx) = w;
        }
    }
}

}  // namespace

cudaError_t launch_stream(versus_stream_kind kind, double* a, const double* b, const double* c, double s, uint64_t n,
                          uint32_t passes, int n_sm, cudaStream_t st) {
    constexpr int THREADS = 256;
    // Enough resident blocks to saturate memory, never more than the array needs.
    const uint64_t want = (n + THREADS - 1) / THREADS;
    const unsigned blocks = static_cast<unsigned>(std::max<uint64_t>(1, std::min<uint64_t>(want, uint64_t(n_sm) * 8)));
    switch (kind) {
        case VERSUS_STREAM_COPY: stream_kernel<VERSUS_STREAM_COPY><<<blocks, THREADS, 0, st>>>(a, b, c, s, n, passes); break;
        case VERSUS_STREAM_SCALE: stream_kernel<VERSUS_STREAM_SCALE><<<blocks, THREADS, 0, st>>>(a, b, c, s, n, passes); break;
        case VERSUS_STREAM_ADD: stream_kernel<VERSUS_STREAM_ADD><<<blocks, THREADS, 0, st>>>(a, b, c, s, n, passes); break;
        case VERSUS_STREAM_TRIAD: stream_kernel<VERSUS_STREAM_TRIAD><<<blocks, THREADS, 0, st>>>(a, b, c, s, n, passes); break;
        default: return cudaErrorInvalidValue;
    }
    return cudaGetLastError();
}

cudaError_t launch_empty(cudaStream_t st) {
    empty_kernel<<<1, 1, 0, st>>>();
    return cudaGetLastError();
}

cudaError_t probe_kernel_image() {
    cudaFuncAttributes a{};
    return cudaFuncGetAttributes(&a, empty_kernel);
}

cudaError_t launch_hold(const volatile uint32_t* release, uint32_t ticket, uint64_t limit_ns, cudaStream_t st) {
    hold_kernel<<<1, 1, 0, st>>>(release, ticket, limit_ns);
    return cudaGetLastError();
}

cudaError_t launch_transpose_u8(const uint8_t* in, uint8_t* out, int rows, int cols, cudaStream_t st) {
    if (rows % 4 != 0 || cols % 4 != 0) return cudaErrorInvalidValue;
    const dim3 grid((cols + TILE - 1) / TILE, (rows + TILE - 1) / TILE);
    transpose_u8_kernel<<<grid, dim3(16, 16), 0, st>>>(in, out, rows, cols);
    return cudaGetLastError();
}

}  // namespace versus::cuda
