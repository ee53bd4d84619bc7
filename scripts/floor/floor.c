/* Kernel floor for blit's benchmarks: the least work a copier has to do, in plain C.
 *
 *   floor net SRC DST [STREAMS]   SRC's tree -> DST over loopback TCP; this process is the sender,
 *                                 a forked child the receiver; STREAMS connections (default 2)
 *   floor local SRC DST           one thread, SRC's tree -> DST on the same machine
 *
 * DST must not exist or be an empty directory (both benches give a fresh one). What both modes do,
 * and nothing else:
 * - walk SRC: getdents64 on each directory, fstat of each opened file (fstatat for symlinks);
 * - regular files: read into a batch buffer (net: many small files per socket write; a file over
 *   SMALL_MAX goes by sendfile), the receiver reads the socket into one reused buffer per stream
 *   (splice socket -> pipe -> file for a file over SMALL_MAX);
 * - every file and symlink is created under a temp name in its directory (O_CREAT|O_EXCL),
 *   written, its mtime set (futimens), closed and renamed to its real name: blit's promise (no
 *   partial file under a real name), no fsync (blit does not fsync either);
 * - directories: mode and mtime set after their contents, deepest first; file modes as in SRC.
 * No checksums, no manifest, no need-list, no protocol beyond framing, no bound checks on what the
 * peer sends (both ends are this program): it is a floor to compare with, not a tool.
 * Layout (net): one walker thread on the sender hands whole directories to STREAMS sender threads
 * (one socket each); on the receiver one thread per socket creates the files of the directories
 * it is given (a directory's files all go through one stream).
 * Output: nothing on success; an error names the call and the path, exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <unistd.h>

#define SMALL_MAX (128 << 10)   /* larger files: sendfile / splice */
#define SEND_BUF (256 << 10)    /* sender batch buffer */
#define RECV_BUF (1 << 20)      /* receiver's reused socket buffer */
#define PIPE_SZ (1 << 20)
#define MAX_STREAMS 8

static void die(const char *what, const char *path) {
  fprintf(stderr, "floor: %s%s%s: %s\n", what, path ? " " : "", path ? path : "", strerror(errno));
  exit(1);
}
static void *xmalloc(size_t n) { void *p = malloc(n); if (!p) die("malloc", 0); return p; }

/* ---- frames ----------------------------------------------------------------------------------- */
enum { T_DIR = 'D', T_FILE = 'F', T_LINK = 'L', T_END = 'E' };
struct hdr {           /* followed by namelen bytes of name, then size bytes of data */
  uint8_t type, pad;
  uint16_t namelen;    /* T_DIR: path relative to the root ("." = root); else a name in that dir */
  uint32_t mode;
  uint64_t size;       /* T_FILE: content length; T_LINK: target length */
  int64_t sec;
  uint32_t nsec, pad2;
};

/* ---- walking ---------------------------------------------------------------------------------- */
struct job {           /* one directory: its fd, its path, its entries (name + d_type) */
  struct job *next;
  int fd;
  char *rel;
  struct stat st;
  char *names;         /* d_type byte, name, NUL; repeated */
  size_t nlen;
};

static int getdents_all(int fd, char **out, size_t *outlen, const char *rel) {
  static __thread char buf[64 << 10];
  size_t cap = 4096, len = 0;
  char *names = xmalloc(cap);
  for (;;) {
    long n = getdents64(fd, buf, sizeof buf);
    if (n < 0) die("getdents64", rel);
    if (n == 0) break;
    for (long off = 0; off < n;) {
      struct dirent64 *d = (struct dirent64 *)(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] == '.' && (!d->d_name[1] || (d->d_name[1] == '.' && !d->d_name[2]))) continue;
      size_t l = strlen(d->d_name);
      if (len + l + 2 > cap) { cap = 2 * cap + l; names = realloc(names, cap); if (!names) die("realloc", 0); }
      names[len++] = d->d_type;
      memcpy(names + len, d->d_name, l + 1);
      len += l + 1;
    }
  }
  *out = names; *outlen = len;
  return 0;
}

