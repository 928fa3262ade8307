#ifndef SUBTUNNEL_ST_CHECK_H
#define SUBTUNNEL_ST_CHECK_H

#include <check.h>
#include <stdlib.h>

/* Runs a suite (and frees it); returns the process exit status. */
static inline int st_check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
