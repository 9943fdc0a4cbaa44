/*
 * clients.h — the clients: a connected worker or driver (struct client is
 * runtime.c's own), and finding the client of a connection. The functions of
 * runtime/runtime.c that the other files of the runtime call;
 * runtime/internal.h has what they all share. Loop thread only.
 */
#ifndef RAY_RUNTIME_CLIENTS_H
#define RAY_RUNTIME_CLIENTS_H

#include "runtime/internal.h"

/* Its connection (NULL once closed: it is freed then). */
struct conn *client_conn(const struct client *cl);
/* Its client id for objstore pins (> 0). */
int client_store_id(const struct client *cl);
/* Its job (never NULL for a client). */
struct job *client_job(const struct client *cl);
/* The worker it is (NULL for a driver, or once its worker is gone). */
struct worker *client_worker(const struct client *cl);
void client_set_worker(struct client *cl, struct worker *w);
bool client_is_driver(const struct client *cl);
/* The gets and waits of this worker now waiting at the node; add DELTA. */
int client_nblocked(const struct client *cl);
void client_nblocked_add(struct client *cl, int delta);
/* The clients connected now, newest first: client_first, then client_next
 * until NULL (do not free one while walking). */
struct client *client_first(const struct runtime *rt);
struct client *client_next(const struct client *cl);
/* The client whose store id is ID, or NULL. */
struct client *client_by_store_id(const struct runtime *rt, int id);
struct client *rt_client_of(struct conn *c);

#endif
