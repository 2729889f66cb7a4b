/* melodiff — the Vulkan compute runtime.
 *
 * One md_gpu handle owns a Vulkan instance, one device and one compute queue,
 * a block sub-allocator for buffers, a cache of compute pipelines and the
 * profiling state. The op layer (src/nn) builds on four things:
 *
 *   buffers   md_gpu_buffer_create / _upload / _download / _destroy
 *   kernels   md_gpu_kernel_get: an embedded shader + spec constants, cached
 *   commands  md_gpu_cmd_begin, md_gpu_cmd_dispatch ..., md_gpu_cmd_end,
 *             then md_gpu_cmd_run as many times as needed (one sampler step
 *             = one run), md_gpu_cmd_destroy
 *   caps      md_gpu_get_caps: device type, fp16, subgroups, limits, so the
 *             op layer can choose a kernel style per device
 *
 * Barriers are inserted by the recorder from the declared access of each
 * binding (see md_gpu_binding); kernels never issue their own. Every failure
 * becomes an md_status with a one-line message on the md_ctx; nothing here
 * prints to stdout, calls exit() or waits without a timeout.
 *
 * A handle is not thread-safe: use it from one thread at a time. */
#ifndef MD_GPU_H
#define MD_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "melodiff/context.h"

typedef struct md_gpu md_gpu;
typedef struct md_gpu_buffer md_gpu_buffer;
typedef struct md_gpu_kernel md_gpu_kernel;
typedef struct md_gpu_cmd md_gpu_cmd;

/* ---- device description ------------------------------------------------ */

typedef enum md_gpu_device_type {
    MD_GPU_DEVICE_OTHER = 0,
    MD_GPU_DEVICE_INTEGRATED = 1,
    MD_GPU_DEVICE_DISCRETE = 2,
    MD_GPU_DEVICE_VIRTUAL = 3,
    MD_GPU_DEVICE_CPU = 4 /* lavapipe / llvmpipe, SwiftShader */
} md_gpu_device_type;

/* "discrete", "integrated", "virtual", "cpu", "other". */
const char *md_gpu_device_type_name(md_gpu_device_type t);

/* Optional features. In md_gpu_device_info.found: what the driver reports.
 * In md_gpu_caps.features: what melodiff will use, i.e. found AND not
 * disabled by the quirk table (src/gpu/quirks.c). The fp32 path never needs
 * any of them. */
typedef struct md_gpu_features {
    int fp16_storage;       /* storageBuffer16BitAccess: float16_t in SSBOs */
    int fp16_arith;         /* shaderFloat16: float16_t arithmetic */
    int subgroup_basic;     /* subgroup ops in compute shaders ... */
    int subgroup_arith;     /* ... including subgroupAdd etc. */
    int subgroup_shuffle;
    int coopmat;            /* VK_KHR_cooperative_matrix (or NV) advertised */
    int timestamps;         /* compute queue supports timestamp queries */
} md_gpu_features;

typedef struct md_gpu_limits {
    uint64_t max_storage_buffer_range;   /* largest single SSBO binding */
    uint64_t max_memory_allocation_size; /* largest single vkAllocateMemory */
    uint64_t min_storage_buffer_offset_alignment;
    uint32_t max_push_constants_size;
    uint32_t max_workgroup_invocations;
    uint32_t max_workgroup_size[3];
    uint32_t max_workgroup_count[3];
    uint32_t max_shared_memory_size;
    uint32_t subgroup_size;              /* 0 when unknown */
    float timestamp_period_ns;
} md_gpu_limits;

#define MD_GPU_MAX_HEAPS 16

typedef struct md_gpu_heap {
    uint64_t size;
    int device_local;
} md_gpu_heap;

typedef struct md_gpu_device_info {
    int index;                         /* as accepted by md_gpu_options.device_index */
    char name[256];
    md_gpu_device_type type;
    uint32_t vendor_id, device_id;
    uint32_t api_version;              /* VK_MAKE_API_VERSION encoded */
    uint32_t driver_version;           /* raw, vendor encoded */
    uint32_t driver_id;                /* VkDriverId, 0 when unknown */
    char driver_name[256];
    char driver_info[256];
    int n_heaps;
    md_gpu_heap heaps[MD_GPU_MAX_HEAPS];
    int unified_memory;                /* a memory type is device-local AND host-visible-coherent */
    int usable;                        /* Vulkan >= 1.1 with a compute queue */
    md_gpu_features found;
    md_gpu_features enabled;           /* found minus quirks */
    char quirks[512];                  /* why features were disabled, "" when none */
    md_gpu_limits limits;
} md_gpu_device_info;

