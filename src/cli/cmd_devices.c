/* `melodiff devices`: the Vulkan devices melodiff can use, what each offers,
 * which one it picks, and (--check) a self-test on the chosen one. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "gpu/gpu.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: melodiff devices [--json] [--check [--profile]] [--device N] [-v] [-q]\n\n"
               "Lists every Vulkan device with its driver, memory, optional features (after the\n"
               "quirk table) and limits, and marks the one melodiff uses by default.\n\n"
               "  --json         print the list as JSON\n"
               "  --check        run a short compute self-test on the chosen device\n"
               "  --profile      with --check: print the per-kernel GPU time table\n"
               "  --device N     device for --check (default: MELODIFF_DEVICE, else auto)\n"
               "  -v, --verbose  more log lines on stderr (twice for debug)\n"
               "  -q, --quiet    errors only\n"
               "  -h, --help     this help\n\n"
               "Environment: MELODIFF_DEVICE=N picks a device, MELODIFF_VALIDATION=1 enables the\n"
               "Khronos validation layer, MELODIFF_GPU_DISABLE=fp16,subgroup,... turns features\n"
               "off. Exit 5 when there is no usable Vulkan driver or device.\n");
}

static double mib(uint64_t b) { return (double)b / 1048576.0; }

static void print_features(const char *label, const md_gpu_features *f, uint32_t subgroup)
{
    printf("    %-9s fp16-storage %s, fp16-math %s, subgroups %s", label, f->fp16_storage ? "yes" : "no",
           f->fp16_arith ? "yes" : "no", f->subgroup_basic ? "yes" : "no");
    if (f->subgroup_basic)
        printf(" (size %u%s%s)", subgroup, f->subgroup_arith ? ", arithmetic" : "", f->subgroup_shuffle ? ", shuffle" : "");
    printf(", coopmat %s, timestamps %s\n", f->coopmat ? "yes" : "no", f->timestamps ? "yes" : "no");
}

/* driverVersion is vendor-encoded: NVIDIA packs 10.8.8.6 bits, Intel's
 * Windows driver 18.14 bits; the rest (Mesa, AMD) use VK_MAKE_VERSION. */
static void driver_version(const md_gpu_device_info *d, char *out, size_t cap)
{
    uint32_t v = d->driver_version;
    if (d->vendor_id == 0x10de)
        snprintf(out, cap, "%u.%u.%u", v >> 22, (v >> 14) & 0xffu, (v >> 6) & 0xffu);
    else if (d->vendor_id == 0x8086 && d->driver_id == 5 /* VK_DRIVER_ID_INTEL_PROPRIETARY_WINDOWS */)
        snprintf(out, cap, "%u.%u", v >> 14, v & 0x3fffu);
    else
        snprintf(out, cap, "%u.%u.%u", v >> 22, (v >> 12) & 0x3ffu, v & 0xfffu);
}

static void print_text(const md_gpu_device_info *list, int n, int def)
{
    for (int i = 0; i < n; i++) {
        const md_gpu_device_info *d = &list[i];
        printf("[%d] %s%s\n", d->index, d->name, i == def ? "  (default)" : d->usable ? "" : "  (unusable)");
        printf("    type %s, vendor 0x%04x, device 0x%04x, Vulkan %u.%u.%u\n", md_gpu_device_type_name(d->type),
               d->vendor_id, d->device_id, d->api_version >> 22, (d->api_version >> 12) & 0x3ffu,
               d->api_version & 0xfffu);
        char dv[32];
        driver_version(d, dv, sizeof dv);
        printf("    driver %s %s%s%s%s\n", d->driver_name[0] ? d->driver_name : "(unknown)", dv,
               d->driver_info[0] ? " (" : "", d->driver_info, d->driver_info[0] ? ")" : "");
        printf("    memory");
        for (int h = 0; h < d->n_heaps; h++)
            printf("%s heap%d %.0f MiB%s", h ? "," : "", h, mib(d->heaps[h].size), d->heaps[h].device_local ? " device-local" : "");
        printf("%s\n", d->unified_memory ? "; unified (host-visible device memory)" : "");
        print_features("found:", &d->found, d->limits.subgroup_size);
        print_features("used:", &d->enabled, d->limits.subgroup_size);
        const md_gpu_limits *L = &d->limits;
        printf("    limits    storage binding %.0f MiB, allocation %.0f MiB, push constants %u B, workgroup %u "
               "invocations, shared memory %u KiB, timestamp period %g ns\n",
               mib(L->max_storage_buffer_range), mib(L->max_memory_allocation_size), L->max_push_constants_size,
               L->max_workgroup_invocations, L->max_shared_memory_size / 1024, (double)L->timestamp_period_ns);
        if (d->quirks[0]) printf("    quirks    %s\n", d->quirks);
    }
}

