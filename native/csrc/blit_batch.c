/*
 * blit_batch: one foreign call per BATCH of small files instead of ~7 calls per file.
 *
 * Why C: through ffi-rs every call costs ~3-5 us and every node:fs call ~1 us plus its JS
 * around it, so a 4 KiB file cost blit ~30 us of CPU where rsync spends ~6 (DEVLOG 2026-11-21
 * "native batch"). Here the whole per-file sequence runs in one call:
 *
 *   blit_copy_batch:  open src (O_NOATIME, EPERM retry), read, create temp O_EXCL, write,
 *                     fstat src (changed during the copy?), fchown (root), fchmod, futimens,
 *                     close, rename temp -> final.
 *   blit_write_batch: the same for contents already in memory (remote receiver): create temp,
 *                     write, fchown, fchmod, futimens, close, rename.
 *   blit_read_batch:  the remote sender's side (ABI 4): open, read, fstat (changed since the
 *                     listing?), close, the file's data-plane frames around its bytes.
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
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ABI_VERSION 6

/* Steps, reported with the errno of a failed file (mirrored in native/src/batch.ts). */
enum step {
  STEP_NONE = 0,
  STEP_OPEN_SRC = 1,
  STEP_READ = 2,
  STEP_OPEN_DST = 3,
  STEP_WRITE = 4,
  STEP_FSTAT = 5,
  STEP_FCHOWN = 6,
  STEP_FCHMOD = 7,
  STEP_FUTIMENS = 8,
  STEP_CLOSE = 9,
  STEP_RENAME = 10,
  STEP_PATH = 11 /* a path longer than PATH_MAX: errno ENAMETOOLONG */
};

/* Per-file status in the output record. */
enum status {
  ST_DONE = 0,      /* in place under its real name */
  ST_FAILED = 1,    /* errno + step set; nothing left behind */
  ST_NOT_RUN = 2,   /* cancelled before this file started */
  ST_CHANGED = 3    /* copy: the source's size/mtime differ from the scan's; temp removed */
};

/* Batch options (bit flags). */
#define OPT_PRESERVE_OWNER 1u
#define OPT_NOATIME 2u
#define OPT_CREATE_PARENTS 4u

#define TEMP_NAME_PART_MAX 200
#define PREFETCH_BATCH_BYTES (16 * 1024 * 1024)
#define MAX_FILES 4096

/*
 * How many sources one call may hold open ahead of its copy/read loop: a sixteenth of
 * RLIMIT_NOFILE (1,250 at 20,000: no cap for a batch of at most 512 files). Several workers read
 * ahead at once, and the walk, the destination temps and the sockets need descriptors too: with
 * one fd per batch file a low limit (ulimit -n 128) made a local copy of a wide tree fail with
 * EMFILE in the walk's scandir or a temp's open. Files past the cap are opened in turn.
 */
static uint32_t ahead_fd_cap(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur / 16 >= MAX_FILES) return MAX_FILES;
  return (uint32_t)(rl.rlim_cur / 16);
}

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
  /* dir bytes, name bytes, padding to 8 */
};

/* Output record, one per file, 32 bytes. */
struct result {
  int32_t status;
  int32_t err;
  int32_t step;
  int32_t reserved;
  int64_t bytes;
  double done_ms; /* CLOCK_REALTIME ms when its data was written (Date.now() scale) */
};

int blit_batch_abi_version(void) { return ABI_VERSION; }

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Node's mtimeMs of a timespec, computed as the engine's msFromNs does (compare.ts). */
static double ms_of(const struct timespec *t) {
  return (double)t->tv_sec * 1e3 + (double)t->tv_nsec / 1e6;
}

