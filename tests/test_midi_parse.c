/* SMF reading: formats, time division, tempo maps, running status, sysex,
 * meta events and RMID, on hand-built byte fixtures. Set
 * MD_WRITE_FIXTURES=<dir> to also write each fixture as a .mid file. */
#include <stdlib.h>
#include <string.h>

#include "fixtures/midi/smf_builder.h"
#include "melodiff/midi.h"
#include "test_util.h"

static int n_warn;
static char last_warn[1024];

static void log_sink(void *user, md_log_level level, const char *msg)
{
    (void)user;
    if (level != MD_LOG_WARN) return;
    n_warn++;
    snprintf(last_warn, sizeof last_warn, "%s", msg);
}

static md_ctx *ctx;

static md_score *load(const smf_buf *b, const char *name, md_stem_grouping g)
{
    smf_save(b, getenv("MD_WRITE_FIXTURES"), name);
    md_score_options o;
    md_score_options_default(&o);
    o.group = g;
    md_score *sc = NULL;
    n_warn = 0;
    md_status s = md_score_load_memory(ctx, b->d, b->n, name, &o, &sc);
    CHECK_MSG(s == MD_OK, "%s: %s", name, md_ctx_error(ctx));
    return sc;
}

#define TICK96(t) ((t) * 0.5 / 96.0) /* seconds of a tick at 120 bpm, 96 ppq */

static void format0_running_status(smf_buf *b)
{
    smf_header(b, 0, 1, 96);
    size_t t = smf_track_begin(b);
    EV(b, 0, 0x90, 60, 100);
    EV(b, 96, 64, 90);      /* running status: note-on E4 */
    EV(b, 96, 60, 0);       /* velocity 0: note-off C4 */
    EV(b, 0, 64, 0);
    EV(b, 0, 0x80, 67, 0);  /* note-off without a note: ignored */
    smf_eot(b, 96);
    smf_track_end(b, t);
}

static void test_format0(void)
{
    smf_buf b = {0};
    format0_running_status(&b);
    md_score *sc = load(&b, "format0_running_status", MD_GROUP_TRACK);
    if (!sc) return;
    CHECK(sc->format == 0 && sc->ppq == 96 && sc->n_tracks == 1);
    CHECK(sc->n_stems == 1 && sc->n_notes == 2);
    CHECK(n_warn == 0);
    const md_stem *st = &sc->stems[0];
    CHECK(st->instrument == 0 && st->track == 0 && st->channel == 0);
    CHECK(!strcmp(st->name, "Acoustic Grand Piano"));
    CHECK(st->notes[0].pitch == 60 && st->notes[0].velocity == 100);
    CHECK_NEAR(st->notes[0].start, 0.0, 1e-12);
    CHECK_NEAR(st->notes[0].end, 1.0, 1e-12);
    CHECK(st->notes[1].pitch == 64 && st->notes[1].velocity == 90);
    CHECK_NEAR(st->notes[1].start, 0.5, 1e-12);
    CHECK_NEAR(st->notes[1].end, 1.0, 1e-12);
    CHECK_NEAR(sc->length, 1.5, 1e-12);
    CHECK(sc->tracks[0].n_events == 6 && sc->tracks[0].n_notes == 2);
    md_score_free(sc);
}

static void test_rmid(void)
{
    smf_buf inner = {0}, b = {0};
    format0_running_status(&inner);
    smf_put(&b, (const uint8_t *)"RIFF", 4);
    uint32_t riff = (uint32_t)(4 + 8 + inner.n);
    const uint8_t le[4] = {(uint8_t)riff, (uint8_t)(riff >> 8), (uint8_t)(riff >> 16), (uint8_t)(riff >> 24)};
    smf_put(&b, le, 4);
    smf_put(&b, (const uint8_t *)"RMIDdata", 8);
    const uint8_t dl[4] = {(uint8_t)inner.n, (uint8_t)(inner.n >> 8), 0, 0};
    smf_put(&b, dl, 4);
    smf_put(&b, inner.d, inner.n);
    md_score *sc = load(&b, "rmid", MD_GROUP_TRACK);
    if (!sc) return;
    CHECK(sc->n_notes == 2);
    CHECK_NEAR(sc->length, 1.5, 1e-12);
    CHECK(n_warn == 0);
    md_score_free(sc);
}

