/* The note bank (src/notebank/): a bank built for two programs and the
 * drum kit draws notes, chords and drums within a few dB of FluidSynth's own
 * render of them; the key choice keeps what it promises; broken banks are
 * refused with the file named. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/logmel.h"
#include "core/fileout.h"
#include "notebank/notebank_internal.h"
#include "synth/fluid_render.h"
#include "test_util.h"

#define FIRST_PROGRAM 25
#define LAST_PROGRAM 26
#define SECONDS 3.0
/* The shipped bank's budget: 30 keys a program on average. */
#define FEW 60

static char dir[256], bank_all[300], bank_few[300], bank_organ[300];
static double seconds = SECONDS; /* how long compare_drawn renders */

/* The eval's LSD (tools/eval/metrics.py): dB of mel power, floored 80 dB
 * under the louder image's peak, RMS over bands, mean over frames where
 * either image sounds. a and b are ln-magnitude images [M][T]. */
static double lsd_db(const float *a, const float *b, int M, size_t T)
{
    float peak = -1e30f;
    for (size_t i = 0; i < (size_t)M * T; i++) peak = fmaxf(peak, fmaxf(a[i], b[i]));
    float lo = peak - 80 / 8.6859f;
    double sum = 0;
    size_t frames = 0;
    for (size_t t = 0; t < T; t++) {
        double e = 0;
        int sounds = 0;
        for (int m = 0; m < M; m++) {
            float x = fmaxf(a[(size_t)m * T + t], lo), y = fmaxf(b[(size_t)m * T + t], lo);
            sounds |= x > lo || y > lo;
            e += (8.6859 * (x - y)) * (8.6859 * (x - y));
        }
        if (!sounds) continue;
        sum += sqrt(e / M);
        frames++;
    }
    return frames ? sum / (double)frames : 0;
}

/* FluidSynth's render of stem `played` (with_curves: its controller curves
 * too, i.e. pitch bend) against the bank's drawing of stem `drawn`. */
static double compare_drawn(md_ctx *ctx, md_notebank *nb, const md_stem *played, int with_curves,
                            const md_stem *drawn)
{
    const md_mel_contract *mc = md_notebank_contract(nb);
    md_synth_cfg sc;
    md_synth_cfg_default(&sc);
    float *x = NULL;
    size_t n = 0;
    int drums = played->instrument == MD_INSTRUMENT_DRUMS;
    md_status s;
    if (with_curves) {
        md_synth *syn = NULL;
        s = md_synth_create(ctx, &sc, &syn);
        if (s == MD_OK) s = md_synth_render_stem(syn, played, seconds, &x, &n);
        md_synth_destroy(syn);
    } else {
        s = md_synth_render_notes(ctx, &sc, played->notes, played->n_notes, drums ? played->program : played->instrument,
                                  drums, seconds, &x, &n);
    }
    CHECK(s == MD_OK);
    if (s) return 1e9;
    size_t T = md_mel_frames_for_samples(mc, n);
    float *want = malloc(T * mc->n_mels * sizeof *want), *got = malloc(T * mc->n_mels * sizeof *got);
    CHECK(md_logmel_compute(ctx, mc, x, n, want) == MD_OK);
    CHECK(md_notebank_draw(ctx, nb, drawn, NULL, 0, T, got) == MD_OK);
    double d = lsd_db(want, got, mc->n_mels, T);
    free(x), free(want), free(got);
    return d;
}

static double compare_stem(md_ctx *ctx, md_notebank *nb, const md_stem *stem, int with_curves)
{
    return compare_drawn(ctx, nb, stem, with_curves, stem);
}

static double compare(md_ctx *ctx, md_notebank *nb, const md_stem *stem) { return compare_stem(ctx, nb, stem, 0); }

