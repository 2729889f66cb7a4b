/* GPU memory: a few big vkDeviceMemory blocks per memory type, carved into
 * aligned sub-ranges (suballoc.c), one VkBuffer per md_gpu_buffer bound at
 * its sub-range. Device-local memory is used for everything; on unified
 * memory devices (lavapipe, integrated GPUs) it is also host-visible, so
 * uploads and downloads are memcpy. On discrete GPUs they go through one
 * staging buffer and a one-shot transfer submission. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/internal.h"

#define STAGING_BYTES (8ull << 20)
#define MIB(x) ((double)(x) / 1048576.0)

static const VkBufferUsageFlags USAGE = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                        VK_BUFFER_USAGE_TRANSFER_DST_BIT;

static uint32_t find_type(const md_gpu *gpu, uint32_t bits, VkMemoryPropertyFlags need, VkMemoryPropertyFlags prefer)
{
    uint32_t fallback = UINT32_MAX;
    for (uint32_t i = 0; i < gpu->mem.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = gpu->mem.memoryTypes[i].propertyFlags;
        if (!(bits & (1u << i)) || (f & need) != need) continue;
        if ((f & prefer) == prefer) return i;
        if (fallback == UINT32_MAX) fallback = i;
    }
    return fallback;
}

md_status md_gpu_memory_init(md_gpu *gpu)
{
    const md_vk *vk = &gpu->vk;
    /* A probe buffer tells which memory types storage buffers may live in. */
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 256, .usage = USAGE,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkBuffer probe;
    VkResult r = vk->CreateBuffer(gpu->device, &bi, NULL, &probe);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "vkCreateBuffer");
    VkMemoryRequirements req;
    vk->GetBufferMemoryRequirements(gpu->device, probe, &req);
    vk->DestroyBuffer(gpu->device, probe, NULL);

    const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    const VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    if (gpu->caps.unified_memory) {
        gpu->pool_device.type_index = find_type(gpu, req.memoryTypeBits, local | host, 0);
    } else {
        gpu->pool_device.type_index = find_type(gpu, req.memoryTypeBits, local, 0);
        if (gpu->pool_device.type_index == UINT32_MAX) /* odd drivers without device-local storage */
            gpu->pool_device.type_index = find_type(gpu, req.memoryTypeBits, 0, 0);
    }
    gpu->pool_host.type_index = find_type(gpu, req.memoryTypeBits, host, VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    if (gpu->pool_device.type_index == UINT32_MAX || gpu->pool_host.type_index == UINT32_MAX)
        return md_fail(gpu->ctx, MD_ERR_GPU, "the Vulkan device offers no memory type for storage buffers "
                       "(device-local: %s, host-visible: %s)",
                       gpu->pool_device.type_index == UINT32_MAX ? "none" : "yes",
                       gpu->pool_host.type_index == UINT32_MAX ? "none" : "yes");
    for (md_gpu_pool *p = &gpu->pool_device; p; p = p == &gpu->pool_device ? &gpu->pool_host : NULL)
        p->host_visible = !!(gpu->mem.memoryTypes[p->type_index].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    gpu->block_size = MD_GPU_DEFAULT_BLOCK;
    if (gpu->block_size > gpu->caps.limits.max_memory_allocation_size)
        gpu->block_size = gpu->caps.limits.max_memory_allocation_size;
    return MD_OK;
}

static void block_free(md_gpu *gpu, md_gpu_block *b)
{
    const md_vk *vk = &gpu->vk;
    if (b->mapped) vk->UnmapMemory(gpu->device, b->memory);
    vk->FreeMemory(gpu->device, b->memory, NULL);
    md_suballoc_destroy(&b->sub);
    free(b);
}

void md_gpu_memory_shutdown(md_gpu *gpu)
{
    if (gpu->staging) {
        md_gpu_buffer *st = gpu->staging;
        gpu->staging = NULL;
        st->refs = 0;
        md_gpu_buffer_destroy(st);
    }
    if (gpu->live_buffers) /* a leak in the caller: say so, then free the memory anyway */
        md_log(gpu->ctx, MD_LOG_WARN, "gpu: %llu buffer(s) still alive at shutdown (leak)",
               (unsigned long long)gpu->live_buffers);
    md_gpu_pool *pools[2] = {&gpu->pool_device, &gpu->pool_host};
    for (int i = 0; i < 2; i++) {
        md_gpu_block *b = pools[i]->blocks;
        while (b) {
            md_gpu_block *next = b->next;
            block_free(gpu, b);
            b = next;
        }
        pools[i]->blocks = NULL;
    }
}

static md_status block_new(md_gpu *gpu, md_gpu_pool *pool, uint64_t size, md_gpu_block **out)
{
    const md_vk *vk = &gpu->vk;
    md_gpu_block *b = calloc(1, sizeof *b);
    if (!b || md_suballoc_init(&b->sub, size)) {
        free(b);
        return md_fail(gpu->ctx, MD_ERR_NOMEM, "out of host memory for a GPU memory block");
    }
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = size,
                               .memoryTypeIndex = pool->type_index};
    VkResult r = vk->AllocateMemory(gpu->device, &ai, NULL, &b->memory);
    if (r == VK_SUCCESS && pool->host_visible) {
        r = vk->MapMemory(gpu->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped);
        if (r != VK_SUCCESS) vk->FreeMemory(gpu->device, b->memory, NULL);
    }
    if (r != VK_SUCCESS) {
        md_suballoc_destroy(&b->sub);
        free(b);
        char what[96];
        snprintf(what, sizeof what, "allocating a %.1f MiB GPU memory block", MIB(size));
        return md_gpu_vk_fail(gpu, r, what);
    }
    gpu->vk_allocations++;
    b->next = pool->blocks;
    pool->blocks = b;
    *out = b;
    return MD_OK;
}

