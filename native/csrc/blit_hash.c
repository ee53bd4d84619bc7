/*
 * blit_hash: --checksum's content hash, XXH3-128 from the xxHash library (third_party/xxhash, the
 * header used with XXH_INLINE_ALL as its authors intend for a one-file build; vector code as the
 * compiler's target allows: SSE2 on x86_64, NEON on aarch64).
 *
 * The 16 digest bytes are XXH128's canonical form (XXH128_canonicalFromHash: the high 64 bits big
 * endian, then the low 64): the bytes hash-wasm's createXXHash128 gives, which blit uses when this
 * library is not there (no cc at install, BLIT_NATIVE_BATCH=0) and which an older peer sends.
 * daemon/test/engine/native-hash.test.ts compares the two on many sizes.
 *
 *   blit_hash_fd:  an open fd from offset 0 to EOF (pread loop into the caller's buffer), polling
 *                  a stop cell between reads: a hashing thread gives up a 64 GiB file within one
 *                  buffer when its transfer ends.
 *   blit_hash_buf: bytes already in memory.
 * The XXH3 state (64-byte aligned members) lives on this function's stack, never in JS memory.
 */
#include "blit_internal.h"

#define XXH_INLINE_ALL
#include "third_party/xxhash/xxhash.h"

static void put_digest(XXH128_hash_t h, uint8_t *out) {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, h);
  memcpy(out, c.digest, sizeof c.digest);
}

/*
 * Hash `fd` from offset 0 to EOF into out[16], reading `buf_len` bytes at a time into `buf`.
 * Before each read, stop[0] != 0 (another thread's store) ends it. Returns 0 (hashed), 1 (stopped;
 * out untouched) or -errno of a failed pread.
 */
int blit_hash_fd(int32_t fd, uint8_t *buf, uint64_t buf_len, const int32_t *stop, uint8_t *out) {
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

/* Hash `len` bytes of `data` into out[16]. Returns 0. */
int blit_hash_buf(const uint8_t *data, uint64_t len, uint8_t *out) {
  put_digest(XXH3_128bits(data, (size_t)len), out);
  return 0;
}
