/*
 * cluster.h — the cluster as this node sees it: the node table (struct
 * cluster_node is cluster.c's own), connections to other nodes, node death.
 * The functions of runtime/cluster.c that the other files of the runtime call;
 * runtime/internal.h has what they all share. Loop thread only.
 */
#ifndef RAY_RUNTIME_CLUSTER_H
#define RAY_RUNTIME_CLUSTER_H

#include "runtime/internal.h"

struct cluster_node;

/* The I-th node of the view (0 <= I < cluster_count(RT)). */
struct cluster_node *cluster_node_at(const struct runtime *rt, size_t i);
/* CN: it is alive (as the node table says). */
bool cluster_node_alive(const struct cluster_node *cn);
/* CN: tasks placed there since its last heartbeat (head). */
int cluster_node_assigned(const struct cluster_node *cn);
/* CN: what it has free, as last reported (pg.c adjusts it until the next report). */
struct res_set *cluster_node_avail(const struct cluster_node *cn);
/* CN: its resources. */
const struct res_set *cluster_node_total(const struct cluster_node *cn);
/* CN: its node id in hex. */
const char *cluster_node_id(const struct cluster_node *cn);
/* CN: it is the head. */
bool cluster_node_is_head(const struct cluster_node *cn);
/* CN: it is this node. */
bool cluster_node_self(const struct cluster_node *cn);
/* CN: its queue length, as last reported. */
long long cluster_node_queue_len(const struct cluster_node *cn);
void cluster_node_assigned_add(struct cluster_node *cn, int d);
void cluster_init(struct runtime *rt);
void cluster_free(struct runtime *rt);
/* The node with ID HEX, or NULL. */
struct cluster_node *cluster_find(struct runtime *rt, const char *hex);
/* The head node, or NULL if not known yet. */
struct cluster_node *cluster_head(struct runtime *rt);
/* Alive nodes other than this one. */
size_t cluster_alive_others(struct runtime *rt);
/* Our connection to node HEX (dialed on first use). NULL if the node is
 * unknown or dead. Frames sent on it before it connects wait in order. */
struct conn *cluster_conn(struct runtime *rt, const char *hex);
/* C is a node's connection to us that the object manager serves: see that
 * objmgr_conn_closed runs when it goes, unless another module owns it
 * (and unwatch: no longer). */
void cluster_watch_peer(struct runtime *rt, struct conn *c);
void cluster_unwatch_peer(struct runtime *rt, struct conn *c);
/* Node HEX is dead (seen in the table or on the nodes channel). */
void cluster_node_dead(struct runtime *rt, const char *hex);
/* Fetch node HEX's record into the view if it is not there yet (a node that
 * sends us work before its join reached us). */
void cluster_learn(struct runtime *rt, const char *hex);
/* The GCS connection is back: read the node table again (restart.md). */
void cluster_resync(struct runtime *rt);
/* The number of nodes in the view (cluster_node_at's bound). */
size_t cluster_count(const struct runtime *rt);
/* The whole node table was listed once since start. */
bool cluster_synced(const struct runtime *rt);

#endif
