/*
 * wire.c - frame delimiting and formatting for the xenstore protocol. The
 * header is copied out with memcpy: input buffers carry no alignment
 * promise.
 */
#include <errno.h>
#include <string.h>

#include "wire.h"

int xs_wire_parse(const char *buf, size_t len, struct xs_frame *f, const char **err)
{
    if (len < XS_WIRE_HDR)
        return 0;
    uint32_t hdr[4];
    memcpy(hdr, buf, sizeof(hdr));
    if (hdr[3] > XENSTORE_PAYLOAD_MAX) {
        if (err)
            *err = "payload longer than XENSTORE_PAYLOAD_MAX";
        return -1;
    }
    if (len - XS_WIRE_HDR < hdr[3])
        return 0;
    f->type = hdr[0];
    f->req_id = hdr[1];
    f->tx_id = hdr[2];
    f->len = hdr[3];
    f->payload = buf + XS_WIRE_HDR;
    return (int)(XS_WIRE_HDR + hdr[3]);
}

int xs_wire_args(const struct xs_frame *f, const char **argv, int max)
{
    int n = 0;
    size_t off = 0;
    while (n < max && off < f->len) {
        const char *nul = memchr(f->payload + off, '\0', f->len - off);
        if (!nul)
            break;
        argv[n++] = f->payload + off;
        off = (size_t)(nul - f->payload) + 1;
    }
    return n;
}

void xs_wire_put(struct buf *out, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *data,
                 size_t len)
{
    uint32_t hdr[4] = {type, req_id, tx_id, (uint32_t)len};
    buf_append(out, hdr, sizeof(hdr));
    if (len)
        buf_append(out, data, len);
}

void xs_wire_put_error(struct buf *out, uint32_t req_id, uint32_t tx_id, int err)
{
    const char *name = xs_wire_errname(err);
    xs_wire_put(out, XS_ERROR, req_id, tx_id, name, strlen(name) + 1);
}

const char *xs_wire_errname(int err)
{
    for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        if (xsd_errors[i].errnum == err)
            return xsd_errors[i].errstring;
    return "EINVAL";
}

static const char *const xs_wire_types[XS_TYPE_COUNT] = {
    [XS_CONTROL] = "CONTROL",
    [XS_DIRECTORY] = "DIRECTORY",
    [XS_READ] = "READ",
    [XS_GET_PERMS] = "GET_PERMS",
    [XS_WATCH] = "WATCH",
    [XS_UNWATCH] = "UNWATCH",
    [XS_TRANSACTION_START] = "TRANSACTION_START",
    [XS_TRANSACTION_END] = "TRANSACTION_END",
    [XS_INTRODUCE] = "INTRODUCE",
    [XS_RELEASE] = "RELEASE",
    [XS_GET_DOMAIN_PATH] = "GET_DOMAIN_PATH",
    [XS_WRITE] = "WRITE",
    [XS_MKDIR] = "MKDIR",
    [XS_RM] = "RM",
    [XS_SET_PERMS] = "SET_PERMS",
    [XS_WATCH_EVENT] = "WATCH_EVENT",
    [XS_ERROR] = "ERROR",
    [XS_IS_DOMAIN_INTRODUCED] = "IS_DOMAIN_INTRODUCED",
    [XS_RESUME] = "RESUME",
    [XS_SET_TARGET] = "SET_TARGET",
    [XS_RESET_WATCHES] = "RESET_WATCHES",
    [XS_DIRECTORY_PART] = "DIRECTORY_PART",
};

const char *xs_wire_typename(uint32_t type)
{
    if (type < XS_TYPE_COUNT && xs_wire_types[type])
        return xs_wire_types[type];
    return "UNKNOWN";
}
