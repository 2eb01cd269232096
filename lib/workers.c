/*
 * workers.c - a bounded pool of joinable threads; see workers.h.
 *
 * One mutex guards the queue, the thread list and the counts; idle
 * threads wait on one condition for a job or the stop.
 */
#include "workers.h"
#include "list.h"
#include "mem.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct workers_job {
    struct list_node node;
    void (*fn)(void *arg);
    void *arg;
};

struct workers {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a job was queued, or the pool stops */
    struct list queue;   /* of struct workers_job, under lock */
    pthread_t *threads;  /* n_threads of them, under lock */
    size_t n_threads, max_threads, idle;
    bool stopping;
};

static void *workers_main(void *arg)
{
    struct workers *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        struct list_node *n = list_pop_front(&w->queue);
        if (!n) {
            if (w->stopping)
                break;
            w->idle++;
            pthread_cond_wait(&w->work, &w->lock);
            w->idle--;
            continue;
        }
        struct workers_job *job = LIST_ENTRY(n, struct workers_job, node);
        pthread_mutex_unlock(&w->lock);
        job->fn(job->arg);
        free(job);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct workers *workers_new(int max_threads)
{
    struct workers *w = xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->work, NULL);
    list_init(&w->queue);
    w->max_threads = max_threads > 0 ? (size_t)max_threads : 1;
    w->threads = xcalloc(w->max_threads, sizeof(*w->threads));
    return w;
}

int workers_submit(struct workers *w, void (*fn)(void *arg), void *arg)
{
    struct workers_job *job = xcalloc(1, sizeof(*job));
    job->fn = fn;
    job->arg = arg;
    pthread_mutex_lock(&w->lock);
    int rc = 0;
    if (w->stopping) {
        rc = -1;
    } else {
        list_push_back(&w->queue, &job->node);
        /* A thread for the job unless one waits for it already. */
        if (w->idle < list_length(&w->queue) && w->n_threads < w->max_threads &&
            pthread_create(&w->threads[w->n_threads], NULL, workers_main, w) == 0)
            w->n_threads++;
        if (w->n_threads == 0) { /* no thread could start: the job would never run */
            list_remove(&w->queue, &job->node);
            rc = -1;
        } else {
            pthread_cond_signal(&w->work);
        }
    }
    pthread_mutex_unlock(&w->lock);
    if (rc < 0)
        free(job);
    return rc;
}

size_t workers_threads(struct workers *w)
{
    pthread_mutex_lock(&w->lock);
    size_t n = w->n_threads;
    pthread_mutex_unlock(&w->lock);
    return n;
}

void workers_stop(struct workers *w)
{
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->work);
    size_t n = w->n_threads;
    pthread_mutex_unlock(&w->lock);
    /* Threads are only added before stopping, so n is final. */
    for (size_t i = 0; i < n; i++)
        pthread_join(w->threads[i], NULL);
    pthread_mutex_lock(&w->lock);
    w->n_threads = 0;
    pthread_mutex_unlock(&w->lock);
}

void workers_free(struct workers *w)
{
    if (!w)
        return;
    workers_stop(w);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->work);
    free(w->threads);
    free(w);
}
