/* Spectrogram PNGs through stb_image_write, with an OKLab colour map. */
#include "audio/png.h"

#include <math.h>
#include <stdlib.h>

#include "core/fileout.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#define STB_IMAGE_WRITE_STATIC /* private copy: no symbol clashes with other users */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#pragma GCC diagnostic pop

#define DYN_RANGE_DB 80.0

/* OKLab -> linear sRGB (Ottosson's published matrices). */
static void oklab_to_linear(double L, double a, double b, double rgb[3])
{
    double l = L + 0.3963377774 * a + 0.2158037573 * b;
    double m = L - 0.1055613458 * a - 0.0638541728 * b;
    double s = L - 0.0894841775 * a - 1.2914855480 * b;
    l = l * l * l, m = m * m * m, s = s * s * s;
    rgb[0] = 4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s;
    rgb[1] = -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s;
    rgb[2] = -0.0041960863 * l - 0.7034186147 * m + 1.7076147010 * s;
}

static int in_gamut(const double c[3])
{
    return c[0] >= -1e-9 && c[0] <= 1 + 1e-9 && c[1] >= -1e-9 && c[1] <= 1 + 1e-9 &&
           c[2] >= -1e-9 && c[2] <= 1 + 1e-9;
}

static uint8_t encode_srgb(double v)
{
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    v = v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1.0 / 2.4) - 0.055;
    return (uint8_t)lrint(v * 255.0);
}

void md_colormap(double t, uint8_t out[3])
{
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double L = 0.13 + 0.84 * t;
    double C = 0.05 + 0.10 * sin(M_PI * pow(t, 0.8)); /* vivid mid-range, calm ends */
    double h = (300.0 + 155.0 * t) * M_PI / 180.0;
    double rgb[3];
    /* Keep L and h, shrink chroma until the colour fits in sRGB. */
    double lo = 0.0, hi = C;
    oklab_to_linear(L, C * cos(h), C * sin(h), rgb);
    if (!in_gamut(rgb)) {
        for (int i = 0; i < 30; i++) {
            double mid = 0.5 * (lo + hi);
            oklab_to_linear(L, mid * cos(h), mid * sin(h), rgb);
            if (in_gamut(rgb)) lo = mid;
            else hi = mid;
        }
        oklab_to_linear(L, lo * cos(h), lo * sin(h), rgb);
    }
    for (int i = 0; i < 3; i++) out[i] = encode_srgb(rgb[i]);
}

md_status md_png_write_logmel(md_ctx *ctx, const char *path, const float *logmel, int n_mels,
                              size_t frames, int force)
{
    if (n_mels < 1 || frames < 1 || frames > (1u << 24))
        return md_fail(ctx, MD_ERR_USAGE, "%s: cannot draw a %d x %zu spectrogram", path, n_mels, frames);
    uint8_t lut[256][3];
    for (int i = 0; i < 256; i++) md_colormap(i / 255.0, lut[i]);
    float top = -INFINITY;
    for (size_t i = 0; i < (size_t)n_mels * frames; i++)
        if (logmel[i] > top) top = logmel[i];
    const double range = DYN_RANGE_DB / 20.0 * M_LN10; /* in nats of magnitude */
    uint8_t *img = malloc((size_t)n_mels * frames * 3);
    if (!img) return md_fail(ctx, MD_ERR_NOMEM, "%s: out of memory for the picture", path);
    for (int m = 0; m < n_mels; m++) {
        uint8_t *row = img + (size_t)(n_mels - 1 - m) * frames * 3; /* low bands at the bottom */
        for (size_t t = 0; t < frames; t++) {
            double v = 1.0 - (top - logmel[(size_t)m * frames + t]) / range;
            int idx = (int)lrint((v < 0 ? 0 : v > 1 ? 1 : v) * 255.0);
            row[3 * t] = lut[idx][0], row[3 * t + 1] = lut[idx][1], row[3 * t + 2] = lut[idx][2];
        }
    }
    md_outfile o;
    md_status s = md_outfile_begin(ctx, path, force, &o);
    if (s == MD_OK) {
        if (!stbi_write_png(o.tmp, (int)frames, n_mels, 3, img, (int)(frames * 3))) {
            md_outfile_abort(&o);
            s = md_fail(ctx, MD_ERR_IO, "%s: writing the PNG failed", path);
        } else {
            s = md_outfile_commit(ctx, &o);
        }
    }
    free(img);
    return s;
}
