/* The md_gpu handle: options, instance + messenger, device choice, VkDevice
 * creation with the features the quirk table allows, and teardown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/internal.h"

void md_gpu_options_init(md_gpu_options *o)
{
    memset(o, 0, sizeof *o);
    o->device_index = -1;
    o->validation = -1;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT types,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    md_gpu *gpu = user;
    const char *msg = data && data->pMessage ? data->pMessage : "(no text)";
    int counts = (types & (VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT)) &&
                 severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT;
    if (counts) {
        gpu->validation_count++;
        md_log(gpu->ctx, MD_LOG_WARN, "vulkan validation: %s", msg);
    } else {
        md_log(gpu->ctx, MD_LOG_DEBUG, "vulkan: %s", msg);
    }
    return VK_FALSE;
}

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static void resolve_cache_dir(md_gpu *gpu, const char *opt_dir)
{
    const char *d = opt_dir;
    const char *suffix = "";
    if (!d) {
        d = getenv("MELODIFF_CACHE_DIR");
        if (!d || !*d) {
            d = getenv("XDG_CACHE_HOME");
            suffix = "/melodiff";
        }
        if (!d || !*d) {
            d = getenv("HOME");
            suffix = "/.cache/melodiff";
        }
    }
    if (!d || !*d) {
        gpu->cache_dir[0] = '\0';
        return;
    }
    int n = snprintf(gpu->cache_dir, sizeof gpu->cache_dir, "%s%s", d, suffix);
    if (n < 0 || (size_t)n >= sizeof gpu->cache_dir) gpu->cache_dir[0] = '\0';
}

static uint64_t default_budget(md_gpu_device_type t)
{
    /* Rough FLOPs one submission may carry so that it finishes well within
     * a desktop driver's watchdog (~2 s on Windows, ~10 s on Linux) even at
     * a few percent of peak. CPU devices have no watchdog. */
    switch (t) {
    case MD_GPU_DEVICE_DISCRETE: return 200000000000ull;
    case MD_GPU_DEVICE_CPU: return UINT64_MAX;
    default: return 50000000000ull;
    }
}

static md_status choose_device(md_gpu *gpu, uint32_t api, md_gpu_device_info *info, uint32_t *qf)
{
    const md_vk *vk = &gpu->vk;
    uint32_t count = 0;
    VkResult r = vk->EnumeratePhysicalDevices(gpu->instance, &count, NULL);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) return md_gpu_vk_fail(gpu, r, "vkEnumeratePhysicalDevices");
    if (count == 0)
        return md_fail(gpu->ctx, MD_ERR_GPU, "no Vulkan device found: no installed driver reports a device "
                       "(check VK_ICD_FILENAMES/VK_DRIVER_FILES; CPU fallback: mesa-vulkan-drivers)");
    VkPhysicalDevice *pds = calloc(count, sizeof *pds);
    md_gpu_device_info *all = calloc(count, sizeof *all);
    uint32_t *qfs = calloc(count, sizeof *qfs), *tss = calloc(count, sizeof *tss);
    md_status s = MD_OK;
    if (!pds || !all || !qfs || !tss) {
        s = md_fail(gpu->ctx, MD_ERR_NOMEM, "out of memory listing Vulkan devices");
        goto done;
    }
    vk->EnumeratePhysicalDevices(gpu->instance, &count, pds);
    for (uint32_t i = 0; i < count; i++) md_gpu_describe(&gpu->vk, pds[i], api, (int)i, &all[i], &qfs[i], &tss[i]);
    int idx = gpu->opt.device_index;
    const char *env = getenv("MELODIFF_DEVICE");
    if (idx < 0 && env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end || v < 0) {
            s = md_fail(gpu->ctx, MD_ERR_USAGE, "MELODIFF_DEVICE='%s' is not a device index (see 'melodiff devices')", env);
            goto done;
        }
        idx = (int)(v > 1000000 ? 1000000 : v);
    }
    gpu->caps.named = idx >= 0; /* fill_caps keeps it */
    if (idx < 0) {
        idx = md_gpu_default_device(all, (int)count);
        if (idx < 0) {
            s = md_fail(gpu->ctx, MD_ERR_GPU, "none of the %u Vulkan device(s) supports Vulkan 1.1 compute", count);
            goto done;
        }
    } else if ((uint32_t)idx >= count) {
        s = md_fail(gpu->ctx, MD_ERR_GPU, "Vulkan device %d requested but only %u found (see 'melodiff devices')",
                    idx, count);
        goto done;
    } else if (!all[idx].usable) {
        s = md_fail(gpu->ctx, MD_ERR_GPU, "Vulkan device %d (%s) lacks Vulkan 1.1 or a compute queue", idx, all[idx].name);
        goto done;
    }
    *info = all[idx];
    *qf = qfs[idx];
    gpu->timestamp_bits = tss[idx];
    gpu->phys = pds[idx];
