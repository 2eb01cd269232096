/*
 * timeout.h - turning a wait of ms milliseconds into the absolute
 * timespec pthread_cond_timedwait wants, on the condition's clock.
 */
#ifndef XO_TIMEOUT_H
#define XO_TIMEOUT_H

#include <stdint.h>
#include <time.h>

static inline struct timespec xo_timespec_after(clockid_t clock, int64_t ms)
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
