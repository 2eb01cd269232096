/*
 * event.h - what the rest of xapi may call in event.c besides its message
 * table (xapi_event_messages, declared in xapi.h).
 */
#ifndef CX_EVENT_H
#define CX_EVENT_H

/* Makes every blocked event.from and event.next return within about a
 * second (event.from with what it has, event.next with an empty list),
 * and any later one at once: for the daemon's shutdown, to be called
 * before http_server_stop, which waits for every connection's thread. The
 * database offers no way to wake its waiters without a change, so the
 * waits are cut into slices of EVENT_WAIT_SLICE_MS that look at this. */
void xapi_event_shutdown(void);

#endif