/* A tempo change in track 2 governs the notes of track 1. */
static void test_tempo_map_across_tracks(void)
{
    smf_buf b = {0};
    smf_header(&b, 1, 3, 96);
    size_t t = smf_track_begin(&b);
    smf_meta_text(&b, 0, 0x03, "Song");
    smf_tempo(&b, 0, 500000);
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    t = smf_track_begin(&b);
    EV(&b, 0, 0x90, 60, 100);
    EV(&b, 96, 0x80, 60, 0);
    EV(&b, 96, 0x90, 62, 100);
    EV(&b, 96, 0x80, 62, 0);
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    t = smf_track_begin(&b);
    smf_tempo(&b, 96, 250000); /* 240 bpm from beat 2 */
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    md_score *sc = load(&b, "tempo_map_across_tracks", MD_GROUP_TRACK);
    if (!sc) return;
    CHECK(sc->n_tempos == 2);
    CHECK_NEAR(sc->tempos[1].time, 0.5, 1e-12);
    CHECK_NEAR(sc->tempos[1].bpm, 240.0, 1e-9);
    CHECK(sc->n_stems == 1 && sc->n_notes == 2);
    if (sc->n_notes == 2) {
        const md_note *n = sc->stems[0].notes;
        CHECK_NEAR(n[0].end, 0.5, 1e-12);
        CHECK_NEAR(n[1].start, 0.75, 1e-12);
        CHECK_NEAR(n[1].end, 1.0, 1e-12);
    }
    CHECK(!strcmp(sc->tracks[0].name, "Song"));
    CHECK_NEAR(sc->length, 1.0, 1e-12);
    md_score_free(sc);
}

/* Format 2: independent sequences, one after another, own tempo each. */
static void test_format2(void)
{
    smf_buf b = {0};
    smf_header(&b, 2, 2, 96);
    size_t t = smf_track_begin(&b);
    smf_tempo(&b, 0, 1000000); /* 60 bpm */
    EV(&b, 0, 0x90, 60, 100);
    EV(&b, 96, 0x80, 60, 0);
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    t = smf_track_begin(&b);
    EV(&b, 0, 0x90, 72, 100); /* default 120 bpm: a fresh sequence */
    EV(&b, 96, 0x80, 72, 0);
    smf_eot(&b, 96);
    smf_track_end(&b, t);
    md_score *sc = load(&b, "format2", MD_GROUP_TRACK);
    if (!sc) return;
    CHECK(sc->n_stems == 2);
    if (sc->n_stems == 2) {
        CHECK_NEAR(sc->stems[0].notes[0].end, 1.0, 1e-12);
        CHECK_NEAR(sc->stems[1].notes[0].start, 1.0, 1e-12);
        CHECK_NEAR(sc->stems[1].notes[0].end, 1.5, 1e-12);
    }
    CHECK_NEAR(sc->length, 2.0, 1e-12);
    CHECK_NEAR(sc->tracks[1].end_time, 2.0, 1e-12);
    md_score_free(sc);
}

static void test_smpte(void)
{
    smf_buf b = {0};
    smf_header(&b, 0, 1, (uint16_t)(((uint8_t)(int8_t)-25 << 8) | 40)); /* 25 fps x 40 = 1000 ticks/s */
    size_t t = smf_track_begin(&b);
    smf_tempo(&b, 0, 1000000); /* no effect under SMPTE time */
    EV(&b, 500, 0x90, 60, 100);
    EV(&b, 1000, 0x80, 60, 0);
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    md_score *sc = load(&b, "smpte", MD_GROUP_TRACK);
    if (!sc) return;
    CHECK(sc->ppq == 0 && sc->smpte_fps == 25 && sc->smpte_ticks_per_frame == 40);
    CHECK(sc->n_notes == 1);
    if (sc->n_notes == 1) {
        CHECK_NEAR(sc->stems[0].notes[0].start, 0.5, 1e-12);
        CHECK_NEAR(sc->stems[0].notes[0].end, 1.5, 1e-12);
    }
    md_score_free(sc);

    smf_buf d = {0}; /* 29.97 drop-frame: 30000/1001 frames a second */
    smf_header(&d, 0, 1, (uint16_t)(((uint8_t)(int8_t)-29 << 8) | 100));
    t = smf_track_begin(&d);
    smf_eot(&d, 2997);
    smf_track_end(&d, t);
    sc = load(&d, "smpte29", MD_GROUP_TRACK);
    if (sc) CHECK_NEAR(sc->length, 2997.0 / (100 * 30000.0 / 1001.0), 1e-12);
    md_score_free(sc);
}

