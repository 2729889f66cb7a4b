/* libfluidsynth offline rendering (no audio driver, sample-timed player). */
#include "synth/fluid_render.h"

#include <errno.h>
#include <fluidsynth.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fileout.h"
#include "melodiff/midi.h"

#define BLOCK 512

struct md_synth {
    md_ctx *ctx;
    md_synth_cfg cfg;
    fluid_settings_t *settings;
    fluid_synth_t *loader; /* owns the loaded SoundFont for the handle's life */
    fluid_sfont_t *sfont;
    fluid_synth_t *synth;  /* a fresh synthesiser per render */
    float left[BLOCK], right[BLOCK];
};

/* fluidsynth logs through process-wide handlers (stdout/stderr by default).
 * The library must never print, so every level is silenced once per process;
 * this touches only fluidsynth's own global table. */
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void silence_fluid(void)
{
    for (int lvl = FLUID_PANIC; lvl < LAST_LOG_LEVEL; lvl++) fluid_set_log_function(lvl, NULL, NULL);
}

void md_synth_cfg_default(md_synth_cfg *cfg)
{
    cfg->soundfont = MD_SYNTH_DEFAULT_SOUNDFONT;
    cfg->sample_rate = 44100;
    cfg->gain = 0.2;
    cfg->tail_seconds = 2.0;
}

void md_synth_destroy(md_synth *s)
{
    if (!s) return;
    if (s->synth) {
        fluid_synth_remove_sfont(s->synth, s->sfont);
        delete_fluid_synth(s->synth);
    }
    if (s->loader) delete_fluid_synth(s->loader);
    if (s->settings) delete_fluid_settings(s->settings);
    free(s);
}

static md_status configure(md_synth *s)
{
    fluid_settings_t *st = s->settings;
    int ok = fluid_settings_setnum(st, "synth.sample-rate", s->cfg.sample_rate) == FLUID_OK &&
             fluid_settings_setint(st, "synth.reverb.active", 0) == FLUID_OK &&
             fluid_settings_setint(st, "synth.chorus.active", 0) == FLUID_OK &&
             fluid_settings_setnum(st, "synth.gain", s->cfg.gain) == FLUID_OK &&
             fluid_settings_setint(st, "synth.cpu-cores", 1) == FLUID_OK &&
             fluid_settings_setstr(st, "player.timing-source", "sample") == FLUID_OK;
    /* Not all builds know these; missing ones are harmless. */
    fluid_settings_setint(st, "synth.lock-memory", 0);
    fluid_settings_setint(st, "synth.dynamic-sample-loading", 0);
    return ok ? MD_OK : md_fail(s->ctx, MD_ERR_INTERNAL, "fluidsynth: could not apply settings");
}

md_status md_synth_create(md_ctx *ctx, const md_synth_cfg *cfg_in, md_synth **out)
{
    pthread_once(&quiet_once, silence_fluid);
    md_synth_cfg cfg;
    md_synth_cfg_default(&cfg);
    if (cfg_in) cfg = *cfg_in;
    if (!cfg.soundfont) cfg.soundfont = MD_SYNTH_DEFAULT_SOUNDFONT;
    if (cfg.sample_rate < 8000 || cfg.sample_rate > 192000)
        return md_fail(ctx, MD_ERR_USAGE, "synth: sample rate %d out of range", cfg.sample_rate);
    struct stat stt;
    if (stat(cfg.soundfont, &stt) != 0)
        return md_fail(ctx, MD_ERR_INPUT, "%s: cannot open SoundFont: %s", cfg.soundfont,
                       strerror(errno));
    md_synth *s = calloc(1, sizeof *s);
    if (!s) return md_fail(ctx, MD_ERR_NOMEM, "synth: out of memory");
    s->ctx = ctx;
    s->cfg = cfg;
    s->settings = new_fluid_settings();
    if (!s->settings) {
        md_synth_destroy(s);
        return md_fail(ctx, MD_ERR_NOMEM, "fluidsynth: cannot create settings");
    }
    md_status st = configure(s);
    if (st == MD_OK && !(s->loader = new_fluid_synth(s->settings)))
        st = md_fail(ctx, MD_ERR_INTERNAL, "fluidsynth: cannot create a synthesiser");
    int id = st == MD_OK ? fluid_synth_sfload(s->loader, cfg.soundfont, 1) : FLUID_FAILED;
    if (st == MD_OK && (id == FLUID_FAILED || !(s->sfont = fluid_synth_get_sfont_by_id(s->loader, id))))
        st = md_fail(ctx, MD_ERR_INPUT, "%s: not a SoundFont fluidsynth can load", cfg.soundfont);
    if (st != MD_OK) {
        md_synth_destroy(s);
        return st;
    }
    *out = s;
    return MD_OK;
}

