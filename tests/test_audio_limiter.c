/* The look-ahead limiter's envelope: the streaming code against a brute-force
 * reference written straight from the formulas in limiter.h, the ceiling
 * guarantee, unity below the ceiling, the attack ramp and the release. */
#include <math.h>
#include <stdlib.h>

#include "audio/limiter.h"
#include "test_util.h"

#define RATE 48000
#define CEIL 0.5

/* g[i] for the whole signal at once: O(n L), obviously right. */
static void reference(const float *d, size_t n, size_t L, double release_s, float *g)
{
    double a = 1.0 - exp(-1.0 / (release_s * RATE)), prev = 1.0;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = i - (i < L ? i : L); k <= i; k++) {
            double h = 1.0; /* h[k] = min r[k .. k + L], r = 1 past the end */
            for (size_t j = k; j <= k + L && j < n; j++) h = fmin(h, d[j] > CEIL ? CEIL / d[j] : 1.0);
            s += h;
        }
        s += (double)(L - (i < L ? i : L)); /* h = 1 before the start */
        s /= (double)(L + 1);
        double rel = prev + (1.0 - prev) * a;
        prev = fmin(s, rel);
        g[i] = (float)prev;
    }
}

/* The streaming limiter fed in blocks of `block`; returns how many gains came out. */
static size_t stream(md_ctx *ctx, const float *d, size_t n, size_t block, float *g)
{
    md_limiter *l = NULL;
    CHECK(md_limiter_create(ctx, RATE, CEIL, MD_LIMITER_LOOKAHEAD_S, 0.01, &l) == MD_OK);
    if (!l) return 0;
    size_t got = 0, k = 0;
    for (size_t i = 0; i < n; i += block) {
        size_t m = n - i < block ? n - i : block;
        md_limiter_push(l, d + i, m, g + got, &k);
        got += k;
    }
    md_limiter_finish(l, g + got, &k);
    md_limiter_destroy(l);
    return got + k;
}

/* Quiet noise with sparse spikes up to 8x the ceiling. */
static void spiky(float *d, size_t n, unsigned seed)
{
    srand(seed);
    for (size_t i = 0; i < n; i++) {
        d[i] = 0.3f * (float)rand() / (float)RAND_MAX;
        if (rand() % 500 == 0) d[i] = 4.0f * (float)rand() / (float)RAND_MAX;
    }
}

static void test_matches_reference(md_ctx *ctx)
{
    size_t n = 6000, L = (size_t)ceil(MD_LIMITER_LOOKAHEAD_S * RATE);
    float *d = malloc(n * sizeof *d), *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    spiky(d, n, 7);
    reference(d, n, L, 0.01, want);
    size_t blocks[] = {1, 37, 240, 241, 4096, 6000};
    for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++) {
        CHECK(stream(ctx, d, n, blocks[b], got) == n);
        double worst = 0, over = 0;
        for (size_t i = 0; i < n; i++) {
            worst = fmax(worst, fabs(got[i] - want[i]));
            over = fmax(over, d[i] * got[i] / CEIL);
        }
        CHECK(worst < 1e-6);
        CHECK(over <= 1.0 + 1e-6); /* the ceiling is never crossed */
    }
    free(d), free(want), free(got);
}

static void test_unity_and_short(md_ctx *ctx)
{
    float d[1000], g[1000];
    for (int i = 0; i < 1000; i++) d[i] = (float)(CEIL * (i % 7) / 7.0);
    CHECK(stream(ctx, d, 1000, 333, g) == 1000);
    int unity = 1;
    for (int i = 0; i < 1000; i++) unity &= g[i] == 1.0f;
    CHECK(unity);
    /* a stream shorter than the look-ahead still gets every gain */
    d[3] = 2.0f;
    CHECK(stream(ctx, d, 10, 4, g) == 10);
    CHECK_NEAR(g[3], CEIL / 2.0, 1e-6);
}

/* One spike: a linear ramp down over the look-ahead, the dip on the spike,
 * then recovery with the release time constant. */
static void test_attack_release(md_ctx *ctx)
{
    size_t n = 20000, p = 5000, L = (size_t)ceil(MD_LIMITER_LOOKAHEAD_S * RATE);
    float *d = calloc(n, sizeof *d), *g = malloc(n * sizeof *g);
    d[p] = 2.0f; /* needs 0.25 */
    CHECK(stream(ctx, d, n, 512, g) == n);
    CHECK(g[p - L - 1] == 1.0f);
    CHECK_NEAR(g[p], 0.25, 1e-6);
    double step = 0.75 / (double)(L + 1), worst = 0;
    for (size_t i = p - L; i <= p; i++) worst = fmax(worst, fabs((g[i - 1] - g[i]) - step));
    CHECK(worst < 1e-6);
    /* 10 ms release: after 5 time constants less than 1% of the dip is left */
    size_t t = p + (size_t)(0.05 * RATE);
    CHECK(g[t] > 1.0 - 0.75 * 0.01 && g[t] < 1.0);
    free(d), free(g);
}

int main(void)
{
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    test_matches_reference(ctx);
    test_unity_and_short(ctx);
    test_attack_release(ctx);
    md_limiter *l = NULL;
    CHECK(md_limiter_create(ctx, RATE, 0.0, 0.005, 0.1, &l) == MD_ERR_USAGE && !l);
    md_ctx_destroy(ctx);
    return md_test_finish();
}
