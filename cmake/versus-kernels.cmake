# versus_kernels: thread pool, CPU feature detection, the kernel ladder and the quant ladder (GGUF weight
# formats and the LLM matmul). Kept free of other dependencies so the arm64 preset can cross-build it and run
# its tests under qemu.
set(VK ${PROJECT_SOURCE_DIR}/src/backend/cpu)
# CPU feature detection lives in src/system (the system probe reads it too); it has no dependencies, so the
# kernels library links it and still cross-builds alone.
add_library(versus_cpu_features STATIC ${PROJECT_SOURCE_DIR}/src/system/cpu-features.cpp)
target_include_directories(versus_cpu_features PUBLIC ${PROJECT_SOURCE_DIR}/src)
add_library(versus_kernels STATIC
  ${VK}/thread-pool.cpp
  ${VK}/kernels.cpp
  ${VK}/kernels-ref.cpp
  ${VK}/quants.cpp
  ${VK}/quants-ref.cpp
  ${VK}/rungs.cpp)
# The reference decoders round d * sc * q - dmin * m as two products and a difference on every target (GCC
# would fuse them on Arm).
set_source_files_properties(${VK}/quants-ref.cpp PROPERTIES COMPILE_OPTIONS "-ffp-contract=off")
target_include_directories(versus_kernels PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(versus_kernels PUBLIC versus_cpu_features Threads::Threads)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  target_sources(versus_kernels PRIVATE ${VK}/arch/x86/kernels-avx2.cpp ${VK}/arch/x86/kernels-avx512.cpp)
  set_source_files_properties(${VK}/arch/x86/kernels-avx2.cpp PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
  set_source_files_properties(${VK}/arch/x86/kernels-avx512.cpp PROPERTIES
    COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni;-mavx512bf16;-mfma;-mf16c")
  target_sources(versus_kernels PRIVATE ${VK}/arch/x86/quants-avx2.cpp ${VK}/arch/x86/quants-avx512.cpp)
  set_source_files_properties(${VK}/arch/x86/quants-avx2.cpp PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
  set_source_files_properties(${VK}/arch/x86/quants-avx512.cpp PROPERTIES
    COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni;-mavx512vbmi;-mfma;-mf16c")
  target_compile_definitions(versus_kernels PUBLIC VERSUS_KERNELS_X86=1)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  target_sources(versus_kernels PRIVATE ${VK}/arch/arm/kernels-neon.cpp ${VK}/arch/arm/quants-neon.cpp)
  # Base NEON for all; the dotprod (SDOT) and bf16 (BFDOT) kernels carry target attributes and are chosen
  # at run time from the hwcaps.
  target_compile_definitions(versus_kernels PUBLIC VERSUS_KERNELS_ARM=1)
endif()

# Attention (attention.hpp): its own ladder, same shape (scalar, then AVX2 / AVX-512 / NEON rungs).
target_sources(versus_kernels PRIVATE ${VK}/attention.cpp ${VK}/attention-ref.cpp)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  target_sources(versus_kernels PRIVATE ${VK}/arch/x86/attention-avx2.cpp ${VK}/arch/x86/attention-avx512.cpp)
  set_source_files_properties(${VK}/arch/x86/attention-avx2.cpp PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
  set_source_files_properties(${VK}/arch/x86/attention-avx512.cpp PROPERTIES COMPILE_OPTIONS "-mavx512f;-mfma;-mf16c")
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  target_sources(versus_kernels PRIVATE ${VK}/arch/arm/attention-neon.cpp)
endif()
