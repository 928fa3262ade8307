#ifndef SUBTUNNEL_ST_QUOTA_H
#define SUBTUNNEL_ST_QUOTA_H

#include <stddef.h>
#include <stdint.h>

/* Live things counted per key, each key capped: so one user, one client address or one
 * destination host cannot take a whole budget that all share. An open-addressing table
 * (linear probing, backward-shift deletion) holding only keys with a count > 0. Keys are
 * ST_QUOTA_KEY bytes whose first byte, a type the caller chooses, is never 0
 * (st_quota_addr_key uses 4 and 6). Pure: no sockets, no clock. */

#define ST_QUOTA_KEY 17

struct st_quota_slot {
    uint8_t key[ST_QUOTA_KEY]; /* key[0] == 0: empty */
    uint32_t count;
};

struct st_quota {
    struct st_quota_slot *slots;
    size_t cap, used; /* cap a power of two (0 before the first take) */
    uint64_t seed;    /* mixed into the hash: keys a peer chooses cannot be made to collide */
};

void st_quota_init(struct st_quota *q, uint64_t seed);
void st_quota_fini(struct st_quota *q);
/* Counts one more for key unless it already has `limit`: 0, -EDQUOT (at the limit; nothing
 * counted), -ENOMEM. */
int st_quota_take(struct st_quota *q, const uint8_t key[ST_QUOTA_KEY], uint32_t limit);
/* One counted for key ended (no-op for a key with nothing counted). */
void st_quota_give(struct st_quota *q, const uint8_t key[ST_QUOTA_KEY]);
/* What is counted for key. */
uint32_t st_quota_count(const struct st_quota *q, const uint8_t key[ST_QUOTA_KEY]);
/* The key of an address (4 or 16 bytes by family): type 4 or 6, then the address. */
void st_quota_addr_key(uint8_t key[ST_QUOTA_KEY], int family, const uint8_t *addr);

#endif
