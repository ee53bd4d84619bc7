/* blit_scan.c: one directory in one call (blit_scan_dir, blit_scan_dir_at) (part of libblit_native.so; overview in blit_batch.c). */
#include "blit_internal.h"

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
 *
 * `id` (ABI 8): the scanned directory's own st_dev and st_ino (fstat of the fd the scan read, so
 * the identity of what was listed, not of whatever the path names a moment later), written before
 * the listing; 0, 0 if that fstat fails. The admin walk compares it with the directories on its
 * path to skip a directory that is its own ancestor (a bind mount of a tree inside itself), as
 * GNU du/find do; once per directory, so the 64-byte entry record stays as it is.
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

int blit_scan_dir(const char *path, uint8_t *out, uint64_t out_len, uint32_t follow, uint64_t *id) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
  if (fd < 0) return -errno;
  return scan_fd(fd, out, out_len, id);
}

/* The scan of an open directory fd (closed here): blit_scan_dir and blit_scan_dir_at. */
int scan_fd(int fd, uint8_t *out, uint64_t out_len, uint64_t *id) {
  static __thread char link[PATH_MAX];
  static __thread char *names;      /* NUL-terminated names, then their d_type byte */
  static __thread size_t names_cap;
  static __thread uint32_t *offs;
  static __thread size_t offs_cap;
  struct stat self;
  if (fstat(fd, &self) == 0) id[0] = (uint64_t)self.st_dev, id[1] = (uint64_t)self.st_ino;
  else id[0] = 0, id[1] = 0;
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
 * blit_scan_dir_at (ABI 5): blit_scan_dir of directory `path` opened relative to `dirfd` with
 * openat2(O_RDONLY|O_DIRECTORY|O_CLOEXEC, resolve): the daemon's contained listings pass the module
 * root's fd and RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_SYMLINKS, so a directory swapped
 * for a symlink fails the open (EXDEV/ELOOP) and the entries are lstat'ed relative to the fd this
 * open returned: one syscall per directory where the daemon used to open an O_PATH fd beneath
 * the root and then its /proc/self/fd/N magic link. Returns what blit_scan_dir returns (-errno of
 * the openat2 included), and the directory's identity in `id` as blit_scan_dir does.
 */
int blit_scan_dir_at(int dirfd, const char *path, uint8_t *out, uint64_t out_len, uint32_t resolve, uint64_t *id) {
  int fd = openat2_retry(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, resolve);
  if (fd < 0) return -errno;
  return scan_fd(fd, out, out_len, id);
}
