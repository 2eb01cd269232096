/*
 * throttle.h - failed logins slow down whoever keeps failing.
 *
 * Keys name who failed: "addr:ADDRESS" for a source address, "user:NAME"
 * for a user name. The first THROTTLE_FREE failures of a key cost
 * nothing (a mistyped password); after that each failure bars the key
 * for a delay that doubles, from 1 s up to THROTTLE_MAX_MS. While a key
 * is barred its logins are refused without looking at the password, so
 * no number of parallel connections tries more than one password per
 * delay. A success, or THROTTLE_FORGET_MS without a failure, forgets
 * the key. At most THROTTLE_KEYS keys are kept (the stalest go first).
 */
#ifndef CX_THROTTLE_H
#define CX_THROTTLE_H

#include <stdint.h>

#define THROTTLE_FREE 3
#define THROTTLE_MAX_MS 60000
#define THROTTLE_FORGET_MS (15 * 60 * 1000)
#define THROTTLE_KEYS 10000

struct throttle;

struct throttle *throttle_new(void);
void throttle_free(struct throttle *t);
/* How long key is still barred at now (ms, monotonic): 0 when it may try. */
int64_t throttle_barred_ms(struct throttle *t, const char *key, int64_t now);
/* Counts a failure of key at now; returns its failures in a row. */
unsigned throttle_failed(struct throttle *t, const char *key, int64_t now);
void throttle_forget(struct throttle *t, const char *key);

#endif
