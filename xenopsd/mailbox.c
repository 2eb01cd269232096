/* mailbox.c - a command queue with an eventfd doorbell (see mailbox.h). */
#include "mailbox.h"
#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int mailbox_init(struct mailbox *m)
{
    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->lock, NULL);
    m->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return m->wake < 0 ? -1 : 0;
}

void mailbox_destroy(struct mailbox *m)
{
    for (struct mail *c = m->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    if (m->wake >= 0)
        close(m->wake);
    pthread_mutex_destroy(&m->lock);
}

static void mailbox_ring(struct mailbox *m)
{
    uint64_t one = 1;
    /* EAGAIN: the counter is full, so the thread is awake anyway. */
    if (write(m->wake, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn(NULL, "cannot wake a thread: %s", strerror(errno));
}

void mailbox_push(struct mailbox *m, struct mail *item)
{
    item->next = NULL;
    pthread_mutex_lock(&m->lock);
    if (m->tail)
        m->tail->next = item;
    else
        m->head = item;
    m->tail = item;
    pthread_mutex_unlock(&m->lock);
    mailbox_ring(m);
}

struct mail *mailbox_take(struct mailbox *m)
{
    uint64_t count;
    if (read(m->wake, &count, sizeof(count)) < 0)
        count = 0; /* EAGAIN: nothing rang */
    pthread_mutex_lock(&m->lock);
    struct mail *all = m->head;
    m->head = m->tail = NULL;
    pthread_mutex_unlock(&m->lock);
    return all;
}

void mailbox_stop(struct mailbox *m)
{
    pthread_mutex_lock(&m->lock);
    m->stop = true;
    pthread_mutex_unlock(&m->lock);
    mailbox_ring(m);
}

bool mailbox_stopped(struct mailbox *m)
{
    pthread_mutex_lock(&m->lock);
    bool stop = m->stop;
    pthread_mutex_unlock(&m->lock);
    return stop;
}