/* A growing mono buffer. */
typedef struct {
    float *x;
    size_t n, cap;
} md_buf;

static int buf_reserve(md_buf *b, size_t need)
{
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 44100;
    while (cap < need) cap *= 2;
    float *x = realloc(b->x, sizeof(float) * cap);
    if (!x) return -1;
    b->x = x;
    b->cap = cap;
    return 0;
}

/* Renders `count` samples (mono) onto the end of b; returns the block peak
 * or -1 when out of memory. */
static float render_block(md_synth *s, md_buf *b, int count)
{
    if (buf_reserve(b, b->n + (size_t)count)) return -1.0f;
    fluid_synth_write_float(s->synth, count, s->left, 0, 1, s->right, 0, 1);
    float peak = 0.0f;
    for (int i = 0; i < count; i++) {
        float v = 0.5f * (s->left[i] + s->right[i]);
        b->x[b->n++] = v;
        if (fabsf(v) > peak) peak = fabsf(v);
    }
    return peak;
}

/* Release tail: renders until the output has been silent (< -100 dBFS)
 * for 0.1 s, tail_seconds pass, or the cap is reached. */
static int render_tail(md_synth *s, md_buf *b, size_t cap)
{
    size_t tail_end = b->n + (size_t)(s->cfg.tail_seconds * s->cfg.sample_rate);
    size_t quiet = 0;
    while (b->n < tail_end && b->n < cap && quiet < (size_t)s->cfg.sample_rate / 10) {
        size_t left = (tail_end < cap ? tail_end : cap) - b->n;
        float p = render_block(s, b, (int)(left < BLOCK ? left : BLOCK));
        if (p < 0) return -1;
        quiet = p < 1e-5f ? quiet + BLOCK : 0;
    }
    return 0;
}

/* A render must not depend on what was rendered before (the dataset builder
 * relies on it): voices killed by a reset still fade out, fluidsynth applies
 * events on 64-sample block boundaries and voice filters keep state. So each
 * render gets a brand-new synthesiser that shares the loaded SoundFont
 * (creating one costs far less than loading the SoundFont again). */
static void end_render(md_synth *s)
{
    if (!s->synth) return;
    fluid_synth_remove_sfont(s->synth, s->sfont); /* the loader owns it */
    delete_fluid_synth(s->synth);
    s->synth = NULL;
}

static md_status begin_render(md_synth *s)
{
    end_render(s);
    s->synth = new_fluid_synth(s->settings);
    if (!s->synth) return md_fail(s->ctx, MD_ERR_NOMEM, "fluidsynth: cannot create a synthesiser");
    if (fluid_synth_add_sfont(s->synth, s->sfont) == FLUID_FAILED) {
        delete_fluid_synth(s->synth);
        s->synth = NULL;
        return md_fail(s->ctx, MD_ERR_INTERNAL, "fluidsynth: cannot attach the SoundFont");
    }
    return MD_OK;
}

static md_status play_file(md_synth *s, fluid_player_t *pl, const char *path, size_t cap,
                           md_buf *b)
{
    if (fluid_player_play(pl) != FLUID_OK)
        return md_fail(s->ctx, MD_ERR_INPUT, "%s: fluidsynth cannot play this MIDI file", path);
    while (fluid_player_get_status(pl) == FLUID_PLAYER_PLAYING && b->n < cap) {
        size_t left = cap - b->n;
        if (render_block(s, b, (int)(left < BLOCK ? left : BLOCK)) < 0)
            return md_fail(s->ctx, MD_ERR_NOMEM, "%s: out of memory rendering", path);
    }
    fluid_player_stop(pl);
    /* End of song: let the last notes ring out (all notes released). */
    fluid_synth_all_notes_off(s->synth, -1);
    if (render_tail(s, b, cap))
        return md_fail(s->ctx, MD_ERR_NOMEM, "%s: out of memory rendering", path);
    return MD_OK;
}