static unsigned char entry_type(int dfd, const char *name, unsigned char t, const char *rel) {
  if (t != DT_UNKNOWN) return t;
  struct stat st;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) die("fstatat", rel);
  return S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : S_ISLNK(st.st_mode) ? DT_LNK : DT_UNKNOWN;
}

static char *join(const char *rel, const char *name) {
  if (!strcmp(rel, ".")) return strdup(name);
  char *p = xmalloc(strlen(rel) + strlen(name) + 2);
  sprintf(p, "%s/%s", rel, name);
  return p;
}

static struct job *open_job(int parentfd, const char *name, char *rel) {
  struct job *j = calloc(1, sizeof *j);
  j->rel = rel;
  j->fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (j->fd < 0) die("open", rel);
  if (fstat(j->fd, &j->st) < 0) die("fstat", rel);
  getdents_all(j->fd, &j->names, &j->nlen, rel);
  return j;
}

/* ---- sender ----------------------------------------------------------------------------------- */
static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcv = PTHREAD_COND_INITIALIZER;
static struct job *qhead, *qtail;
static int walk_done;

static void push_job(struct job *j) {
  pthread_mutex_lock(&qmu);
  if (qtail) qtail->next = j; else qhead = j;
  qtail = j;
  pthread_cond_signal(&qcv);
  pthread_mutex_unlock(&qmu);
}
static struct job *pop_job(void) {
  pthread_mutex_lock(&qmu);
  while (!qhead && !walk_done) pthread_cond_wait(&qcv, &qmu);
  struct job *j = qhead;
  if (j) { qhead = j->next; if (!qhead) qtail = 0; }
  pthread_mutex_unlock(&qmu);
  return j;
}

/* The walker: depth-first, each directory read once; its entries travel with the job, and the
 * job is handed over as soon as the directory is read (the stack holds paths, not descriptors). */
static void walk(const char *src) {
  int srcfd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (srcfd < 0) die("open", src);
  int cap = 1024, n = 0;
  char **stack = xmalloc(cap * sizeof *stack);
  stack[n++] = strdup(".");
  while (n) {
    char *rel = stack[--n];
    struct job *j = open_job(srcfd, rel, rel);
    for (size_t off = 0; off < j->nlen;) {
      unsigned char t = j->names[off];
      const char *name = j->names + off + 1;
      off += strlen(name) + 2;
      if (entry_type(j->fd, name, t, j->rel) != DT_DIR) continue;
      if (n == cap) { cap *= 2; stack = realloc(stack, cap * sizeof *stack); }
      stack[n++] = join(j->rel, name);
    }
    push_job(j);
  }
  free(stack);
  close(srcfd);
  pthread_mutex_lock(&qmu);
  walk_done = 1;
  pthread_cond_broadcast(&qcv);
  pthread_mutex_unlock(&qmu);
}

struct sender { int sock; char *buf; size_t len; };

static void write_all(int fd, const char *p, size_t n, const char *what) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) { if (errno == EINTR) continue; die(what, 0); }
    p += w; n -= w;
  }
}
static void flush(struct sender *s) { write_all(s->sock, s->buf, s->len, "write socket"); s->len = 0; }
static char *reserve(struct sender *s, size_t n) {
  if (s->len + n > SEND_BUF) flush(s);
  char *p = s->buf + s->len;
  s->len += n;
  return p;
}
static void put_hdr(struct sender *s, int type, const char *name, const struct stat *st, uint64_t size) {
  size_t nl = strlen(name);
  struct hdr h = { .type = type, .namelen = nl, .mode = st ? st->st_mode : 0, .size = size,
                   .sec = st ? st->st_mtim.tv_sec : 0, .nsec = st ? st->st_mtim.tv_nsec : 0 };
  char *p = reserve(s, sizeof h + nl);
  memcpy(p, &h, sizeof h);
  memcpy(p + sizeof h, name, nl);
}

