/* Vulkan instance creation, physical device description and the default
 * device choice. Nothing here creates a VkDevice (see gpu.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/internal.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

const char *md_gpu_device_type_name(md_gpu_device_type t)
{
    switch (t) {
    case MD_GPU_DEVICE_INTEGRATED: return "integrated";
    case MD_GPU_DEVICE_DISCRETE: return "discrete";
    case MD_GPU_DEVICE_VIRTUAL: return "virtual";
    case MD_GPU_DEVICE_CPU: return "cpu";
    default: return "other";
    }
}

static int has_layer(const md_vk *vk, const char *name)
{
    uint32_t n = 0;
    if (vk->EnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkLayerProperties *p = calloc(n, sizeof *p);
    if (!p) return 0;
    int found = 0;
    if (vk->EnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(p[i].layerName, name);
    free(p);
    return found;
}

static int has_instance_ext(const md_vk *vk, const char *layer, const char *name)
{
    uint32_t n = 0;
    if (vk->EnumerateInstanceExtensionProperties(layer, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkExtensionProperties *p = calloc(n, sizeof *p);
    if (!p) return 0;
    int found = 0;
    if (vk->EnumerateInstanceExtensionProperties(layer, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(p[i].extensionName, name);
    free(p);
    return found;
}

int md_gpu_has_device_ext(const md_vk *vk, VkPhysicalDevice pd, const char *name)
{
    uint32_t n = 0;
    if (vk->EnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkExtensionProperties *p = calloc(n, sizeof *p);
    if (!p) return 0;
    int found = 0;
    if (vk->EnumerateDeviceExtensionProperties(pd, NULL, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(p[i].extensionName, name);
    free(p);
    return found;
}

void md_gpu_messenger_info(VkDebugUtilsMessengerCreateInfoEXT *mi, PFN_vkDebugUtilsMessengerCallbackEXT cb,
                           void *user)
{
    memset(mi, 0, sizeof *mi);
    mi->sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
    mi->messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                          VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mi->messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    mi->pfnUserCallback = cb;
    mi->pUserData = user;
}

md_status md_gpu_instance_create(md_ctx *ctx, md_vk *vk, int validation, PFN_vkDebugUtilsMessengerCallbackEXT cb,
                                 void *user, VkInstance *out, uint32_t *api_version)
{
    uint32_t loader = VK_API_VERSION_1_0;
    if (!vk->EnumerateInstanceVersion || vk->EnumerateInstanceVersion(&loader) != VK_SUCCESS)
        loader = VK_API_VERSION_1_0;
    if (loader < VK_API_VERSION_1_1)
        return md_fail(ctx, MD_ERR_GPU, "the Vulkan loader supports only Vulkan %u.%u; melodiff needs 1.1 or newer",
                       VK_API_VERSION_MAJOR(loader), VK_API_VERSION_MINOR(loader));
    uint32_t api = loader < VK_API_VERSION_1_3 ? loader : VK_API_VERSION_1_3;
    const char *exts[4];
    uint32_t n_ext = 0;
    const char *layers[1];
    uint32_t n_layer = 0;
    VkInstanceCreateFlags flags = 0;
    /* MoltenVK and other portability drivers are only listed on request. */
    if (has_instance_ext(vk, NULL, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        exts[n_ext++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    VkDebugUtilsMessengerCreateInfoEXT mi;
    VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT vf = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                  .enabledValidationFeatureCount = 1,
                                  .pEnabledValidationFeatures = enables};
    const void *chain = NULL;
    if (validation) {
        if (!has_layer(vk, VALIDATION_LAYER))
            return md_fail(ctx, MD_ERR_GPU, "Vulkan validation was requested (MELODIFF_VALIDATION=1) but "
                           VALIDATION_LAYER " is not installed (Debian/Ubuntu: vulkan-validationlayers)");
        if (!has_instance_ext(vk, VALIDATION_LAYER, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) &&
            !has_instance_ext(vk, NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
            return md_fail(ctx, MD_ERR_GPU, "Vulkan validation was requested but "
                           VK_EXT_DEBUG_UTILS_EXTENSION_NAME " is unavailable, so messages cannot be counted");
        layers[n_layer++] = VALIDATION_LAYER;
        exts[n_ext++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        md_gpu_messenger_info(&mi, cb, user);
        chain = &mi;
        if (has_instance_ext(vk, VALIDATION_LAYER, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME)) {
            exts[n_ext++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
            vf.pNext = &mi;
            chain = &vf;
        } else {
            md_log(ctx, MD_LOG_WARN, "validation layer lacks " VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME
                   ": synchronization validation is off");
        }
    }
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "melodiff",
                             .pEngineName = "melodiff",
                             .apiVersion = api};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .pNext = chain,
                               .flags = flags,
                               .pApplicationInfo = &app,
                               .enabledLayerCount = n_layer,
                               .ppEnabledLayerNames = layers,
                               .enabledExtensionCount = n_ext,
                               .ppEnabledExtensionNames = exts};
    VkResult r = vk->CreateInstance(&ci, NULL, out);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
        return md_fail(ctx, MD_ERR_GPU, "no Vulkan driver found (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER); "
                       "install one (CPU fallback: Mesa lavapipe, package mesa-vulkan-drivers) "
                       "or check VK_ICD_FILENAMES/VK_DRIVER_FILES");
    if (r == VK_ERROR_OUT_OF_HOST_MEMORY)
        return md_fail(ctx, MD_ERR_NOMEM, "vkCreateInstance: out of host memory");
    if (r != VK_SUCCESS)
        return md_fail(ctx, MD_ERR_GPU, "vkCreateInstance failed: %s", md_vk_result_name(r));
    md_status s = md_vk_load_instance(ctx, vk, *out);
    if (s) {
        if (vk->DestroyInstance) vk->DestroyInstance(*out, NULL);
        return s;
    }
    *api_version = api;
    return MD_OK;
}

static md_gpu_device_type map_type(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return MD_GPU_DEVICE_INTEGRATED;
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return MD_GPU_DEVICE_DISCRETE;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return MD_GPU_DEVICE_VIRTUAL;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return MD_GPU_DEVICE_CPU;
    default: return MD_GPU_DEVICE_OTHER;
    }
}

/* The universal (graphics+compute) family if any, else the first compute one. */
static void pick_queue(const md_vk *vk, VkPhysicalDevice pd, uint32_t *family, uint32_t *ts_bits)
{
    uint32_t n = 0;
    *family = UINT32_MAX;
    *ts_bits = 0;
    vk->GetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties *q = calloc(n ? n : 1, sizeof *q);
    if (!q) return;
    vk->GetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
    for (int pass = 0; pass < 2 && *family == UINT32_MAX; pass++)
        for (uint32_t i = 0; i < n; i++) {
            VkQueueFlags need = VK_QUEUE_COMPUTE_BIT | (pass == 0 ? VK_QUEUE_GRAPHICS_BIT : 0);
            if (q[i].queueCount > 0 && (q[i].queueFlags & need) == need) {
                *family = i;
                *ts_bits = q[i].timestampValidBits;
                break;
            }
        }
    free(q);
}

static void describe_memory(const md_vk *vk, VkPhysicalDevice pd, md_gpu_device_info *info)
{
    VkPhysicalDeviceMemoryProperties m;
    vk->GetPhysicalDeviceMemoryProperties(pd, &m);
    info->n_heaps = (int)(m.memoryHeapCount < MD_GPU_MAX_HEAPS ? m.memoryHeapCount : MD_GPU_MAX_HEAPS);
    for (int i = 0; i < info->n_heaps; i++) {
        info->heaps[i].size = m.memoryHeaps[i].size;
        info->heaps[i].device_local = !!(m.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT);
    }
    const VkMemoryPropertyFlags uni = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                      VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int has_uni = 0;
    for (uint32_t i = 0; i < m.memoryTypeCount; i++)
        if ((m.memoryTypes[i].propertyFlags & uni) == uni) has_uni = 1;
    /* A discrete GPU may expose host-visible VRAM (resizable BAR), but host
     * reads of it are slow: only shared-memory devices count as unified. */
    info->unified_memory = has_uni && (info->type == MD_GPU_DEVICE_INTEGRATED || info->type == MD_GPU_DEVICE_CPU);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

void md_gpu_describe(const md_vk *vk, VkPhysicalDevice pd, uint32_t instance_api, int index, md_gpu_device_info *info,
                     uint32_t *queue_family, uint32_t *timestamp_bits)
{
    memset(info, 0, sizeof *info);
    info->index = index;
    VkPhysicalDeviceProperties p;
    vk->GetPhysicalDeviceProperties(pd, &p);
    copy_str(info->name, sizeof info->name, p.deviceName);
    info->type = map_type(p.deviceType);
    info->vendor_id = p.vendorID;
    info->device_id = p.deviceID;
    info->api_version = p.apiVersion;
    info->driver_version = p.driverVersion;
    const VkPhysicalDeviceLimits *L = &p.limits;
    info->limits.max_storage_buffer_range = L->maxStorageBufferRange;
    info->limits.min_storage_buffer_offset_alignment = L->minStorageBufferOffsetAlignment;
    info->limits.max_push_constants_size = L->maxPushConstantsSize;
    info->limits.max_workgroup_invocations = L->maxComputeWorkGroupInvocations;
    for (int i = 0; i < 3; i++) {
        info->limits.max_workgroup_size[i] = L->maxComputeWorkGroupSize[i];
        info->limits.max_workgroup_count[i] = L->maxComputeWorkGroupCount[i];
    }
    info->limits.max_shared_memory_size = L->maxComputeSharedMemorySize;
    info->limits.timestamp_period_ns = L->timestampPeriod;
    info->limits.max_memory_allocation_size = 1ull << 30; /* the Vulkan 1.1 guaranteed minimum */
    describe_memory(vk, pd, info);
    pick_queue(vk, pd, queue_family, timestamp_bits);

    uint32_t api = p.apiVersion < instance_api ? p.apiVersion : instance_api;
    info->usable = api >= VK_API_VERSION_1_1 && *queue_family != UINT32_MAX;
    if (api < VK_API_VERSION_1_1) return;

    int has_driver_props = api >= VK_API_VERSION_1_2 || md_gpu_has_device_ext(vk, pd, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
    int has_f16 = api >= VK_API_VERSION_1_2 || md_gpu_has_device_ext(vk, pd, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);

    VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES,
                                                 .pNext = has_driver_props ? &drv : NULL};
    VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
                                             .pNext = &m3};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sg};
    vk->GetPhysicalDeviceProperties2(pd, &p2);
    info->limits.max_memory_allocation_size = m3.maxMemoryAllocationSize;
    if (has_driver_props) {
        info->driver_id = (uint32_t)drv.driverID;
        copy_str(info->driver_name, sizeof info->driver_name, drv.driverName);
        copy_str(info->driver_info, sizeof info->driver_info, drv.driverInfo);
    }
    int sg_compute = !!(sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT);
    info->limits.subgroup_size = sg.subgroupSize;
    info->found.subgroup_basic = sg_compute && (sg.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT);
    info->found.subgroup_arith = sg_compute && (sg.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    info->found.subgroup_shuffle = sg_compute && (sg.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);

    VkPhysicalDeviceShaderFloat16Int8Features f16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
                                                .pNext = has_f16 ? &f16 : NULL};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s16};
    vk->GetPhysicalDeviceFeatures2(pd, &f2);
    info->found.fp16_storage = !!s16.storageBuffer16BitAccess;
    info->found.fp16_arith = has_f16 && f16.shaderFloat16;
    info->found.coopmat = md_gpu_has_device_ext(vk, pd, "VK_KHR_cooperative_matrix") ||
                          md_gpu_has_device_ext(vk, pd, "VK_NV_cooperative_matrix");
    info->found.timestamps = *timestamp_bits > 0 && L->timestampPeriod > 0.0f;
}

