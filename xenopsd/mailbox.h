/*
 * mailbox.h - commands for a thread that spends its life in poll(): other
 * threads push, and an eventfd in the thread's poll set wakes it. The
 * guest agent and the guest-information watcher are such threads; each
 * owns its xenstore connections, and the mailbox is the only way in.
 *
 * A command embeds struct mail as its first member and is malloc'd; the
 * mailbox frees what is left in it when destroyed.
 */
#ifndef XO_MAILBOX_H
#define XO_MAILBOX_H

#include <pthread.h>
#include <stdbool.h>

struct mail {
    struct mail *next;
};

struct mailbox {
    pthread_mutex_t lock;
    int wake; /* eventfd, readable while commands wait or after stop */
    struct mail *head, *tail;
    bool stop;
};

/* Returns 0, or -1 if the eventfd cannot be made. */
int mailbox_init(struct mailbox *m);
void mailbox_destroy(struct mailbox *m);
void mailbox_push(struct mailbox *m, struct mail *item);
/* Everything queued, oldest first (a list through next), and the wake
 * cleared. */
struct mail *mailbox_take(struct mailbox *m);
/* Asks the thread to end; it sees mailbox_stopped() once woken. */
void mailbox_stop(struct mailbox *m);
bool mailbox_stopped(struct mailbox *m);

#endif
