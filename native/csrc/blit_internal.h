/*
 * Internal to the native library (native/build/libblit_native.so): what its source files share.
 * Nothing here is exported; the entry points are declared in each .c file and bound in
 * native/src/batch.ts. See blit_batch.c for the overview.
 */
#ifndef BLIT_INTERNAL_H
#define BLIT_INTERNAL_H

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
  STEP_PATH = 11 /* a path longer than PATH_MAX (ENAMETOOLONG), or not one entry name beside a directory fd (bad_entry_name) */
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

/* A data-plane frame header: type (1 byte), index (u64 BE), length (u64 BE). */
#define READ_FRAME_HEADER 17

/* Output record, one per file, 32 bytes. */
struct result {
  int32_t status;
  int32_t err;
  int32_t step;
  int32_t reserved;
  int64_t bytes;
  double done_ms; /* CLOCK_REALTIME ms when its data was written (Date.now() scale) */
};

/*
 * How many sources one call may hold open ahead of its copy/read loop: a sixteenth of
 * RLIMIT_NOFILE (1,250 at 20,000: no cap for a batch of at most 512 files). Several workers read
 * ahead at once, and the walk, the destination temps and the sockets need descriptors too: with
 * one fd per batch file a low limit (ulimit -n 128) made a local copy of a wide tree fail with
 * EMFILE in the walk's scandir or a temp's open. Files past the cap are opened in turn.
 */
static inline uint32_t ahead_fd_cap(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur / 16 >= MAX_FILES) return MAX_FILES;
  return (uint32_t)(rl.rlim_cur / 16);
}

static inline double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Node's mtimeMs of a timespec, computed as the engine's msFromNs does (compare.ts). */
static inline double ms_of(const struct timespec *t) {
  return (double)t->tv_sec * 1e3 + (double)t->tv_nsec / 1e6;
}

static inline int64_t ns_of(const struct timespec *t) {
  return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/*
 * 0 when name[0..len) is one entry name a directory fd can address without leaving the directory
 * it pins; else the errno to fail the file with at step 'path': EINVAL for '', '.', '..', a '/'
 * or a NUL (C would cut the name there), ENAMETOOLONG past NAME_MAX. The check of every name
 * written relative to a directory fd (blit_write_batch's dirfd records, blit_recv_small).
 */
static inline int bad_entry_name(const char *name, uint32_t len) {
  if (len > NAME_MAX) return ENAMETOOLONG;
  if (len == 0 || (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))) return EINVAL;
  if (memchr(name, '/', len) || memchr(name, 0, len)) return EINVAL;
  return 0;
}

/*
 * The owner a file gets when this process creates it in one directory, learnt from the first file
 * created there in a call (one fstat of its fresh temp) and reused for the directory's next files,
 * so fchown runs only when the created owner is not the wanted one (root:root files in a
 * directory that is not setgid, the common root run: no fchown at all). The created owner depends
 * only on the directory and the creator: the fsuid (or what NFS squashing makes of it), and the
 * directory's group when it is setgid (or mounted grpid), else the fsgid; sampling the file itself
 * covers all of these. A directory is keyed by `id` (a directory fd or id; -1 for none) and its
 * path bytes (NULL/0 for none) as the record names it; the bytes stay valid for the call.
 */
struct owner_memo {
  int known;
  int64_t id;
  const char *dir;
  uint32_t dir_len;
  uint32_t uid;
  uint32_t gid;
};

/* 1: fd (just created in the keyed directory) needs fchown to uid:gid, 0: it already has them. */
static inline int owner_differs(struct owner_memo *m, int64_t id, const char *dir, uint32_t dir_len, int fd, uint32_t uid, uint32_t gid) {
  if (!m->known || m->id != id || m->dir_len != dir_len || (dir_len && memcmp(m->dir, dir, dir_len) != 0)) {
    struct stat st;
    if (fstat(fd, &st) < 0) return 1; /* never seen; chowning is always right */
    m->known = 1;
    m->id = id;
    m->dir = dir;
    m->dir_len = dir_len;
    m->uid = (uint32_t)st.st_uid;
    m->gid = (uint32_t)st.st_gid;
  }
  return m->uid != uid || m->gid != gid;
}

static inline int fail(struct result *r, int step) {
  r->status = ST_FAILED;
  r->err = errno;
  r->step = step;
  return -1;
}

#define BLIT_HIDDEN __attribute__((visibility("hidden")))

/* blit_batch.c: the AtomicFile steps and the source opens every batch uses. */
BLIT_HIDDEN int commit_at(int at, int dfd, const char *tmp, const char *final, uint32_t mode, uint32_t created_mode, uint32_t uid, uint32_t gid, int chown_it, const struct timespec *mtime, uint32_t umask_bits, struct result *r);
BLIT_HIDDEN int open_src_at(int dirfd, const char *path, uint32_t opts);
BLIT_HIDDEN int open_src_rec(char *buf, const char *bytes, uint32_t len, uint32_t opts);
/* blit_scan.c: the scan of an open directory fd (closed there). */
BLIT_HIDDEN int scan_fd(int fd, uint8_t *out, uint64_t out_len, uint64_t *id);
/* blit_beneath.c: openat2 with a bounded retry on EAGAIN. */
BLIT_HIDDEN int openat2_retry(int dirfd, const char *path, uint64_t flags, uint32_t resolve);

#endif