done:
    free(pds);
    free(all);
    free(qfs);
    free(tss);
    return s;
}

static md_status create_device(md_gpu *gpu, uint32_t api, const md_gpu_device_info *info)
{
    const md_vk *vk = &gpu->vk;
    int f16_struct = api >= VK_API_VERSION_1_2 && info->api_version >= VK_API_VERSION_1_2;
    const char *exts[2];
    uint32_t n_ext = 0;
    if (info->enabled.fp16_arith && !f16_struct) {
        exts[n_ext++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
        f16_struct = 1;
    }
    /* Required by the spec whenever a portability driver (MoltenVK) lists it. */
    if (md_gpu_has_device_ext(&gpu->vk, gpu->phys, "VK_KHR_portability_subset")) exts[n_ext++] = "VK_KHR_portability_subset";
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
                                                     .shaderFloat16 = info->enabled.fp16_arith ? VK_TRUE : VK_FALSE};
    VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
                                                .pNext = f16_struct && info->enabled.fp16_arith ? &f16 : NULL,
                                                .storageBuffer16BitAccess = info->enabled.fp16_storage ? VK_TRUE : VK_FALSE};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s16};
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                  .queueFamilyIndex = gpu->queue_family,
                                  .queueCount = 1,
                                  .pQueuePriorities = &prio};
    VkDeviceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                             .pNext = &f2,
                             .queueCreateInfoCount = 1,
                             .pQueueCreateInfos = &qi,
                             .enabledExtensionCount = n_ext,
                             .ppEnabledExtensionNames = exts};
    VkResult r = vk->CreateDevice(gpu->phys, &ci, NULL, &gpu->device);
    if (r != VK_SUCCESS) {
        gpu->device = VK_NULL_HANDLE;
        return md_gpu_vk_fail(gpu, r, "vkCreateDevice");
    }
    vk->GetDeviceQueue(gpu->device, gpu->queue_family, 0, &gpu->queue);
    return MD_OK;
}

static md_status create_transfer(md_gpu *gpu)
{
    const md_vk *vk = &gpu->vk;
    VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                  .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                  .queueFamilyIndex = gpu->queue_family};
    VkResult r = vk->CreateCommandPool(gpu->device, &pi, NULL, &gpu->cmd_pool);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "vkCreateCommandPool");
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = gpu->cmd_pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    r = vk->AllocateCommandBuffers(gpu->device, &ai, &gpu->xfer_cb);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "vkAllocateCommandBuffers");
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    r = vk->CreateFence(gpu->device, &fi, NULL, &gpu->xfer_fence);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "vkCreateFence");
    return MD_OK;
}

static void fill_caps(md_gpu *gpu, const md_gpu_device_info *info)
{
    const md_vk *vk = &gpu->vk;
    md_gpu_caps *c = &gpu->caps;
    c->info = *info;
    c->features = info->enabled;
    c->limits = info->limits;
    c->type = info->type;
    c->unified_memory = info->unified_memory;
    c->prefer_shared_memory_tiling = info->type != MD_GPU_DEVICE_CPU;
    vk->GetPhysicalDeviceMemoryProperties(gpu->phys, &gpu->mem);
    vk->GetPhysicalDeviceProperties(gpu->phys, &gpu->props);
}