static int64_t ns_of(const struct timespec *t) {
  return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

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

static int fail(struct result *r, int step) {
  r->status = ST_FAILED;
  r->err = errno;
  r->step = step;
  return -1;
}

/*
 * Metadata on the open temp, close, rename (AtomicFile.commit + metadata.ts applyFdMeta):
 * fchown first (it clears setuid/setgid), then fchmod when the created mode is not already the
 * final one, then mtime to the ns (atime = now). On failure the temp is closed and unlinked.
 */
static int commit_at(int at, int dfd, const char *tmp, const char *final, uint32_t mode, uint32_t created_mode, uint32_t uid, uint32_t gid, const struct timespec *mtime, uint32_t opts, uint32_t umask_bits, struct result *r) {
  int chowned = (opts & OPT_PRESERVE_OWNER) && (uid != 0 || gid != 0);
  int step = STEP_NONE;
  if (chowned && fchown(dfd, (uid_t)uid, (gid_t)gid) < 0) step = STEP_FCHOWN;
  if (!step && (((created_mode & ~umask_bits) != mode) || chowned) && fchmod(dfd, (mode_t)mode) < 0) step = STEP_FCHMOD;
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

static int commit(int dfd, const char *tmp, const char *final, uint32_t mode, uint32_t created_mode, uint32_t uid, uint32_t gid, const struct timespec *mtime, uint32_t opts, uint32_t umask_bits, struct result *r) {
  return commit_at(AT_FDCWD, dfd, tmp, final, mode, created_mode, uid, gid, mtime, opts, umask_bits, r);
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
static int open_src_at(int dirfd, const char *path, uint32_t opts) {
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
static int open_src_rec(char *buf, const char *bytes, uint32_t len, uint32_t opts) {
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
    if (commit(dfd, tmp, final, c->mode, created_mode, c->uid, c->gid, &st.st_mtim, opts, umask_bits, r) < 0) continue;
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
  struct result *res = (struct result *)out;
  size_t off = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (off + sizeof(struct write_rec) > in_len) return -1;
    const struct write_rec *w = (const struct write_rec *)(in + off);
    size_t need = sizeof(struct write_rec) + (size_t)w->dir_len + w->name_len;
    if (w->rec_len < need || off + w->rec_len > in_len || w->data_off > data_len || w->data_len > data_len - w->data_off) return -1;
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
    if (join(final, dir, w->dir_len, name, w->name_len) < 0 ||
        temp_path(tmp, dir, w->dir_len, name, w->name_len, temp_prefix, temp_counter + i) < 0) {
      errno = ENAMETOOLONG;
      fail(r, STEP_PATH);
      continue;
    }
    /* Created with its final permission bits (as blit_copy_batch and the per-file path do), so
       commit() skips fchmod when the umask kept them: one syscall less per received file. */
    uint32_t created_mode = w->mode & 0777;
    int dfd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)created_mode);
    if (dfd < 0) {
      fail(r, STEP_OPEN_DST);
      continue;
    }
    if (write_all(dfd, (const char *)data + w->data_off, (size_t)w->data_len) < 0) {
      int e = errno;
      close(dfd);
      unlink(tmp);
      errno = e;
      fail(r, STEP_WRITE);
      continue;
    }
    struct timespec mt = {w->mtime_ns / 1000000000LL, w->mtime_ns % 1000000000LL};
    if (mt.tv_nsec < 0) {
      mt.tv_nsec += 1000000000LL;
      mt.tv_sec -= 1;
    }
    if (commit(dfd, tmp, final, w->mode, created_mode, w->uid, w->gid, &mt, opts, umask_bits, r) < 0) continue;
    r->status = ST_DONE;
    r->bytes = (int64_t)w->data_len;
  }
  return (int)count;
}

/*
 * blit_scan_dir: one directory in one call (ABI 3). The walk and the destination listers used
 * 1 readdir + N lstat calls from JS (~3 us each with the Stats/BigInt objects behind them);
 * here the directory is opened (O_DIRECTORY, and O_NOFOLLOW unless `follow`: a walk's children
 * are never symlinks, only its root may be one), read with readdir (getdents64), and every
 * entry is fstatat(AT_SYMLINK_NOFOLLOW) relative to the directory fd, in strcmp order of the
 * names (libuv's scandir sorts, so fs.readdirSync's order); symlink targets are read with readlinkat. Everything lands in `out` as records (layout in native/src/scan.ts):
 *
 *   u32 rec_len, name_len; i32 err; u32 mode; f64 size, mtime_sec, blocks;
 *   u32 mtime_nsec, uid, gid, link_len, d_type, reserved; name bytes, link bytes, pad to 8.
 *
 * err != 0: that entry's fstatat (or readlinkat) failed with this errno (ENOENT = it vanished);
 * its stat fields are then 0 and d_type is readdir's. Doubles hold sizes and seconds exactly
 * (< 2^53), which JS reads without BigInt.
 *
 * Returns the number of entries; -errno when the directory cannot be opened or read; or
 * SCAN_TOO_SMALL when `out` cannot hold every record, with the bytes needed (f64) in out[0..8]
 * (the caller grows the buffer and calls again).
 */
#define SCAN_HEADER 64
#define SCAN_TOO_SMALL (-1000000)

struct scan_rec {
  uint32_t rec_len;
  uint32_t name_len;
  int32_t err;
  uint32_t mode;
  double size;
  double mtime_sec;
  double blocks;
  uint32_t mtime_nsec;
  uint32_t uid;
  uint32_t gid;
  uint32_t link_len;
  uint32_t d_type;
  uint32_t reserved;
};

/* qsort_r: the walk and the destination lister scan on different threads at once. */
static int by_name(const void *a, const void *b, void *base) {
  return strcmp((const char *)base + *(const uint32_t *)a, (const char *)base + *(const uint32_t *)b);
}

static int scan_fd(int fd, uint8_t *out, uint64_t out_len);

int blit_scan_dir(const char *path, uint8_t *out, uint64_t out_len, uint32_t follow) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
  if (fd < 0) return -errno;
  return scan_fd(fd, out, out_len);
}

