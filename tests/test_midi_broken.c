/* Broken and hostile files: what is warned about and read anyway, what is
 * refused (MD_ERR_INPUT) and what hits a limit (MD_ERR_LIMIT). */
#include <stdlib.h>
#include <string.h>

#include "fixtures/midi/smf_builder.h"
#include "melodiff/midi.h"
#include "test_util.h"

static int n_warn;
static char warns[4096];

static void log_sink(void *user, md_log_level level, const char *msg)
{
    (void)user;
    if (level != MD_LOG_WARN) return;
    n_warn++;
    size_t n = strlen(warns);
    snprintf(warns + n, sizeof warns - n, "%s\n", msg);
}

static md_ctx *ctx;

static md_status try_load(const smf_buf *b, const char *name, const md_midi_limits *lim, md_score **out)
{
    smf_save(b, getenv("MD_WRITE_FIXTURES"), name);
    md_score_options o;
    md_score_options_default(&o);
    if (lim) o.limits = *lim;
    n_warn = 0;
    warns[0] = '\0';
    md_ctx_clear_error(ctx);
    return md_score_load_memory(ctx, b->d, b->n, name, &o, out);
}

/* Reads with a warning containing `what`; returns the score. */
static md_score *warned(const smf_buf *b, const char *name, const char *what)
{
    md_score *sc = NULL;
    md_status s = try_load(b, name, NULL, &sc);
    CHECK_MSG(s == MD_OK, "%s: %s", name, md_ctx_error(ctx));
    CHECK_MSG(n_warn >= 1 && strstr(warns, what) && strstr(warns, name), "%s: warnings were: %s", name, warns);
    return sc;
}

/* Refused with status `want` and one line naming the file and `what`. */
static void refused(const smf_buf *b, const char *name, const md_midi_limits *lim, md_status want,
                    const char *what)
{
    md_score *sc = NULL;
    md_status s = try_load(b, name, lim, &sc);
    const char *msg = md_ctx_error(ctx);
    CHECK_MSG(s == want, "%s: status %d, want %d (%s)", name, s, want, msg);
    CHECK_MSG(!strncmp(msg, name, strlen(name)) && strstr(msg, what) && !strchr(msg, '\n'), "%s: message '%s'",
              name, msg);
    CHECK(sc == NULL);
}

static void one_note_track(smf_buf *b, int eot)
{
    size_t t = smf_track_begin(b);
    EV(b, 0, 0x90, 60, 100);
    EV(b, 96, 0x80, 60, 0);
    if (eot) smf_eot(b, 0);
    smf_track_end(b, t);
}

static void test_not_midi(void)
{
    smf_buf b = {0};
    smf_put(&b, (const uint8_t *)"hello, world\n", 13);
    refused(&b, "text.mid", NULL, MD_ERR_INPUT, "not a MIDI file (expected 'MThd' at offset 0)");
    smf_buf e = {0};
    refused(&e, "empty.mid", NULL, MD_ERR_INPUT, "not a MIDI file");
    smf_buf h = {0};
    smf_put(&h, (const uint8_t *)"MThd\0\0\0\6\0\1", 10);
    refused(&h, "short_header.mid", NULL, MD_ERR_INPUT, "header");
    smf_buf z = {0};
    smf_header(&z, 1, 1, 0);
    one_note_track(&z, 1);
    refused(&z, "division0.mid", NULL, MD_ERR_INPUT, "division is 0");
    smf_buf f = {0};
    smf_header(&f, 3, 1, 96);
    one_note_track(&f, 1);
    refused(&f, "format3.mid", NULL, MD_ERR_INPUT, "unsupported MIDI file format 3");
    smf_buf s = {0};
    smf_header(&s, 0, 1, (uint16_t)(((uint8_t)(int8_t)-23 << 8) | 4));
    one_note_track(&s, 1);
    refused(&s, "smpte23.mid", NULL, MD_ERR_INPUT, "SMPTE");
    smf_buf r = {0};
    smf_put(&r, (const uint8_t *)"RIFF\4\0\0\0RMIDjunk\0\0\0\0", 20);
    refused(&r, "rmid_nodata.mid", NULL, MD_ERR_INPUT, "'data' chunk");
}

