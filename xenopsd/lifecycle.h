/*
 * lifecycle.h - a VM's power states and which operation may run in which,
 * as upstream's VM lifecycle draws them. Pure functions: the one table
 * the operations, the unit tests and the docs agree on.
 */
#ifndef XO_LIFECYCLE_H
#define XO_LIFECYCLE_H

#include <stdbool.h>

#include "arena.h"
#include "value.h"

enum xo_power { XO_HALTED, XO_RUNNING, XO_PAUSED, XO_SUSPENDED };

enum xo_action {
    XO_ACT_START,
    XO_ACT_SHUTDOWN, /* clean: the guest is asked through control/shutdown */
    XO_ACT_HARD_SHUTDOWN,
    XO_ACT_REBOOT,
    XO_ACT_HARD_REBOOT,
    XO_ACT_SUSPEND,
    XO_ACT_RESUME,
    XO_ACT_PAUSE,
    XO_ACT_UNPAUSE,
    XO_ACT_REMOVE,
    XO_ACT_DEVICE, /* plug or unplug a VBD or VIF */
    XO_ACT_LIVE,   /* change a domain's vCPUs or memory target */
    XO_ACT_COUNT,
};

/* "Halted", "Running", ... as VM.stat reports them. */
const char *xo_power_name(enum xo_power p);
/* "halted", "running", ...: how XenAPI errors spell power states. */
const char *xo_power_lower(enum xo_power p);
/* Parses xo_power_name's spelling; -1 if unknown. */
int xo_power_parse(const char *s);

bool xo_lifecycle_allowed(enum xo_action a, enum xo_power p);
/* The state an action needs (the first, when several will do): the
 * "expected" of VM_BAD_POWER_STATE. */
enum xo_power xo_lifecycle_expected(enum xo_action a);
/* 0 if a may run in p; else -1 with *err = VM_BAD_POWER_STATE [vm,
 * expected, actual] allocated in a. */
int xo_lifecycle_check(enum xo_action a, const char *vm, enum xo_power p, struct arena *ar,
                       struct val **err);

/* Sets *err to [code, params...] (a NULL-terminated list of strings) in a
 * and returns -1, so that failing is one statement: return xo_fail(...). */
int xo_fail(struct arena *a, struct val **err, const char *code, ...) __attribute__((sentinel));

#endif