static cJSON *features_json(const md_gpu_features *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "fp16_storage", f->fp16_storage);
    cJSON_AddBoolToObject(o, "fp16_arith", f->fp16_arith);
    cJSON_AddBoolToObject(o, "subgroup_basic", f->subgroup_basic);
    cJSON_AddBoolToObject(o, "subgroup_arith", f->subgroup_arith);
    cJSON_AddBoolToObject(o, "subgroup_shuffle", f->subgroup_shuffle);
    cJSON_AddBoolToObject(o, "coopmat", f->coopmat);
    cJSON_AddBoolToObject(o, "timestamps", f->timestamps);
    return o;
}

static cJSON *device_json(const md_gpu_device_info *d, int is_default)
{
    cJSON *o = cJSON_CreateObject();
    char ver[32];
    cJSON_AddNumberToObject(o, "index", d->index);
    cJSON_AddStringToObject(o, "name", d->name);
    cJSON_AddStringToObject(o, "type", md_gpu_device_type_name(d->type));
    cJSON_AddNumberToObject(o, "vendor_id", d->vendor_id);
    cJSON_AddNumberToObject(o, "device_id", d->device_id);
    snprintf(ver, sizeof ver, "%u.%u.%u", d->api_version >> 22, (d->api_version >> 12) & 0x3ffu, d->api_version & 0xfffu);
    cJSON_AddStringToObject(o, "vulkan", ver);
    cJSON_AddStringToObject(o, "driver_name", d->driver_name);
    cJSON_AddStringToObject(o, "driver_info", d->driver_info);
    cJSON_AddNumberToObject(o, "driver_version", d->driver_version);
    char dv[32];
    driver_version(d, dv, sizeof dv);
    cJSON_AddStringToObject(o, "driver_version_text", dv);
    cJSON_AddNumberToObject(o, "driver_id", d->driver_id);
    cJSON_AddBoolToObject(o, "usable", d->usable);
    cJSON_AddBoolToObject(o, "default", is_default);
    cJSON_AddBoolToObject(o, "unified_memory", d->unified_memory);
    cJSON *heaps = cJSON_AddArrayToObject(o, "heaps");
    for (int h = 0; h < d->n_heaps; h++) {
        cJSON *hp = cJSON_CreateObject();
        cJSON_AddNumberToObject(hp, "bytes", (double)d->heaps[h].size);
        cJSON_AddBoolToObject(hp, "device_local", d->heaps[h].device_local);
        cJSON_AddItemToArray(heaps, hp);
    }
    cJSON_AddItemToObject(o, "found", features_json(&d->found));
    cJSON_AddItemToObject(o, "enabled", features_json(&d->enabled));
    cJSON_AddStringToObject(o, "quirks", d->quirks);
    const md_gpu_limits *L = &d->limits;
    cJSON *l = cJSON_AddObjectToObject(o, "limits");
    cJSON_AddNumberToObject(l, "max_storage_buffer_range", (double)L->max_storage_buffer_range);
    cJSON_AddNumberToObject(l, "max_memory_allocation_size", (double)L->max_memory_allocation_size);
    cJSON_AddNumberToObject(l, "min_storage_buffer_offset_alignment", (double)L->min_storage_buffer_offset_alignment);
    cJSON_AddNumberToObject(l, "max_push_constants_size", L->max_push_constants_size);
    cJSON_AddNumberToObject(l, "max_compute_workgroup_invocations", L->max_workgroup_invocations);
    cJSON_AddNumberToObject(l, "max_compute_shared_memory_size", L->max_shared_memory_size);
    cJSON_AddNumberToObject(l, "subgroup_size", L->subgroup_size);
    cJSON_AddNumberToObject(l, "timestamp_period_ns", L->timestamp_period_ns);
    return o;
}

static int print_json(md_ctx *ctx, const md_gpu_device_info *list, int n, int def)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "devices") : NULL;
    for (int i = 0; arr && i < n; i++) cJSON_AddItemToArray(arr, device_json(&list[i], i == def));
    if (root) cJSON_AddNumberToObject(root, "default", def);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return md_cli_report(ctx, md_fail(ctx, MD_ERR_NOMEM, "out of memory writing JSON"));
    printf("%s\n", text);
    free(text);
    return 0;
}

typedef struct { uint32_t n; float value; } fill_push;
typedef struct { uint32_t n; float scale; } add_push;