/* The scan of an open directory fd (closed here): blit_scan_dir and blit_scan_dir_at. */
static int scan_fd(int fd, uint8_t *out, uint64_t out_len) {
  static __thread char link[PATH_MAX];
  static __thread char *names;      /* NUL-terminated names, then their d_type byte */
  static __thread size_t names_cap;
  static __thread uint32_t *offs;
  static __thread size_t offs_cap;
  DIR *d = fdopendir(fd);
  if (!d) {
    int e = errno;
    close(fd);
    return -e;
  }
  /* Pass 1: every name, sorted by strcmp like libuv's scandir (fs.readdirSync's order). */
  size_t used = 0, count = 0;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno != 0) {
        int e = errno;
        closedir(d);
        return -e;
      }
      break;
    }
    const char *name = de->d_name;
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
    size_t len = strlen(name) + 2;
    if (used + len > names_cap || count + 1 > offs_cap) {
      size_t nc = names_cap ? names_cap : 64 * 1024, oc = offs_cap ? offs_cap : 4096;
      while (used + len > nc) nc *= 2;
      while (count + 1 > oc) oc *= 2;
      char *nn = realloc(names, nc);
      if (nn) names = nn, names_cap = nc;
      uint32_t *no = realloc(offs, oc * sizeof(uint32_t));
      if (no) offs = no, offs_cap = oc;
      if (!nn || !no || nc > UINT32_MAX) {
        closedir(d);
        return -ENOMEM;
      }
    }
    memcpy(names + used, name, len - 1);
    names[used + len - 1] = (char)de->d_type;
    offs[count++] = (uint32_t)used;
    used += len;
  }
  qsort_r(offs, count, sizeof(uint32_t), by_name, names);
  /* Pass 2: lstat each (relative to the directory fd) into its record. */
  uint64_t off = 0, needed = 0;
  for (size_t i = 0; i < count; i++) {
    const char *name = names + offs[i];
    size_t name_len = strlen(name);
    struct stat st;
    int err = 0;
    ssize_t link_len = 0;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) err = errno;
    else if (S_ISLNK(st.st_mode)) {
      link_len = readlinkat(fd, name, link, sizeof(link));
      if (link_len < 0) {
        err = errno;
        link_len = 0;
      }
    }
    uint64_t len = (SCAN_HEADER + name_len + (size_t)link_len + 7) & ~(uint64_t)7;
    needed += len;
    if (needed > out_len) continue; /* keep counting: the caller learns the size it needs */
    struct scan_rec *r = (struct scan_rec *)(out + off);
    memset(r, 0, SCAN_HEADER);
    r->rec_len = (uint32_t)len;
    r->name_len = (uint32_t)name_len;
    r->err = err;
    r->d_type = (uint8_t)name[name_len + 1];
    if (!err) {
      r->mode = st.st_mode;
      r->size = (double)st.st_size;
      r->mtime_sec = (double)st.st_mtim.tv_sec;
      r->mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
      r->blocks = (double)st.st_blocks;
      r->uid = st.st_uid;
      r->gid = st.st_gid;
      r->link_len = (uint32_t)link_len;
    }
    memcpy(out + off + SCAN_HEADER, name, name_len);
    if (r->link_len) memcpy(out + off + SCAN_HEADER + name_len, link, (size_t)link_len);
    off += len;
  }
  closedir(d);
  if (needed > out_len) {
    if (out_len >= 8) {
      double n = (double)needed;
      memcpy(out, &n, 8);
    }
    return SCAN_TOO_SMALL;
  }
  return (int)count;
}

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
#define READ_FRAME_HEADER 17

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

