/*
 * lifecycle.c - the power-state table. Upstream's rules: clean shutdown,
 * clean reboot, suspend and pause need a running guest (it has to answer,
 * or keep running); the hard forms also take a paused one, and a hard
 * shutdown discards a suspended VM's image state.
 */
#include "lifecycle.h"

#include <stdarg.h>
#include <string.h>

static const char *const xo_power_names[] = {"Halted", "Running", "Paused", "Suspended"};
static const char *const xo_power_lowers[] = {"halted", "running", "paused", "suspended"};

#define P(s) (1u << (s))
static const unsigned xo_allowed[XO_ACT_COUNT] = {
    [XO_ACT_START] = P(XO_HALTED),
    [XO_ACT_SHUTDOWN] = P(XO_RUNNING),
    [XO_ACT_HARD_SHUTDOWN] = P(XO_RUNNING) | P(XO_PAUSED) | P(XO_SUSPENDED),
    [XO_ACT_REBOOT] = P(XO_RUNNING),
    [XO_ACT_HARD_REBOOT] = P(XO_RUNNING) | P(XO_PAUSED),
    [XO_ACT_SUSPEND] = P(XO_RUNNING),
    [XO_ACT_RESUME] = P(XO_SUSPENDED),
    [XO_ACT_PAUSE] = P(XO_RUNNING),
    [XO_ACT_UNPAUSE] = P(XO_PAUSED),
    [XO_ACT_REMOVE] = P(XO_HALTED) | P(XO_SUSPENDED),
    [XO_ACT_DEVICE] = P(XO_RUNNING) | P(XO_PAUSED),
    [XO_ACT_LIVE] = P(XO_RUNNING) | P(XO_PAUSED),
};
#undef P

const char *xo_power_name(enum xo_power p)
{
    return xo_power_names[p];
}

const char *xo_power_lower(enum xo_power p)
{
    return xo_power_lowers[p];
}

int xo_power_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, xo_power_names[i]) == 0)
            return i;
    return -1;
}

bool xo_lifecycle_allowed(enum xo_action a, enum xo_power p)
{
    return (xo_allowed[a] >> p) & 1u;
}

enum xo_power xo_lifecycle_expected(enum xo_action a)
{
    /* Running first: it is the state most actions are about. */
    static const enum xo_power order[] = {XO_RUNNING, XO_HALTED, XO_PAUSED, XO_SUSPENDED};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (xo_lifecycle_allowed(a, order[i]))
            return order[i];
    return XO_HALTED;
}

int xo_lifecycle_check(enum xo_action a, const char *vm, enum xo_power p, struct arena *ar,
                       struct val **err)
{
    if (xo_lifecycle_allowed(a, p))
        return 0;
    return xo_fail(ar, err, "VM_BAD_POWER_STATE", vm, xo_power_lower(xo_lifecycle_expected(a)),
                   xo_power_lower(p), NULL);
}

int xo_fail(struct arena *a, struct val **err, const char *code, ...)
{
    va_list ap;
    va_start(ap, code);
    *err = val_error_va(a, code, ap);
    va_end(ap);
    return -1;
}
