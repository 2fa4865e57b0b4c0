// simd: how the training engine's elementwise and row loops reach the CPU's vector width. The binary targets the
// baseline ISA (it runs on any x86-64), so the hot loops are compiled three times — baseline, AVX2 and AVX-512 —
// and the loader picks one from CPUID when the program starts (GCC/Clang function multiversioning). Reductions
// say `#pragma omp simd reduction(...)` (compiled with -fopenmp-simd: no OpenMP runtime), which lets the compiler
// reorder a sum across vector lanes; a row's result then depends on the clone, never on the thread count.
#pragma once

#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#define VERSUS_TRAIN_SIMD __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define VERSUS_TRAIN_SIMD
#endif
