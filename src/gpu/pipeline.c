/* Compute pipelines: one per (shader, bindings, push size, spec constants),
 * created on first use and kept on the handle; a VkPipelineCache persisted
 * in the cache directory, trusted only when its header names this exact
 * device and driver build (vendor, device, pipelineCacheUUID). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileout.h"
#include "gpu/internal.h"
#include "gpu/shader.h"
#include "gpu/spirv.h"

#define CACHE_MAX_BYTES (256u << 20)
#define CACHE_HEADER_BYTES 32u

static void cache_path(const md_gpu *gpu, char *out, size_t cap)
{
    snprintf(out, cap, "%s/pipelines-%04x-%08x.bin", gpu->cache_dir, gpu->props.vendorID, gpu->props.deviceID);
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* VkPipelineCacheHeaderVersionOne, little-endian as every Vulkan host is. */
static const char *header_problem(const md_gpu *gpu, const unsigned char *d, size_t len)
{
    if (len < CACHE_HEADER_BYTES) return "shorter than its header";
    uint32_t hsize = rd32(d), version = rd32(d + 4);
    if (hsize < CACHE_HEADER_BYTES || hsize > len) return "bad header size";
    if (version != VK_PIPELINE_CACHE_HEADER_VERSION_ONE) return "unknown header version";
    if (rd32(d + 8) != gpu->props.vendorID || rd32(d + 12) != gpu->props.deviceID)
        return "written for another GPU";
    if (memcmp(d + 16, gpu->props.pipelineCacheUUID, VK_UUID_SIZE) != 0)
        return "written by another driver build";
    return NULL;
}

md_status md_gpu_pipeline_cache_init(md_gpu *gpu)
{
    const md_vk *vk = &gpu->vk;
    unsigned char *data = NULL;
    size_t len = 0;
    char path[1100];
    int use_disk = gpu->cache_dir[0] && !(gpu->quirks & MD_GPU_Q_PIPELINE_CACHE);
    if (use_disk) {
        cache_path(gpu, path, sizeof path);
        FILE *f = fopen(path, "rb");
        if (f) {
            fclose(f);
            /* A broken cache only costs compile time: read errors are not fatal. */
            md_ctx *quiet = NULL;
            if (md_ctx_create(&quiet) == MD_OK) {
                if (md_read_file(quiet, path, CACHE_MAX_BYTES, MD_ERR_INPUT, &data, &len) != MD_OK) {
                    md_log(gpu->ctx, MD_LOG_WARN, "gpu: ignoring pipeline cache: %s", md_ctx_error(quiet));
                    data = NULL;
                    len = 0;
                }
                md_ctx_destroy(quiet);
            }
        }
        const char *why = data ? header_problem(gpu, data, len) : NULL;
        if (why) {
            md_log(gpu->ctx, MD_LOG_INFO, "gpu: ignoring pipeline cache %s: %s", path, why);
            free(data);
            data = NULL;
            len = 0;
        }
    }
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                    .initialDataSize = len,
                                    .pInitialData = data};
    VkResult r = vk->CreatePipelineCache(gpu->device, &ci, NULL, &gpu->pipeline_cache);
    if (r != VK_SUCCESS && data) { /* the driver may still refuse it: start empty */
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        len = 0;
        r = vk->CreatePipelineCache(gpu->device, &ci, NULL, &gpu->pipeline_cache);
    }
    free(data);
    if (r != VK_SUCCESS) {
        gpu->pipeline_cache = VK_NULL_HANDLE;
        return md_gpu_vk_fail(gpu, r, "vkCreatePipelineCache");
    }
    gpu->cache_loaded = len;
    if (len) md_log(gpu->ctx, MD_LOG_DEBUG, "gpu: loaded %zu bytes of pipeline cache", len);
    return MD_OK;
}

size_t md_gpu_pipeline_cache_loaded(const md_gpu *gpu) { return gpu->cache_loaded; }

md_status md_gpu_pipeline_cache_save(md_gpu *gpu)
{
    const md_vk *vk = &gpu->vk;
    if (!gpu->cache_dir[0] || (gpu->quirks & MD_GPU_Q_PIPELINE_CACHE) || !gpu->pipeline_cache) return MD_OK;
    size_t len = 0;
    VkResult r = vk->GetPipelineCacheData(gpu->device, gpu->pipeline_cache, &len, NULL);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "vkGetPipelineCacheData");
    if (len == 0) return MD_OK;
    void *data = malloc(len);
    if (!data) return md_fail(gpu->ctx, MD_ERR_NOMEM, "out of memory saving the pipeline cache");
    r = vk->GetPipelineCacheData(gpu->device, gpu->pipeline_cache, &len, data);
    md_status s = MD_OK;
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        s = md_gpu_vk_fail(gpu, r, "vkGetPipelineCacheData");
    } else {
        char path[1100];
        cache_path(gpu, path, sizeof path);
        s = md_mkdirs(gpu->ctx, gpu->cache_dir);
        if (!s) s = md_write_file_atomic(gpu->ctx, path, 1, data, len);
        if (!s) gpu->cache_dirty = 0;
    }
    free(data);
    return s;
}

