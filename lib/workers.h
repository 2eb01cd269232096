/*
 * workers.h - a bounded pool of joinable threads that run jobs.
 *
 * Threads are started as jobs need them, up to a maximum, and kept for
 * the next job; a job submitted while every thread is busy waits in a
 * queue for the first to be free. workers_stop refuses new jobs, lets the
 * queued and running ones finish and joins every thread, so that nothing
 * outlives its owner. The owner frees what a job uses only after that.
 */
#ifndef CX_WORKERS_H
#define CX_WORKERS_H

#include <stddef.h>

struct workers;

/* A pool of at most max_threads threads (at least 1). */
struct workers *workers_new(int max_threads);
/* Runs fn(arg) on a thread of the pool. Returns 0, or -1 when the pool is
 * stopping or no thread can be started and none runs (fn not called). */
int workers_submit(struct workers *w, void (*fn)(void *arg), void *arg);
/* How many threads the pool has started (for tests and logs). */
size_t workers_threads(struct workers *w);
/* Refuses new jobs, waits for every job to finish and joins the threads.
 * Idempotent. */
void workers_stop(struct workers *w);
/* Stops (if not yet) and frees. */
void workers_free(struct workers *w);

#endif