static void test_bad_key_signature(void)
{
    smf_buf b = {0};
    smf_header(&b, 0, 1, 96);
    size_t t = smf_track_begin(&b);
    EV(&b, 0, 0xFF, 0x59, 0x02, 0x01, 0xFF); /* mode 255, as in two simutrans files */
    EV(&b, 0, 0xFF, 0x58, 0x02, 0x04, 0x02); /* time signature too short */
    EV(&b, 0, 0xFF, 0x51, 0x02, 0x07, 0xA1); /* tempo too short */
    EV(&b, 0, 0x90, 60, 100);
    EV(&b, 96, 0x80, 60, 0);
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    md_score *sc = warned(&b, "bad_key_signature", "malformed key signature");
    if (sc) {
        CHECK(n_warn == 3 && strstr(warns, "time signature") && strstr(warns, "tempo"));
        CHECK(sc->n_notes == 1 && sc->n_tempos == 0 && sc->n_time_signatures == 0);
        CHECK_NEAR(sc->length, 0.5, 1e-12);
    }
    md_score_free(sc);
}

static void test_missing_eot(void)
{
    smf_buf b = {0};
    smf_header(&b, 1, 2, 96);
    one_note_track(&b, 0);
    size_t t = smf_track_begin(&b);
    EV(&b, 0, 0x91, 64, 100); /* never released, no end-of-track */
    EV(&b, 192, 0xB1, 7, 100);
    smf_track_end(&b, t);
    md_score *sc = warned(&b, "missing_eot", "no end-of-track");
    if (sc) {
        CHECK(n_warn == 2);
        CHECK(sc->n_notes == 2 && sc->n_stems == 2);
        if (sc->n_stems == 2) CHECK_NEAR(sc->stems[1].notes[0].end, 1.0, 1e-12); /* the track's last event */
    }
    md_score_free(sc);
}

static void test_track_past_eof(void)
{
    smf_buf b = {0};
    smf_header(&b, 0, 1, 96);
    size_t t = smf_track_begin(&b);
    EV(&b, 0, 0x90, 60, 100);
    EV(&b, 96, 0x80, 60, 0);
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    b.d[t - 1] += 100; /* the chunk claims 100 bytes more than the file has */
    md_score *sc = warned(&b, "track_past_eof", "claims");
    if (sc) CHECK(sc->n_notes == 1 && n_warn == 1);
    md_score_free(sc);

    smf_buf c = {0}; /* and cut inside an event */
    smf_header(&c, 0, 1, 96);
    t = smf_track_begin(&c);
    EV(&c, 0, 0x90, 60, 100);
    EV(&c, 96, 0x80, 60, 0);
    EV(&c, 0, 0x90, 62);
    smf_track_end(&c, t);
    sc = warned(&c, "cut_in_event", "truncated channel message");
    if (sc) CHECK(sc->n_notes == 1);
    md_score_free(sc);
}

static void test_trailing_junk(void)
{
    smf_buf b = {0};
    smf_header(&b, 0, 1, 96);
    one_note_track(&b, 1);
    smf_put(&b, (const uint8_t *)"\0\0\x01junk at the end", 19);
    md_score *sc = warned(&b, "trailing_junk", "trailing data");
    if (sc) CHECK(sc->n_notes == 1 && n_warn == 1);
    md_score_free(sc);

    smf_buf u = {0}; /* an unknown chunk between tracks is skipped quietly */
    smf_header(&u, 1, 2, 96);
    one_note_track(&u, 1);
    smf_put(&u, (const uint8_t *)"XFIH\0\0\0\2ab", 10);
    one_note_track(&u, 1);
    md_score *su = NULL;
    CHECK(try_load(&u, "alien_chunk", NULL, &su) == MD_OK && n_warn == 0);
    if (su) CHECK(su->n_tracks == 2 && su->n_notes == 2);
    md_score_free(su);

    smf_buf m = {0}; /* fewer tracks than declared */
    smf_header(&m, 1, 3, 96);
    one_note_track(&m, 1);
    sc = warned(&m, "missing_tracks", "declares 3 tracks, found 1");
    if (sc) CHECK(sc->n_notes == 1);
    md_score_free(sc);
}

