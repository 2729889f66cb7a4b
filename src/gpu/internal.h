/* Internal state of the Vulkan runtime, shared by the files of src/gpu only. */
#ifndef MD_GPU_INTERNAL_H
#define MD_GPU_INTERNAL_H

#include "gpu/vk.h"

#include "gpu/gpu.h"
#include "gpu/suballoc.h"

/* Quirk bits: features the runtime may turn off for a device. */
enum {
    MD_GPU_Q_FP16_STORAGE = 1u << 0,
    MD_GPU_Q_FP16_ARITH = 1u << 1,
    MD_GPU_Q_SUBGROUP = 1u << 2,
    MD_GPU_Q_COOPMAT = 1u << 3,
    MD_GPU_Q_PIPELINE_CACHE = 1u << 4,
    MD_GPU_Q_TIMESTAMPS = 1u << 5
};

#define MD_GPU_DEFAULT_BLOCK (64ull << 20)

/* One vkDeviceMemory block carved by a sub-allocator. */
typedef struct md_gpu_block {
    VkDeviceMemory memory;
    void *mapped;          /* non-NULL when host-visible */
    md_suballoc sub;
    struct md_gpu_block *next;
} md_gpu_block;

/* Blocks of one memory type. */
typedef struct md_gpu_pool {
    uint32_t type_index;   /* UINT32_MAX: no suitable type */
    int host_visible;
    md_gpu_block *blocks;
} md_gpu_pool;

struct md_gpu_buffer {
    md_gpu *gpu;
    VkBuffer buffer;
    md_gpu_pool *pool;
    md_gpu_block *block;
    uint64_t offset;       /* within block memory */
    uint64_t alloc_size;   /* bytes reserved in the block */
    uint64_t size;         /* usable bytes */
    void *mapped;          /* host pointer to byte 0 when host-visible */
    uint64_t base;         /* where byte 0 is in `buffer` (views; 0 otherwise) */
    md_gpu_buffer *parent; /* the buffer a view looks into (NULL: owns memory) */
    int refs;              /* command lists that reference this buffer */
    int dead;              /* destroyed by the user, waiting for refs == 0 */
};

struct md_gpu_kernel {
    struct md_gpu_kernel *next;
    char shader[64];
    char label[64];
    uint32_t n_bindings, push_size, n_spec;
    uint32_t spec[MD_GPU_MAX_SPEC];
    uint32_t local[3];      /* workgroup size after specialization */
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
};

typedef struct md_gpu_prof_row {
    char label[64];
    uint64_t calls;
    double ns;
} md_gpu_prof_row;

struct md_gpu {
    md_ctx *ctx;
    md_gpu_options opt;
    char cache_dir[1024];
    uint64_t flop_budget;
    uint64_t timeout_ns;

    md_vk vk;               /* entry points, from the dlopened loader */
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    int validation;
    uint64_t validation_count;

    VkPhysicalDevice phys;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    uint32_t timestamp_bits;
    unsigned quirks;        /* MD_GPU_Q_* bits in force */
    md_gpu_caps caps;
    VkPhysicalDeviceMemoryProperties mem;
    VkPhysicalDeviceProperties props;

    md_gpu_pool pool_device, pool_host;
    uint64_t block_size;
    uint64_t vk_allocations;
    uint64_t live_buffers, used_bytes;

    /* Transfers for discrete GPUs: one command buffer, one staging buffer. */
    VkCommandPool cmd_pool;
    VkCommandBuffer xfer_cb;
    VkFence xfer_fence;
    md_gpu_buffer *staging;

    VkPipelineCache pipeline_cache;
    size_t cache_loaded;
    int cache_dirty;
    md_gpu_kernel *kernels;

    md_gpu_prof_row *prof;
    size_t n_prof, cap_prof;

    unsigned fault;
    int fault_after;
    int lost;
    int pending;            /* a wait timed out: work may still be queued */
};

/* vkerr.c */
const char *md_vk_result_name(VkResult r);
/* Maps a failed VkResult to a status with "<what>: <reason>"; marks the
 * handle lost on VK_ERROR_DEVICE_LOST. */
