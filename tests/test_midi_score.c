/* From events to notes and stems: re-struck keys, notes left sounding,
 * sustain pedal, programs, banks and drums, control curves, grouping. */
#include <stdlib.h>
#include <string.h>

#include "fixtures/midi/smf_builder.h"
#include "melodiff/midi.h"
#include "test_util.h"

static md_ctx *ctx;

static md_score *load(const smf_buf *b, const char *name, md_stem_grouping g)
{
    smf_save(b, getenv("MD_WRITE_FIXTURES"), name);
    md_score_options o;
    md_score_options_default(&o);
    o.group = g;
    md_score *sc = NULL;
    md_status s = md_score_load_memory(ctx, b->d, b->n, name, &o, &sc);
    CHECK_MSG(s == MD_OK, "%s: %s", name, md_ctx_error(ctx));
    return sc;
}

#define SEC(t) ((t) * 0.5 / 96.0) /* 120 bpm, 96 ppq */

static int has_note(const md_stem *st, int pitch, double start, double end)
{
    for (size_t i = 0; i < st->n_notes; i++)
        if (st->notes[i].pitch == pitch && fabs(st->notes[i].start - start) < 1e-9 &&
            fabs(st->notes[i].end - end) < 1e-9)
            return 1;
    return 0;
}

static void test_restrike_and_unclosed(void)
{
    smf_buf b = {0};
    smf_header(&b, 0, 1, 96);
    size_t t = smf_track_begin(&b);
    EV(&b, 0, 0x90, 60, 100);
    EV(&b, 48, 0x90, 60, 80); /* same key again: the first note ends here */
    EV(&b, 48, 0x80, 60, 64);
    EV(&b, 48, 0x80, 60, 64); /* stray note-off: ignored */
    EV(&b, 0, 0x90, 72, 100); /* never released: closed at the track end */
    smf_eot(&b, 48);
    smf_track_end(&b, t);
    md_score *sc = load(&b, "restrike_unclosed", MD_GROUP_TRACK);
    if (!sc) return;
    CHECK(sc->n_stems == 1 && sc->n_notes == 3);
    if (sc->n_stems == 1) {
        const md_stem *st = &sc->stems[0];
        CHECK(has_note(st, 60, 0.0, SEC(48)));
        CHECK(has_note(st, 60, SEC(48), SEC(96)));
        CHECK(has_note(st, 72, SEC(144), SEC(192)));
        CHECK(st->notes[1].velocity == 80);
    }
    md_score_free(sc);
}

static void test_sustain(void)
{
    smf_buf b = {0};
    smf_header(&b, 0, 1, 96);
    size_t t = smf_track_begin(&b);
    EV(&b, 0, 0xB0, 64, 127);  /* pedal down */
    EV(&b, 0, 0x90, 60, 100);
    EV(&b, 24, 0x90, 62, 100);
    EV(&b, 24, 0x80, 60, 0);   /* released under the pedal: keeps sounding */
    EV(&b, 0, 0x80, 62, 0);
    EV(&b, 24, 0x90, 60, 90);  /* struck again: the sustained 60 ends here */
    EV(&b, 24, 0x80, 60, 0);
    EV(&b, 48, 0xB0, 64, 0);   /* pedal up at 144: everything held ends */
    EV(&b, 0, 0x90, 64, 100);  /* after the pedal: plain note */
    EV(&b, 24, 0x80, 64, 0);
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    md_score *sc = load(&b, "sustain", MD_GROUP_TRACK);
    if (!sc) return;
    CHECK(sc->n_notes == 4);
    if (sc->n_stems == 1) {
        const md_stem *st = &sc->stems[0];
        CHECK(has_note(st, 60, 0.0, SEC(72)));
        CHECK(has_note(st, 62, SEC(24), SEC(144)));
        CHECK(has_note(st, 60, SEC(72), SEC(144)));
        CHECK(has_note(st, 64, SEC(144), SEC(168)));
    }
    md_score_free(sc);
}

