/* Minimal test harness: CHECK records a failure and goes on; the program
 * prints "N passed, N failed" and exits non-zero on any failure. */
#ifndef MD_TEST_UTIL_H
#define MD_TEST_UTIL_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/fileout.h"

static int md_t_pass, md_t_fail;

#define CHECK(cond) do { if (cond) md_t_pass++; else { md_t_fail++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { if (cond) md_t_pass++; else { md_t_fail++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_NEAR(a, b, tol) do { double md_a_ = (a), md_b_ = (b); \
    if (fabs(md_a_ - md_b_) <= (tol)) md_t_pass++; else { md_t_fail++; \
    fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s=%g %s=%g tol=%g\n", __FILE__, __LINE__, \
            #a, md_a_, #b, md_b_, (double)(tol)); } } while (0)

/* A whole file as a NUL-terminated string (malloc'd), or NULL. */
static inline char *md_test_slurp(const char *path)
{
    unsigned char *data = NULL;
    size_t len = 0;
    if (md_read_file(NULL, path, (size_t)1 << 30, MD_ERR_INPUT, &data, &len) != MD_OK) return NULL;
    char *s = realloc(data, len + 1);
    if (!s) {
        free(data);
        return NULL;
    }
    s[len] = '\0';
    return s;
}

static inline int md_test_finish(void)
{
    printf("%d passed, %d failed\n", md_t_pass, md_t_fail);
    return md_t_fail ? 1 : 0;
}
#endif
