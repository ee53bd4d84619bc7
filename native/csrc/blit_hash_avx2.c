/*
 * blit_hash.c's entry points built for AVX2 (x86_64 only), called by blit_hash.c when the CPU has
 * it. The whole file is compiled for that target (pragma), so xxhash.h picks its AVX2 code; nothing
 * here runs on a CPU without AVX2.
 */
#if defined(__x86_64__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC target("avx2")
#endif
#define XXH_VECTOR XXH_AVX2
#define XXH_INLINE_ALL
#include "third_party/xxhash/xxhash.h"

#define HASH_FN(name) name##_avx2
#include "blit_hash_impl.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
