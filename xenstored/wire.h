/*
 * wire.h - xenstore's wire protocol: frames of <xen/io/xs_wire.h> (a
 * 16-byte header of type, req_id, tx_id and len in host byte order, then
 * len <= XENSTORE_PAYLOAD_MAX bytes, usually NUL-terminated strings).
 *
 * Parsing only delimits frames: what a payload means is the request
 * handler's business, so a frame with an unknown type still parses and gets
 * an EINVAL reply rather than a closed connection.
 */
#ifndef XSD_WIRE_H
#define XSD_WIRE_H

#include <errno.h> /* before xs_wire.h, which then defines its error table */
#include <stddef.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

#include "buf.h"

#define XS_WIRE_HDR 16

struct xs_frame {
    uint32_t type;
    uint32_t req_id;
    uint32_t tx_id;
    uint32_t len;
    const char *payload; /* points into the parsed buffer, len bytes */
};

/* Parses the frame at the start of buf. Returns the bytes it takes
 * (header and payload), 0 when buf holds only part of it, or -1 with *err
 * when it can never be a frame (len above XENSTORE_PAYLOAD_MAX): the
 * stream cannot be resynchronised after that. */
int xs_wire_parse(const char *buf, size_t len, struct xs_frame *f, const char **err);

/* Splits the payload into its NUL-terminated strings, at most max of them
 * (an unterminated tail is not a string, as in Xen's get_strings). Returns
 * how many were found. */
int xs_wire_args(const struct xs_frame *f, const char **argv, int max);

/* Appends a frame (header and payload) to out. */
void xs_wire_put(struct buf *out, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *data,
                 size_t len);
/* Appends an XS_ERROR frame carrying err's name, e.g. "ENOENT". */
void xs_wire_put_error(struct buf *out, uint32_t req_id, uint32_t tx_id, int err);

/* The name xs_wire.h gives errno value err ("EINVAL" for one it lacks). */
const char *xs_wire_errname(int err);
/* "READ", "WRITE", ... or "UNKNOWN". */
const char *xs_wire_typename(uint32_t type);

#endif