static md_status check_size(md_gpu *gpu, md_gpu_pool *pool, uint64_t size)
{
    const md_gpu_limits *L = &gpu->caps.limits;
    if (size > L->max_memory_allocation_size)
        return md_fail(gpu->ctx, MD_ERR_GPU, "a GPU buffer of %.1f MiB exceeds this device's "
                       "maxMemoryAllocationSize (%.1f MiB); the work must be split",
                       MIB(size), MIB(L->max_memory_allocation_size));
    uint32_t heap = gpu->mem.memoryTypes[pool->type_index].heapIndex;
    if (size > gpu->mem.memoryHeaps[heap].size)
        return md_fail(gpu->ctx, MD_ERR_GPU, "a GPU buffer of %.1f MiB is larger than the device's memory heap "
                       "(%.1f MiB)", MIB(size), MIB(gpu->mem.memoryHeaps[heap].size));
    return MD_OK;
}

/* Finds room for req in the pool, adding a block when none has it. Requests
 * bigger than half a block get a block of their own, so one huge tensor does
 * not pin a mostly empty standard block. */
static md_status reserve_range(md_gpu *gpu, md_gpu_pool *pool, const VkMemoryRequirements *req,
                               md_gpu_block **block, uint64_t *offset)
{
    for (md_gpu_block *b = pool->blocks; b; b = b->next) {
        int rc = md_suballoc_alloc(&b->sub, req->size, req->alignment, offset);
        if (rc < 0) return md_fail(gpu->ctx, MD_ERR_NOMEM, "out of host memory in the GPU sub-allocator");
        if (rc == 0) {
            *block = b;
            return MD_OK;
        }
    }
    uint64_t size = req->size > gpu->block_size / 2 ? req->size : gpu->block_size;
    md_status s = block_new(gpu, pool, size, block);
    if (s) return s;
    if (md_suballoc_alloc(&(*block)->sub, req->size, req->alignment, offset) != 0)
        return md_fail(gpu->ctx, MD_ERR_INTERNAL, "a new %.1f MiB block cannot hold %.1f MiB", MIB(size), MIB(req->size));
    return MD_OK;
}

/* Gives a range back; frees the block when it is empty, except one empty
 * standard block per pool kept to avoid allocate/free churn. */
