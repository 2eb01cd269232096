/*
 * clock.h - the one monotonic clock every timeout and deadline is measured
 * on. Milliseconds in an int64_t: deadlines are plain sums and
 * differences, and a wall-clock jump never fires or stalls a timeout.
 */
#ifndef CX_CLOCK_H
#define CX_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Now, in milliseconds of CLOCK_MONOTONIC. */
static inline int64_t clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ms milliseconds from now on clock, as the absolute time
 * pthread_cond_timedwait wants (on the condition's clock). */
static inline struct timespec clock_timespec_after(clockid_t clock, int64_t ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

#endif
