/* `melodiff`: dispatches to one subcommand per cmd_<name>.c file. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "melodiff/version.h"

/* Add a subcommand here and implement md_cmd_<name> in cmd_<name>.c. */
static const md_cli_command commands[] = {
    {"render", "render a MIDI file to stems and a mix with the diffusion model", md_cmd_render},
    {"midi", "show the tracks, stems and notes melodiff reads from a MIDI file", md_cmd_midi},
    {"dataset", "render stems and write log-mel + conditioning shards for training", md_cmd_dataset},
    {"analyze", "audio file -> log-mel file (.mel.safetensors) and spectrogram PNG", md_cmd_analyze},
    {"invert", "log-mel file -> audio (NNLS mel inversion + fast Griffin-Lim)", md_cmd_invert},
    {"reference", "dry FluidSynth reference render of a MIDI file", md_cmd_reference},
    {"notebank", "build the note bank the render's prior is drawn from", md_cmd_notebank},
    {"devices", "list the Vulkan devices melodiff can use (--check runs a self-test)", md_cmd_devices},
    {NULL, NULL, NULL}
};

static void print_help(FILE *f)
{
    fprintf(f, "melodiff %s — MIDI to audio stems with a spectrogram diffusion model on Vulkan\n\n"
               "usage: melodiff <command> [options]\n       melodiff --version\n\ncommands:\n",
            MELODIFF_VERSION_STRING);
    for (const md_cli_command *c = commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\n'melodiff <command> --help' describes each command.\n"
               "exit codes: 0 ok, 1 failure, 2 usage, 3 bad input file, 4 model file problem, 5 GPU problem\n");
}

/* OpenBLAS (the CPU backend's convolutions) would otherwise run every sgemm
 * on one spinning thread per core. The U-Net's products are small (16-64
 * output channels), and on a shared or busy machine those threads spin-wait
 * away more than they gain (BENCHMARKS.md, "CPU backend"). One thread, unless
 * the user sets OpenBLAS's own variables. A process-wide setting, so it
 * belongs to the program, not to the library. */
static void blas_threads(void)
{
    if (!getenv("OPENBLAS_NUM_THREADS") && !getenv("OMP_NUM_THREADS")) openblas_set_num_threads(1);
}

int main(int argc, char **argv)
{
    blas_threads();
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("melodiff %s\n", MELODIFF_VERSION_STRING);
        return 0;
    }
    for (const md_cli_command *c = commands; c->name; c++)
        if (!strcmp(argv[1], c->name)) return c->run(argc - 1, argv + 1);
    fprintf(stderr, "melodiff: unknown command '%s' (see 'melodiff --help')\n", argv[1]);
    return 2;
}