/*
 * blit_open_beneath: openat2(dirfd, path, O_PATH|O_DIRECTORY|O_CLOEXEC, resolve) through
 * syscall(2) (glibc has no wrapper; 437 on x86_64 and arm64). The daemon opens each directory a
 * network path goes through beneath the module root's fd (RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS)
 * and then addresses the last component relative to it, so a directory swapped for a symlink
 * between the containment check and the use cannot lead outside the module (EXDEV instead).
 * Additive: bound on its own (native/src/batch.ts loadOpenBeneath), the batch ABI is unchanged.
 * Returns the fd, or -errno (ENOSYS on kernels before 5.6, EPERM under some seccomp filters).
 */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
struct blit_open_how {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};

/* openat2(dirfd, path, flags, resolve): the fd, or -1 with errno set. EAGAIN means a rename raced
   the lookup (RESOLVE_BENEATH asks for a retry); bounded, an attacker renaming in a loop gets a
   failure, not a spinning daemon. Every openat2 of this file goes through here. */
static int openat2_retry(int dirfd, const char *path, uint64_t flags, uint32_t resolve) {
  struct blit_open_how how = { flags, 0, resolve };
  long fd;
  int tries = 0;
  do fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN && ++tries < 64);
  return fd < 0 ? -1 : (int)fd;
}

int blit_open_beneath(int dirfd, const char *path, uint32_t resolve) {
  int fd = openat2_retry(dirfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC, resolve);
  return fd < 0 ? -errno : fd;
}

/*
 * blit_dir_meta_batch: directory metadata after the children are in place (the local engine's
 * applyDirFixes; daemon/src/engine/metadata.ts applyDirMeta is the per-directory node:fs
 * equivalent). Per record, in order: chown(path, uid, gid) when OPT_PRESERVE_OWNER (root),
 * chmod(path, mode), utimensat(AT_FDCWD, path, {now, mtime}, 0): the same calls, following a
 * symlink like chownSync/chmodSync/utimensat without AT_SYMLINK_NOFOLLOW do. A failed step ends
 * that record (the rest still run) and is reported as {errno, step} (1 chown, 2 chmod,
 * 3 utimensat, 4 path without a NUL-free fit in PATH_MAX). Additive: bound on its own
 * (native/src/batch.ts loadDirMetaBatch), the batch ABI is unchanged.
 * Record: u32 rec_len, path_len, mode, uid, gid, reserved; i64 mtime_ns; path bytes, padding
 * to 8. Output: i32 errno, i32 step per record (0, 0 when done). Returns count, or -1 on a
 * malformed input (nothing done).
 */
struct dir_meta_rec {
  uint32_t rec_len;
  uint32_t path_len;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  uint32_t reserved;
  int64_t mtime_ns;
  /* path bytes (no NUL), padding to 8 */
};

/* Both entry points: rootfd < 0 addresses each record's path as given; otherwise the path is
   opened beneath rootfd (openat2 with `resolve`, step 5) and addressed as /proc/self/fd/N. */
