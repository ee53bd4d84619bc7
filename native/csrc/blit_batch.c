/*
 * blit_batch: one foreign call per BATCH of small files instead of ~7 calls per file.
 *
 * Why C: through ffi-rs every call costs ~3-5 us and every node:fs call ~1 us plus its JS
 * around it, so a 4 KiB file cost blit ~30 us of CPU where rsync spends ~6 (DEVLOG 2026-11-21
 * "native batch"). Here the whole per-file sequence runs in one call:
 *
 *   blit_copy_batch:  open src (O_NOATIME, EPERM retry), read, create temp O_EXCL, write,
 *                     fstat src (changed during the copy?), fchown (root, unless the file was
 *                     created with its owner: owner_differs), fchmod, futimens,
 *                     close, rename temp -> final.
 *   blit_write_batch: the same for contents already in memory (remote receiver): create temp,
 *                     write, fchown, fchmod, futimens, close, rename.
 *   blit_read_batch:  the remote sender's side (ABI 4): open, read, fstat (changed since the
 *                     listing?), close, the file's data-plane frames around its bytes.
 *
 * The library's files (compiled together by native/scripts/build-native.js):
 *   blit_batch.c    this overview, the ABI number, copy and write batches, the AtomicFile steps
 *   blit_scan.c     one directory per call (blit_scan_dir, blit_scan_dir_at)
 *   blit_read.c     the remote sender's reads and data-plane frames (blit_read_batch)
 *   blit_beneath.c  openat2 beneath a directory fd, directory metadata (blit_open_beneath,
 *                   blit_dir_meta_batch, blit_dir_meta_beneath)
 *   blit_recv.c     a receiving worker's small files, one call per read buffer (blit_recv_small)
 *   blit_hash.c     --checksum's XXH3-128 (ABI 9; third_party/xxhash, the vendored xxHash header)
 *   blit_internal.h what they share (steps, statuses, options, the result record, helpers)
 *
 * Semantics are the engine's AtomicFile ones (daemon/src/engine/atomic.ts): data goes to
 * `.blit.<name[:200]>.<12 hex>.tmp` in the destination directory, metadata is applied on the
 * open temp, the rename comes last, and any failure unlinks the temp, so a real name never holds
 * a partial file. Errors are returned per file (errno + the step that failed); the caller turns
 * them into its own typed errors (or simply redoes that file through its per-file path).
 *
 * All integers are little endian (x86_64 / aarch64 only, like the rest of @blit/native).
 * Record layouts are documented in native/src/batch.ts, which packs them.
 */
#include "blit_internal.h"

/* The ABI number blit checks at load (native/src/batch.ts); native-refused.test.ts rewrites it. */
#define ABI_VERSION 9

/* Input record of blit_copy_batch (8-byte aligned, rec_len includes the trailing bytes). */
struct copy_rec {
  uint32_t rec_len;
  uint32_t src_len;
  uint32_t dir_len;
  uint32_t name_len;
  int64_t size;
  int64_t mtime_ns;   /* the scan's mtime when mtime_exact, else unused */
  double mtime_ms;    /* the scan's mtime as Node's double ms when !mtime_exact */
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  uint32_t mtime_exact;
  /* src bytes, dir bytes, name bytes (no NULs), padding to 8 */
};

/* Input record of blit_write_batch. */
struct write_rec {
  uint32_t rec_len;
  uint32_t dir_len;
  uint32_t name_len;
  uint32_t mode;
  uint64_t data_off;  /* offset of the contents in the data buffer */
  uint64_t data_len;
  int64_t mtime_ns;
  uint32_t uid;
  uint32_t gid;
  int32_t dirfd;      /* >= 0: the directory's fd (dir bytes unused); -1: the dir bytes are its path */
  uint32_t reserved;
  /* dir bytes, name bytes, padding to 8 */
};


int blit_batch_abi_version(void) { return ABI_VERSION; }