static void send_file(struct sender *s, int dfd, const char *name, const char *rel) {
  int fd = openat(dfd, name, O_RDONLY | O_NOATIME | O_CLOEXEC);
  if (fd < 0 && errno == EPERM) fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open", name);
  struct stat st;
  if (fstat(fd, &st) < 0) die("fstat", name);
  uint64_t size = st.st_size;
  if (size <= SMALL_MAX) {
    size_t nl = strlen(name);
    if (s->len + sizeof(struct hdr) + nl + size > SEND_BUF) flush(s);
    put_hdr(s, T_FILE, name, &st, size);
    char *p = reserve(s, size);
    for (uint64_t got = 0; got < size;) {
      ssize_t r = read(fd, p + got, size - got);
      if (r < 0) { if (errno == EINTR) continue; die("read", name); }
      if (r == 0) { errno = EIO; die("file shrank while read", name); }
      got += r;
    }
  } else {
    put_hdr(s, T_FILE, name, &st, size);
    flush(s);
    off_t off = 0;
    while ((uint64_t)off < size) {
      ssize_t w = sendfile(s->sock, fd, &off, size - off > (1 << 30) ? (1 << 30) : size - off);
      if (w < 0) { if (errno == EINTR) continue; die("sendfile", name); }
      if (w == 0) { errno = EIO; die("file shrank while sent", name); }
    }
  }
  (void)rel;
  close(fd);
}

