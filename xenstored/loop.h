/*
 * loop.h - the daemon's one event loop: epoll over the listening sockets,
 * the connections and a signalfd, so a SIGTERM is just another event and
 * the loop ends between requests, never inside one.
 */
#ifndef XSD_LOOP_H
#define XSD_LOOP_H

#include "xsd.h"

struct daemon;
/* Creates the epoll set and the signalfd for the daemon's signals
 * (SIGTERM and SIGINT stop the loop, SIGHUP reopens its log). Call before
 * xsd_listen. Returns 0 or -1 with errno. */
int xsd_loop_init(struct xsd *x, struct daemon *d);
/* Runs until a stop signal. Returns 0, or -1 if epoll itself fails. */
int xsd_loop_run(struct xsd *x);

#endif