static void release_range(md_gpu *gpu, md_gpu_pool *pool, md_gpu_block *blk, uint64_t offset, uint64_t size)
{
    md_suballoc_release(&blk->sub, offset, size);
    if (blk->sub.used) return;
    int keep = blk->sub.size == gpu->block_size;
    for (md_gpu_block *b = pool->blocks; b && keep; b = b->next)
        if (b != blk && b->sub.used == 0 && b->sub.size == gpu->block_size) keep = 0;
    if (keep) return;
    for (md_gpu_block **pp = &pool->blocks; *pp; pp = &(*pp)->next)
        if (*pp == blk) {
            *pp = blk->next;
            break;
        }
    block_free(gpu, blk);
}

md_status md_gpu_buffer_create(md_gpu *gpu, uint64_t size, unsigned flags, md_gpu_buffer **out)
{
    const md_vk *vk = &gpu->vk;
    *out = NULL;
    md_status s = md_gpu_check_alive(gpu);
    if (s) return s;
    if (size == 0) return md_fail(gpu->ctx, MD_ERR_USAGE, "GPU buffer of 0 bytes requested");
    if (size > UINT64_MAX - 16) return md_fail(gpu->ctx, MD_ERR_GPU, "GPU buffer size %llu is absurd",
                                              (unsigned long long)size);
    uint64_t padded = (size + 15) & ~15ull;
    md_gpu_pool *pool = (flags & MD_GPU_BUFFER_HOST) ? &gpu->pool_host : &gpu->pool_device;
    if ((s = check_size(gpu, pool, padded))) return s;
    if (md_gpu_fault_fires(gpu, MD_GPU_FAULT_ALLOC_FAIL)) {
        char what[96];
        snprintf(what, sizeof what, "allocating a %.1f MiB GPU buffer", MIB(padded));
        return md_gpu_vk_fail(gpu, VK_ERROR_OUT_OF_DEVICE_MEMORY, what);
    }
    md_gpu_buffer *b = calloc(1, sizeof *b);
    if (!b) return md_fail(gpu->ctx, MD_ERR_NOMEM, "out of host memory for a GPU buffer");
    b->gpu = gpu;
    b->pool = pool;
    b->size = size;
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = padded, .usage = USAGE,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = vk->CreateBuffer(gpu->device, &bi, NULL, &b->buffer);
    if (r != VK_SUCCESS) {
        free(b);
        return md_gpu_vk_fail(gpu, r, "vkCreateBuffer");
    }
    VkMemoryRequirements req;
    vk->GetBufferMemoryRequirements(gpu->device, b->buffer, &req);
    if (!(req.memoryTypeBits & (1u << pool->type_index))) {
        s = md_fail(gpu->ctx, MD_ERR_GPU, "storage buffer of %.1f MiB cannot use memory type %u", MIB(padded),
                    pool->type_index);
    } else if (!(s = reserve_range(gpu, pool, &req, &b->block, &b->offset))) {
        b->alloc_size = req.size;
        r = vk->BindBufferMemory(gpu->device, b->buffer, b->block->memory, b->offset);
        if (r != VK_SUCCESS) {
            release_range(gpu, pool, b->block, b->offset, b->alloc_size);
            s = md_gpu_vk_fail(gpu, r, "vkBindBufferMemory");
        }
    }
    if (s) {
        vk->DestroyBuffer(gpu->device, b->buffer, NULL);
        free(b);
        return s;
    }
    if (b->block->mapped && !(gpu->opt.force_staging && pool == &gpu->pool_device))
        b->mapped = (char *)b->block->mapped + b->offset;
    gpu->live_buffers++;
    gpu->used_bytes += b->alloc_size;
    *out = b;
    return MD_OK;
}

static void buffer_free(md_gpu_buffer *b)
{
    md_gpu *gpu = b->gpu;
    const md_vk *vk = &gpu->vk;
    md_gpu_drain(gpu);
    if (b->parent) { /* a view owns no memory, only a reference */
        md_gpu_buffer *p = b->parent;
        free(b);
        md_gpu_buffer_release(p);
        return;
    }
    vk->DestroyBuffer(gpu->device, b->buffer, NULL);
    release_range(gpu, b->pool, b->block, b->offset, b->alloc_size);
    gpu->live_buffers--;
    gpu->used_bytes -= b->alloc_size;
    free(b);
}

