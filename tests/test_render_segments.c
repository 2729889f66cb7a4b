/* Segment plans cover every frame, keep a fixed length, and placement
 * cross-fades held overlaps without a level change. */
#include "render/segments.h"
#include "test_util.h"

static void check_cover(size_t n, size_t seg, size_t ov)
{
    md_segment_plan p;
    CHECK(md_segment_plan_make(NULL, n, seg, ov, 8, &p) == MD_OK);
    size_t covered_to = 0;
    int ok = p.count >= 1;
    for (size_t i = 0; i < p.count; i++) {
        const md_segment *s = &p.seg[i];
        ok &= s->frames == seg && s->valid >= 1 && s->valid <= seg;
        ok &= i == 0 ? s->start == 0 && s->held == 0 : s->held == ov && s->start + ov == covered_to;
        covered_to = s->start + s->valid;
    }
    CHECK_MSG(ok && covered_to == n, "n=%zu seg=%zu ov=%zu count=%zu covered=%zu", n, seg, ov, p.count, covered_to);
    md_segment_plan_free(&p);
}

int main(void)
{
    check_cover(1, 256, 32);
    check_cover(256, 256, 32);
    check_cover(257, 256, 32);
    check_cover(1000, 256, 32);
    check_cover(100000, 512, 64);
    md_segment_plan p;
    CHECK(md_segment_plan_make(NULL, 100, 250, 16, 8, &p) == MD_ERR_USAGE);
    CHECK(md_segment_plan_make(NULL, 100, 64, 32, 8, &p) == MD_ERR_USAGE);

    /* Fade weights rise monotonically from ~0 to ~1 and mirror to sum 1. */
    int mono = 1;
    for (size_t i = 1; i < 32; i++) mono &= md_segment_fade(i, 32) > md_segment_fade(i - 1, 32);
    CHECK(mono);
    CHECK_NEAR(md_segment_fade(3, 32) + md_segment_fade(28, 32), 1.0, 1e-6);

    /* Placing constant segments gives a constant image: no seam in level. */
    enum { N = 300, SEG = 64, OV = 16, ROWS = 2 };
    static float stem[ROWS * N], seg[ROWS * SEG];
    CHECK(md_segment_plan_make(NULL, N, SEG, OV, 8, &p) == MD_OK);
    for (int i = 0; i < ROWS * SEG; i++) seg[i] = 5.0f;
    for (size_t s = 0; s < p.count; s++) md_segment_place(&p, s, seg, ROWS, stem, N);
    double maxdev = 0;
    for (int i = 0; i < ROWS * N; i++) maxdev = fmax(maxdev, fabs(stem[i] - 5.0));
    CHECK(maxdev < 1e-5);
    md_segment_plan_free(&p);
    return md_test_finish();
}
