/*
 * fuzz_xs_wire.c - libFuzzer target for xenstored's frame parser and,
 * behind it, its request handlers. The input is a byte stream as a client
 * would send it on a socket.
 *
 * 1. xs_wire_parse walks the stream frame by frame and must delimit every
 *    frame exactly (n = 16 + len, len <= 4096, payload inside the input),
 *    answer 0 for any incomplete prefix of a frame and -1 with a message
 *    only for len > XENSTORE_PAYLOAD_MAX; xs_wire_args must find only
 *    terminated strings inside the payload.
 * 2. The stream is fed, in two pieces cut where the first byte says, to a
 *    detached connection (no socket) of a fresh daemon context, acting as
 *    dom0, dom0 read-only or a guest (the second byte). Whatever it
 *    answers must be well-formed frames, and the store must pass its own
 *    consistency check afterwards.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "wire.h"
#include "xsd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ARGS 64

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

static void fuzz_check_args(const struct xs_frame *f)
{
    const char *argv[FUZZ_MAX_ARGS];
    int n = xs_wire_args(f, argv, FUZZ_MAX_ARGS);
    fuzz_check(n >= 0 && n <= FUZZ_MAX_ARGS);
    const char *end = f->payload + f->len;
    for (int i = 0; i < n; i++) {
        fuzz_check(argv[i] >= f->payload && argv[i] < end);
        fuzz_check(memchr(argv[i], '\0', (size_t)(end - argv[i])) != NULL);
        fuzz_check(i == 0 || argv[i] == argv[i - 1] + strlen(argv[i - 1]) + 1);
    }
}

/* Parses buf as a sequence of frames; returns the bytes of whole frames
 * before the end or the first impossible header. */
static size_t fuzz_parse_stream(const char *buf, size_t len)
{
    size_t off = 0;
    for (;;) {
        struct xs_frame f;
        const char *err = NULL;
        int n = xs_wire_parse(buf + off, len - off, &f, &err);
        uint32_t hdr[4] = {0};
        if (len - off >= XS_WIRE_HDR)
            memcpy(hdr, buf + off, sizeof(hdr));
        if (n < 0) {
            fuzz_check(len - off >= XS_WIRE_HDR && hdr[3] > XENSTORE_PAYLOAD_MAX);
            fuzz_check(err != NULL && err[0] != '\0');
            return off;
        }
        if (n == 0) {
            fuzz_check(len - off < XS_WIRE_HDR || len - off - XS_WIRE_HDR < hdr[3]);
            return off;
        }
        fuzz_check(f.len <= XENSTORE_PAYLOAD_MAX && (size_t)n == XS_WIRE_HDR + f.len);
        fuzz_check((size_t)n <= len - off && f.payload == buf + off + XS_WIRE_HDR);
        fuzz_check(f.type == hdr[0] && f.req_id == hdr[1] && f.tx_id == hdr[2]);
        /* Every strict prefix of a frame is incomplete, never an error. */
        struct xs_frame g;
        fuzz_check(xs_wire_parse(buf + off, (size_t)n - 1, &g, NULL) == 0);
        fuzz_check_args(&f);
        off += (size_t)n;
    }
}

/* What the daemon queued for the client: whole, well-formed frames. */
static void fuzz_check_output(const struct buf *out)
{
    size_t off = 0;
    while (off < out->len) {
        struct xs_frame f;
        const char *err = NULL;
        int n = xs_wire_parse(out->data + off, out->len - off, &f, &err);
        fuzz_check(n > 0);
        if (f.type == XS_ERROR)
            fuzz_check(f.len > 1 && f.payload[f.len - 1] == '\0');
        if (f.type == XS_WATCH_EVENT)
            fuzz_check(xs_wire_args(&f, (const char *[2]){0}, 2) == 2);
        off += (size_t)n;
    }
}

static void fuzz_daemon(const uint8_t *data, size_t size)
{
    if (size < 2)
        return;
    size_t cut = size > 2 ? data[0] % (size - 2) : 0;
    uint8_t who = data[1] % 3;
    const char *stream = (const char *)data + 2;
    size_t len = size - 2;

    struct xsd *x = xsd_new(NULL);
    struct xsd_conn *c =
        who == 2 ? xsd_conn_new(x, -1, 7, false, false) : xsd_conn_new(x, -1, 0, true, who == 1);
    /* A second client that watches everything: events for it are checked too. */
    struct xsd_conn *w = xsd_conn_new(x, -1, 0, true, false);
    static const char watch_all[] = "/\0all";
    uint32_t hdr[4] = {XS_WATCH, 1, 0, sizeof(watch_all)};
    xsd_conn_feed(x, w, hdr, sizeof(hdr));
    xsd_conn_feed(x, w, watch_all, sizeof(watch_all));

    if (xsd_conn_feed(x, c, stream, cut) == 0)
        xsd_conn_feed(x, c, stream + cut, len - cut);
    fuzz_check_output(&c->out);
    fuzz_check_output(&w->out);
    fuzz_check(store_check(x->store) == 0);
    xsd_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        log_set_level(LOG_ERROR); /* CONTROL "log on" would log every request */
        quiet = 1;
    }
    fuzz_parse_stream((const char *)data, size);
    fuzz_daemon(data, size);
    return 0;
}
