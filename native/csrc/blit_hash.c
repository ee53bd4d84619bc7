/*
 * blit_hash: --checksum's content hash, XXH3-128 from the xxHash library (third_party/xxhash, the
 * header used with XXH_INLINE_ALL as its authors intend for a one-file build).
 *
 * The 16 digest bytes are XXH128's canonical form (XXH128_canonicalFromHash: the high 64 bits big
 * endian, then the low 64): the bytes hash-wasm's createXXHash128 gives, which blit uses when this
 * library is not there (no cc at install, BLIT_NATIVE_BATCH=0) and which an older peer sends.
 * daemon/test/engine/native-hash.test.ts compares the two on many sizes.
 *
 *   blit_hash_fd:  an open fd from offset 0 to EOF (pread loop into the caller's buffer), polling
 *                  a stop cell between reads: a hashing thread gives up a 64 GiB file within one
 *                  buffer when its transfer ends. 0 hashed, 1 stopped (out untouched), -errno of a
 *                  failed pread.
 *   blit_hash_buf: bytes already in memory. Returns 0.
 *
 * Vector code: this file is built for the compiler's target (SSE2 on x86_64, NEON on aarch64);
 * on an x86_64 CPU with AVX2 the calls go to blit_hash_avx2.c's copy (measured 6 -> 22 GiB/s on a
 * cached MiB, DEVLOG native-hash), as xxHash's own xxh_x86dispatch.c does.
 */
#define XXH_INLINE_ALL
#include "third_party/xxhash/xxhash.h"

#define HASH_FN(name) name##_generic
#include "blit_hash_impl.h"

/* BLIT_HASH_NO_DISPATCH: the build's own vector code only (native-hash.test builds it to check it). */
#if defined(__x86_64__) && !defined(BLIT_HASH_NO_DISPATCH)
#define HASH_DISPATCH 1
__attribute__((visibility("hidden"))) int blit_hash_fd_avx2(int32_t fd, uint8_t *buf, uint64_t buf_len, const int32_t *stop, uint8_t *out);
__attribute__((visibility("hidden"))) int blit_hash_buf_avx2(const uint8_t *data, uint64_t len, uint8_t *out);

static int have_avx2(void) {
  static int known = -1;
  if (known < 0) {
    __builtin_cpu_init();
    known = __builtin_cpu_supports("avx2") ? 1 : 0;
  }
  return known;
}
#endif

int blit_hash_fd(int32_t fd, uint8_t *buf, uint64_t buf_len, const int32_t *stop, uint8_t *out) {
#if defined(HASH_DISPATCH)
  if (have_avx2()) return blit_hash_fd_avx2(fd, buf, buf_len, stop, out);
#endif
  return blit_hash_fd_generic(fd, buf, buf_len, stop, out);
}

int blit_hash_buf(const uint8_t *data, uint64_t len, uint8_t *out) {
#if defined(HASH_DISPATCH)
  if (have_avx2()) return blit_hash_buf_avx2(data, len, out);
#endif
  return blit_hash_buf_generic(data, len, out);
}