/* fill a=1, b=2; c = a + 3b: one barrier, checked on the host. */
static md_status self_test(md_gpu *gpu, double *ms)
{
    md_ctx *ctx = md_gpu_ctx(gpu);
    const uint32_t n = 1u << 20;
    md_gpu_kernel_desc fd = {.shader = "fill", .n_bindings = 1, .push_size = 8, .n_spec = 1, .spec = {256}};
    md_gpu_kernel_desc ad = {.shader = "rt_add", .n_bindings = 3, .push_size = 8, .n_spec = 1, .spec = {256}};
    md_gpu_kernel *kf, *ka;
    md_gpu_buffer *b[3] = {0};
    md_gpu_cmd *cmd = NULL;
    float *out = malloc((size_t)n * 4);
    md_status s = out ? MD_OK : md_fail(ctx, MD_ERR_NOMEM, "out of memory for the self-test");
    if (!s) s = md_gpu_kernel_get(gpu, &fd, &kf);
    if (!s) s = md_gpu_kernel_get(gpu, &ad, &ka);
    for (int i = 0; i < 3 && !s; i++) s = md_gpu_buffer_create(gpu, (uint64_t)n * 4, 0, &b[i]);
    if (!s) s = md_gpu_cmd_begin(gpu, &cmd);
    fill_push p1 = {n, 1.0f}, p2 = {n, 2.0f};
    add_push pa = {n, 3.0f};
    md_gpu_binding ba = {b[0], 0, 0, MD_GPU_WRITE}, bb = {b[1], 0, 0, MD_GPU_WRITE};
    md_gpu_binding bc[3] = {{b[0], 0, 0, MD_GPU_READ}, {b[1], 0, 0, MD_GPU_READ}, {b[2], 0, 0, MD_GPU_WRITE}};
    md_gpu_dispatch d1 = {.kernel = kf, .bindings = &ba, .push = &p1, .groups = {n / 256, 1, 1}, .label = "fill"};
    md_gpu_dispatch d2 = {.kernel = kf, .bindings = &bb, .push = &p2, .groups = {n / 256, 1, 1}, .label = "fill"};
    md_gpu_dispatch d3 = {.kernel = ka, .bindings = bc, .push = &pa, .groups = {n / 256, 1, 1}, .flops = 2ull * n};
    if (!s) s = md_gpu_cmd_dispatch(cmd, &d1);
    if (!s) s = md_gpu_cmd_dispatch(cmd, &d2);
    if (!s) s = md_gpu_cmd_dispatch(cmd, &d3);
    if (!s) s = md_gpu_cmd_end(cmd);
    double t0 = md_clock_wall();
    if (!s) s = md_gpu_cmd_run(cmd);
    *ms = (md_clock_wall() - t0) * 1e3;
    if (!s) s = md_gpu_buffer_download(b[2], 0, out, (uint64_t)n * 4);
    for (uint32_t i = 0; !s && i < n; i++)
        if (out[i] != 7.0f)
            s = md_fail(ctx, MD_ERR_GPU, "self-test: element %u is %g, expected 7 (broken driver?)", i, out[i]);
    md_gpu_cmd_destroy(cmd);
    for (int i = 0; i < 3; i++) md_gpu_buffer_destroy(b[i]);
    free(out);
    return s;
}

static int run_check(md_ctx *ctx, int device, int profile)
{
    md_gpu_options opt;
    md_gpu_options_init(&opt);
    opt.device_index = device;
    opt.profile = profile;
    md_gpu *gpu = NULL;
    md_status s = md_gpu_create(ctx, &opt, &gpu);
    if (s) return md_cli_report(ctx, s);
    double ms = 0;
    s = self_test(gpu, &ms);
    const md_gpu_caps *c = md_gpu_get_caps(gpu);
    uint64_t msgs = md_gpu_validation_count(gpu);
    int validation = md_gpu_validation_enabled(gpu);
    int rc = 0;
    if (!s && msgs) s = md_fail(ctx, MD_ERR_GPU, "self-test: %llu Vulkan validation message(s)", (unsigned long long)msgs);
    if (s) rc = md_cli_report(ctx, s);
    else printf("device %d (%s): self-test passed in %.1f ms, validation %s\n", c->info.index, c->info.name, ms,
                validation ? "on, 0 messages" : "off");
    char *table = NULL;
    if (!rc && profile && md_gpu_profile_report(gpu, &table) == MD_OK) fputs(table, stdout);
    free(table);
    md_gpu_destroy(gpu);
    return rc;
}

int md_cmd_devices(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},    {"check", no_argument, NULL, 'c'},  {"device", required_argument, NULL, 'd'},
        {"verbose", no_argument, NULL, 'v'}, {"quiet", no_argument, NULL, 'q'},  {"help", no_argument, NULL, 'h'},
        {"profile", no_argument, NULL, 'p'}, {NULL, 0, NULL, 0},
    };
    int json = 0, check = 0, profile = 0, verbose = 0, quiet = 0, c;
    long device = -1;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "vqh", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'c': check = 1; break;
        case 'p': profile = 1; break;
        case 'd':
            if (md_cli_parse_int("devices", "--device", optarg, 0, 1000, &device)) return 2;
            break;
        case 'v': verbose++; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: return md_cli_usage_error("devices", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return md_cli_usage_error("devices", "unexpected argument '%s'", argv[optind]);
    if ((device >= 0 || profile) && !check)
        return md_cli_usage_error("devices", "%s only applies with --check", profile ? "--profile" : "--device");
    md_ctx *ctx = md_cli_context(verbose, quiet);
    if (!ctx) return 1;
    md_gpu_device_info *list = NULL;
    int n = 0, rc;
    md_status s = md_gpu_enumerate(ctx, &list, &n);
    if (s) {
        rc = md_cli_report(ctx, s);
    } else {
        int def = md_gpu_default_device(list, n);
        rc = json ? print_json(ctx, list, n, def) : (print_text(list, n, def), 0);
        if (!rc && check) rc = run_check(ctx, (int)device, profile);
    }
    free(list);
    md_ctx_destroy(ctx);
    return rc;
}