md_status md_gpu_vk_fail(md_gpu *gpu, VkResult r, const char *what);
/* MD_ERR_GPU when the device was lost before, else MD_OK. */
md_status md_gpu_check_alive(md_gpu *gpu);
/* Counts an event of kind `fault`; returns 1 when an injected fault fires. */
int md_gpu_fault_fires(md_gpu *gpu, md_gpu_fault fault);
/* vkQueueSubmit through the fault hook. */
VkResult md_gpu_queue_submit(md_gpu *gpu, uint32_t n, const VkSubmitInfo *si, VkFence fence);
/* After a timed-out wait, waits for the device before anything is freed
 * (a real hang ends in VK_ERROR_DEVICE_LOST once the kernel driver resets
 * the GPU, so this returns). */
void md_gpu_drain(md_gpu *gpu);
/* Waits for a fence with the handle's timeout. */
md_status md_gpu_wait_fence(md_gpu *gpu, VkFence fence, const char *what);

/* device.c */
/* Creates a Vulkan 1.1+ instance (vk opened by md_vk_open; its instance
 * functions are loaded on success); with validation, the Khronos layer with
 * synchronization validation and a debug-utils messenger chained for the
 * instance's own creation (cb may be NULL without validation). */
md_status md_gpu_instance_create(md_ctx *ctx, md_vk *vk, int validation, PFN_vkDebugUtilsMessengerCallbackEXT cb,
                                 void *user, VkInstance *out, uint32_t *api_version);
/* Everything melodiff wants to know about one physical device. */
void md_gpu_describe(const md_vk *vk, VkPhysicalDevice pd, uint32_t instance_api, int index, md_gpu_device_info *info,
                     uint32_t *queue_family, uint32_t *timestamp_bits);
/* Fills the messenger create info used by both the instance and the handle. */
void md_gpu_messenger_info(VkDebugUtilsMessengerCreateInfoEXT *mi, PFN_vkDebugUtilsMessengerCallbackEXT cb,
                           void *user);
/* 1 when the device lists the named extension. */
int md_gpu_has_device_ext(const md_vk *vk, VkPhysicalDevice pd, const char *name);

/* quirks.c */
/* One row of the quirk table. driverVersion is vendor-encoded (NVIDIA:
 * 10.8.8.6 bits, most others VK_MAKE_VERSION), so driver ranges only make
 * sense in a row that also names the vendor (or driver id). */
typedef struct md_gpu_quirk {
    uint32_t vendor_id;          /* 0 = any vendor */
    uint32_t device_id;          /* 0 = every device of the vendor */
    uint32_t driver_id;          /* VkDriverId, 0 = every driver */
    uint32_t api_min, api_max;   /* reported apiVersion in [min, max); 0 = open */
    uint32_t driver_min, driver_max; /* reported driverVersion in [min, max); 0 = open */
    unsigned disable;            /* MD_GPU_Q_* bits */
    const char *reason;
} md_gpu_quirk;
/* md_gpu_quirks_apply with another table (tests). */
unsigned md_gpu_quirks_apply_table(md_gpu_device_info *info, const md_gpu_quirk *rows, size_t n_rows,
                                   const char *env_disable);
/* Applies the built-in quirk table and $MELODIFF_GPU_DISABLE to info: fills
 * info->enabled and info->quirks; returns the MD_GPU_Q_* bits disabled. */
unsigned md_gpu_quirks_apply(md_gpu_device_info *info, const char *env_disable);

/* memory.c */
md_status md_gpu_memory_init(md_gpu *gpu);
void md_gpu_memory_shutdown(md_gpu *gpu);
void md_gpu_buffer_release(md_gpu_buffer *buf); /* drop a command list's ref */

/* pipeline.c */
md_status md_gpu_pipeline_cache_init(md_gpu *gpu);
void md_gpu_pipelines_shutdown(md_gpu *gpu);

/* profile.c */
/* Interns label into the profile table; returns its row index or -1. */
int md_gpu_profile_row(md_gpu *gpu, const char *label);
void md_gpu_profile_add(md_gpu *gpu, int row, double ns);

#endif
