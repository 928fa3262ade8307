#include "edge_route.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>

struct node {
    struct node *child[2];
    void *owner; /* non-NULL: a route ends here */
};

struct edge_route_table {
    struct node *root4, *root6;
    size_t count;
};

static int bit_at(const uint8_t *addr, unsigned i)
{
    return (addr[i / 8] >> (7 - i % 8)) & 1;
}

static void free_nodes(struct node *n)
{
    if (!n)
        return;
    free_nodes(n->child[0]);
    free_nodes(n->child[1]);
    free(n);
}

struct edge_route_table *edge_route_new(void)
{
    return calloc(1, sizeof(struct edge_route_table));
}

void edge_route_free(struct edge_route_table *t)
{
    if (!t)
        return;
    free_nodes(t->root4);
    free_nodes(t->root6);
    free(t);
}

static struct node **root_of(struct edge_route_table *t, int family, unsigned *bits)
{
    if (family == AF_INET) {
        *bits = 32;
        return &t->root4;
    }
    if (family == AF_INET6) {
        *bits = 128;
        return &t->root6;
    }
    return NULL;
}

int edge_route_add(struct edge_route_table *t, const struct st_cidr *c, void *owner)
{
    unsigned maxbits;
    struct node **slot = root_of(t, c->family, &maxbits);

    if (!slot || c->prefix > maxbits || !owner)
        return -EINVAL;
    /* Nodes created on the way stay (empty) if a later allocation fails: harmless. */
    for (unsigned i = 0;; i++) {
        if (!*slot && !(*slot = calloc(1, sizeof(struct node))))
            return -ENOMEM;
        if (i == c->prefix)
            break;
        slot = &(*slot)->child[bit_at(c->addr, i)];
    }
    if ((*slot)->owner)
        return (*slot)->owner == owner ? 0 : -EEXIST;
    (*slot)->owner = owner;
    t->count++;
    return 0;
}

/* Clears owner's routes under *slot and frees nodes left without routes; returns the count. */
static int remove_rec(struct node **slot, void *owner)
{
    struct node *n = *slot;
    int removed = 0;

    if (!n)
        return 0;
    removed += remove_rec(&n->child[0], owner);
    removed += remove_rec(&n->child[1], owner);
    if (n->owner == owner) {
        n->owner = NULL;
        removed++;
    }
    if (!n->owner && !n->child[0] && !n->child[1]) {
        free(n);
        *slot = NULL;
    }
    return removed;
}

int edge_route_remove_owner(struct edge_route_table *t, void *owner)
{
    int removed;

    if (!owner)
        return 0;
    removed = remove_rec(&t->root4, owner) + remove_rec(&t->root6, owner);
    t->count -= (size_t)removed;
    return removed;
}

void *edge_route_lookup(const struct edge_route_table *t, int family, const uint8_t *addr)
{
    unsigned maxbits = family == AF_INET ? 32 : 128;
    const struct node *n = family == AF_INET ? t->root4 : family == AF_INET6 ? t->root6 : NULL;
    void *best = NULL;

    for (unsigned i = 0; n; i++) {
        if (n->owner)
            best = n->owner;
        if (i == maxbits)
            break;
        n = n->child[bit_at(addr, i)];
    }
    return best;
}

size_t edge_route_count(const struct edge_route_table *t)
{
    return t->count;
}
