/* ids.c - uuids, references and secrets from getrandom(2). */
#include "ids.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void ids_random(void *dst, size_t len)
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