/* Lists every Vulkan physical device. *list is malloc'd; free it with free().
 * No loader, no driver or zero devices -> MD_ERR_GPU with a one-line message. */
md_status md_gpu_enumerate(md_ctx *ctx, md_gpu_device_info **list, int *n);

/* The index auto selection picks (discrete > integrated > virtual > cpu >
 * other, first usable of the best type), or -1 when none is usable. Ignores
 * MELODIFF_DEVICE. */
int md_gpu_default_device(const md_gpu_device_info *list, int n);

/* ---- the handle --------------------------------------------------------- */

typedef struct md_gpu_options {
    int device_index;   /* -1 = auto (env MELODIFF_DEVICE, else discrete >
                           integrated > virtual > cpu), else that index */
    int validation;     /* -1 = env MELODIFF_VALIDATION=1, 0 off, 1 on */
    const char *cache_dir; /* pipeline cache dir; NULL = $MELODIFF_CACHE_DIR,
                              else $XDG_CACHE_HOME/melodiff, else ~/.cache/melodiff;
                              "" = no pipeline cache on disk */
    uint64_t flop_budget_per_submit; /* 0 = default for the device type */
    uint32_t timeout_ms; /* longest wait for one run or transfer; 0 =
                            $MELODIFF_GPU_TIMEOUT_MS, else 10000 */
    int profile;         /* 1 = timestamp queries around every dispatch */
    int force_staging;   /* testing: never map device buffers, so uploads and
                            downloads take the discrete-GPU staging path */
} md_gpu_options;

/* Fills the defaults above (device -1, validation -1, ...). */
void md_gpu_options_init(md_gpu_options *o);

md_status md_gpu_create(md_ctx *ctx, const md_gpu_options *opt, md_gpu **out);
/* Waits for the device, saves the pipeline cache, frees everything.
 * Destroy buffers and command lists first (buffers still alive are freed
 * with a leak warning); kernels are owned by the handle and go with it.
 * NULL is a no-op. */
void md_gpu_destroy(md_gpu *gpu);

typedef struct md_gpu_caps {
    md_gpu_device_info info;   /* the chosen device */
    md_gpu_features features;  /* == info.enabled */
    md_gpu_limits limits;      /* == info.limits */
    md_gpu_device_type type;
    int unified_memory;        /* buffers are host-visible: uploads are memcpy */
    /* A hint, not a rule: CPU devices (lavapipe) run register-blocked kernels
     * without shared memory far faster than shared-memory tiled ones; real
     * GPUs want shared-memory tiling. */
    int prefer_shared_memory_tiling;
    /* The device was named (md_gpu_options.device_index or MELODIFF_DEVICE),
     * not picked by type: callers that would pass over a CPU device honour it. */
    int named;
} md_gpu_caps;

const md_gpu_caps *md_gpu_get_caps(const md_gpu *gpu);
md_ctx *md_gpu_ctx(const md_gpu *gpu);

/* Number of validation-layer warnings and errors seen since create (each is
 * also logged through md_log). Always 0 when validation is off. */
uint64_t md_gpu_validation_count(const md_gpu *gpu);
int md_gpu_validation_enabled(const md_gpu *gpu);

/* Bytes of pipeline cache accepted from disk at create (0 = none or rejected). */
size_t md_gpu_pipeline_cache_loaded(const md_gpu *gpu);
/* Writes the pipeline cache now (also done by md_gpu_destroy). */
md_status md_gpu_pipeline_cache_save(md_gpu *gpu);

/* ---- buffers -------------------------------------------------------------- */

typedef enum md_gpu_buffer_flags {
    MD_GPU_BUFFER_DEVICE = 0,   /* device-local; host access is staged (or memcpy
                                   on unified memory) */
    MD_GPU_BUFFER_HOST = 1      /* host-visible even on discrete GPUs: for data
                                   the host rewrites or reads every run */
} md_gpu_buffer_flags;