static void test_corrupt_events(void)
{
    smf_buf b = {0};
    smf_header(&b, 1, 2, 96);
    one_note_track(&b, 1);
    size_t t = smf_track_begin(&b);
    EV(&b, 0, 60, 100); /* data byte with no running status */
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    md_score *sc = warned(&b, "no_running_status", "data byte without a running status");
    if (sc) CHECK(sc->n_notes == 1 && sc->n_tracks == 2);
    md_score_free(sc);

    smf_buf v = {0};
    smf_header(&v, 0, 1, 96);
    t = smf_track_begin(&v);
    EV(&v, 0, 0x90, 60, 100);
    smf_put(&v, (const uint8_t *)"\x81\x81\x81\x81\x01", 5); /* 5-byte delta time */
    smf_put(&v, (const uint8_t *)"\x80\x3C\x00", 3);
    smf_track_end(&v, t);
    sc = warned(&v, "long_vlq", "delta time");
    if (sc) CHECK(sc->n_notes == 1);
    md_score_free(sc);

    smf_buf s = {0};
    smf_header(&s, 0, 1, 96);
    t = smf_track_begin(&s);
    EV(&s, 0, 0x90, 60, 100);
    EV(&s, 10, 0xF4);               /* undefined status */
    smf_track_end(&s, t);
    sc = warned(&s, "undefined_status", "undefined status byte");
    if (sc) CHECK(sc->n_notes == 1);
    md_score_free(sc);

    smf_buf d = {0};
    smf_header(&d, 0, 1, 96);
    t = smf_track_begin(&d);
    EV(&d, 0, 0x90, 60, 0x90);      /* status byte where data is expected */
    smf_track_end(&d, t);
    sc = warned(&d, "status_in_data", "status byte where data was expected");
    if (sc) CHECK(sc->n_notes == 0 && sc->n_stems == 0);
    md_score_free(sc);

    smf_buf p = {0};
    smf_header(&p, 0, 1, 96);
    t = smf_track_begin(&p);
    EV(&p, 0, 0xFF, 0x01, 0x7F, 'a'); /* text claims 127 bytes */
    smf_track_end(&p, t);
    sc = warned(&p, "meta_past_end", "runs past the track end");
    md_score_free(sc);
}

static void test_limits(void)
{
    md_midi_limits lim;
    smf_buf b = {0};
    smf_header(&b, 0, 1, 96);
    size_t t = smf_track_begin(&b);
    for (int i = 0; i < 4; i++) {
        EV(&b, 0, 0x90, (uint8_t)(60 + i), 100);
        EV(&b, 96, 0x80, (uint8_t)(60 + i), 0);
    }
    smf_eot(&b, 0);
    smf_track_end(&b, t);
    md_score *sc = NULL;
    CHECK(try_load(&b, "limits", NULL, &sc) == MD_OK);
    md_score_free(sc);

    md_midi_limits_default(&lim);
    CHECK(lim.max_file_bytes == 64u << 20 && lim.max_events == 10000000 && lim.max_notes == 2000000);
    CHECK_NEAR(lim.max_seconds, 7200, 0);
    lim.max_events = 8;
    refused(&b, "limits", &lim, MD_ERR_LIMIT, "more than 8 MIDI events");
    md_midi_limits_default(&lim);
    lim.max_notes = 3;
    refused(&b, "limits", &lim, MD_ERR_LIMIT, "more than 3 notes");
    md_midi_limits_default(&lim);
    lim.max_seconds = 1.5;
    refused(&b, "limits", &lim, MD_ERR_LIMIT, "limit");
    md_midi_limits_default(&lim);
    lim.max_file_bytes = 20;
    refused(&b, "limits", &lim, MD_ERR_LIMIT, "byte limit");

    /* Huge delta times: few bytes, centuries of silence. */
    smf_buf h = {0};
    smf_header(&h, 0, 1, 96);
    t = smf_track_begin(&h);
    EV(&h, 0, 0x90, 60, 100);
    for (int i = 0; i < 3; i++) EV(&h, 0x0FFFFFFF, 0xFF, 0x01, 0x00);
    smf_eot(&h, 0x0FFFFFFF);
    smf_track_end(&h, t);
    refused(&h, "huge_delta", NULL, MD_ERR_LIMIT, "more than the 7200 s limit");
}

static void test_files(void)
{
    md_score *sc = NULL;
    md_status s = md_score_load_file(ctx, MD_TEST_TMP "/no_such_file.mid", NULL, &sc);
    CHECK(s == MD_ERR_INPUT && strstr(md_ctx_error(ctx), "no_such_file.mid: cannot open"));
    s = md_score_load_file(ctx, MD_TEST_TMP, NULL, &sc);
    CHECK(s == MD_ERR_INPUT && strstr(md_ctx_error(ctx), "not a regular file"));
    s = md_score_load_file(ctx, MD_SOURCE_DIR "/tests/fixtures/midi/simutrans_note_counts.json", NULL, &sc);
    CHECK(s == MD_ERR_INPUT && strstr(md_ctx_error(ctx), "not a MIDI file"));
    CHECK(sc == NULL);
}

int main(void)
{
    md_ctx_create(&ctx);
    md_ctx_set_log(ctx, log_sink, NULL);
    test_not_midi();
    test_bad_key_signature();
    test_missing_eot();
    test_track_past_eof();
    test_trailing_junk();
    test_corrupt_events();
    test_limits();
    test_files();
    md_ctx_destroy(ctx);
    return md_test_finish();
}