static md_stem stem_of(int instrument, md_note *notes, size_t n)
{
    md_stem st;
    memset(&st, 0, sizeof st);
    st.instrument = instrument;
    st.program = instrument == MD_INSTRUMENT_DRUMS ? 0 : instrument; /* the standard kit */
    st.notes = notes;
    st.n_notes = n;
    return st;
}

static md_note note(double start, double end, int key, int vel)
{
    md_note n = {.start = start, .end = end, .pitch = (uint8_t)key, .velocity = (uint8_t)vel};
    return n;
}

static void build_banks(md_ctx *ctx)
{
    md_mel_contract mc;
    md_mel_contract_default(&mc);
    md_notebank_build_cfg all = {NULL, 1, 0, 2, FIRST_PROGRAM, LAST_PROGRAM};
    CHECK(md_notebank_build(ctx, &all, &mc, bank_all, 1) == MD_OK);
    md_notebank_build_cfg few = {NULL, 1, FEW, 2, FIRST_PROGRAM, LAST_PROGRAM};
    CHECK(md_notebank_build(ctx, &few, &mc, bank_few, 1) == MD_OK);
    /* An existing file is kept unless forced. */
    CHECK(md_notebank_build(ctx, &few, &mc, bank_few, 0) != MD_OK);
    md_notebank_build_cfg organ = {NULL, 1, 0, 2, 19, 19}; /* church organ, every key */
    CHECK(md_notebank_build(ctx, &organ, &mc, bank_organ, 1) == MD_OK);
}

/* A long held note keeps sounding as long as it is held: the held grid
 * reaches 6 s, so the slope continued past it is the organ's sustain, not
 * its attack settling (ended at 2 s, the grid made a 7 s note miss by
 * 12.8 dB). */
static void test_long_note(md_ctx *ctx)
{
    md_notebank *nb = NULL;
    CHECK(md_notebank_open(ctx, bank_organ, &nb) == MD_OK);
    if (!nb) return;
    md_note n = note(0.2, 7.2, 60, 100);
    md_stem st = stem_of(19, &n, 1);
    seconds = 8.0;
    double d = compare(ctx, nb, &st);
    seconds = SECONDS;
    printf("  organ C4 held 7 s: %.2f dB (at most 4.50)\n", d);
    CHECK_MSG(d < 4.5, "%.2f dB", d);
    md_notebank_close(nb);
}

