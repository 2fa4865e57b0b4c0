// kernels: the CUDA plugin's own device code: STREAM's four ops, the empty task and a byte transpose
// (cuBLASLt's int8/fp8 path wants B with K contiguous). Kept small: every kernel is compiled once per
// target architecture.
#include "backend/cuda/cuda-common.cuh"

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

constexpr int TILE = 32;

// One 32x32 tile per block through shared memory, so that reads and writes are both coalesced.
__global__ void transpose_u8_kernel(const uint8_t* in, uint8_t* out, int rows, int cols) {
    __shared__ uint8_t tile[TILE][TILE + 1];
    const int c = blockIdx.x * TILE + threadIdx.x;
    for (int r = blockIdx.y * TILE + threadIdx.y; r < min(rows, int(blockIdx.y * TILE + TILE)); r += blockDim.y)
        if (c < cols) tile[r - blockIdx.y * TILE][threadIdx.x] = in[size_t(r) * cols + c];
    __syncthreads();
    const int r_out = blockIdx.y * TILE + threadIdx.x;  // a row of `in` is a column of `out`
    for (int c_in = blockIdx.x * TILE + threadIdx.y; c_in < min(cols, int(blockIdx.x * TILE + TILE));
         c_in += blockDim.y)
        if (r_out < rows) out[size_t(c_in) * rows + r_out] = tile[threadIdx.x][c_in - blockIdx.x * TILE];
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

cudaError_t launch_transpose_u8(const uint8_t* in, uint8_t* out, int rows, int cols, cudaStream_t st) {
    const dim3 grid((cols + TILE - 1) / TILE, (rows + TILE - 1) / TILE);
    transpose_u8_kernel<<<grid, dim3(TILE, 8), 0, st>>>(in, out, rows, cols);
    return cudaGetLastError();
}

}  // namespace versus::cuda