/* One track on three channels: piano, violin (with a bank) and drums. */
static void test_programs_and_drums(void)
{
    smf_buf b = {0};
    smf_header(&b, 1, 2, 96);
    size_t t = smf_track_begin(&b);
    smf_tempo(&b, 0, 500000);
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    t = smf_track_begin(&b);
    smf_meta_text(&b, 0, 0x03, "Band");
    EV(&b, 0, 0xB0, 0, 1);     /* bank select MSB 1 */
    EV(&b, 0, 0xB0, 32, 2);    /* LSB 2 */
    EV(&b, 0, 0xC0, 40);       /* violin */
    EV(&b, 0, 0xC9, 25);       /* TR-808 kit on channel 10 */
    EV(&b, 0, 0x90, 67, 100);
    EV(&b, 0, 0x91, 48, 100);  /* channel 2: no program change, piano */
    EV(&b, 0, 0x99, 36, 120);  /* kick */
    EV(&b, 12, 0x89, 36, 0);
    EV(&b, 84, 0x80, 67, 0);
    EV(&b, 0, 0x81, 48, 0);
    EV(&b, 0, 0xC0, 41);       /* viola from here: a new stem on the same track */
    EV(&b, 0, 0x90, 69, 100);
    EV(&b, 96, 0x80, 69, 0);
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    md_score *sc = load(&b, "programs_drums", MD_GROUP_TRACK);
    if (!sc) return;
    CHECK(sc->n_stems == 4);
    if (sc->n_stems == 4) { /* sorted by track, then instrument; drums last */
        CHECK(sc->stems[0].instrument == 0 && sc->stems[0].channel == 1);
        CHECK(!strcmp(sc->stems[0].name, "Band (Acoustic Grand Piano)"));
        CHECK(sc->stems[1].instrument == 40 && sc->stems[1].bank == 130);
        CHECK(!strcmp(sc->stems[1].name, "Band (Violin)"));
        CHECK(sc->stems[2].instrument == 41 && sc->stems[2].n_notes == 1);
        CHECK(sc->stems[3].instrument == MD_INSTRUMENT_DRUMS && sc->stems[3].program == 25);
        CHECK(sc->stems[3].channel == 9 && sc->stems[3].track == 1);
        CHECK(!strcmp(sc->stems[3].name, "Band (TR-808 Kit)"));
    }
    CHECK(!strcmp(md_gm_instrument_name(0), "Acoustic Grand Piano"));
    CHECK(!strcmp(md_gm_instrument_name(127), "Gunshot"));
    CHECK(!strcmp(md_gm_instrument_name(MD_INSTRUMENT_DRUMS), "Standard Kit"));
    CHECK(!strcmp(md_gm_instrument_name(-1), "Unknown"));
    CHECK(!strcmp(md_gm_drum_kit_name(3), "Standard Kit"));
    md_score_free(sc);
}

static void test_curves(void)
{
    smf_buf b = {0};
    smf_header(&b, 0, 1, 96);
    size_t t = smf_track_begin(&b);
    EV(&b, 0, 0xB2, 101, 0);   /* RPN 0: pitch bend range */
    EV(&b, 0, 0xB2, 100, 0);
    EV(&b, 0, 0xB2, 6, 12);    /* 12 semitones */
    EV(&b, 0, 0xB2, 38, 0);
    EV(&b, 0, 0xB2, 7, 64);    /* volume */
    EV(&b, 0, 0x92, 60, 100);
    EV(&b, 48, 0xB2, 11, 100); /* expression */
    EV(&b, 48, 0xE2, 0, 96);   /* bend 12288: +half range = 6 semitones */
    EV(&b, 0, 0xB3, 7, 10);    /* another channel's volume: not this stem's */
    EV(&b, 96, 0x82, 60, 0);
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    md_score *sc = load(&b, "curves", MD_GROUP_TRACK);
    if (!sc || sc->n_stems != 1) {
        CHECK(sc && sc->n_stems == 1);
        md_score_free(sc);
        return;
    }
    const md_stem *st = &sc->stems[0];
    CHECK(st->channel == 2);
    CHECK(st->pitch_bend.n == 2);
    if (st->pitch_bend.n == 2) {
        CHECK_NEAR(st->pitch_bend.points[0].time, 0.0, 0);
        CHECK_NEAR(st->pitch_bend.points[0].value, 0.0, 0);
        CHECK_NEAR(st->pitch_bend.points[1].time, 0.5, 1e-12);
        CHECK_NEAR(st->pitch_bend.points[1].value, 6.0, 1e-6);
    }
    CHECK(st->volume.n == 1);
    if (st->volume.n == 1) CHECK_NEAR(st->volume.points[0].value, 64 / 127.0, 1e-6);
    CHECK(st->expression.n == 2);
    if (st->expression.n == 2) {
        CHECK_NEAR(st->expression.points[0].value, 1.0, 0);
        CHECK_NEAR(st->expression.points[1].time, 0.25, 1e-12);
        CHECK_NEAR(st->expression.points[1].value, 100 / 127.0, 1e-6);
    }
    md_score_free(sc);
}

/* Four tracks: two pianos, two drum tracks. */
static void four_tracks(smf_buf *b)
{
    smf_header(b, 1, 4, 96);
    const uint8_t chans[4] = {0, 1, 9, 9};
    for (int i = 0; i < 4; i++) {
        size_t t = smf_track_begin(b);
        EV(b, 0, (uint8_t)(0x90 | chans[i]), (uint8_t)(40 + i), 100);
        EV(b, 96, (uint8_t)(0x80 | chans[i]), (uint8_t)(40 + i), 0);
        smf_eot(b, 0);
        smf_track_end(b, t);
    }
}