void md_gpu_buffer_destroy(md_gpu_buffer *buf)
{
    if (!buf) return;
    /* A command list still records this buffer: free it with the last list. */
    if (buf->refs > 0) {
        buf->dead = 1;
        return;
    }
    buffer_free(buf);
}

void md_gpu_buffer_release(md_gpu_buffer *buf)
{
    if (--buf->refs == 0 && buf->dead) buffer_free(buf);
}

uint64_t md_gpu_buffer_size(const md_gpu_buffer *buf) { return buf->size; }

md_status md_gpu_buffer_view(md_gpu_buffer *parent, uint64_t offset, uint64_t size, md_gpu_buffer **out)
{
    *out = NULL;
    md_gpu *gpu = parent->gpu;
    md_status s = md_gpu_check_alive(gpu);
    if (s) return s;
    uint64_t align = gpu->caps.limits.min_storage_buffer_offset_alignment;
    if (parent->dead || size == 0 || offset > parent->size || size > parent->size - offset)
        return md_fail(gpu->ctx, MD_ERR_USAGE, "GPU buffer view of %llu bytes at %llu does not fit a %llu-byte buffer",
                       (unsigned long long)size, (unsigned long long)offset, (unsigned long long)parent->size);
    if (align && offset % align)
        return md_fail(gpu->ctx, MD_ERR_USAGE, "GPU buffer view offset %llu is not a multiple of the device's "
                       "minStorageBufferOffsetAlignment (%llu)", (unsigned long long)offset, (unsigned long long)align);
    md_gpu_buffer *root = parent->parent ? parent->parent : parent;
    md_gpu_buffer *v = calloc(1, sizeof *v);
    if (!v) return md_fail(gpu->ctx, MD_ERR_NOMEM, "out of host memory for a GPU buffer view");
    v->gpu = gpu;
    v->buffer = root->buffer;
    v->pool = root->pool;
    v->base = parent->base + offset;
    v->size = size;
    v->mapped = root->mapped ? (char *)root->mapped + v->base : NULL;
    v->parent = root;
    root->refs++;
    *out = v;
    return MD_OK;
}

void md_gpu_memory_stats_get(const md_gpu *gpu, md_gpu_memory_stats *out)
{
    memset(out, 0, sizeof *out);
    const md_gpu_pool *pools[2] = {&gpu->pool_device, &gpu->pool_host};
    for (int i = 0; i < 2; i++)
        for (const md_gpu_block *b = pools[i]->blocks; b; b = b->next) {
            out->blocks++;
            out->block_bytes += b->sub.size;
        }
    out->used_bytes = gpu->used_bytes;
    out->live_buffers = gpu->live_buffers - (gpu->staging ? 1 : 0);
    out->vk_allocations = gpu->vk_allocations;
}

/* ---- transfers ------------------------------------------------------------ */

typedef enum xfer_kind { XFER_COPY, XFER_FILL } xfer_kind;

/* One synchronous transfer command on the handle's own command buffer. The
 * leading barrier orders it after any earlier GPU write (earlier runs were
 * waited for, but their writes must still be made visible); the trailing one
 * makes its writes visible to the host and to later shaders. */
