/* blit_read.c: the remote sender's reads and frames (blit_read_batch) (part of libblit_native.so; overview in blit_batch.c). */
#include "blit_internal.h"

/*
 * blit_read_batch (ABI 4): the remote sender's small files in one call. Per file: open
 * (O_RDONLY | O_NOFOLLOW), read `size` bytes, fstat: the size and the ns mtime must still be the
 * listing's (else ST_CHANGED: a file changed while it was read is never sent torn), close. A file
 * that was read whole lands in `out` as its data-plane frames (remote/dataplane.ts):
 * FILE_START, DATA (its bytes; none for an empty file), FILE_END, each header 17 bytes
 * (u8 type, u64 index, u64 length, big endian). A failed or changed file leaves nothing in
 * `out` (nothing of it goes on the wire; its result says why). Read-ahead as blit_copy_batch:
 * the batch's files are opened and posix_fadvise(WILLNEED)'d first, so a cold cache sees the
 * whole batch at once.
 *
 * Input records: u32 rec_len, path_len; f64 index; i64 size; i64 mtime_ns; path bytes (no NUL),
 * padding to 8. `out` must hold every file's frames (the caller sizes it: size + 51, or 34 for an
 * empty file; at most INT32_MAX in all). Returns the bytes of `out` used, or -1 on a malformed
 * input (nothing read).
 */

struct read_rec {
  uint32_t rec_len;
  uint32_t path_len;
  double index;
  int64_t size;
  int64_t mtime_ns;
  /* path bytes, padding to 8 */
};

static uint8_t *frame_header(uint8_t *p, uint8_t type, uint64_t index, uint64_t len) {
  p[0] = type;
  for (int k = 0; k < 8; k++) {
    p[1 + k] = (uint8_t)(index >> (56 - 8 * k));
    p[9 + k] = (uint8_t)(len >> (56 - 8 * k));
  }
  return p + READ_FRAME_HEADER;
}

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

/*
 * The directory of the last file opened (blit_read_batch): a batch's files are mostly of one
 * directory, and the daemon names them `/proc/self/fd/N/<name>` (its anchored directory fds,
 * daemon/beneath.ts), whose every open walked procfs (pid, fd, magic link: ~2.6 us of the ~4 us
 * of each open in a perf profile of a pull). The directory is opened once (O_PATH) and each file
 * with openat(dirfd, name, O_NOFOLLOW): the same directory the path names at that moment (for
 * /proc/self/fd/N the anchored fd's own directory, so containment is unchanged), the same flags
 * and the same errno for the file. A directory that cannot be opened is left to the full path's
 * open, which names the failure as before.
 */
struct dir_cache {
  int fd;
  uint32_t len;
  char key[PATH_MAX];
};