md_status md_synth_render_midi(md_synth *s, const char *path, double max_seconds, float **out,
                               size_t *n)
{
    unsigned char *data = NULL;
    size_t len = 0;
    md_status st = md_read_file(s->ctx, path, 64u << 20, MD_ERR_INPUT, &data, &len);
    if (st != MD_OK) return st;
    /* fluidsynth skips what it cannot parse and would render silence; run
     * melodiff's own strict reader first so a bad file fails the same way
     * everywhere (MD_ERR_INPUT / MD_ERR_LIMIT, one line naming the file).
     * Its warnings about how melodiff would read the notes do not apply to
     * fluidsynth's rendering, so only errors are let through. */
    md_score *score = NULL;
    md_log_level lvl = md_ctx_log_level(s->ctx);
    md_ctx_set_log_level(s->ctx, MD_LOG_ERROR);
    st = md_score_load_memory(s->ctx, data, len, path, NULL, &score);
    md_ctx_set_log_level(s->ctx, lvl);
    md_score_free(score);
    if (st != MD_OK) {
        free(data);
        return st;
    }
    st = begin_render(s);
    if (st != MD_OK) {
        free(data);
        return st;
    }
    fluid_player_t *pl = new_fluid_player(s->synth);
    if (!pl || fluid_player_add_mem(pl, data, len) != FLUID_OK) {
        if (pl) delete_fluid_player(pl);
        end_render(s);
        free(data);
        return md_fail(s->ctx, MD_ERR_INPUT, "%s: fluidsynth rejected the MIDI file", path);
    }
    size_t cap = max_seconds > 0 ? (size_t)llround(max_seconds * s->cfg.sample_rate)
                                 : (size_t)4 * 3600 * (size_t)s->cfg.sample_rate;
    md_buf b = {0};
    st = play_file(s, pl, path, cap, &b);
    delete_fluid_player(pl);
    end_render(s);
    free(data);
    if (st != MD_OK) {
        free(b.x);
        return st;
    }
    if (b.n == 0 && buf_reserve(&b, 1)) return md_fail(s->ctx, MD_ERR_NOMEM, "synth: out of memory");
    *out = b.x;
    *n = b.n;
    return MD_OK;
}

/* Timed channel events. At equal times: note-offs, then controllers and
 * bends, then note-ons (a note starts with its controllers in place). */
enum { EV_OFF = 0, EV_CC = 1, EV_BEND = 2, EV_ON = 3 };

typedef struct {
    size_t sample;
    int kind, a, b;
} md_sev;

static int sev_cmp(const void *pa, const void *pb)
{
    const md_sev *x = pa, *y = pb;
    if (x->sample != y->sample) return x->sample < y->sample ? -1 : 1;
    return (x->kind > EV_OFF && x->kind < EV_ON) - (y->kind > EV_OFF && y->kind < EV_ON) +
           2 * ((x->kind == EV_ON) - (y->kind == EV_ON));
}

static void apply_events(md_synth *s, const md_sev *ev, size_t n_ev, size_t *next, size_t upto,
                         int chan)
{
    while (*next < n_ev && ev[*next].sample <= upto) {
        const md_sev *e = &ev[(*next)++];
        switch (e->kind) {
        case EV_ON: fluid_synth_noteon(s->synth, chan, e->a, e->b); break;
        case EV_OFF: fluid_synth_noteoff(s->synth, chan, e->a); break;
        case EV_CC: fluid_synth_cc(s->synth, chan, e->a, e->b); break;
        case EV_BEND: fluid_synth_pitch_bend(s->synth, chan, e->a); break;
        }
    }
}

static size_t to_sample(const md_synth *s, double t)
{
    return (size_t)llround((t > 0 ? t : 0) * s->cfg.sample_rate);
}

static size_t add_notes(const md_synth *s, const md_note *notes, size_t n_notes, md_sev *ev)
{
    size_t n_ev = 0;
    for (size_t i = 0; i < n_notes; i++) {
        const md_note *nt = &notes[i];
        double a = nt->start > 0 ? nt->start : 0, e = nt->end > a ? nt->end : a;
        ev[n_ev++] = (md_sev){to_sample(s, a), EV_ON, nt->pitch & 127, nt->velocity ? nt->velocity & 127 : 1};
        ev[n_ev++] = (md_sev){to_sample(s, e), EV_OFF, nt->pitch & 127, 0};
    }
    return n_ev;
}

typedef struct {
    int chan, bank, program, bend_range; /* bank -1: leave the default */
} md_chan_setup;

/* Renders sorted events on one channel for exactly `total` samples. */
static md_status render_events(md_synth *s, md_sev *ev, size_t n_ev, const md_chan_setup *cs,
                               size_t total, float **out, size_t *n)
{
    md_buf b = {0};
    if (buf_reserve(&b, total + 1)) return md_fail(s->ctx, MD_ERR_NOMEM, "synth: out of memory");
    qsort(ev, n_ev, sizeof *ev, sev_cmp);
    md_status st = begin_render(s);
    if (st != MD_OK) {
        free(b.x);
        return st;
    }
    /* Channel 10 is fluidsynth's drum channel: it selects the kit from the
     * SoundFont's percussion bank (128) itself. */
    if (cs->chan != 9) fluid_synth_bank_select(s->synth, cs->chan, cs->bank > 0 ? (unsigned)cs->bank : 0);
    if (fluid_synth_program_change(s->synth, cs->chan, cs->program) != FLUID_OK && cs->bank > 0) {
        fluid_synth_bank_select(s->synth, cs->chan, 0); /* variation missing: the GM sound */
        fluid_synth_program_change(s->synth, cs->chan, cs->program);
    }
    if (cs->bend_range > 0) fluid_synth_pitch_wheel_sens(s->synth, cs->chan, cs->bend_range);
    size_t next = 0;
    while (b.n < total) {
        apply_events(s, ev, n_ev, &next, b.n, cs->chan);
        size_t until = next < n_ev && ev[next].sample < total ? ev[next].sample : total;
        size_t count = until - b.n;
        if (count > BLOCK) count = BLOCK;
        render_block(s, &b, (int)count); /* capacity reserved above */
    }
    end_render(s);
    *out = b.x;
    *n = total;
    return MD_OK;
}