/* dir + "/" + name, NUL-terminated; -1 when it does not fit. */
static int join(char *out, const char *dir, uint32_t dir_len, const char *name, uint32_t name_len) {
  if ((size_t)dir_len + 1 + name_len + 1 > PATH_MAX) return -1;
  memcpy(out, dir, dir_len);
  out[dir_len] = '/';
  memcpy(out + dir_len + 1, name, name_len);
  out[dir_len + 1 + name_len] = 0;
  return 0;
}

/* dir + "/.blit." + name[:200] + "." + 12 hex + ".tmp" (atomic.ts tempPathFor). */
static int temp_path(char *out, const char *dir, uint32_t dir_len, const char *name, uint32_t name_len, uint32_t prefix, uint32_t counter) {
  uint32_t part = name_len > TEMP_NAME_PART_MAX ? TEMP_NAME_PART_MAX : name_len;
  if ((size_t)dir_len + 7 + part + 18 + 1 > PATH_MAX) return -1;
  char *p = out;
  memcpy(p, dir, dir_len);
  p += dir_len;
  memcpy(p, "/.blit.", 7);
  p += 7;
  memcpy(p, name, part);
  p += part;
  snprintf(p, 19, ".%06x%06x.tmp", prefix & 0xffffff, counter & 0xffffff);
  return 0;
}

static int write_all(int fd, const char *buf, size_t len) {
  size_t put = 0;
  while (put < len) {
    ssize_t n = pwrite(fd, buf + put, len - put, (off_t)put);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    put += (size_t)n;
  }
  return 0;
}


/*
 * Metadata on the open temp, close, rename (AtomicFile.commit + metadata.ts applyFdMeta):
 * fchown first when `chown_it` (as root, and the file was not created with uid:gid already:
 * owner_differs; a root:root file root creates in a setgid directory has that directory's group,
 * so it is chowned), then fchmod when the created mode (always mode & 0777, so a chown cleared no
 * setuid/setgid bit) is not already the final one, then mtime to the ns (atime = now). On
 * failure the temp is closed and unlinked.
 */
int commit_at(int at, int dfd, const char *tmp, const char *final, uint32_t mode, uint32_t created_mode, uint32_t uid, uint32_t gid, int chown_it, const struct timespec *mtime, uint32_t umask_bits, struct result *r) {
  int step = STEP_NONE;
  if (chown_it && fchown(dfd, (uid_t)uid, (gid_t)gid) < 0) step = STEP_FCHOWN;
  if (!step && ((created_mode & ~umask_bits) != mode) && fchmod(dfd, (mode_t)mode) < 0) step = STEP_FCHMOD;
  if (!step) {
    struct timespec ts[2] = {{0, UTIME_NOW}, *mtime};
    if (futimens(dfd, ts) < 0) step = STEP_FUTIMENS;
  }
  if (step) {
    int e = errno;
    close(dfd);
    unlinkat(at, tmp, 0);
    errno = e;
    return fail(r, step);
  }
  if (close(dfd) < 0) {
    int e = errno;
    unlinkat(at, tmp, 0);
    errno = e;
    return fail(r, STEP_CLOSE);
  }
  if (renameat(at, tmp, at, final) < 0) {
    int e = errno;
    unlinkat(at, tmp, 0);
    errno = e;
    return fail(r, STEP_RENAME);
  }
  return 0;
}

static int commit(int dfd, const char *tmp, const char *final, uint32_t mode, uint32_t created_mode, uint32_t uid, uint32_t gid, int chown_it, const struct timespec *mtime, uint32_t umask_bits, struct result *r) {
  return commit_at(AT_FDCWD, dfd, tmp, final, mode, created_mode, uid, gid, chown_it, mtime, umask_bits, r);
}

/*
 * mkdir -p of dir[0..len) with mode 0700 (AtomicFile's createParents: the engine creates
 * directories in the background and applies their final mode later, so a file can arrive first).
 */
