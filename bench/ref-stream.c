/* ref-stream: a plain STREAM triad, a[i] = b[i] + s*c[i], under `#pragma omp parallel for`,
 * compiled at -O3: the reference for `versus bench membw --op triad`. Bytes are counted as
 * STREAM counts them (3 x 8 per element). Usage: ref-stream WORKING_SET_BYTES [REPS]
 * Prints: bytes=B best_gbps=X median_gbps=Y */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: ref-stream WORKING_SET_BYTES [REPS]\n");
        return 2;
    }
    const long long set = atoll(argv[1]);
    const int reps = argc > 2 ? atoi(argv[2]) : 20;
    const long long n = set / 24;
    if (n <= 0 || reps <= 0) {
        fprintf(stderr, "ref-stream: bad size or REPS\n");
        return 2;
    }
    double* a = malloc(sizeof(double) * (size_t)n);
    double* b = malloc(sizeof(double) * (size_t)n);
    double* c = malloc(sizeof(double) * (size_t)n);
    double* t = malloc(sizeof(double) * (size_t)reps);
    if (!a || !b || !c || !t) return 1;
#pragma omp parallel for
    for (long long i = 0; i < n; ++i) {
        a[i] = 1.0;
        b[i] = 2.0;
        c[i] = 0.5;
    }
    const double s = 3.0;
    for (int r = -1; r < reps; ++r) {
        const double t0 = omp_get_wtime();
#pragma omp parallel for
        for (long long i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
        if (r >= 0) t[r] = omp_get_wtime() - t0;
    }
    for (long long i = 0; i < n; ++i)
        if (a[i] != 3.5) {
            fprintf(stderr, "ref-stream: wrong result at %lld\n", i);
            return 1;
        }
    qsort(t, (size_t)reps, sizeof(double), cmp);
    const double bytes = 24.0 * (double)n;
    printf("bytes=%lld best_gbps=%.2f median_gbps=%.2f\n", (long long)bytes, bytes / t[0] / 1e9,
           bytes / t[reps / 2] / 1e9);
    free(a);
    free(b);
    free(c);
    free(t);
    return 0;
}
