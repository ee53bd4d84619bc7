/* blit_beneath.c: opens contained beneath a directory fd and directory metadata (blit_open_beneath, blit_dir_meta_*) (part of libblit_native.so; overview in blit_batch.c). */
#include "blit_internal.h"

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
int openat2_retry(int dirfd, const char *path, uint64_t flags, uint32_t resolve) {
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