/* Every meta event, sysex and escape events; running status survives them. */
static void test_meta_and_sysex(void)
{
    smf_buf b = {0};
    smf_header(&b, 0, 1, 96);
    size_t t = smf_track_begin(&b);
    EV(&b, 0, 0xFF, 0x00, 0x02, 0x00, 0x01);             /* sequence number */
    smf_meta_text(&b, 0, 0x01, "text");
    smf_meta_text(&b, 0, 0x02, "(c) nobody");
    smf_meta_text(&b, 0, 0x03, "Lead  ");                 /* trailing spaces trimmed */
    smf_meta_text(&b, 0, 0x04, "instrument");
    smf_meta_text(&b, 0, 0x05, "la");
    smf_meta_text(&b, 0, 0x06, "marker");
    smf_meta_text(&b, 0, 0x07, "cue");
    smf_meta_text(&b, 0, 0x08, "program");
    smf_meta_text(&b, 0, 0x09, "device");
    EV(&b, 0, 0xFF, 0x20, 0x01, 0x00);                   /* channel prefix */
    EV(&b, 0, 0xFF, 0x21, 0x01, 0x00);                   /* port */
    EV(&b, 0, 0xFF, 0x54, 0x05, 0x60, 0x00, 0x00, 0x00, 0x00); /* SMPTE offset */
    EV(&b, 0, 0xFF, 0x58, 0x04, 0x03, 0x02, 0x18, 0x08); /* 3/4 */
    EV(&b, 0, 0xFF, 0x59, 0x02, 0xFE, 0x01);             /* 2 flats, minor */
    EV(&b, 0, 0xFF, 0x7F, 0x03, 0x00, 0x00, 0x41);       /* sequencer specific */
    EV(&b, 0, 0xFF, 0x60, 0x01, 0x00);                   /* unknown meta: skipped */
    EV(&b, 0, 0x91, 60, 100);
    EV(&b, 0, 0xF0, 0x05, 0x7E, 0x7F, 0x09, 0x01, 0xF7); /* GM on */
    EV(&b, 0, 0xF7, 0x02, 0xF3, 0x01);                   /* escape */
    EV(&b, 48, 62, 100);                                 /* running status after sysex */
    EV(&b, 0, 0xFF, 0x01, 0x00);                         /* empty text */
    EV(&b, 48, 60, 0);                                   /* and after a meta event */
    EV(&b, 0, 62, 0);
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    md_score *sc = load(&b, "meta_and_sysex", MD_GROUP_TRACK);
    if (!sc) return;
    CHECK_MSG(n_warn == 0, "%s", last_warn);
    CHECK(sc->tracks[0].n_events == 25);
    CHECK(!strcmp(sc->tracks[0].name, "Lead"));
    CHECK(sc->n_time_signatures == 1);
    if (sc->n_time_signatures == 1)
        CHECK(sc->time_signatures[0].numerator == 3 && sc->time_signatures[0].denominator == 4);
    CHECK(sc->n_notes == 2 && sc->n_stems == 1);
    if (sc->n_notes == 2) {
        CHECK(sc->stems[0].channel == 1);
        CHECK_NEAR(sc->stems[0].notes[1].start, TICK96(48), 1e-12);
        CHECK_NEAR(sc->stems[0].notes[1].end, TICK96(96), 1e-12);
    }
    md_score_free(sc);
}

/* Non-ASCII names: UTF-8 kept, Latin-1 converted, control bytes dropped. */
static void test_names(void)
{
    smf_buf b = {0};
    smf_header(&b, 1, 2, 96);
    size_t t = smf_track_begin(&b);
    smf_meta_text(&b, 0, 0x03, "Caf\xc3\xa9");
    EV(&b, 0, 0x90, 60, 1);
    smf_eot(&b, 1);
    smf_track_end(&b, t);
    t = smf_track_begin(&b);
    smf_meta_text(&b, 0, 0x03, "Gar\xe7on\x01");
    EV(&b, 0, 0x90, 60, 1);
    smf_eot(&b, 1);
    smf_track_end(&b, t);
    md_score *sc = load(&b, "names", MD_GROUP_TRACK);
    if (!sc) return;
    CHECK(!strcmp(sc->tracks[0].name, "Caf\xc3\xa9"));
    CHECK(!strcmp(sc->tracks[1].name, "Gar\xc3\xa7on"));
    CHECK(sc->n_stems == 2 && !strcmp(sc->stems[1].name, "Gar\xc3\xa7on"));
    md_score_free(sc);
}

int main(void)
{
    md_ctx_create(&ctx);
    md_ctx_set_log(ctx, log_sink, NULL);
    test_format0();
    test_rmid();
    test_tempo_map_across_tracks();
    test_format2();
    test_smpte();
    test_meta_and_sysex();
    test_names();
    md_ctx_destroy(ctx);
    return md_test_finish();
}