static void *sender_thread(void *arg) {
  struct sender s = { .sock = (int)(long)arg, .buf = xmalloc(SEND_BUF) };
  struct job *j;
  while ((j = pop_job())) {
    put_hdr(&s, T_DIR, j->rel, &j->st, 0);
    for (size_t off = 0; off < j->nlen;) {
      unsigned char t = j->names[off];
      const char *name = j->names + off + 1;
      off += strlen(name) + 2;
      t = entry_type(j->fd, name, t, j->rel);
      if (t == DT_REG) send_file(&s, j->fd, name, j->rel);
      else if (t == DT_LNK) {
        struct stat st;
        char target[4096];
        if (fstatat(j->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) die("fstatat", name);
        ssize_t l = readlinkat(j->fd, name, target, sizeof target);
        if (l < 0) die("readlink", name);
        put_hdr(&s, T_LINK, name, &st, l);
        memcpy(reserve(&s, l), target, l);
      } else if (t != DT_DIR) fprintf(stderr, "floor: skipped (not a file, directory or symlink): %s/%s\n", j->rel, name);
    }
    close(j->fd);
    free(j->names); free(j->rel); free(j);
  }
  put_hdr(&s, T_END, "", 0, 0);
  flush(&s);
  close(s.sock);
  free(s.buf);
  return 0;
}

/* ---- receiver --------------------------------------------------------------------------------- */
struct dirfix { char *rel; uint32_t mode; struct timespec mtime; int depth; };
struct receiver {
  int sock, root, cur, pipe[2];
  char *buf; size_t pos, end;
  struct dirfix *dirs; size_t ndirs, capdirs;
  unsigned id;
};

static void fill(struct receiver *r, size_t n) { /* at least n bytes in buf[pos..end) */
  if (r->end - r->pos >= n) return;
  memmove(r->buf, r->buf + r->pos, r->end - r->pos);
  r->end -= r->pos; r->pos = 0;
  while (r->end < n) {
    ssize_t g = read(r->sock, r->buf + r->end, RECV_BUF - r->end);
    if (g < 0) { if (errno == EINTR) continue; die("read socket", 0); }
    if (g == 0) { errno = EPROTO; die("stream ended early", 0); }
    r->end += g;
  }
}

static void mkdir_p(int root, char *rel) {
  if (mkdirat(root, rel, 0700) == 0 || errno == EEXIST) return;
  if (errno != ENOENT) die("mkdir", rel);
  char *slash = strrchr(rel, '/');
  if (!slash) die("mkdir", rel);
  *slash = 0; mkdir_p(root, rel); *slash = '/';
  if (mkdirat(root, rel, 0700) < 0 && errno != EEXIST) die("mkdir", rel);
}

static void tmpname(char *out, size_t cap, const char *name, unsigned id) {
  snprintf(out, cap, ".floor.%s.%u.tmp", name, id);
}

static void commit(struct receiver *r, const char *tmp, const char *name) {
  if (renameat(r->cur, tmp, r->cur, name) < 0) die("rename", name);
}

static void recv_file(struct receiver *r, const struct hdr *h, const char *name) {
  char tmp[4200];
  tmpname(tmp, sizeof tmp, name, r->id);
  int fd = openat(r->cur, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, h->mode & 07777);
  if (fd < 0) die("create", tmp);
  uint64_t size = h->size;
  if (size <= SMALL_MAX) {
    fill(r, size);
    if (size) write_all(fd, r->buf + r->pos, size, "write file");
    r->pos += size;
  } else {
    size_t have = r->end - r->pos;
    if (have > size) have = size;
    write_all(fd, r->buf + r->pos, have, "write file");
    r->pos += have;
    loff_t off = have;
    if (r->pipe[0] < 0) {
      if (pipe2(r->pipe, O_CLOEXEC) < 0) die("pipe", 0);
      fcntl(r->pipe[1], F_SETPIPE_SZ, PIPE_SZ);
    }
    while ((uint64_t)off < size) {
      size_t want = size - off > PIPE_SZ ? PIPE_SZ : size - off;
      ssize_t in = splice(r->sock, 0, r->pipe[1], 0, want, SPLICE_F_MOVE);
      if (in < 0) { if (errno == EINTR) continue; die("splice socket", name); }
      if (in == 0) { errno = EPROTO; die("stream ended early", name); }
      while (in > 0) {
        ssize_t o = splice(r->pipe[0], 0, fd, &off, in, SPLICE_F_MOVE);
        if (o < 0) { if (errno == EINTR) continue; die("splice file", name); }
        in -= o;
      }
    }
  }
  struct timespec ts[2] = { { 0, UTIME_OMIT }, { h->sec, h->nsec } };
  if (futimens(fd, ts) < 0) die("futimens", tmp);
  if (close(fd) < 0) die("close", tmp);
  commit(r, tmp, name);
}

static void *receiver_thread(void *arg) {
  struct receiver *r = arg;
  r->buf = xmalloc(RECV_BUF);
  r->pipe[0] = r->pipe[1] = -1;
  r->cur = -1;
  char name[4096];
  for (;;) {
    fill(r, sizeof(struct hdr));
    struct hdr h;
    memcpy(&h, r->buf + r->pos, sizeof h);
    r->pos += sizeof h;
    fill(r, h.namelen);
    memcpy(name, r->buf + r->pos, h.namelen);
    name[h.namelen] = 0;
    r->pos += h.namelen;
    if (h.type == T_END) break;
    if (h.type == T_DIR) {
      mkdir_p(r->root, name);
      if (r->cur >= 0) close(r->cur);
      r->cur = openat(r->root, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (r->cur < 0) die("open", name);
      if (r->ndirs == r->capdirs) {
        r->capdirs = r->capdirs ? 2 * r->capdirs : 256;
        r->dirs = realloc(r->dirs, r->capdirs * sizeof *r->dirs);
      }
      int depth = 0;
      for (char *c = name; *c; c++) depth += *c == '/';
      r->dirs[r->ndirs++] = (struct dirfix){ strdup(name), h.mode, { h.sec, h.nsec }, depth };
    } else if (h.type == T_FILE) {
      recv_file(r, &h, name);
    } else if (h.type == T_LINK) {
      char target[4096], tmp[4200];
      fill(r, h.size);
      memcpy(target, r->buf + r->pos, h.size);
      target[h.size] = 0;
      r->pos += h.size;
      tmpname(tmp, sizeof tmp, name, r->id);
      if (symlinkat(target, r->cur, tmp) < 0) die("symlink", tmp);
      struct timespec ts[2] = { { 0, UTIME_OMIT }, { h.sec, h.nsec } };
      if (utimensat(r->cur, tmp, ts, AT_SYMLINK_NOFOLLOW) < 0) die("utimensat", tmp);
      commit(r, tmp, name);
    } else { errno = EPROTO; die("bad frame", 0); }
  }
  if (r->cur >= 0) close(r->cur);
  close(r->sock);
  free(r->buf);
  return 0;
}

static int by_depth_desc(const void *a, const void *b) {
  return ((const struct dirfix *)b)->depth - ((const struct dirfix *)a)->depth;
}

static void fix_dirs(int root, struct dirfix *d, size_t n) {
  qsort(d, n, sizeof *d, by_depth_desc);
  for (size_t i = 0; i < n; i++) {
    if (fchmodat(root, d[i].rel, d[i].mode & 07777, 0) < 0) die("chmod", d[i].rel);
    struct timespec ts[2] = { { 0, UTIME_OMIT }, d[i].mtime };
    if (utimensat(root, d[i].rel, ts, 0) < 0) die("utimensat", d[i].rel);
  }
}

static int run_receiver(int lsock, const char *dst, int streams) {
  if (mkdir(dst, 0700) < 0 && errno != EEXIST) die("mkdir", dst);
  int root = open(dst, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) die("open", dst);
  struct receiver rs[MAX_STREAMS];
  pthread_t th[MAX_STREAMS];
  for (int i = 0; i < streams; i++) {
    memset(&rs[i], 0, sizeof rs[i]);
    rs[i].root = root;
    rs[i].id = i;
    rs[i].sock = accept4(lsock, 0, 0, SOCK_CLOEXEC);
    if (rs[i].sock < 0) die("accept", 0);
  }
  close(lsock);
  for (int i = 0; i < streams; i++) pthread_create(&th[i], 0, receiver_thread, &rs[i]);
  size_t n = 0;
  for (int i = 0; i < streams; i++) { pthread_join(th[i], 0); n += rs[i].ndirs; }
  struct dirfix *all = xmalloc((n + 1) * sizeof *all);
  n = 0;
  for (int i = 0; i < streams; i++) { memcpy(all + n, rs[i].dirs, rs[i].ndirs * sizeof *all); n += rs[i].ndirs; }
  fix_dirs(root, all, n);
  return 0;
}

static int run_net(const char *src, const char *dst, int streams) {
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t al = sizeof a;
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, MAX_STREAMS) < 0 ||
      getsockname(l, (struct sockaddr *)&a, &al) < 0) die("listen", 0);
  pid_t pid = fork();
  if (pid < 0) die("fork", 0);
  if (pid == 0) _exit(run_receiver(l, dst, streams));
  close(l);
  pthread_t th[MAX_STREAMS];
  for (int i = 0; i < streams; i++) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) die("connect", 0);
    pthread_create(&th[i], 0, sender_thread, (void *)(long)s);
  }
  walk(src);
  for (int i = 0; i < streams; i++) pthread_join(th[i], 0);
  int status;
  if (waitpid(pid, &status, 0) < 0) die("waitpid", 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status)) { fprintf(stderr, "floor: receiver failed\n"); return 1; }
  return 0;
}

