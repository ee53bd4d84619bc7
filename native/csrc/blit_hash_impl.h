/*
 * The body of blit_hash.c's two entry points, compiled once per vector instruction set
 * (blit_hash.c: the build's target, SSE2 on x86_64; blit_hash_avx2.c: AVX2, picked at run time).
 * The including file defines HASH_FN(name) (the names it exports) and includes xxhash.h first.
 * The XXH3 state (64-byte aligned members) lives on the stack here, never in JS memory.
 */
#include "blit_internal.h"

static void put_digest(XXH128_hash_t h, uint8_t *out) {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, h);
  memcpy(out, c.digest, sizeof c.digest);
}

__attribute__((visibility("hidden"))) int HASH_FN(blit_hash_fd)(int32_t fd, uint8_t *buf, uint64_t buf_len, const int32_t *stop, uint8_t *out) {
  XXH3_state_t state;
  if (buf_len == 0) return -EINVAL;
  XXH3_128bits_reset(&state);
  off_t pos = 0;
  for (;;) {
    if (stop && __atomic_load_n(&stop[0], __ATOMIC_SEQ_CST) != 0) return 1;
    ssize_t n = pread(fd, buf, buf_len, pos);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) break;
    XXH3_128bits_update(&state, buf, (size_t)n);
    pos += n;
  }
  put_digest(XXH3_128bits_digest(&state), out);
  return 0;
}

__attribute__((visibility("hidden"))) int HASH_FN(blit_hash_buf)(const uint8_t *data, uint64_t len, uint8_t *out) {
  put_digest(XXH3_128bits(data, (size_t)len), out);
  return 0;
}