static int mkdir_p(const char *dir, uint32_t len) {
  char p[PATH_MAX];
  if (len == 0 || len >= PATH_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(p, dir, len);
  p[len] = 0;
  if (mkdir(p, 0700) == 0 || errno == EEXIST) return 0;
  if (errno != ENOENT) return -1;
  /* Slow path (rare): create each prefix from the top; existing ones answer EEXIST. */
  for (uint32_t i = 1; i < len; i++) {
    if (p[i] != '/' || p[i - 1] == '/') continue;
    p[i] = 0;
    int rc = mkdir(p, 0700);
    p[i] = '/';
    if (rc < 0 && errno != EEXIST) return -1;
  }
  if (mkdir(p, 0700) == 0 || errno == EEXIST) return 0;
  return -1;
}

static int noatime_refused; /* per process: set once O_NOATIME was refused and we are not root */

/* open_src relative to a directory fd (AT_FDCWD: the path as it is). */
int open_src_at(int dirfd, const char *path, uint32_t opts) {
  int base = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
  if ((opts & OPT_NOATIME) && !__atomic_load_n(&noatime_refused, __ATOMIC_RELAXED)) {
    int fd = openat(dirfd, path, base | O_NOATIME);
    if (fd >= 0 || errno != EPERM) return fd;
    if (geteuid() != 0) __atomic_store_n(&noatime_refused, 1, __ATOMIC_RELAXED);
  }
  return openat(dirfd, path, base);
}

static int open_src(const char *path, uint32_t opts) {
  return open_src_at(AT_FDCWD, path, opts);
}

/* open_src on a record's path bytes (len < PATH_MAX, checked by the caller), NUL-terminated in buf. */
int open_src_rec(char *buf, const char *bytes, uint32_t len, uint32_t opts) {
  memcpy(buf, bytes, len);
  buf[len] = 0;
  return open_src(buf, opts);
}

/*
 * Copy `count` small files (each <= scratch_len bytes). `cancel` points at the engine's shared
 * Int32Array: [0] != 0 = stop before the next file, [1] = heartbeat, bumped per file.
 * Returns the number of files processed (the rest are ST_NOT_RUN), or -1 on a malformed input.
 */
int blit_copy_batch(const uint8_t *in, uint32_t in_len, uint32_t count, uint8_t *out, uint8_t *scratch, uint64_t scratch_len, int32_t *cancel, uint32_t opts, uint32_t umask_bits, uint32_t temp_prefix, uint32_t temp_counter) {
  static __thread int fds[MAX_FILES];
  static __thread char final[PATH_MAX], tmp[PATH_MAX], src[PATH_MAX];
  const struct copy_rec *recs[MAX_FILES];
  struct owner_memo owners = {0};
  struct result *res = (struct result *)out;
  if (count > MAX_FILES) return -1;

  /* Parse and validate every record first. */
  size_t off = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (off + sizeof(struct copy_rec) > in_len) return -1;
    const struct copy_rec *c = (const struct copy_rec *)(in + off);
    size_t need = sizeof(struct copy_rec) + (size_t)c->src_len + c->dir_len + c->name_len;
    if (c->rec_len < need || off + c->rec_len > in_len || c->size < 0 || (uint64_t)c->size > scratch_len) return -1;
    recs[i] = c;
    off += c->rec_len;
    memset(&res[i], 0, sizeof(struct result));
    res[i].status = ST_NOT_RUN;
    fds[i] = -1;
  }

  /*
   * Read-ahead: open the batch's sources and ask for their pages at once (posix_fadvise
   * WILLNEED queues the reads), so a cold cache sees the whole batch instead of one read at a
   * time. Failures are ignored here; the file's own open reports them.
   */
  int64_t budget = PREFETCH_BATCH_BYTES;
  uint32_t ahead = ahead_fd_cap();
  for (uint32_t i = 0; i < count && ahead > 0; i++) {
    const struct copy_rec *c = recs[i];
    if (c->size == 0 || c->size > budget || c->src_len >= PATH_MAX) continue;
    int fd = open_src_rec(src, (const char *)(c + 1), c->src_len, opts);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) break; /* leave the rest to the copy loop */
      continue;
    }
    posix_fadvise(fd, 0, c->size, POSIX_FADV_WILLNEED);
    fds[i] = fd;
    budget -= c->size;
    ahead--;
  }

  uint32_t done = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (cancel && __atomic_load_n(&cancel[0], __ATOMIC_SEQ_CST) != 0) break;
    if (cancel) __atomic_fetch_add(&cancel[1], 1, __ATOMIC_SEQ_CST);
    done++;
    const struct copy_rec *c = recs[i];
    struct result *r = &res[i];
    const char *s = (const char *)(c + 1);
    const char *dir = s + c->src_len;
    const char *name = dir + c->dir_len;
    int sfd = fds[i];
    fds[i] = -1;
    if (c->src_len >= PATH_MAX || join(final, dir, c->dir_len, name, c->name_len) < 0 ||
        temp_path(tmp, dir, c->dir_len, name, c->name_len, temp_prefix, temp_counter + i) < 0) {
      if (sfd >= 0) close(sfd);
      errno = ENAMETOOLONG;
      fail(r, STEP_PATH);
      continue;
    }
    if (sfd < 0) {
      sfd = open_src_rec(src, s, c->src_len, opts);
      if (sfd < 0) {
        fail(r, STEP_OPEN_SRC);
        continue;
      }
    }
    size_t got = 0;
    int read_err = 0;
    while (got < (size_t)c->size) {
      ssize_t n = pread(sfd, scratch + got, (size_t)c->size - got, (off_t)got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        read_err = errno;
        break;
      }
      if (n == 0) break; /* the source shrank: the fstat below reports it as changed */
      got += (size_t)n;
    }
    if (read_err) {
      close(sfd);
      errno = read_err;
      fail(r, STEP_READ);
      continue;
    }
    uint32_t created_mode = c->mode & 0777;
    int dfd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)created_mode);
    if (dfd < 0 && errno == ENOENT && (opts & OPT_CREATE_PARENTS) && mkdir_p(dir, c->dir_len) == 0)
      dfd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)created_mode);
    if (dfd < 0) {
      fail(r, STEP_OPEN_DST);
      close(sfd);
      continue;
    }
    if (write_all(dfd, (const char *)scratch, got) < 0) {
      int e = errno;
      close(dfd);
      unlink(tmp);
      close(sfd);
      errno = e;
      fail(r, STEP_WRITE);
      continue;
    }
    r->done_ms = now_ms();
    /* One fstat after the copy: a change during it, and the exact ns mtime to set. */
    struct stat st;
    if (fstat(sfd, &st) < 0) {
      int e = errno;
      close(dfd);
      unlink(tmp);
      close(sfd);
      errno = e;
      fail(r, STEP_FSTAT);
      continue;
    }
    close(sfd);
    int same_mtime = c->mtime_exact ? ns_of(&st.st_mtim) == c->mtime_ns : ms_of(&st.st_mtim) == c->mtime_ms;
    if (got != (size_t)c->size || st.st_size != c->size || !same_mtime) {
      close(dfd);
      unlink(tmp);
      r->status = ST_CHANGED;
      continue;
    }
    int chown_it = (opts & OPT_PRESERVE_OWNER) && owner_differs(&owners, -1, dir, c->dir_len, dfd, c->uid, c->gid);
    if (commit(dfd, tmp, final, c->mode, created_mode, c->uid, c->gid, chown_it, &st.st_mtim, umask_bits, r) < 0) continue;
    r->status = ST_DONE;
    r->bytes = (int64_t)got;
  }
  for (uint32_t i = 0; i < count; i++)
    if (fds[i] >= 0) close(fds[i]);
  return (int)done;
}

