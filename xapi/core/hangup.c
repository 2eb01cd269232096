/*
 * hangup.c - the thread that notices clients hanging up; see hangup.h.
 *
 * The epoll set carries each watch's id, not a pointer: an event may be
 * read just before its watch is removed, and the id is looked up, under
 * the lock, among the watches still registered, so a removed watch (and
 * the stack it lived on) is never touched.
 */
#include "core/hangup.h"
#include "db/db.h"
#include "hmap.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define HANGUP_STOP_ID 0 /* the eventfd that ends the thread */

struct hangups {
    struct db *db;
    int epfd, stop_fd;
    pthread_t thread;
    pthread_mutex_t lock; /* guards watches and next_id */
    struct hmap *watches; /* id, in decimal -> struct hangup */
    uint64_t next_id;
};

static void hangup_key(char key[24], uint64_t id)
{
    snprintf(key, 24, "%" PRIu64, id);
}

static void *hangups_thread(void *arg)
{
    struct hangups *h = arg;
    struct epoll_event ev[64];
    for (;;) {
        int n = epoll_wait(h->epfd, ev, 64, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            log_error(NULL, "hangup watch: epoll_wait: %s", strerror(errno));
            return NULL;
        }
        bool marked = false;
        pthread_mutex_lock(&h->lock);
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u64 == HANGUP_STOP_ID) {
                pthread_mutex_unlock(&h->lock);
                return NULL;
            }
            char key[24];
            hangup_key(key, ev[i].data.u64);
            struct hangup *w = hmap_get(h->watches, key);
            if (w) {
                atomic_store(&w->gone, true);
                marked = true;
            }
        }
        pthread_mutex_unlock(&h->lock);
        if (marked)
            db_wake_waiters(h->db);
    }
}

struct hangups *hangups_new(struct db *db)
{
    struct hangups *h = xcalloc(1, sizeof(*h));
    h->db = db;
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    h->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    h->watches = hmap_new();
    h->next_id = HANGUP_STOP_ID + 1;
    pthread_mutex_init(&h->lock, NULL);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = HANGUP_STOP_ID};
    if (h->epfd < 0 || h->stop_fd < 0 || epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->stop_fd, &ev) < 0 ||
        pthread_create(&h->thread, NULL, hangups_thread, h) != 0) {
        log_error(NULL, "hangup watch: cannot start: %s", strerror(errno));
        if (h->epfd >= 0)
            close(h->epfd);
        if (h->stop_fd >= 0)
            close(h->stop_fd);
        hmap_free(h->watches);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
    }
    return h;
}

void hangups_free(struct hangups *h)
{
    if (!h)
        return;
    uint64_t one = 1;
    if (write(h->stop_fd, &one, sizeof(one)) != sizeof(one))
        log_error(NULL, "hangup watch: cannot stop: %s", strerror(errno));
    pthread_join(h->thread, NULL);
    close(h->epfd);
    close(h->stop_fd);
    hmap_free(h->watches);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void hangup_watch(struct hangups *h, struct hangup *w)
{
    atomic_init(&w->gone, false);
    w->id = HANGUP_STOP_ID;
    if (!h || w->fd < 0)
        return;
    char key[24];
    pthread_mutex_lock(&h->lock);
    w->id = h->next_id++;
    hangup_key(key, w->id);
    hmap_put(h->watches, key, w);
    /* One shot: a client gone stays gone, and one wake-up is enough. */
    struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLONESHOT, .data.u64 = w->id};
    if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0) {
        hmap_del(h->watches, key);
        w->id = HANGUP_STOP_ID;
    }
    pthread_mutex_unlock(&h->lock);
}

void hangup_unwatch(struct hangups *h, struct hangup *w)
{
    if (!h || w->id == HANGUP_STOP_ID)
        return;
    char key[24];
    hangup_key(key, w->id);
    pthread_mutex_lock(&h->lock);
    epoll_ctl(h->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    hmap_del(h->watches, key);
    pthread_mutex_unlock(&h->lock);
    w->id = HANGUP_STOP_ID;
}
