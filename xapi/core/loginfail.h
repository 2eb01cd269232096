/*
 * loginfail.h - failed logins, counted per client and reported to the
 * pool's operators as a message, as upstream does: every
 * failed-login-alert-freq seconds (an hour unless xapi.conf says
 * otherwise), if any login failed since the last report, the pool gets
 * a FAILED_LOGIN_ATTEMPTS message of priority 3 whose body gives the
 * total, the three clients that failed most (user name, originator, user
 * agent, address, how often, when last), and how many failures came from
 * clients beyond the table's room (<unknown>).
 *
 * A client is the four together; at most LOGINFAIL_CLIENTS are kept
 * between reports, so that a flood of invented user names costs bounded
 * memory (the rest count as unknown). Thread-safe.
 */
#ifndef CX_LOGINFAIL_H
#define CX_LOGINFAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

#define LOGINFAIL_CLIENTS 10000
#define LOGINFAIL_TOP 3

struct loginfail;

/* Who failed: any field may be NULL or "" (not known). */
struct loginfail_client {
    const char *user, *originator, *user_agent, *ip;
};

struct loginfail *loginfail_new(void);
void loginfail_free(struct loginfail *f);
/* Counts a failed login of client at now (seconds since the epoch). */
void loginfail_record(struct loginfail *f, const struct loginfail_client *client, int64_t now);
/* Writes the body of the report of every failure since the last report
 * into out (XML, upstream's layout) and forgets them. False, with out
 * untouched, when there were none. */
bool loginfail_report(struct loginfail *f, struct buf *out);

#endif