static void test_grouping(void)
{
    smf_buf b = {0};
    four_tracks(&b);
    md_score *sc = load(&b, "grouping", MD_GROUP_TRACK);
    if (sc) {
        CHECK(sc->n_stems == 4);
        if (sc->n_stems == 4) CHECK(sc->stems[2].instrument == MD_INSTRUMENT_DRUMS && sc->stems[2].track == 2);
    }
    md_score_free(sc);
    sc = load(&b, "grouping", MD_GROUP_PROGRAM);
    if (sc) {
        CHECK(sc->n_stems == 2);
        if (sc->n_stems == 2) {
            CHECK(sc->stems[0].instrument == 0 && sc->stems[0].n_notes == 2 && sc->stems[0].track == -1);
            CHECK(sc->stems[1].instrument == MD_INSTRUMENT_DRUMS && sc->stems[1].n_notes == 2);
            CHECK(!strcmp(sc->stems[1].name, "Standard Kit"));
        }
    }
    md_score_free(sc);

    /* Format 0: the channel plays the part of the track. */
    smf_buf z = {0};
    smf_header(&z, 0, 1, 96);
    size_t t = smf_track_begin(&z);
    smf_meta_text(&z, 0, 0x03, "Title");
    EV(&z, 0, 0x90, 60, 100);
    EV(&z, 0, 0x93, 64, 100);
    EV(&z, 96, 0x80, 60, 0);
    EV(&z, 0, 0x83, 64, 0);
    smf_eot(&z, 0);
    smf_track_end(&z, t);
    sc = load(&z, "format0_channels", MD_GROUP_TRACK);
    if (sc) {
        CHECK(sc->n_stems == 2);
        if (sc->n_stems == 2) {
            CHECK(sc->stems[0].track == 0 && sc->stems[1].track == 3);
            CHECK(!strcmp(sc->stems[1].name, "Acoustic Grand Piano")); /* not the song title */
        }
    }
    md_score_free(sc);
    sc = load(&z, "format0_channels", MD_GROUP_PROGRAM);
    if (sc) CHECK(sc->n_stems == 1 && sc->n_notes == 2);
    md_score_free(sc);
}

/* Two tracks on one channel keep their own notes; the pedal is shared. */
static void test_shared_channel(void)
{
    smf_buf b = {0};
    smf_header(&b, 1, 2, 96);
    size_t t = smf_track_begin(&b);
    EV(&b, 0, 0x90, 60, 100);
    EV(&b, 96, 0x80, 60, 0);
    smf_eot(&b, 96);
    smf_track_end(&b, t);
    t = smf_track_begin(&b);
    EV(&b, 48, 0x90, 60, 50);  /* same key, other track: not a re-strike of track 0's note */
    EV(&b, 0, 0xB0, 64, 127);  /* pedal down on the shared channel */
    EV(&b, 96, 0x80, 60, 0);
    EV(&b, 48, 0xB0, 64, 0);   /* pedal up at 192 */
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    md_score *sc = load(&b, "shared_channel", MD_GROUP_TRACK);
    if (sc && sc->n_stems == 2) {
        CHECK(has_note(&sc->stems[0], 60, 0.0, SEC(192))); /* its off at 96 came under the pedal */
        CHECK(has_note(&sc->stems[1], 60, SEC(48), SEC(192)));
    } else {
        CHECK(sc && sc->n_stems == 2);
    }
    md_score_free(sc);
}

static void test_json(void)
{
    smf_buf b = {0};
    four_tracks(&b);
    md_score *sc = load(&b, "json", MD_GROUP_TRACK);
    if (!sc) return;
    char *j = md_score_to_json(sc, 1);
    CHECK(j != NULL);
    if (j) {
        CHECK(strstr(j, "\"notes\":") != NULL);
        CHECK(strstr(j, "\"pitch\":\t43") != NULL);
        CHECK(strstr(j, "\"drums\":\ttrue") != NULL);
    }
    free(j);
    j = md_score_to_json(sc, 0);
    CHECK(j && !strstr(j, "\"start\":") && strstr(j, "\"n_notes\":"));
    free(j);
    md_score_free(sc);
}

int main(void)
{
    md_ctx_create(&ctx);
    md_ctx_set_log_level(ctx, MD_LOG_ERROR);
    test_restrike_and_unclosed();
    test_sustain();
    test_programs_and_drums();
    test_curves();
    test_grouping();
    test_shared_channel();
    test_json();
    md_ctx_destroy(ctx);
    return md_test_finish();
}