md_status md_gpu_enumerate(md_ctx *ctx, md_gpu_device_info **list, int *n)
{
    *list = NULL;
    *n = 0;
    md_vk table, *vk = &table;
    md_status s = md_vk_open(ctx, vk);
    if (s) return s;
    VkInstance inst;
    uint32_t api;
    s = md_gpu_instance_create(ctx, vk, 0, NULL, NULL, &inst, &api);
    if (s) {
        md_vk_close(vk);
        return s;
    }
    uint32_t count = 0;
    VkResult r = vk->EnumeratePhysicalDevices(inst, &count, NULL);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        vk->DestroyInstance(inst, NULL);
        md_vk_close(vk);
        return md_fail(ctx, MD_ERR_GPU, "vkEnumeratePhysicalDevices failed: %s", md_vk_result_name(r));
    }
    if (count == 0) {
        vk->DestroyInstance(inst, NULL);
        md_vk_close(vk);
        return md_fail(ctx, MD_ERR_GPU, "no Vulkan device found: no installed driver reports a device "
                       "(check VK_ICD_FILENAMES/VK_DRIVER_FILES; CPU fallback: mesa-vulkan-drivers)");
    }
    VkPhysicalDevice *pds = calloc(count, sizeof *pds);
    md_gpu_device_info *out = calloc(count, sizeof *out);
    if (!pds || !out) {
        free(pds);
        free(out);
        vk->DestroyInstance(inst, NULL);
        md_vk_close(vk);
        return md_fail(ctx, MD_ERR_NOMEM, "out of memory listing %u Vulkan devices", count);
    }
    r = vk->EnumeratePhysicalDevices(inst, &count, pds);
    const char *disable = getenv("MELODIFF_GPU_DISABLE");
    for (uint32_t i = 0; i < count; i++) {
        uint32_t qf, ts;
        md_gpu_describe(vk, pds[i], api, (int)i, &out[i], &qf, &ts);
        md_gpu_quirks_apply(&out[i], disable);
    }
    free(pds);
    vk->DestroyInstance(inst, NULL);
    md_vk_close(vk);
    *list = out;
    *n = (int)count;
    return MD_OK;
}

int md_gpu_default_device(const md_gpu_device_info *list, int n)
{
    static const md_gpu_device_type order[] = {MD_GPU_DEVICE_DISCRETE, MD_GPU_DEVICE_INTEGRATED,
                                               MD_GPU_DEVICE_VIRTUAL, MD_GPU_DEVICE_CPU, MD_GPU_DEVICE_OTHER};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        for (int i = 0; i < n; i++)
            if (list[i].usable && list[i].type == order[k]) return i;
    return -1;
}