static int dir_meta_run(int rootfd, const uint8_t *in, uint32_t in_len, uint32_t count, int32_t *out, uint32_t opts, uint32_t resolve) {
  static __thread char p[PATH_MAX];
  char fdp[32];
  size_t off = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (off + sizeof(struct dir_meta_rec) > in_len) return -1;
    const struct dir_meta_rec *d = (const struct dir_meta_rec *)(in + off);
    if (d->rec_len < sizeof(struct dir_meta_rec) + (size_t)d->path_len || off + d->rec_len > in_len || (d->rec_len & 7) != 0) return -1;
    off += d->rec_len;
  }
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  off = 0;
  for (uint32_t i = 0; i < count; i++) {
    const struct dir_meta_rec *d = (const struct dir_meta_rec *)(in + off);
    off += d->rec_len;
    int32_t *r = out + 2 * (size_t)i;
    r[0] = 0;
    r[1] = 0;
    if (d->path_len >= PATH_MAX || memchr(d + 1, 0, d->path_len) != NULL) {
      r[0] = d->path_len >= PATH_MAX ? ENAMETOOLONG : EINVAL;
      r[1] = 4;
      continue;
    }
    memcpy(p, d + 1, d->path_len);
    p[d->path_len] = 0;
    const char *at = p;
    int fd = -1;
    if (rootfd >= 0) {
      if (d->path_len == 0) strcpy(p, ".");
      /* No O_NOFOLLOW: with it a swapped last component opens as the symlink itself and fails
         ENOTDIR; RESOLVE_NO_SYMLINKS refuses it as ELOOP (PathEscape), every component alike. */
      fd = openat2_retry(rootfd, p, O_PATH | O_DIRECTORY | O_CLOEXEC, resolve);
      if (fd < 0) {
        r[0] = errno;
        r[1] = 5;
        continue;
      }
      snprintf(fdp, sizeof fdp, "/proc/self/fd/%d", fd);
      at = fdp;
    }
    struct timespec ts[2];
    ts[0] = now;
    ts[1].tv_sec = d->mtime_ns / 1000000000LL;
    ts[1].tv_nsec = d->mtime_ns % 1000000000LL;
    if (ts[1].tv_nsec < 0) {
      ts[1].tv_nsec += 1000000000LL;
      ts[1].tv_sec -= 1;
    }
    if ((opts & OPT_PRESERVE_OWNER) && chown(at, (uid_t)d->uid, (gid_t)d->gid) < 0) {
      r[0] = errno;
      r[1] = 1;
    } else if (chmod(at, (mode_t)d->mode) < 0) {
      r[0] = errno;
      r[1] = 2;
    } else if (utimensat(AT_FDCWD, at, ts, 0) < 0) {
      r[0] = errno;
      r[1] = 3;
    }
    if (fd >= 0) close(fd);
  }
  return (int)count;
}

int blit_dir_meta_batch(const uint8_t *in, uint32_t in_len, uint32_t count, int32_t *out, uint32_t opts) {
  return dir_meta_run(-1, in, in_len, count, out, opts, 0);
}

/*
 * blit_dir_meta_beneath: blit_dir_meta_batch for the daemon's receiver, each directory opened
 * here beneath the module root: record paths are module-relative ("" = the root itself), opened
 * with openat2(rootfd, path, O_PATH|O_DIRECTORY|O_CLOEXEC, resolve) (the daemon passes
 * RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_SYMLINKS: a directory swapped for a symlink
 * fails with EXDEV/ELOOP, step 5 open), then chown/chmod/utimensat through /proc/self/fd/N (the
 * directory as opened, never a later swap; an O_PATH fd takes no fchmod/futimens), then closed.
 * Same records and output as blit_dir_meta_batch. One foreign call per chunk where the daemon
 * opened each directory through its own call (0.69 s of a 13.8k-directory push at load 7-14).
 * Additive: bound on its own (native/src/batch.ts loadDirMetaBeneath), the batch ABI is unchanged.
 */
int blit_dir_meta_beneath(int rootfd, const uint8_t *in, uint32_t in_len, uint32_t count, int32_t *out, uint32_t opts, uint32_t resolve) {
  if (rootfd < 0) return -1;
  return dir_meta_run(rootfd, in, in_len, count, out, opts, resolve);
}

/*
 * blit_scan_dir_at (ABI 5): blit_scan_dir of directory `path` opened relative to `dirfd` with
 * openat2(O_RDONLY|O_DIRECTORY|O_CLOEXEC, resolve): the daemon's contained listings pass the module
 * root's fd and RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_SYMLINKS, so a directory swapped
 * for a symlink fails the open (EXDEV/ELOOP) and the entries are lstat'ed relative to the fd this
 * open returned: one syscall per directory where the daemon used to open an O_PATH fd beneath
 * the root and then its /proc/self/fd/N magic link. Returns what blit_scan_dir returns (-errno of
 * the openat2 included).
 */
