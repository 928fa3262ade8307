/* lwIP architecture glue for Linux/glibc (gcc or clang). */
#ifndef SUBTUNNEL_ARCH_CC_H
#define SUBTUNNEL_ARCH_CC_H

#include <arpa/inet.h>
#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BYTE_ORDER __BYTE_ORDER
#ifndef LITTLE_ENDIAN
#define LITTLE_ENDIAN __LITTLE_ENDIAN
#endif
#ifndef BIG_ENDIAN
#define BIG_ENDIAN __BIG_ENDIAN
#endif

/* Byte order: glibc's htons/htonl (its macros clash with lwIP's when optimising). */
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS 1
#define lwip_htons(x) htons(x)
#define lwip_htonl(x) htonl(x)

#define LWIP_NO_STDINT_H 0
#define LWIP_NO_INTTYPES_H 0
#define LWIP_NO_LIMITS_H 0
#define LWIP_NO_STDDEF_H 0
/* LWIP_PROVIDE_ERRNO stays undefined: lwIP uses the system <errno.h>. */
#define LWIP_ERRNO_STDINCLUDE 1

#define PACK_STRUCT_BEGIN
#define PACK_STRUCT_END
#define PACK_STRUCT_STRUCT __attribute__((packed))
#define PACK_STRUCT_FIELD(x) x

/* LWIP_PLATFORM_DIAG(("fmt", args)): printf-style diagnostics to stderr (ns_stack.c). */
#define LWIP_PLATFORM_DIAG(x)                                                                      \
    do {                                                                                           \
        ns_diag x;                                                                                 \
    } while (0)

#define LWIP_PLATFORM_ASSERT(x)                                                                    \
    do {                                                                                           \
        fprintf(stderr, "lwIP assertion \"%s\" failed at %s:%d\n", x, __FILE__, __LINE__);         \
        fflush(stderr);                                                                            \
        abort();                                                                                   \
    } while (0)

/* Writes a diagnostic line from lwIP to stderr. */
void ns_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Random 32-bit value for lwIP (ports, ISNs); implemented in ns_stack.c. */
uint32_t ns_rand(void);

#endif /* SUBTUNNEL_ARCH_CC_H */