static md_status setup(md_gpu *gpu)
{
    uint32_t api;
    md_status s = md_vk_open(gpu->ctx, &gpu->vk);
    if (s) return s;
    s = md_gpu_instance_create(gpu->ctx, &gpu->vk, gpu->validation, on_message, gpu, &gpu->instance, &api);
    if (s) {
        gpu->instance = VK_NULL_HANDLE;
        return s;
    }
    if (gpu->validation) {
        PFN_vkCreateDebugUtilsMessengerEXT create = gpu->vk.CreateDebugUtilsMessengerEXT;
        VkDebugUtilsMessengerCreateInfoEXT mi;
        md_gpu_messenger_info(&mi, on_message, gpu);
        if (!create || create(gpu->instance, &mi, NULL, &gpu->messenger) != VK_SUCCESS)
            return md_fail(gpu->ctx, MD_ERR_GPU, "could not create the Vulkan debug messenger for validation");
    }
    md_gpu_device_info info;
    if ((s = choose_device(gpu, api, &info, &gpu->queue_family))) return s;
    gpu->quirks = md_gpu_quirks_apply(&info, getenv("MELODIFF_GPU_DISABLE"));
    if (!gpu->timestamp_bits) info.enabled.timestamps = 0;
    if ((s = create_device(gpu, api, &info))) return s;
    fill_caps(gpu, &info);
    gpu->flop_budget = gpu->opt.flop_budget_per_submit ? gpu->opt.flop_budget_per_submit : default_budget(info.type);
    md_log(gpu->ctx, MD_LOG_INFO, "gpu: device %d: %s (%s, %s)%s", info.index, info.name,
           md_gpu_device_type_name(info.type), info.driver_info[0] ? info.driver_info : info.driver_name,
           gpu->validation ? ", validation on" : "");
    if (info.quirks[0]) md_log(gpu->ctx, MD_LOG_INFO, "gpu: quirks: %s", info.quirks);
    if ((s = create_transfer(gpu))) return s;
    if ((s = md_gpu_memory_init(gpu))) return s;
    return md_gpu_pipeline_cache_init(gpu);
}

md_status md_gpu_create(md_ctx *ctx, const md_gpu_options *opt, md_gpu **out)
{
    *out = NULL;
    md_gpu *gpu = calloc(1, sizeof *gpu);
    if (!gpu) return md_fail(ctx, MD_ERR_NOMEM, "out of memory creating the GPU context");
    gpu->ctx = ctx;
    if (opt) gpu->opt = *opt;
    else md_gpu_options_init(&gpu->opt);
    gpu->validation = gpu->opt.validation < 0 ? env_flag("MELODIFF_VALIDATION") : gpu->opt.validation;
    uint64_t ms = gpu->opt.timeout_ms;
    const char *env_ms = getenv("MELODIFF_GPU_TIMEOUT_MS");
    if (!ms && env_ms && *env_ms) ms = strtoull(env_ms, NULL, 10);
    gpu->timeout_ns = (ms ? ms : 10000) * 1000000ull;
    resolve_cache_dir(gpu, gpu->opt.cache_dir);
    gpu->opt.cache_dir = NULL; /* not ours to keep; gpu->cache_dir holds the copy */
    md_status s = setup(gpu);
    if (s) {
        md_gpu_destroy(gpu);
        return s;
    }
    *out = gpu;
    return MD_OK;
}

void md_gpu_destroy(md_gpu *gpu)
{
    if (!gpu) return;
    const md_vk *vk = &gpu->vk;
    /* After a device loss there is nothing to wait for (and a lost device
     * may not answer); after a timeout, wait: see md_gpu_drain. */
    if (gpu->device && (!gpu->lost || gpu->pending)) vk->DeviceWaitIdle(gpu->device);
    if (gpu->device) {
        md_gpu_pipelines_shutdown(gpu);
        md_gpu_memory_shutdown(gpu);
        if (gpu->xfer_fence) vk->DestroyFence(gpu->device, gpu->xfer_fence, NULL);
        if (gpu->cmd_pool) vk->DestroyCommandPool(gpu->device, gpu->cmd_pool, NULL);
        vk->DestroyDevice(gpu->device, NULL);
    }
    if (gpu->messenger && vk->DestroyDebugUtilsMessengerEXT)
        vk->DestroyDebugUtilsMessengerEXT(gpu->instance, gpu->messenger, NULL);
    if (gpu->instance) vk->DestroyInstance(gpu->instance, NULL);
    md_vk_close(&gpu->vk);
    free(gpu->prof);
    free(gpu);
}

const md_gpu_caps *md_gpu_get_caps(const md_gpu *gpu) { return &gpu->caps; }
md_ctx *md_gpu_ctx(const md_gpu *gpu) { return gpu->ctx; }
uint64_t md_gpu_validation_count(const md_gpu *gpu) { return gpu->validation_count; }
int md_gpu_validation_enabled(const md_gpu *gpu) { return gpu->validation; }
