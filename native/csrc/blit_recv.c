/* blit_recv.c: a receiving worker's small files, one call per read buffer (blit_recv_small) (part of libblit_native.so; overview in blit_batch.c). */
#include "blit_internal.h"

/*
 * blit_recv_small (bound on its own, like blit_open_beneath): the receiving worker's small files,
 * one call per read buffer. Scans buf[0..len) frame by frame; every file that is expected here
 * (row_of[index] >= 0), whose frames FILE_START, DATA..., FILE_END are all in the buffer, well
 * formed, of the row's exact size, and whose claim cell it wins, is written at once from the
 * buffer (AtomicFile's steps: O_EXCL temp in its directory fd, data, fchown (owner_differs)/fchmod/futimens,
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
  struct owner_memo owners = {0};
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
    } else if ((rf->err = bad_entry_name(name, w->name_len)) != 0) {
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
          int chown_it = (opts & OPT_PRESERVE_OWNER) && owner_differs(&owners, w->dir_id, NULL, 0, fd, w->uid, w->gid);
          if (commit_at(dfd, fd, tmp, final, w->mode, created_mode, w->uid, w->gid, chown_it, &mt, umask_bits, &r) < 0) {
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