static md_status xfer_run(md_gpu *gpu, xfer_kind kind, VkBuffer src, uint64_t soff, VkBuffer dst, uint64_t doff,
                          uint64_t size)
{
    const md_vk *vk = &gpu->vk;
    VkCommandBuffer cb = gpu->xfer_cb;
    VkResult r = vk->ResetCommandBuffer(cb, 0);
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    if (r == VK_SUCCESS) r = vk->BeginCommandBuffer(cb, &bi);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "recording a GPU transfer");
    VkMemoryBarrier pre = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                           .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                           .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    vk->CmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &pre, 0, NULL, 0, NULL);
    if (kind == XFER_COPY) {
        VkBufferCopy region = {soff, doff, size};
        vk->CmdCopyBuffer(cb, src, dst, 1, &region);
    } else {
        vk->CmdFillBuffer(cb, dst, doff, size, 0);
    }
    VkMemoryBarrier post = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                            .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                            .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT |
                                             VK_ACCESS_SHADER_WRITE_BIT};
    vk->CmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &post, 0, NULL,
                         0, NULL);
    r = vk->EndCommandBuffer(cb);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "recording a GPU transfer");
    r = vk->ResetFences(gpu->device, 1, &gpu->xfer_fence);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "vkResetFences");
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
    r = md_gpu_queue_submit(gpu, 1, &si, gpu->xfer_fence);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "submitting a GPU transfer");
    return md_gpu_wait_fence(gpu, gpu->xfer_fence, "GPU transfer");
}

static md_status staging_get(md_gpu *gpu)
{
    if (gpu->staging) return MD_OK;
    md_status s = md_gpu_buffer_create(gpu, STAGING_BYTES, MD_GPU_BUFFER_HOST, &gpu->staging);
    if (!s) gpu->staging->refs = 1; /* internal: never freed by a user call */
    return s;
}

static md_status range_check(md_gpu_buffer *buf, uint64_t offset, uint64_t size, const char *what)
{
    if (offset > buf->size || size > buf->size - offset)
        return md_fail(buf->gpu->ctx, MD_ERR_USAGE, "GPU %s of %llu bytes at offset %llu overruns a %llu-byte buffer",
                       what, (unsigned long long)size, (unsigned long long)offset, (unsigned long long)buf->size);
    return md_gpu_check_alive(buf->gpu);
}

md_status md_gpu_buffer_upload(md_gpu_buffer *buf, uint64_t offset, const void *src, uint64_t size)
{
    md_status s = range_check(buf, offset, size, "upload");
    if (s || size == 0) return s;
    if (buf->mapped) {
        memcpy((char *)buf->mapped + offset, src, size);
        return MD_OK;
    }
    md_gpu *gpu = buf->gpu;
    if ((s = staging_get(gpu))) return s;
    for (uint64_t done = 0; done < size;) {
        uint64_t n = size - done < STAGING_BYTES ? size - done : STAGING_BYTES;
        memcpy(gpu->staging->mapped, (const char *)src + done, n);
        if ((s = xfer_run(gpu, XFER_COPY, gpu->staging->buffer, 0, buf->buffer, buf->base + offset + done, n)))
            return s;
        done += n;
    }
    return MD_OK;
}

md_status md_gpu_buffer_download(md_gpu_buffer *buf, uint64_t offset, void *dst, uint64_t size)
{
    md_status s = range_check(buf, offset, size, "download");
    if (s || size == 0) return s;
    if (buf->mapped) {
        memcpy(dst, (const char *)buf->mapped + offset, size);
        return MD_OK;
    }
    md_gpu *gpu = buf->gpu;
    if ((s = staging_get(gpu))) return s;
    for (uint64_t done = 0; done < size;) {
        uint64_t n = size - done < STAGING_BYTES ? size - done : STAGING_BYTES;
        if ((s = xfer_run(gpu, XFER_COPY, buf->buffer, buf->base + offset + done, gpu->staging->buffer, 0, n)))
            return s;
        memcpy((char *)dst + done, gpu->staging->mapped, n);
        done += n;
    }
    return MD_OK;
}

md_status md_gpu_buffer_zero(md_gpu_buffer *buf, uint64_t offset, uint64_t size)
{
    md_status s = range_check(buf, offset, size, "zero-fill");
    if (s || size == 0) return s;
    if (buf->mapped) {
        memset((char *)buf->mapped + offset, 0, size);
        return MD_OK;
    }
    if (offset % 4 || size % 4)
        return md_fail(buf->gpu->ctx, MD_ERR_USAGE, "GPU zero-fill needs 4-byte aligned offset and size");
    return xfer_run(buf->gpu, XFER_FILL, VK_NULL_HANDLE, 0, buf->buffer, buf->base + offset, size);
}