int blit_scan_dir_at(int dirfd, const char *path, uint8_t *out, uint64_t out_len, uint32_t resolve) {
  int fd = openat2_retry(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, resolve);
  if (fd < 0) return -errno;
  return scan_fd(fd, out, out_len);
}

/*
 * blit_recv_small (bound on its own, like blit_open_beneath): the receiving worker's small files,
 * one call per read buffer. Scans buf[0..len) frame by frame; every file that is expected here
 * (row_of[index] >= 0), whose frames FILE_START, DATA..., FILE_END are all in the buffer, well
 * formed, of the row's exact size, and whose claim cell it wins, is written at once from the
 * buffer (AtomicFile's steps: O_EXCL temp in its directory fd, data, fchown/fchmod/futimens,
 * close, renameat). It stops, with `consumed` at a frame boundary, where JS must act:
 *   RS_PARTIAL  the next file's frames are not all in the buffer (read more)
 *   RS_OTHER    anything else at `consumed` (not expected here, malformed, short or long, a
 *               FILE_ERROR, STREAM_END, claimed by another thread): JS's decoder takes that file
 *               and names the broken rule; nothing of it was claimed or written here
 *   RS_DIR      the file's directory is not open yet (aux = its dir id)
 *   RS_CHUNK    the file's claim cell is in another chunk (aux = its slot)
 *   RS_FULL     `out` has no room for another result
 * dir_fds[id]: an fd (O_PATH is enough), -1 = not opened yet, <= -1000: opening it failed with
 * errno -(fd + 1000) (each of its files fails with that errno, step open).
 */
#define RS_PARTIAL 1
#define RS_OTHER 2
#define RS_DIR 3
#define RS_CHUNK 4
#define RS_FULL 5
#define RECV_MAX_DATA (16u * 1024 * 1024)

struct recv_row {
  int64_t size;
  int64_t mtime_ns;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  uint32_t slot;
  uint32_t dir_id;
  uint32_t name_off;
  uint32_t name_len;
  uint32_t pad;
};

struct recv_out {
  uint32_t consumed;
  uint32_t reason;
  uint32_t files;
  uint32_t aux;
  double bytes;
  double reserved;
};

struct recv_file {
  double index;
  int32_t err;  /* 0 = written */
  int32_t step;
};

static uint64_t be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int k = 0; k < 8; k++) v = (v << 8) | p[k];
  return v;
}

