/* ids.c - uuids, references and secrets from getrandom(2). */
#include "ids.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void ids_getrandom(void *dst, size_t len)
{
    unsigned char *p = dst;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            abort(); /* no entropy source: nothing safe to hand out */
        p += n;
        len -= (size_t)n;
    }
}

/* Each thread draws the kernel's random bytes 512 at a time: an object
 * created takes two ids, and a system call for each was a measurable part
 * of a write. Bytes handed out are wiped from the pool. A child of fork
 * starts with an empty pool, so it never repeats its parent's ids. */
static _Thread_local struct {
    unsigned char buf[512];
    size_t left;
} ids_pool;

static void ids_forget_pool(void)
{
    explicit_bzero(&ids_pool, sizeof(ids_pool));
}

static pthread_once_t ids_once = PTHREAD_ONCE_INIT;

static void ids_init(void)
{
    pthread_atfork(NULL, NULL, ids_forget_pool);
}

static void ids_random(void *dst, size_t len)
{
    pthread_once(&ids_once, ids_init);
    unsigned char *out = dst;
    while (len > 0) {
        if (ids_pool.left == 0) {
            ids_getrandom(ids_pool.buf, sizeof(ids_pool.buf));
            ids_pool.left = sizeof(ids_pool.buf);
        }
        size_t n = len < ids_pool.left ? len : ids_pool.left;
        unsigned char *src = ids_pool.buf + sizeof(ids_pool.buf) - ids_pool.left;
        memcpy(out, src, n);
        explicit_bzero(src, n);
        ids_pool.left -= n;
        out += n;
        len -= n;
    }
}

void ids_uuid(char out[IDS_UUID_LEN + 1])
{
    uint8_t b[16];
    ids_random(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    /* By hand, not snprintf: two of these per object created. */
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    *p = '\0';
}

void ids_ref(char out[IDS_REF_LEN + 1])
{
    memcpy(out, IDS_REF_PREFIX, sizeof(IDS_REF_PREFIX) - 1);
    ids_uuid(out + sizeof(IDS_REF_PREFIX) - 1);
}

void ids_secret(char *out, size_t len)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < len; i++) {
        uint8_t r;
        do
            ids_random(&r, 1);
        while (r >= 248); /* 248 = 4 * 62: reject to keep the choice uniform */
        out[i] = alphabet[r % 62];
    }
    out[len] = '\0';
}

bool ids_is_uuid(const char *s)
{
    for (int i = 0; i < IDS_UUID_LEN; i++) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return s[IDS_UUID_LEN] == '\0';
}