/* Notes, chords, velocities, repeats and drums against FluidSynth. */
static void test_accuracy(md_ctx *ctx, const char *path, double scale)
{
    md_notebank *nb = NULL;
    CHECK(md_notebank_open(ctx, path, &nb) == MD_OK);
    if (!nb) return;
    struct {
        const char *what;
        int instrument;
        md_note notes[4];
        size_t n;
        double max_db;
    } cases[] = {
        {"held C4, velocity 100", 26, {note(0.2, 1.5, 60, 100)}, 1, 1.5},
        {"held C#4, velocity 100", 26, {note(0.2, 1.5, 61, 100)}, 1, 1.5},
        /* released after 13 frames, not the 43 its release was measured at */
        {"short A5, velocity 100", 25, {note(0.1, 0.25, 81, 100)}, 1, 2.5},
        {"held E3, velocity 45", 26, {note(0.2, 1.5, 52, 45)}, 1, 3.0},
        {"held E3, velocity 80", 26, {note(0.2, 1.5, 52, 80)}, 1, 2.5},
        {"held E3, velocity 120", 26, {note(0.2, 1.5, 52, 120)}, 1, 2.5},
        {"C major chord", 25, {note(0.2, 1.2, 60, 90), note(0.2, 1.2, 64, 90), note(0.2, 1.2, 67, 90)}, 3, 3.0},
        {"the same key again before its end", 26, {note(0.2, 1.0, 57, 100), note(0.6, 1.4, 57, 100)}, 2, 3.0},
        {"kick, snare, closed hi-hat", MD_INSTRUMENT_DRUMS,
         {note(0.2, 0.3, 36, 100), note(0.7, 0.8, 38, 100), note(1.2, 1.3, 42, 100)}, 3, 2.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        md_stem st = stem_of(cases[i].instrument, cases[i].notes, cases[i].n);
        double d = compare(ctx, nb, &st);
        printf("  %-40s %5.2f dB (at most %.2f)\n", cases[i].what, d, cases[i].max_db * scale);
        CHECK_MSG(d <= cases[i].max_db * scale, "%s: %.2f dB", cases[i].what, d);
    }
    md_notebank_close(nb);
}

/* A note bent up a whole tone half-way: drawn at the bent pitch from the
 * bend on, and much closer to FluidSynth than the same note unbent. */
static void test_bend(md_ctx *ctx)
{
    md_notebank *nb = NULL;
    CHECK(md_notebank_open(ctx, bank_all, &nb) == MD_OK);
    if (!nb) return;
    md_note n = note(0.2, 1.8, 60, 100);
    md_ctrl_point pts[2] = {{0.0, 0.0f}, {0.9, 2.0f}};
    md_stem st = stem_of(25, &n, 1);
    st.channel = 0;
    st.pitch_bend = (md_curve){pts, 2};
    double bent = compare_stem(ctx, nb, &st, 1);
    md_stem flat = st;
    flat.pitch_bend = (md_curve){NULL, 0};
    double unbent = compare_drawn(ctx, nb, &st, 1, &flat); /* drawn unbent against the bent render */
    printf("  bent a whole tone at 0.9 s: %.2f dB drawn with the bend, %.2f dB without\n", bent, unbent);
    CHECK_MSG(bent < 2.0, "%.2f dB", bent);
    CHECK_MSG(unbent > 1.5 * bent, "the bend changes little: %.2f against %.2f dB", unbent, bent);
    md_notebank_close(nb);
}

/* Each kit is its own sound: the brush kit drawn as the brush kit, not as
 * the standard kit. */
static void test_kits(md_ctx *ctx)
{
    md_notebank *nb = NULL;
    CHECK(md_notebank_open(ctx, bank_few, &nb) == MD_OK);
    if (!nb) return;
    md_note ns[3] = {note(0.2, 0.3, 38, 100), note(0.7, 0.8, 42, 90), note(1.2, 1.3, 36, 110)};
    md_stem st = stem_of(MD_INSTRUMENT_DRUMS, ns, 3);
    st.program = 40; /* Brush */
    double right = compare(ctx, nb, &st);
    md_stem std = st;
    std.program = 0;
    double wrong = compare_drawn(ctx, nb, &st, 0, &std); /* the Standard kit drawn against the brush render */
    printf("  brush kit: %.2f dB drawn from the brush kit, %.2f dB from the standard kit\n", right, wrong);
    CHECK_MSG(right < 2.0, "%.2f dB", right);
    CHECK_MSG(wrong > 1.5 * right, "kits barely differ: %.2f against %.2f dB", wrong, right);
    md_notebank_close(nb);
}

/* The readable rule behind md_notebank_note_ends: a note ends at the first
 * event on its key and channel after its onset. */
static double end_by_rule(const md_stem *st, size_t i)
{
    const md_note *n = &st->notes[i];
    double end = n->end;
    for (size_t j = 0; j < st->n_notes; j++) {
        const md_note *o = &st->notes[j];
        if (j == i || o->pitch != n->pitch || o->channel != n->channel) continue;
        if (o->start > n->start && o->start < end) end = o->start;
        if (o->end > n->start && o->end < end && (o->start < n->start || (o->start == n->start && j < i)))
            end = o->end;
    }
    return end;
}

/* Effective note-offs (one voice per key and channel) on random overlapping
 * notes of three keys and two channels, against the rule applied note by
 * note. */
static void test_note_ends(md_ctx *ctx)
{
    enum { N = 400 };
    md_note ns[N];
    uint32_t r = 12345;
    double t = 0;
    for (int i = 0; i < N; i++) {
        r = r * 1664525u + 1013904223u;
        t += (r >> 28) * 0.05; /* often the same onset */
        r = r * 1664525u + 1013904223u;
        ns[i] = note(t, t + 0.05 + (r >> 26) * 0.04, 60 + (int)(r % 3), 100);
        ns[i].channel = (uint8_t)((r >> 8) & 1);
    }
    md_stem st = stem_of(0, ns, N);
    double *ends = NULL;
    CHECK(md_notebank_note_ends(ctx, &st, &ends) == MD_OK);
    int wrong = 0, cut = 0;
    for (size_t i = 0; ends && i < N; i++) {
        wrong += fabs(ends[i] - end_by_rule(&st, i)) > 1e-12;
        cut += ends[i] < ns[i].end;
    }
    CHECK_MSG(wrong == 0, "%d of %d note ends differ from the rule", wrong, N);
    CHECK_MSG(cut > N / 10, "only %d notes cut short: the test does not exercise the rule", cut);
    free(ends);
}

/* The budget bank keeps exactly its budget, each program's ends included,
 * and every drum key. */
static void test_selection(md_ctx *ctx)
{
    md_notebank *nb = NULL;
    CHECK(md_notebank_open(ctx, bank_few, &nb) == MD_OK);
    if (!nb) return;
    int melodic = nb->start[MD_NB_DRUMS];
    CHECK(melodic == FEW);
    for (int p = FIRST_PROGRAM; p <= LAST_PROGRAM; p++) {
        int a = nb->start[p], b = nb->start[p + 1];
        CHECK(b - a >= 2);
        CHECK(b > a && nb->keys[a] == MD_NB_KEY_LO && nb->keys[b - 1] == MD_NB_KEY_HI);
    }
    int kit_keys = MD_NB_DRUM_KEY_HI - MD_NB_DRUM_KEY_LO + 1;
    CHECK(nb->start[MD_NB_DRUMS + 1] - nb->start[MD_NB_DRUMS] == kit_keys); /* the Standard kit: every key */
    for (int k = 1; k < MD_NB_N_KITS; k++) { /* the others: where they differ from it */
        int n = nb->start[MD_NB_DRUMS + k + 1] - nb->start[MD_NB_DRUMS + k];
        CHECK_MSG(n > 0 && n < kit_keys, "kit %d stores %d keys", MD_NB_KITS[k], n);
    }
    CHECK(md_nb_kit_slot(0) == MD_NB_DRUMS && md_nb_kit_slot(7) == MD_NB_DRUMS && md_nb_kit_slot(26) == MD_NB_DRUMS + 4);
    CHECK(md_nb_kit_slot(40) == MD_NB_DRUMS + 6 && md_nb_kit_slot(127) == MD_NB_DRUMS + 7);
    CHECK(nb->start[0] == nb->start[FIRST_PROGRAM]); /* programs outside the range are empty */
    /* A program the bank does not hold draws silence. */
    md_note n = note(0.1, 0.5, 60, 100);
    md_stem st = stem_of(3, &n, 1);
    float img[128 * 20];
    CHECK(md_notebank_draw(ctx, nb, &st, NULL, 0, 20, img) == MD_OK);
    int silent = 1;
    for (int i = 0; i < 128 * 20; i++) silent &= img[i] == logf(nb->mc.log_floor);
    CHECK(silent);
    md_notebank_close(nb);
}

/* A window drawn from the middle of a stem equals the same frames of the
 * whole drawing: segments may be drawn one at a time. */
static void test_windows(md_ctx *ctx)
{
    md_notebank *nb = NULL;
    CHECK(md_notebank_open(ctx, bank_all, &nb) == MD_OK);
    if (!nb) return;
    md_note ns[3] = {note(0.05, 0.4, 48, 70), note(0.3, 1.9, 55, 100), note(1.2, 1.25, 79, 127)};
    md_stem st = stem_of(25, ns, 3);
    enum { T = 200, F0 = 37, N = 90 };
    float *whole = malloc(128 * T * sizeof(float)), *part = malloc(128 * N * sizeof(float));
    CHECK(md_notebank_draw(ctx, nb, &st, NULL, 0, T, whole) == MD_OK);
    CHECK(md_notebank_draw(ctx, nb, &st, NULL, F0, N, part) == MD_OK);
    double worst = 0;
    for (int m = 0; m < 128; m++)
        for (int t = 0; t < N; t++) worst = fmax(worst, fabs(whole[m * T + F0 + t] - part[m * N + t]));
    CHECK_MSG(worst < 1e-5, "window differs by %g", worst);
    free(whole), free(part);
    md_notebank_close(nb);
}

/* Broken files: each refused with MD_ERR_MODEL and the path in the message. */
static void expect_refused(md_ctx *ctx, const char *path, const char *what)
{
    md_notebank *nb = NULL;
    md_status s = md_notebank_open(ctx, path, &nb);
    CHECK_MSG(s == MD_ERR_MODEL && !nb, "%s: status %d", what, (int)s);
    CHECK_MSG(strstr(md_ctx_error(ctx), path) != NULL, "%s: message '%s'", what, md_ctx_error(ctx));
}

static void test_broken(md_ctx *ctx)
{
    unsigned char *data = NULL;
    size_t len = 0;
    CHECK(md_read_file(ctx, bank_few, (size_t)1 << 30, MD_ERR_INPUT, &data, &len) == MD_OK);
    if (!data) return;
    char path[320];
    snprintf(path, sizeof path, "%s/truncated.safetensors", dir);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, len / 2, f);
    fclose(f);
    expect_refused(ctx, path, "truncated");
    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    CHECK(md_notebank_open(ctx, path, &(md_notebank *){NULL}) != MD_OK);
    /* Same size, a key list that is not ascending. */
    unsigned char *bad = malloc(len);
    memcpy(bad, data, len);
    size_t hdr = 0;
    for (int i = 7; i >= 0; i--) hdr = hdr << 8 | data[i];
    const char *k = strstr((const char *)data + 8, "\"keys\"");
    const char *off = k ? strstr(k, "data_offsets\":[") : NULL;
    long b0 = off ? strtol(off + 15, NULL, 10) : -1;
    CHECK(b0 >= 0);
    if (b0 >= 0) {
        int32_t *keys = (int32_t *)(bad + 8 + hdr + b0);
        keys[1] = keys[0]; /* two templates of one slot at the same key */
        snprintf(path, sizeof path, "%s/badkeys.safetensors", dir);
        f = fopen(path, "wb");
        fwrite(bad, 1, len, f);
        fclose(f);
        expect_refused(ctx, path, "bad keys");
    }
    /* A U-Net model is not a bank. */
    expect_refused(ctx, MD_SOURCE_DIR "/tests/fixtures/unet/unet_tiny.safetensors", "a model");
    free(bad);
    free(data);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/test_notebank_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
    snprintf(bank_all, sizeof bank_all, "%s/all.safetensors", dir);
    snprintf(bank_few, sizeof bank_few, "%s/few.safetensors", dir);
    snprintf(bank_organ, sizeof bank_organ, "%s/organ.safetensors", dir);
    md_ctx *ctx = NULL;
    md_ctx_create(&ctx);
    build_banks(ctx);
    printf("every key kept:\n");
    test_accuracy(ctx, bank_all, 1.0);
    printf("%d keys for two programs:\n", FEW);
    test_accuracy(ctx, bank_few, 1.6);
    test_note_ends(ctx);
    test_long_note(ctx);
    test_bend(ctx);
    test_kits(ctx);
    test_selection(ctx);
    test_windows(ctx);
    test_broken(ctx);
    md_ctx_destroy(ctx);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return md_test_finish();
}
