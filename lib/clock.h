/*
 * clock.h - the one monotonic clock every timeout and deadline is measured
 * on. Milliseconds in an int64_t: deadlines are plain sums and
 * differences, and a wall-clock jump never fires or stalls a timeout.
 */
#ifndef CX_CLOCK_H
#define CX_CLOCK_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Now, in milliseconds of CLOCK_MONOTONIC. */
static inline int64_t clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Makes cond wait on CLOCK_MONOTONIC, the clock of every deadline here
 * (a condition variable's default is the wall clock). */
static inline void clock_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
}

/* Waits on cond (made by clock_cond_init, with m held) until it is
 * signalled or deadline_ms (clock_now_ms's clock) passes: false at the
 * deadline. Like any condition wait it may return early; callers loop on
 * their own condition. */
static inline bool clock_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *m,
                                         int64_t deadline_ms)
{
    struct timespec ts = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000};
    return pthread_cond_timedwait(cond, m, &ts) != ETIMEDOUT;
}

#endif
