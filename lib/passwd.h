/*
 * passwd.h - passwords kept as /etc/shadow keeps them: a salted hash
 * (yescrypt through libcrypt), never the text. Hashing costs tens of
 * milliseconds by design; a caller checking often keeps what passwd_cache
 * holds, so that only a password not seen before pays for it.
 */
#ifndef CX_PASSWD_H
#define CX_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

/* Room for a hash as passwd_hash writes it. */
#define PASSWD_HASH_MAX 256

/* A new salted hash of pw into out. 0, or -1 (libcrypt failed). */
int passwd_hash(const char *pw, char out[PASSWD_HASH_MAX]);
/* Whether pw is the password hash was made from (constant time in the
 * comparison). False for a hash libcrypt cannot read. */
bool passwd_check(const char *pw, const char *hash);

/* The last password found right, as a keyed digest (a key of the
 * process's own, chosen at random): a hit costs a digest, not a hash,
 * and memory never holds the password. Not thread-safe: the caller's
 * lock covers it, and passwd_check runs outside that lock. */
struct passwd_cache {
    unsigned char key[32];
    unsigned char digest[32];
    bool valid;
};

/* Whether pw is the password the cache holds. */
bool passwd_cache_hit(const struct passwd_cache *c, const char *pw);
/* Keeps pw, which passwd_check found right. */
void passwd_cache_fill(struct passwd_cache *c, const char *pw);
/* Forgets what the cache holds (the password changed). */
void passwd_cache_clear(struct passwd_cache *c);

#endif