static int same_key(const md_gpu_kernel *k, const md_gpu_kernel_desc *d)
{
    return !strcmp(k->shader, d->shader) && k->n_bindings == d->n_bindings && k->push_size == d->push_size &&
           k->n_spec == d->n_spec && !memcmp(k->spec, d->spec, d->n_spec * sizeof d->spec[0]);
}

static void kernel_free(md_gpu *gpu, md_gpu_kernel *k)
{
    const md_vk *vk = &gpu->vk;
    if (k->pipeline) vk->DestroyPipeline(gpu->device, k->pipeline, NULL);
    if (k->layout) vk->DestroyPipelineLayout(gpu->device, k->layout, NULL);
    if (k->set_layout) vk->DestroyDescriptorSetLayout(gpu->device, k->set_layout, NULL);
    free(k);
}

static md_status check_desc(md_gpu *gpu, const md_gpu_kernel_desc *d)
{
    if (!d->shader || strlen(d->shader) >= sizeof ((md_gpu_kernel *)0)->shader)
        return md_fail(gpu->ctx, MD_ERR_USAGE, "kernel without a (short) shader name");
    if (d->n_bindings == 0 || d->n_bindings > MD_GPU_MAX_BINDINGS)
        return md_fail(gpu->ctx, MD_ERR_USAGE, "kernel %s: %u bindings (1..%d allowed)", d->shader, d->n_bindings,
                       MD_GPU_MAX_BINDINGS);
    if (d->n_spec > MD_GPU_MAX_SPEC)
        return md_fail(gpu->ctx, MD_ERR_USAGE, "kernel %s: %u specialization constants (max %d)", d->shader,
                       d->n_spec, MD_GPU_MAX_SPEC);
    uint32_t limit = gpu->caps.limits.max_push_constants_size;
    if (limit > MD_GPU_MAX_PUSH) limit = MD_GPU_MAX_PUSH;
    if (d->push_size % 4 || d->push_size > limit)
        return md_fail(gpu->ctx, MD_ERR_GPU, "kernel %s: %u bytes of push constants (multiple of 4, at most %u on "
                       "this device)", d->shader, d->push_size, limit);
    return MD_OK;
}

static md_status build(md_gpu *gpu, md_gpu_kernel *k, const uint32_t *code, size_t code_size)
{
    const md_vk *vk = &gpu->vk;
    VkDescriptorSetLayoutBinding b[MD_GPU_MAX_BINDINGS];
    for (uint32_t i = 0; i < k->n_bindings; i++)
        b[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                              .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                              .descriptorCount = 1,
                                              .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo li = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                          .bindingCount = k->n_bindings,
                                          .pBindings = b};
    VkResult r = vk->CreateDescriptorSetLayout(gpu->device, &li, NULL, &k->set_layout);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "vkCreateDescriptorSetLayout");
    VkPushConstantRange pr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, k->push_size};
    VkPipelineLayoutCreateInfo pli = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                      .setLayoutCount = 1,
                                      .pSetLayouts = &k->set_layout,
                                      .pushConstantRangeCount = k->push_size ? 1 : 0,
                                      .pPushConstantRanges = &pr};
    r = vk->CreatePipelineLayout(gpu->device, &pli, NULL, &k->layout);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "vkCreatePipelineLayout");
    VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                   .codeSize = code_size,
                                   .pCode = code};
    VkShaderModule mod;
    r = vk->CreateShaderModule(gpu->device, &mi, NULL, &mod);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "vkCreateShaderModule");
    VkSpecializationMapEntry map[MD_GPU_MAX_SPEC];
    for (uint32_t i = 0; i < k->n_spec; i++) map[i] = (VkSpecializationMapEntry){i, i * 4, 4};
    VkSpecializationInfo si = {k->n_spec, map, k->n_spec * 4, k->spec};
    VkComputePipelineCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
                                      .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                                                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                                                .module = mod,
                                                .pName = "main",
                                                .pSpecializationInfo = k->n_spec ? &si : NULL},
                                      .layout = k->layout};
    r = vk->CreateComputePipelines(gpu->device, gpu->pipeline_cache, 1, &ci, NULL, &k->pipeline);
    vk->DestroyShaderModule(gpu->device, mod, NULL);
    if (r != VK_SUCCESS) {
        k->pipeline = VK_NULL_HANDLE;
        char what[128];
        snprintf(what, sizeof what, "creating the compute pipeline for shader '%s'", k->shader);
        return md_gpu_vk_fail(gpu, r, what);
    }
    gpu->cache_dirty = 1;
    return MD_OK;
}

