#ifndef SUBTUNNEL_EDGE_FLOW_INT_H
#define SUBTUNNEL_EDGE_FLOW_INT_H

/* Inside edge_flow: shared by edge_flow.c (the flow's two sides), edge_flow_h2.c (an HTTP/2
 * access stream's request) and edge_relay.c (a flow sent to another edge). */

#include "edge_flow.h"

/* Answers the user with an error (counted by kind and reason); the access side closes after
 * it is written. */
void edge_flow_respond_error(struct edge_flow *f, int status, const char *proxy_status);
/* Routes the flow to a tunnel connection (or, with none here, to an edge holding one) and
 * opens its stream, or answers an error. */
void edge_flow_route(struct edge_flow *f, const char *client);
/* connect-udp / connect-ip: f->target from f->path. 0, -EPROTONOSUPPORT, -EINVAL. */
int edge_flow_masque_target(struct edge_flow *f);

#endif
