/* The score as JSON (cJSON), for `melodiff midi --json` and manifests. */
#include "melodiff/score.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

/* cJSON calls return NULL on allocation failure; `ok` collects that. */
typedef struct jb {
    int ok;
} jb;

static cJSON *add_num(jb *j, cJSON *o, const char *k, double v)
{
    cJSON *r = cJSON_AddNumberToObject(o, k, v);
    if (!r) j->ok = 0;
    return r;
}

static cJSON *add_str(jb *j, cJSON *o, const char *k, const char *v)
{
    cJSON *r = cJSON_AddStringToObject(o, k, v);
    if (!r) j->ok = 0;
    return r;
}

static cJSON *add_arr(jb *j, cJSON *o, const char *k)
{
    cJSON *r = cJSON_AddArrayToObject(o, k);
    if (!r) j->ok = 0;
    return r;
}

static cJSON *push_obj(jb *j, cJSON *arr)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        j->ok = 0;
        return NULL;
    }
    return o;
}

static void add_curve(jb *j, cJSON *o, const char *k, const md_curve *c)
{
    cJSON *arr = add_arr(j, o, k);
    for (size_t i = 0; arr && i < c->n && j->ok; i++) {
        const double pair[2] = {c->points[i].time, c->points[i].value};
        cJSON *p = cJSON_CreateDoubleArray(pair, 2);
        if (!p || !cJSON_AddItemToArray(arr, p)) {
            cJSON_Delete(p);
            j->ok = 0;
        }
    }
}

static void add_notes(jb *j, cJSON *o, const md_stem *st)
{
    cJSON *arr = add_arr(j, o, "notes");
    for (size_t i = 0; arr && i < st->n_notes && j->ok; i++) {
        const md_note *n = &st->notes[i];
        cJSON *no = push_obj(j, arr);
        if (!no) return;
        add_num(j, no, "start", n->start);
        add_num(j, no, "end", n->end);
        add_num(j, no, "pitch", n->pitch);
        add_num(j, no, "velocity", n->velocity);
        add_num(j, no, "channel", n->channel + 1);
        add_num(j, no, "track", n->track);
    }
}

static void add_stems(jb *j, cJSON *root, const md_score *sc, int with_notes)
{
    cJSON *arr = add_arr(j, root, "stems");
    for (size_t i = 0; arr && i < sc->n_stems && j->ok; i++) {
        const md_stem *st = &sc->stems[i];
        cJSON *o = push_obj(j, arr);
        if (!o) return;
        add_num(j, o, "index", (double)i);
        add_str(j, o, "name", st->name);
        add_num(j, o, "instrument", st->instrument);
        add_str(j, o, "instrument_name", st->instrument == MD_INSTRUMENT_DRUMS
                                             ? md_gm_drum_kit_name(st->program)
                                             : md_gm_instrument_name(st->instrument));
        if (!cJSON_AddBoolToObject(o, "drums", st->instrument == MD_INSTRUMENT_DRUMS)) j->ok = 0;
        add_num(j, o, "program", st->program);
        add_num(j, o, "bank", st->bank);
        add_num(j, o, "track", st->track);
        add_num(j, o, "channel", st->channel + 1);
        add_num(j, o, "n_notes", (double)st->n_notes);
        if (!with_notes) continue;
        add_notes(j, o, st);
        cJSON *ctl = cJSON_AddObjectToObject(o, "controls");
        if (!ctl) {
            j->ok = 0;
            return;
        }
        add_curve(j, ctl, "pitch_bend_semitones", &st->pitch_bend);
        add_curve(j, ctl, "volume", &st->volume);
        add_curve(j, ctl, "expression", &st->expression);
    }
}

static void add_tracks(jb *j, cJSON *root, const md_score *sc)
{
    cJSON *arr = add_arr(j, root, "tracks");
    for (size_t i = 0; arr && i < sc->n_tracks && j->ok; i++) {
        cJSON *o = push_obj(j, arr);
        if (!o) return;
        add_num(j, o, "index", (double)i);
        add_str(j, o, "name", sc->tracks[i].name);
        add_num(j, o, "events", (double)sc->tracks[i].n_events);
        add_num(j, o, "notes", (double)sc->tracks[i].n_notes);
        add_num(j, o, "end", sc->tracks[i].end_time);
    }
}

static void add_timing(jb *j, cJSON *root, const md_score *sc)
{
    cJSON *arr = add_arr(j, root, "tempo_changes");
    for (size_t i = 0; arr && i < sc->n_tempos && j->ok; i++) {
        cJSON *o = push_obj(j, arr);
        if (!o) return;
        add_num(j, o, "time", sc->tempos[i].time);
        add_num(j, o, "tick", (double)sc->tempos[i].tick);
        add_num(j, o, "bpm", sc->tempos[i].bpm);
    }
    arr = add_arr(j, root, "time_signatures");
    for (size_t i = 0; arr && i < sc->n_time_signatures && j->ok; i++) {
        cJSON *o = push_obj(j, arr);
        if (!o) return;
        add_num(j, o, "time", sc->time_signatures[i].time);
        add_num(j, o, "numerator", sc->time_signatures[i].numerator);
        add_num(j, o, "denominator", sc->time_signatures[i].denominator);
    }
}

char *md_score_to_json(const md_score *sc, int with_notes)
{
    jb j = {1};
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    add_num(&j, root, "format", sc->format);
    if (sc->ppq) add_num(&j, root, "ppq", sc->ppq);
    else {
        add_num(&j, root, "smpte_fps", sc->smpte_fps);
        add_num(&j, root, "smpte_ticks_per_frame", sc->smpte_ticks_per_frame);
    }
    add_num(&j, root, "length_seconds", sc->length);
    add_num(&j, root, "n_notes", (double)sc->n_notes);
    add_tracks(&j, root, sc);
    add_timing(&j, root, sc);
    add_stems(&j, root, sc, with_notes);
    char *out = j.ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    return out;
}