int blit_recv_small(const uint8_t *buf, uint32_t len, const int32_t *row_of, uint32_t row_of_len, const uint8_t *rows, uint32_t nrows, const uint8_t *names, uint32_t names_len, const int32_t *dir_fds, uint32_t ndirs, int32_t *claims, uint32_t claim_base, uint32_t claim_len, uint8_t *out, uint32_t out_cap, uint32_t opts, uint32_t umask_bits, uint32_t temp_prefix, uint32_t temp_counter) {
  static __thread char final[NAME_MAX + 1], tmp[TEMP_NAME_PART_MAX + 32];
  struct recv_out *o = (struct recv_out *)out;
  struct recv_file *files = (struct recv_file *)(o + 1);
  const struct recv_row *rowv = (const struct recv_row *)rows;
  uint32_t p = 0;
  memset(o, 0, sizeof(*o));
  for (;;) {
    o->consumed = p;
    if (len - p < READ_FRAME_HEADER) { o->reason = RS_PARTIAL; return 0; }
    const uint8_t *h = buf + p;
    uint64_t index = be64(h + 1);
    if (h[0] != 1 || be64(h + 9) != 0 || index >= row_of_len || row_of[index] < 0 || (uint32_t)row_of[index] >= nrows) { o->reason = RS_OTHER; return 0; }
    const struct recv_row *w = &rowv[row_of[index]];
    if ((uint64_t)w->name_off + w->name_len > names_len || w->name_len == 0 || w->name_len > NAME_MAX || w->size < 0) { o->reason = RS_OTHER; return 0; }
    /* The whole file must be here and exactly right before anything is claimed or written. */
    uint32_t q = p + READ_FRAME_HEADER;
    uint64_t got = 0;
    int complete = 0;
    while (!complete) {
      if (len - q < READ_FRAME_HEADER) { o->reason = RS_PARTIAL; return 0; }
      const uint8_t *f = buf + q;
      uint64_t flen = be64(f + 9);
      if (be64(f + 1) != index) { o->reason = RS_OTHER; return 0; }
      if (f[0] == 2) {
        if (flen == 0 || flen > RECV_MAX_DATA || got + flen > (uint64_t)w->size) { o->reason = RS_OTHER; return 0; }
        if ((uint64_t)(len - q - READ_FRAME_HEADER) < flen) { o->reason = RS_PARTIAL; return 0; }
        got += flen;
        q += READ_FRAME_HEADER + (uint32_t)flen;
      } else if (f[0] == 3 && flen == 0 && got == (uint64_t)w->size) {
        q += READ_FRAME_HEADER;
        complete = 1;
      } else {
        o->reason = RS_OTHER;
        return 0;
      }
    }
    if (w->slot < claim_base || w->slot - claim_base >= claim_len) { o->reason = RS_CHUNK; o->aux = w->slot; return 0; }
    if (w->dir_id >= ndirs || dir_fds[w->dir_id] == -1) { o->reason = RS_DIR; o->aux = w->dir_id; return 0; }
    if (o->files >= out_cap) { o->reason = RS_FULL; return 0; }
    int32_t expected = 0;
    if (!__atomic_compare_exchange_n(&claims[w->slot - claim_base], &expected, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) { o->reason = RS_OTHER; return 0; }
    /* Claimed: from here the file is this call's, written or failed. */
    struct recv_file *rf = &files[o->files++];
    rf->index = (double)index;
    rf->err = 0;
    rf->step = 0;
    struct result r;
    memset(&r, 0, sizeof(r));
    int dfd = dir_fds[w->dir_id];
    const char *name = (const char *)names + w->name_off;
    uint32_t part = w->name_len > TEMP_NAME_PART_MAX ? TEMP_NAME_PART_MAX : w->name_len;
    memcpy(final, name, w->name_len);
    final[w->name_len] = 0;
    memcpy(tmp, ".blit.", 6);
    memcpy(tmp + 6, name, part);
    snprintf(tmp + 6 + part, 19, ".%06x%06x.tmp", temp_prefix & 0xffffff, (temp_counter + o->files - 1) & 0xffffff);
    if (dfd <= -1000) {
      rf->err = -(dfd + 1000);
      rf->step = STEP_OPEN_DST;
    } else if (memchr(name, '/', w->name_len) || memchr(name, 0, w->name_len)) {
      rf->err = EINVAL;
      rf->step = STEP_PATH;
    } else {
      uint32_t created_mode = w->mode & 0777;
      int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)created_mode);
      if (fd < 0) {
        rf->err = errno;
        rf->step = STEP_OPEN_DST;
      } else {
        /* The DATA payloads, in order, at their offsets. */
        uint32_t d = p + READ_FRAME_HEADER;
        off_t at = 0;
        int werr = 0;
        while (!werr && (uint64_t)at < (uint64_t)w->size) {
          size_t n = (size_t)be64(buf + d + 9);
          const char *src = (const char *)buf + d + READ_FRAME_HEADER;
          size_t put = 0;
          while (put < n) {
            ssize_t k = pwrite(fd, src + put, n - put, at + (off_t)put);
            if (k < 0) {
              if (errno == EINTR) continue;
              werr = errno;
              break;
            }
            put += (size_t)k;
          }
          at += (off_t)n;
          d += READ_FRAME_HEADER + (uint32_t)n;
        }
        if (werr) {
          close(fd);
          unlinkat(dfd, tmp, 0);
          rf->err = werr;
          rf->step = STEP_WRITE;
        } else {
          struct timespec mt = {w->mtime_ns / 1000000000LL, w->mtime_ns % 1000000000LL};
          if (mt.tv_nsec < 0) {
            mt.tv_nsec += 1000000000LL;
            mt.tv_sec -= 1;
          }
          if (commit_at(dfd, fd, tmp, final, w->mode, created_mode, w->uid, w->gid, &mt, opts, umask_bits, &r) < 0) {
            rf->err = r.err;
            rf->step = r.step;
          } else {
            o->bytes += (double)w->size;
          }
        }
      }
    }
    p = q;
  }
}