static md_status check_span(md_synth *s, int program, double seconds)
{
    if (program < 0 || program > 127 || !(seconds >= 0) || seconds > 4 * 3600)
        return md_fail(s->ctx, MD_ERR_USAGE, "synth: program %d / %g s out of range", program, seconds);
    return MD_OK;
}

md_status md_synth_render_notes_on(md_synth *s, const md_note *notes, size_t n_notes, int program,
                                   int is_drum, double seconds, float **out, size_t *n)
{
    md_status st = check_span(s, program, seconds);
    if (st != MD_OK) return st;
    md_sev *ev = malloc(sizeof(md_sev) * (2 * n_notes + 1));
    if (!ev) return md_fail(s->ctx, MD_ERR_NOMEM, "synth: out of memory for %zu notes", n_notes);
    size_t n_ev = add_notes(s, notes, n_notes, ev);
    md_chan_setup cs = {is_drum ? 9 : 0, 0, program, 0};
    st = render_events(s, ev, n_ev, &cs, to_sample(s, seconds), out, n);
    free(ev);
    return st;
}

/* Controller curve points -> CC events (value in 0..1 -> 0..127). */
static size_t add_curve_cc(const md_synth *s, const md_curve *c, int cc, md_sev *ev)
{
    for (size_t i = 0; i < c->n; i++) {
        long v = lrint(c->points[i].value * 127.0);
        ev[i] = (md_sev){to_sample(s, c->points[i].time), EV_CC, cc, (int)(v < 0 ? 0 : v > 127 ? 127 : v)};
    }
    return c->n;
}

/* Bend range in whole semitones covering the curve (at least GM's 2). */
static int bend_range_of(const md_curve *c)
{
    double m = 2.0;
    for (size_t i = 0; i < c->n; i++) m = fmax(m, fabs(c->points[i].value));
    return m > 127 ? 127 : (int)ceil(m);
}

static size_t add_curve_bend(const md_synth *s, const md_curve *c, int range, md_sev *ev)
{
    for (size_t i = 0; i < c->n; i++) {
        long v = 8192 + lrint(c->points[i].value / range * 8192.0);
        ev[i] = (md_sev){to_sample(s, c->points[i].time), EV_BEND, (int)(v < 0 ? 0 : v > 16383 ? 16383 : v), 0};
    }
    return c->n;
}

md_status md_synth_render_stem(md_synth *s, const md_stem *stem, double seconds, float **out,
                               size_t *n)
{
    int drums = stem->instrument == MD_INSTRUMENT_DRUMS;
    int program = stem->program < 0 || stem->program > 127 ? 0 : stem->program;
    md_status st = check_span(s, program, seconds);
    if (st != MD_OK) return st;
    size_t cap = 2 * stem->n_notes + stem->pitch_bend.n + stem->volume.n + stem->expression.n + 1;
    md_sev *ev = malloc(sizeof(md_sev) * cap);
    if (!ev) return md_fail(s->ctx, MD_ERR_NOMEM, "synth: out of memory for %zu notes", stem->n_notes);
    md_chan_setup cs = {drums ? 9 : 0, drums ? 0 : stem->bank >> 7, program, bend_range_of(&stem->pitch_bend)};
    size_t n_ev = add_notes(s, stem->notes, stem->n_notes, ev);
    n_ev += add_curve_cc(s, &stem->volume, 7, ev + n_ev);
    n_ev += add_curve_cc(s, &stem->expression, 11, ev + n_ev);
    n_ev += add_curve_bend(s, &stem->pitch_bend, cs.bend_range, ev + n_ev);
    st = render_events(s, ev, n_ev, &cs, to_sample(s, seconds), out, n);
    free(ev);
    return st;
}

md_status md_synth_render_notes(md_ctx *ctx, const md_synth_cfg *cfg, const md_note *notes,
                                size_t n_notes, int program, int is_drum, double seconds,
                                float **out, size_t *n)
{
    md_synth *s = NULL;
    md_status st = md_synth_create(ctx, cfg, &s);
    if (st != MD_OK) return st;
    st = md_synth_render_notes_on(s, notes, n_notes, program, is_drum, seconds, out, n);
    md_synth_destroy(s);
    return st;
}
