/*
 * buf.h - the one growable byte buffer used everywhere (after git's strbuf).
 *
 * data is always NUL-terminated once anything has been added, so a buf
 * holding text can be passed to string functions directly; len never counts
 * the terminator. A zeroed struct buf is a valid empty buffer.
 */
#ifndef CX_BUF_H
#define CX_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Makes room for extra more bytes (and the terminator). */
void buf_reserve(struct buf *b, size_t extra);

/* Appending is inline, the growing not: the encoders append a few bytes
 * at a time, millions of times per large reply. */
static inline void buf_append(struct buf *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap)
        buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

static inline void buf_putc(struct buf *b, char c)
{
    if (b->len + 2 > b->cap)
        buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Appends i in decimal (the codecs' hot path: no printf). */
void buf_put_int64(struct buf *b, int64_t i);
/* Formats f into tmp with the fewest digits (15 to 17) that read back as
 * the same double, so 0.1 stays "0.1"; non-finite values come out as
 * inf/-inf/nan. Returns the length. size >= 32. */
int buf_format_double(char *tmp, size_t size, double f);
/* Drops the first n bytes, keeping the rest (for consumed input). */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
/* Drops everything after the first n bytes. */
void buf_truncate(struct buf *b, size_t n);
void buf_free(struct buf *b);
/* Hands the malloc'd contents to the caller and leaves b empty. */
char *buf_detach(struct buf *b, size_t *len);

#endif
