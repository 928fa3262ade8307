#ifndef SUBTUNNEL_ST_H2MEM_H
#define SUBTUNNEL_ST_H2MEM_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>

/* nghttp2's memory for st_h2conn's sessions: plain malloc, except that while st_h2mem_lazy is
 * on (session creation), blocks of ST_H2MEM_LAZY_MIN bytes or more are handed out with their
 * pages beyond the first ST_H2MEM_KEEP bytes returned to the kernel (MADV_DONTNEED on private
 * anonymous memory: they read as zeros and are backed again on first write).
 *
 * Why: nghttp2 allocates a 16 KiB frame buffer with every session and writes each frame it
 * sends from its start; an idle tunnel connection (PING, WINDOW_UPDATE) touches one page of
 * it. Taken from the heap, the other pages were often touched by an earlier owner and count
 * in the RSS of every connection (10,000 tunnels at the edge: about 120 MiB). Off again after
 * creation: nghttp2 reallocates that buffer for large DATA frames on busy connections, which
 * must not cost a system call each. */

#define ST_H2MEM_LAZY_MIN (16 * 1024)
#define ST_H2MEM_KEEP 512 /* a small frame's worth stays backed */

/* The allocator to pass to nghttp2_session_*_new3 (static, never freed). */
nghttp2_mem *st_h2mem(void);
/* Switches the page release of large blocks on or off (single-threaded use). */
void st_h2mem_lazy(bool on);

#endif