/* Sub-allocated from large device memory blocks. size is rounded up to 16
 * bytes. A size above maxMemoryAllocationSize (or the heap) is refused with
 * MD_ERR_GPU naming the limit; it is never silently truncated. */
md_status md_gpu_buffer_create(md_gpu *gpu, uint64_t size, unsigned flags, md_gpu_buffer **out);
void md_gpu_buffer_destroy(md_gpu_buffer *buf); /* NULL is a no-op */

/* A view of bytes [offset, offset+size) of parent, usable wherever a buffer
 * is (bindings at view offset 0 address parent offset `offset`). This is how
 * an activation arena is used: one buffer sized by md_gpu_arena_plan, one
 * view per tensor at its planned offset, created once. Barrier tracking sees
 * through views, so two views of overlapping bytes are ordered correctly.
 * offset must be a multiple of min_storage_buffer_offset_alignment. The
 * parent's memory lives until its last view is destroyed. */
md_status md_gpu_buffer_view(md_gpu_buffer *parent, uint64_t offset, uint64_t size, md_gpu_buffer **out);
uint64_t md_gpu_buffer_size(const md_gpu_buffer *buf);

/* Synchronous copies between host memory and a buffer range (waits with the
 * handle's timeout). Must not be called while a run is in flight (runs are
 * synchronous, so that only matters across threads). */
md_status md_gpu_buffer_upload(md_gpu_buffer *buf, uint64_t offset, const void *src, uint64_t size);
md_status md_gpu_buffer_download(md_gpu_buffer *buf, uint64_t offset, void *dst, uint64_t size);
/* Sets every byte of a range to zero. */
md_status md_gpu_buffer_zero(md_gpu_buffer *buf, uint64_t offset, uint64_t size);

typedef struct md_gpu_memory_stats {
    uint64_t blocks;           /* vkDeviceMemory blocks held */
    uint64_t block_bytes;      /* bytes in those blocks */
    uint64_t used_bytes;       /* bytes handed out to live buffers */
    uint64_t live_buffers;
    uint64_t vk_allocations;   /* vkAllocateMemory calls made since create */
} md_gpu_memory_stats;

void md_gpu_memory_stats_get(const md_gpu *gpu, md_gpu_memory_stats *out);

/* ---- kernels ------------------------------------------------------------------ */

#define MD_GPU_MAX_BINDINGS 16
#define MD_GPU_MAX_SPEC 16
#define MD_GPU_MAX_PUSH 128

typedef struct md_gpu_kernel_desc {
    const char *shader;        /* embedded shader name: file name without .comp */
    uint32_t n_bindings;       /* storage buffers at set 0, bindings 0..n-1 */
    uint32_t push_size;        /* bytes of push constants, <= 128 and the device limit */
    uint32_t n_spec;           /* specialization constants constant_id 0..n-1 ... */
    uint32_t spec[MD_GPU_MAX_SPEC]; /* ... each 32 bits (bit-cast floats yourself) */
    const char *label;         /* profile row name; NULL = shader name */
} md_gpu_kernel_desc;

/* Returns the pipeline for (shader, spec constants, bindings, push size),
 * creating it once; the handle owns it. Unknown shader -> MD_ERR_INTERNAL. */
md_status md_gpu_kernel_get(md_gpu *gpu, const md_gpu_kernel_desc *desc, md_gpu_kernel **out);
/* A workgroup size (after spec constants) above the device's
 * maxComputeWorkGroupSize / maxComputeWorkGroupInvocations is refused by
 * md_gpu_kernel_get with MD_ERR_GPU naming the limit. This returns the
 * kernel's workgroup size, e.g. to compute group counts. */
void md_gpu_kernel_local_size(const md_gpu_kernel *k, uint32_t out[3]);

/* ---- command lists ---------------------------------------------------------------- */

typedef enum md_gpu_access {
    MD_GPU_READ = 1,
    MD_GPU_WRITE = 2,
    MD_GPU_READ_WRITE = 3
} md_gpu_access;