/* Refuses workgroup shapes the device cannot run: drivers crash or
 * misbehave on them rather than fail cleanly. */
static md_status check_local_size(md_gpu *gpu, const md_gpu_kernel_desc *d, const uint32_t *code, size_t code_size,
                                  uint32_t local[3])
{
    if (md_spirv_local_size(code, code_size / 4, d->spec, d->n_spec, local))
        return md_fail(gpu->ctx, MD_ERR_INTERNAL, "shader %s: no readable workgroup size in its SPIR-V", d->shader);
    const md_gpu_limits *L = &gpu->caps.limits;
    uint64_t total = (uint64_t)local[0] * local[1] * local[2];
    for (int i = 0; i < 3; i++)
        if (local[i] == 0 || local[i] > L->max_workgroup_size[i])
            return md_fail(gpu->ctx, MD_ERR_GPU, "kernel %s: workgroup %ux%ux%u: axis %d above this device's "
                           "maxComputeWorkGroupSize (%u)", d->shader, local[0], local[1], local[2], i,
                           L->max_workgroup_size[i]);
    if (total > L->max_workgroup_invocations)
        return md_fail(gpu->ctx, MD_ERR_GPU, "kernel %s: workgroup %ux%ux%u = %llu invocations, above this device's "
                       "maxComputeWorkGroupInvocations (%u)", d->shader, local[0], local[1], local[2],
                       (unsigned long long)total, L->max_workgroup_invocations);
    return MD_OK;
}

void md_gpu_kernel_local_size(const md_gpu_kernel *k, uint32_t out[3]) { memcpy(out, k->local, sizeof k->local); }

md_status md_gpu_kernel_get(md_gpu *gpu, const md_gpu_kernel_desc *desc, md_gpu_kernel **out)
{
    *out = NULL;
    md_status s = md_gpu_check_alive(gpu);
    if (s || (s = check_desc(gpu, desc))) return s;
    for (md_gpu_kernel *k = gpu->kernels; k; k = k->next)
        if (same_key(k, desc)) {
            *out = k;
            return MD_OK;
        }
    size_t code_size = 0;
    const uint32_t *code = md_shader_find(desc->shader, &code_size);
    if (!code) return md_fail(gpu->ctx, MD_ERR_INTERNAL, "no embedded shader named '%s'", desc->shader);
    uint32_t local[3];
    if ((s = check_local_size(gpu, desc, code, code_size, local))) return s;
    md_gpu_kernel *k = calloc(1, sizeof *k);
    if (!k) return md_fail(gpu->ctx, MD_ERR_NOMEM, "out of memory for kernel %s", desc->shader);
    memcpy(k->local, local, sizeof local);
    snprintf(k->shader, sizeof k->shader, "%s", desc->shader);
    snprintf(k->label, sizeof k->label, "%s", desc->label ? desc->label : desc->shader);
    k->n_bindings = desc->n_bindings;
    k->push_size = desc->push_size;
    k->n_spec = desc->n_spec;
    memcpy(k->spec, desc->spec, desc->n_spec * sizeof desc->spec[0]);
    if ((s = build(gpu, k, code, code_size))) {
        kernel_free(gpu, k);
        return s;
    }
    k->next = gpu->kernels;
    gpu->kernels = k;
    *out = k;
    return MD_OK;
}

void md_gpu_pipelines_shutdown(md_gpu *gpu)
{
    const md_vk *vk = &gpu->vk;
    /* Saving is best effort and must not replace the caller's error text. */
    md_ctx *keep = gpu->ctx, *tmp = NULL;
    if (gpu->cache_dirty && !gpu->lost && md_ctx_create(&tmp) == MD_OK) {
        gpu->ctx = tmp;
        if (md_gpu_pipeline_cache_save(gpu) != MD_OK)
            md_log(keep, MD_LOG_WARN, "gpu: pipeline cache not saved: %s", md_ctx_error(tmp));
        gpu->ctx = keep;
        md_ctx_destroy(tmp);
    }
    while (gpu->kernels) {
        md_gpu_kernel *k = gpu->kernels;
        gpu->kernels = k->next;
        kernel_free(gpu, k);
    }
    if (gpu->pipeline_cache) vk->DestroyPipelineCache(gpu->device, gpu->pipeline_cache, NULL);
    gpu->pipeline_cache = VK_NULL_HANDLE;
}
