/*
 * cli_proto.h - the thin CLI protocol (version 0.2) that xe speaks with
 * xapi after POST /cli: its framing, its messages and their codes.
 *
 * After the request, the server sends no HTTP response: it writes the
 * prefix "XenSource thin CLI protocol" and its version (two little-endian
 * int32, major then minor); the client answers with the same. Then the
 * server sends commands and the client answers some of them. Every message
 * is framed as a little-endian int32 length and that many bytes: the
 * message kind (Command, Response, Blob), its tag, then its fields
 * (strings as an int32 length and the bytes, lists as an int32 count and
 * the items). Blob data follows a Chunk header raw, outside the framing.
 *
 * Both sides decode with cli_msg_decode, which refuses a truncated
 * message, an unknown tag, a negative length and bytes left over: the
 * protocol has no way to skip what it does not understand.
 */
#ifndef CX_CLI_PROTO_H
#define CX_CLI_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"

#define CLI_PROTO_PREFIX "XenSource thin CLI protocol"
#define CLI_PROTO_MAJOR 0
#define CLI_PROTO_MINOR 2
/* The prefix and the two version numbers. */
#define CLI_PROTO_HELLO_LEN (sizeof(CLI_PROTO_PREFIX) - 1 + 8)

/* A framed message larger than this is refused, whoever sends it (a
 * Print of a whole listing is the largest that is sent; data travels
 * as blobs, outside the framing). */
#define CLI_PROTO_MAX_MSG (64u << 20)

enum cli_kind { CLI_COMMAND = 9, CLI_RESPONSE = 10, CLI_BLOB = 11 };

enum cli_tag {
    /* commands (server to client) */
    CLI_PRINT = 0,
    CLI_LOAD = 1,
    CLI_PROMPT = 3,
    CLI_EXIT = 4,
    CLI_HTTP_GET = 12,
    CLI_HTTP_PUT = 13,
    CLI_ERROR = 14,
    CLI_DEBUG = 15,
    CLI_PRINT_STDERR = 16,
    CLI_HTTP_CONNECT = 17,
    /* responses (client to server) */
    CLI_OK = 5,
    CLI_FAILED = 6,
    CLI_WAIT = 18,
    /* blob headers (either way) */
    CLI_CHUNK = 7,
    CLI_END = 8,
};

/* One decoded message. Strings point into the arena the decoder was
 * given, NUL-terminated (they may also hold NULs: see the lengths). */
struct cli_msg {
    enum cli_kind kind;
    enum cli_tag tag;
    const char *s1, *s2; /* Print, Debug, Load, PrintStderr, HttpConnect: s1;
                            HttpGet/HttpPut: filename s1, path s2; Error: code s1 */
    size_t s1_len, s2_len;
    int32_t n;                 /* Exit: the status; Chunk: the length that follows */
    const char *const *params; /* Error: its parameters */
    size_t n_params;
};

/* Appends the hello: prefix, major, minor. */
void cli_put_hello(struct buf *out);
/* Checks a hello of CLI_PROTO_HELLO_LEN bytes: 0 with the version, -1
 * when it does not start with the prefix (not a thin CLI peer). */
int cli_check_hello(const unsigned char *p, int32_t *major, int32_t *minor);

/* Append one framed message each. */
void cli_put_print(struct buf *out, enum cli_tag tag, const char *s, size_t len); /* Print,
                                                    PrintStderr, Debug, Load, HttpConnect */
void cli_put_http(struct buf *out, enum cli_tag tag, const char *filename, const char *path);
void cli_put_prompt(struct buf *out);
void cli_put_exit(struct buf *out, int32_t status);
void cli_put_error(struct buf *out, const char *code, const char *const *params, size_t n);
void cli_put_response(struct buf *out, enum cli_tag tag); /* OK, Failed, Wait */
void cli_put_chunk(struct buf *out, uint32_t len);        /* the data follows, unframed */
void cli_put_end(struct buf *out);

/* The length in a frame's 4-byte head. */
uint32_t cli_frame_len(const unsigned char *head);

/* Decodes one message body (without its length head). Returns 0, or -1
 * with *err naming what is wrong. */
int cli_msg_decode(struct arena *a, const unsigned char *p, size_t len, struct cli_msg *m,
                   const char **err);

/* Reads one framed message from fd into a (at most max bytes). Returns 0;
 * -1 when the peer went away or the read failed; -2 when the message is
 * malformed or too large (*err says why). */
int cli_read_msg(int fd, struct arena *a, size_t max, struct cli_msg *m, const char **err);

/* A command line as POST /cli carries it: one argument per line (a
 * trailing CR dropped), a first line "session_id=REF" optionally, then
 * the command's name and its parameters: key=value, --flag (flag=true),
 * and the switches -u, -pw, -s, -h, -p followed by their value. */
struct cli_arg {
    const char *key, *value;
};
struct cli_args {
    const char *session; /* or NULL */
    const char *cmd;
    struct cli_arg *params;
    size_t n_params;
};
/* Parses body (changed in place; the results point into it and into a).
 * Returns 0, or -1 with *why in upstream's words for a syntax error
 * ("" when there is no command at all). */
int cli_args_parse(struct arena *a, char *body, struct cli_args *out, const char **why);

/* A human name for a tag, for logs and --debug ("Print", "Exit", ...). */
const char *cli_tag_name(enum cli_kind kind, enum cli_tag tag);

#endif