/* ---- local: one thread, same rules --------------------------------------------------------- */
static char copybuf[1 << 20];

static void copy_tree(int sfd, int dfd, const char *rel) {
  char *names; size_t nlen;
  getdents_all(sfd, &names, &nlen, rel);
  for (size_t off = 0; off < nlen;) {
    unsigned char t = names[off];
    const char *name = names + off + 1;
    off += strlen(name) + 2;
    t = entry_type(sfd, name, t, rel);
    char tmp[4200];
    tmpname(tmp, sizeof tmp, name, 0);
    if (t == DT_REG) {
      int in = openat(sfd, name, O_RDONLY | O_NOATIME | O_CLOEXEC);
      if (in < 0 && errno == EPERM) in = openat(sfd, name, O_RDONLY | O_CLOEXEC);
      struct stat st;
      if (in < 0 || fstat(in, &st) < 0) die("open", name);
      int out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
      if (out < 0) die("create", tmp);
      for (;;) {
        ssize_t r = read(in, copybuf, sizeof copybuf);
        if (r < 0) { if (errno == EINTR) continue; die("read", name); }
        if (r == 0) break;
        write_all(out, copybuf, r, "write file");
      }
      struct timespec ts[2] = { { 0, UTIME_OMIT }, st.st_mtim };
      if (futimens(out, ts) < 0) die("futimens", tmp);
      if (close(out) < 0) die("close", tmp);
      close(in);
      if (renameat(dfd, tmp, dfd, name) < 0) die("rename", name);
    } else if (t == DT_LNK) {
      char target[4096];
      struct stat st;
      ssize_t l = readlinkat(sfd, name, target, sizeof target - 1);
      if (l < 0 || fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) die("readlink", name);
      target[l] = 0;
      if (symlinkat(target, dfd, tmp) < 0) die("symlink", tmp);
      struct timespec ts[2] = { { 0, UTIME_OMIT }, st.st_mtim };
      if (utimensat(dfd, tmp, ts, AT_SYMLINK_NOFOLLOW) < 0) die("utimensat", tmp);
      if (renameat(dfd, tmp, dfd, name) < 0) die("rename", name);
    } else if (t == DT_DIR) {
      int s = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (s < 0) die("open", name);
      if (mkdirat(dfd, name, 0700) < 0) die("mkdir", name);
      int d = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (d < 0) die("open", name);
      copy_tree(s, d, name);
      struct stat st;
      if (fstat(s, &st) < 0) die("fstat", name);
      struct timespec ts[2] = { { 0, UTIME_OMIT }, st.st_mtim };
      if (fchmod(d, st.st_mode & 07777) < 0 || futimens(d, ts) < 0) die("set dir attributes", name);
      close(s); close(d);
    } else fprintf(stderr, "floor: skipped (not a file, directory or symlink): %s/%s\n", rel, name);
  }
  free(names);
}

static int run_local(const char *src, const char *dst) {
  int s = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s < 0) die("open", src);
  if (mkdir(dst, 0700) < 0 && errno != EEXIST) die("mkdir", dst);
  int d = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) die("open", dst);
  copy_tree(s, d, ".");
  struct stat st;
  if (fstat(s, &st) < 0) die("fstat", src);
  struct timespec ts[2] = { { 0, UTIME_OMIT }, st.st_mtim };
  if (fchmod(d, st.st_mode & 07777) < 0 || futimens(d, ts) < 0) die("set dir attributes", dst);
  return 0;
}

int main(int argc, char **argv) {
  umask(0);
  if (argc >= 4 && !strcmp(argv[1], "net")) {
    int streams = argc > 4 ? atoi(argv[4]) : 2;
    if (streams < 1 || streams > MAX_STREAMS) { fprintf(stderr, "floor: STREAMS must be 1..%d\n", MAX_STREAMS); return 2; }
    return run_net(argv[2], argv[3], streams);
  }
  if (argc == 4 && !strcmp(argv[1], "local")) return run_local(argv[2], argv[3]);
  fprintf(stderr, "usage: floor net SRC DST [STREAMS] | floor local SRC DST\n");
  return 2;
}
