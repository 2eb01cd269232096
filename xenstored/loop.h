/*
 * loop.h - the daemon's one event loop: epoll over the listening sockets,
 * the connections and a signalfd, so a SIGTERM is just another event and
 * the loop ends between requests, never inside one.
 */
#ifndef XSD_LOOP_H
#define XSD_LOOP_H

#include "xsd.h"

/* Creates the epoll set and the signalfd (SIGTERM and SIGINT stop the
 * loop, SIGHUP reopens the log at log_path). Call before xsd_listen.
 * Returns 0 or -1 with errno. */
int xsd_loop_init(struct xsd *x, const char *log_path, bool log_stderr);
/* Runs until a stop signal. Returns 0, or -1 if epoll itself fails. */
int xsd_loop_run(struct xsd *x);

#endif
