/*
 * passwd.c - salted password hashes with libcrypt, and the cache of the
 * last password found right (see passwd.h).
 */
#include "passwd.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libcrypt's best method, at its default cost. */
#define PASSWD_PREFIX "$y$"

int passwd_hash(const char *pw, char out[PASSWD_HASH_MAX])
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!crypt_gensalt_rn(PASSWD_PREFIX, 0, NULL, 0, salt, sizeof(salt)))
        return -1;
    struct crypt_data *d = calloc(1, sizeof(*d));
    if (!d)
        return -1;
    const char *h = crypt_rn(pw, salt, d, sizeof(*d));
    int rc = h && h[0] != '*' && strlen(h) < PASSWD_HASH_MAX ? 0 : -1;
    if (rc == 0)
        memcpy(out, h, strlen(h) + 1);
    OPENSSL_cleanse(d, sizeof(*d));
    free(d);
    return rc;
}

bool passwd_check(const char *pw, const char *hash)
{
    struct crypt_data *d = calloc(1, sizeof(*d));
    if (!d)
        return false;
    const char *h = crypt_rn(pw, hash, d, sizeof(*d));
    size_t n = strlen(hash);
    bool ok = h && h[0] != '*' && strlen(h) == n && CRYPTO_memcmp(h, hash, n) == 0;
    OPENSSL_cleanse(d, sizeof(*d));
    free(d);
    return ok;
}

static void passwd_digest(const struct passwd_cache *c, const char *pw, unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), c->key, sizeof(c->key), (const unsigned char *)pw, strlen(pw), out, &len);
}

bool passwd_cache_hit(const struct passwd_cache *c, const char *pw)
{
    if (!c->valid)
        return false;
    unsigned char d[32];
    passwd_digest(c, pw, d);
    return CRYPTO_memcmp(d, c->digest, sizeof(d)) == 0;
}

void passwd_cache_fill(struct passwd_cache *c, const char *pw)
{
    c->valid = RAND_bytes(c->key, sizeof(c->key)) == 1;
    if (c->valid)
        passwd_digest(c, pw, c->digest);
}

void passwd_cache_clear(struct passwd_cache *c)
{
    OPENSSL_cleanse(c, sizeof(*c));
}