/*
 * Write `count` files whose contents are already in memory (`data`), each atomically (temp,
 * metadata, rename). Returns the number of files processed, or -1 on a malformed input.
 */
int blit_write_batch(const uint8_t *in, uint32_t in_len, uint32_t count, const uint8_t *data, uint64_t data_len, uint8_t *out, uint32_t opts, uint32_t umask_bits, uint32_t temp_prefix, uint32_t temp_counter) {
  static __thread char final[PATH_MAX], tmp[PATH_MAX];
  struct owner_memo owners = {0};
  struct result *res = (struct result *)out;
  size_t off = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (off + sizeof(struct write_rec) > in_len) return -1;
    const struct write_rec *w = (const struct write_rec *)(in + off);
    size_t need = sizeof(struct write_rec) + (size_t)w->dir_len + w->name_len;
    if (w->rec_len < need || off + w->rec_len > in_len || w->data_off > data_len || w->data_len > data_len - w->data_off || w->dirfd < -1) return -1;
    off += w->rec_len;
  }
  off = 0;
  for (uint32_t i = 0; i < count; i++) {
    const struct write_rec *w = (const struct write_rec *)(in + off);
    off += w->rec_len;
    struct result *r = &res[i];
    memset(r, 0, sizeof(*r));
    const char *dir = (const char *)(w + 1);
    const char *name = dir + w->dir_len;
    /* With a directory fd (the daemon's directory opened beneath its module root) the temp and
       the final name are addressed relative to it (openat/renameat): no /proc/self/fd/N path for
       the kernel to resolve per file. The name must then be one entry name (bad_entry_name): a
       '/' or '..' could walk out of the directory the fd pins. */
    int at = w->dirfd >= 0 ? w->dirfd : AT_FDCWD;
    const char *t = tmp, *f = final;
    if (at == AT_FDCWD) {
      if (join(final, dir, w->dir_len, name, w->name_len) < 0 ||
          temp_path(tmp, dir, w->dir_len, name, w->name_len, temp_prefix, temp_counter + i) < 0) {
        errno = ENAMETOOLONG;
        fail(r, STEP_PATH);
        continue;
      }
    } else {
      int bad = bad_entry_name(name, w->name_len);
      if (bad) {
        errno = bad;
        fail(r, STEP_PATH);
        continue;
      }
      temp_path(tmp, "", 0, name, w->name_len, temp_prefix, temp_counter + i); /* "/.blit.<name[:200]>.<hex>.tmp": fits */
      t = tmp + 1;
      memcpy(final, name, w->name_len);
      final[w->name_len] = 0;
    }
    /* Created with its final permission bits (as blit_copy_batch and the per-file path do), so
       commit() skips fchmod when the umask kept them: one syscall less per received file. */
    uint32_t created_mode = w->mode & 0777;
    int dfd = openat(at, t, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)created_mode);
    if (dfd < 0) {
      fail(r, STEP_OPEN_DST);
      continue;
    }
    if (write_all(dfd, (const char *)data + w->data_off, (size_t)w->data_len) < 0) {
      int e = errno;
      close(dfd);
      unlinkat(at, t, 0);
      errno = e;
      fail(r, STEP_WRITE);
      continue;
    }
    struct timespec mt = {w->mtime_ns / 1000000000LL, w->mtime_ns % 1000000000LL};
    if (mt.tv_nsec < 0) {
      mt.tv_nsec += 1000000000LL;
      mt.tv_sec -= 1;
    }
    /* Keyed by the fd when there is one (its dir bytes are unused), else by the path. */
    int chown_it = (opts & OPT_PRESERVE_OWNER) && (at == AT_FDCWD ? owner_differs(&owners, -1, dir, w->dir_len, dfd, w->uid, w->gid) : owner_differs(&owners, at, NULL, 0, dfd, w->uid, w->gid));
    if (commit_at(at, dfd, t, f, w->mode, created_mode, w->uid, w->gid, chown_it, &mt, umask_bits, r) < 0) continue;
    r->status = ST_DONE;
    r->bytes = (int64_t)w->data_len;
  }
  return (int)count;
}
