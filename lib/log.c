/*
 * log.c - line logger. The line is built in a local buffer and written
 * with one write() per destination, which is what keeps lines whole.
 */
#include "log.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct {
    pthread_mutex_t lock; /* guards reopening, not writing */
    char daemon[32];
    int fd;
    bool to_stderr;
    enum log_level min;
} log_state = {PTHREAD_MUTEX_INITIALIZER, "cxapi", -1, true, LOG_INFO};

static const char *const log_level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

int log_open(const char *daemon, const char *path, bool to_stderr)
{
    int fd = -1;
    if (path) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return -1;
    }
    pthread_mutex_lock(&log_state.lock);
    snprintf(log_state.daemon, sizeof(log_state.daemon), "%s", daemon);
    int old = log_state.fd;
    log_state.fd = fd;
    log_state.to_stderr = to_stderr;
    pthread_mutex_unlock(&log_state.lock);
    if (old >= 0)
        close(old);
    return 0;
}

void log_close(void)
{
    pthread_mutex_lock(&log_state.lock);
    int old = log_state.fd;
    log_state.fd = -1;
    pthread_mutex_unlock(&log_state.lock);
    if (old >= 0)
        close(old);
}

void log_set_level(enum log_level min)
{
    log_state.min = min;
}

int log_level_parse(const char *s)
{
    static const char *const lower[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, lower[i]) == 0)
            return i;
    return -1;
}

/* Where a text of len bytes is cut to at most max: not inside a UTF-8
 * sequence, so a cut line stays valid text. */
static size_t log_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--;
    return cut;
}

/* The marker that ends a text cut short, saying how much was left out. */
static void log_marker(struct buf *out, size_t left_out)
{
    buf_printf(out, "...[%zu more bytes]", left_out);
}

/* Appends s (len bytes) escaped, and cut, with a marker, once the
 * escaped text would pass max bytes. */
static void log_escape(struct buf *out, const char *s, size_t len, size_t max)
{
    size_t start = out->len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (out->len - start >= max && ((c & 0xc0) != 0x80)) {
            log_marker(out, len - i);
            return;
        }
        if (c == '\n')
            buf_puts(out, "\\n");
        else if (c < 0x20 || c == 0x7f)
            buf_printf(out, "\\x%02x", c);
        else
            buf_putc(out, (char)c);
    }
}

const char *log_field(char out[LOG_FIELD_BUF], const char *s)
{
    if (!s)
        return "(null)";
    size_t len = strnlen(s, LOG_FIELD_MAX + 1);
    if (len <= LOG_FIELD_MAX)
        return s;
    len += strlen(s + len);
    size_t cut = log_cut(s, len, LOG_FIELD_MAX);
    snprintf(out, LOG_FIELD_BUF, "%.*s...[%zu more bytes]", (int)cut, s, len - cut);
    return out;
}

void log_format(struct buf *out, enum log_level lvl, const char *ctx, const char *msg)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    buf_printf(out, "%s.%03ldZ %s[%d] %s ", stamp, (long)(tv.tv_usec / 1000), log_state.daemon,
               (int)getpid(), log_level_names[lvl]);
    if (ctx) {
        buf_putc(out, '[');
        log_escape(out, ctx, strlen(ctx), LOG_FIELD_MAX);
        buf_puts(out, "] ");
    }
    /* Room for log_msg's marker; escapes can still grow a text 4 times. */
    log_escape(out, msg, strlen(msg), LOG_MSG_MAX + 64);
    buf_putc(out, '\n');
}

static void log_write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

void log_msg(enum log_level lvl, const char *ctx, const char *fmt, ...)
{
    if (lvl < log_state.min)
        return;
    /* No message is kept longer than LOG_MSG_MAX, so none is formatted
     * longer either: what a client sent costs no memory here. */
    char msg[LOG_MSG_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    struct buf line = BUF_INIT;
    if ((size_t)n < sizeof(msg)) {
        log_format(&line, lvl, ctx, msg);
    } else { /* cut, with the marker saying how much more there was */
        msg[log_cut(msg, sizeof(msg) - 1, LOG_MSG_MAX)] = '\0';
        struct buf cut = BUF_INIT;
        buf_puts(&cut, msg);
        log_marker(&cut, (size_t)n - strlen(msg));
        log_format(&line, lvl, ctx, cut.data);
        buf_free(&cut);
    }
    pthread_mutex_lock(&log_state.lock);
    int fd = log_state.fd;
    bool to_stderr = log_state.to_stderr;
    if (fd >= 0)
        log_write_all(fd, line.data, line.len);
    pthread_mutex_unlock(&log_state.lock);
    if (to_stderr)
        log_write_all(STDERR_FILENO, line.data, line.len);
    buf_free(&line);
}
