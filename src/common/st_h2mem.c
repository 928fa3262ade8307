#include "st_h2mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static bool lazy;

void st_h2mem_lazy(bool on)
{
    lazy = on;
}

static void *mem_malloc(size_t size, void *ud)
{
    (void)ud;
    static uintptr_t page;
    if (!page)
        page = (uintptr_t)sysconf(_SC_PAGESIZE);
    void *p = malloc(size);
    if (!p || size < ST_H2MEM_LAZY_MIN || !lazy)
        return p;
    uintptr_t start = ((uintptr_t)p + ST_H2MEM_KEEP + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)p + size) & ~(page - 1);
    if (end > start)
        madvise((void *)start, end - start, MADV_DONTNEED);
    return p;
}

static void mem_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static void *mem_calloc(size_t n, size_t size, void *ud)
{
    (void)ud;
    return calloc(n, size);
}

static void *mem_realloc(void *p, size_t size, void *ud)
{
    return p ? realloc(p, size) : mem_malloc(size, ud); /* nghttp2_buf_reserve from NULL */
}

nghttp2_mem *st_h2mem(void)
{
    static nghttp2_mem mem = {NULL, mem_malloc, mem_free, mem_calloc, mem_realloc};
    return &mem;
}
