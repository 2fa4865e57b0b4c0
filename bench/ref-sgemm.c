/* ref-sgemm: OpenBLAS's own cblas_sgemm timed with nothing around it, the reference that
 * `versus bench gemm --dtype f32` is compared against. Usage: ref-sgemm N [REPS]
 * Prints: n=N best_gflops=X median_gflops=Y */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: ref-sgemm N [REPS]\n");
        return 2;
    }
    const int n = atoi(argv[1]);
    const int reps = argc > 2 ? atoi(argv[2]) : 20;
    if (n <= 0 || reps <= 0 || reps > 100000) {
        fprintf(stderr, "ref-sgemm: bad N or REPS\n");
        return 2;
    }
    float* a = malloc(sizeof(float) * (size_t)n * n);
    float* b = malloc(sizeof(float) * (size_t)n * n);
    float* c = malloc(sizeof(float) * (size_t)n * n);
    double* t = malloc(sizeof(double) * (size_t)reps);
    if (!a || !b || !c || !t) return 1;
    for (size_t i = 0; i < (size_t)n * n; ++i) {
        a[i] = (float)((i * 7) % 13) / 13.0f - 0.5f;
        b[i] = (float)((i * 5) % 11) / 11.0f - 0.5f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n); /* warmup */
    for (int r = 0; r < reps; ++r) {
        const double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        t[r] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp);
    const double flops = 2.0 * n * (double)n * n;
    printf("n=%d best_gflops=%.2f median_gflops=%.2f\n", n, flops / t[0] / 1e9, flops / t[reps / 2] / 1e9);
    free(a);
    free(b);
    free(c);
    free(t);
    return 0;
}
