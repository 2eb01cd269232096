/*
 * log.h - one line per event: time, daemon[pid], level, the task or request
 * it belongs to, and the message.
 *
 *   2026-11-25T11:40:02.731Z xapi[4242] INFO [req:17] session.login_with_password: root logged in
 *
 * Each line goes out in a single write() to a file opened O_APPEND, so
 * lines from several threads (or processes sharing a file) never
 * interleave. The logger is the one piece of process-wide state: every
 * thread logs, and passing a logger through every call would buy nothing.
 */
#ifndef CX_LOG_H
#define CX_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Opens path for appending (creating it 0600) if non-NULL, and mirrors to
 * stderr when to_stderr. May be called again to reopen (log rotation).
 * Returns 0, or -1 with errno set if the file cannot be opened. */
int log_open(const char *daemon, const char *path, bool to_stderr);
void log_close(void);
void log_set_level(enum log_level min);
/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int log_level_parse(const char *s);

/* ctx names what the line is about ("req:17", "task:OpaqueRef:..."), or NULL.
 * Newlines and other control characters in the message are escaped so an
 * event stays one line. A line is bounded whatever clients send: a
 * message past LOG_MSG_MAX bytes, or a ctx past LOG_FIELD_MAX, is cut
 * and ends with "...[N more bytes]". */
void log_msg(enum log_level lvl, const char *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_MSG_MAX 4096
#define LOG_FIELD_MAX 256
#define LOG_FIELD_BUF (LOG_FIELD_MAX + 32)

/* s for a log line: itself when at most LOG_FIELD_MAX bytes, else its
 * start copied into out with the "...[N more bytes]" marker. Use it for
 * what a client chose (a method name, a user name, a path), so that one
 * field cannot crowd out the rest of the line. */
const char *log_field(char out[LOG_FIELD_BUF], const char *s);

#define log_debug(ctx, ...) log_msg(LOG_DEBUG, ctx, __VA_ARGS__)
#define log_info(ctx, ...) log_msg(LOG_INFO, ctx, __VA_ARGS__)
#define log_warn(ctx, ...) log_msg(LOG_WARN, ctx, __VA_ARGS__)
#define log_error(ctx, ...) log_msg(LOG_ERROR, ctx, __VA_ARGS__)

/* Formats one line without writing it (the unit tests use this). */
struct buf;
void log_format(struct buf *out, enum log_level lvl, const char *ctx, const char *msg);

#endif