typedef struct md_gpu_binding {
    md_gpu_buffer *buf;
    uint64_t offset;   /* must be a multiple of min_storage_buffer_offset_alignment */
    uint64_t range;    /* bytes; 0 = to the end of the buffer. A range above
                          max_storage_buffer_range is refused (MD_ERR_GPU,
                          naming the limit): split the work into tiles. */
    unsigned access;   /* md_gpu_access: drives barrier insertion, so be exact */
} md_gpu_binding;

typedef struct md_gpu_dispatch {
    md_gpu_kernel *kernel;
    const md_gpu_binding *bindings; /* kernel's n_bindings entries */
    const void *push;               /* kernel's push_size bytes (NULL if 0) */
    uint32_t groups[3];             /* workgroup counts; 0 counts are refused */
    uint64_t flops;                 /* estimate; drives submission splitting */
    const char *label;              /* profile row; NULL = kernel label */
} md_gpu_dispatch;

/* Starts recording a new command list. */
md_status md_gpu_cmd_begin(md_gpu *gpu, md_gpu_cmd **out);
/* Records one dispatch. Barriers: inserted before it only when one of its
 * bindings overlaps a range written since the last barrier, or it writes a
 * range read or written since then (RAW, WAW, WAR). */
md_status md_gpu_cmd_dispatch(md_gpu_cmd *cmd, const md_gpu_dispatch *d);
/* Records a buffer-to-buffer copy (offsets and size multiples of 4). */
md_status md_gpu_cmd_copy(md_gpu_cmd *cmd, md_gpu_buffer *src, uint64_t src_offset,
                          md_gpu_buffer *dst, uint64_t dst_offset, uint64_t size);
/* Finishes recording; the list can then be run any number of times. */
md_status md_gpu_cmd_end(md_gpu_cmd *cmd);
/* Submits the list (split into several submissions when its FLOPs exceed
 * the per-submit budget) and waits once for all of it, with the timeout. */
md_status md_gpu_cmd_run(md_gpu_cmd *cmd);
void md_gpu_cmd_destroy(md_gpu_cmd *cmd); /* NULL is a no-op */

typedef struct md_gpu_cmd_stats {
    uint32_t dispatches;
    uint32_t copies;
    uint32_t barriers;
    uint32_t submissions;   /* per run */
    uint64_t flops;
} md_gpu_cmd_stats;

void md_gpu_cmd_stats_get(const md_gpu_cmd *cmd, md_gpu_cmd_stats *out);

/* ---- profiling ---------------------------------------------------------------------- */

/* With md_gpu_options.profile, every run adds each dispatch's GPU time to a
 * table keyed by label. The report is a malloc'd text table (free() it):
 * label, calls, total ms, mean us, share. Without profiling (or without
 * timestamp support) the report says so. */
md_status md_gpu_profile_report(md_gpu *gpu, char **text);
void md_gpu_profile_reset(md_gpu *gpu);

/* ---- fault injection (tests) -------------------------------------------------------- */

typedef enum md_gpu_fault {
    MD_GPU_FAULT_NONE = 0,
    MD_GPU_FAULT_ALLOC_FAIL = 1,  /* a device memory allocation fails (OOM) */
    MD_GPU_FAULT_DEVICE_LOST = 2  /* a submission reports VK_ERROR_DEVICE_LOST;
                                     the handle stays lost afterwards */
} md_gpu_fault;

/* Arms a fault: the (after_n+1)-th matching event from now fails. */
void md_gpu_inject_fault(md_gpu *gpu, md_gpu_fault fault, int after_n);

/* ---- activation arena planning ------------------------------------------------------ */

/* One tensor of a forward pass: its size and the first and last step that
 * use it (inclusive). md_gpu_arena_plan writes offset. */
typedef struct md_gpu_arena_item {
    uint64_t size;
    int first, last;
    uint64_t offset; /* out */
} md_gpu_arena_item;

/* Places items in one buffer so that any two whose [first,last] intervals
 * intersect never share a byte; offsets are multiples of alignment (a power
 * of two). *total receives the buffer size needed. Pure CPU, no device. */
md_status md_gpu_arena_plan(md_ctx *ctx, md_gpu_arena_item *items, size_t n,
                            uint64_t alignment, uint64_t *total);

#endif