static int open_src_cached(struct dir_cache *dc, char *buf, const char *bytes, uint32_t len, uint32_t opts) {
  const char *slash = memrchr(bytes, '/', len);
  uint32_t k = slash ? (uint32_t)(slash - bytes) : 0;
  if (!slash || k + 1 >= len) return open_src_rec(buf, bytes, len, opts);
  if (dc->fd < 0 || dc->len != k || memcmp(dc->key, bytes, k) != 0) {
    if (dc->fd >= 0) close(dc->fd);
    dc->fd = -1;
    uint32_t shown = k == 0 ? 1 : k; /* "/name": the root */
    memcpy(dc->key, bytes, shown);
    dc->key[shown] = 0;
    int d = open(dc->key, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return open_src_rec(buf, bytes, len, opts);
    dc->fd = d;
    dc->len = k;
  }
  memcpy(buf, bytes + k + 1, len - k - 1);
  buf[len - k - 1] = 0;
  return open_src_at(dc->fd, buf, opts);
}

static int nowait_refused; /* per process: preadv2(RWF_NOWAIT) is not supported here */

/* posix_fadvise(WILLNEED) of the files i.. of a batch (`first`: file i's fd), within budget. */
static void advise_from(uint32_t i, uint32_t count, int first, const int *fds, const struct read_rec **recs) {
  int64_t budget = PREFETCH_BATCH_BYTES;
  for (uint32_t j = i; j < count && budget > 0; j++) {
    int fd = j == i ? first : fds[j];
    int64_t size = recs[j]->size;
    if (fd < 0 || size <= 0 || size > budget) continue;
    posix_fadvise(fd, 0, size, POSIX_FADV_WILLNEED);
    budget -= size;
  }
}

int blit_read_batch(const uint8_t *in, uint32_t in_len, uint32_t count, uint8_t *out, uint64_t out_len, uint8_t *res_out, uint32_t opts) {
  static __thread int fds[MAX_FILES];
  static __thread char path[PATH_MAX];
  const struct read_rec *recs[MAX_FILES];
  struct result *res = (struct result *)res_out;
  if (count > MAX_FILES) return -1;
  size_t off = 0;
  uint64_t need_out = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (off + sizeof(struct read_rec) > in_len) return -1;
    const struct read_rec *c = (const struct read_rec *)(in + off);
    if (c->rec_len < sizeof(struct read_rec) + (size_t)c->path_len || off + c->rec_len > in_len || c->size < 0 ||
        !(c->index >= 0 && c->index <= 9007199254740991.0) || (uint64_t)c->size > out_len)
      return -1;
    need_out += (uint64_t)c->size + (c->size > 0 ? 3 : 2) * READ_FRAME_HEADER;
    if (need_out > out_len || need_out > INT32_MAX) return -1;
    recs[i] = c;
    off += c->rec_len;
    memset(&res[i], 0, sizeof(struct result));
    res[i].status = ST_NOT_RUN;
    fds[i] = -1;
  }
  /*
   * Open every file first, then read. Read-ahead (posix_fadvise WILLNEED of the rest of the
   * batch, so a cold cache sees all of it at once) only once a read would block: the reads try
   * preadv2(RWF_NOWAIT) first, which fails with EAGAIN when the pages are not cached. A warm
   * cache (the common case) then pays no fadvise per file (~0.7 us each in a perf profile).
   */
  static __thread struct dir_cache dc;
  dc.fd = -1;
  uint32_t ahead = ahead_fd_cap();
  for (uint32_t i = 0; i < count && ahead > 0; i++) {
    const struct read_rec *c = recs[i];
    if (c->path_len >= PATH_MAX) continue;
    int fd = open_src_cached(&dc, path, (const char *)(c + 1), c->path_len, opts);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) break; /* the rest: opened in turn below */
      continue; /* reported by the file's own open below */
    }
    fds[i] = fd;
    ahead--;
  }
  if (dc.fd >= 0) close(dc.fd);
  dc.fd = -1;
  int advised = __atomic_load_n(&nowait_refused, __ATOMIC_RELAXED);
  if (advised) advise_from(0, count, fds[0], fds, recs);
  uint8_t *p = out;
  for (uint32_t i = 0; i < count; i++) {
    const struct read_rec *c = recs[i];
    struct result *r = &res[i];
    int fd = fds[i];
    fds[i] = -1;
    if (c->path_len >= PATH_MAX) {
      errno = ENAMETOOLONG;
      fail(r, STEP_PATH);
      continue;
    }
    if (fd < 0) {
      fd = open_src_rec(path, (const char *)(c + 1), c->path_len, opts);
      if (fd < 0) {
        fail(r, STEP_OPEN_SRC);
        continue;
      }
    }
    uint64_t index = (uint64_t)c->index;
    uint8_t *body = p + (c->size > 0 ? 2 : 1) * READ_FRAME_HEADER;
    size_t got = 0;
    int read_err = 0;
    while (got < (size_t)c->size) {
      ssize_t n;
      if (!advised) {
        struct iovec iov = { body + got, (size_t)c->size - got };
        n = preadv2(fd, &iov, 1, (off_t)got, RWF_NOWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EOPNOTSUPP || errno == ENOSYS)) {
          if (errno != EAGAIN) __atomic_store_n(&nowait_refused, 1, __ATOMIC_RELAXED);
          advise_from(i, count, fd, fds, recs);
          advised = 1;
          continue;
        }
      } else {
        n = pread(fd, body + got, (size_t)c->size - got, (off_t)got);
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        read_err = errno;
        break;
      }
      if (n == 0) break; /* shrank: the fstat below says changed */
      got += (size_t)n;
    }
    if (read_err) {
      close(fd);
      errno = read_err;
      fail(r, STEP_READ);
      continue;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
      int e = errno;
      close(fd);
      errno = e;
      fail(r, STEP_FSTAT);
      continue;
    }
    close(fd);
    if (got != (size_t)c->size || st.st_size != c->size || ns_of(&st.st_mtim) != c->mtime_ns || !S_ISREG(st.st_mode)) {
      r->status = ST_CHANGED;
      continue;
    }
    p = frame_header(p, 1, index, 0);
    if (c->size > 0) {
      frame_header(p, 2, index, (uint64_t)c->size);
      p = body + c->size;
    }
    p = frame_header(p, 3, index, 0);
    r->status = ST_DONE;
    r->bytes = (int64_t)got;
  }
  for (uint32_t i = 0; i < count; i++)
    if (fds[i] >= 0) close(fds[i]);
  return (int)(p - out);
}
