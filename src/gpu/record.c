/* Command lists: record once, run many times.
 *
 * Barriers: the recorder keeps the buffer ranges read and written since the
 * last barrier. Before a dispatch (or copy) that reads or writes a range
 * written since then (RAW, WAW), or writes a range read since then (WAR), it
 * records one pipeline barrier: buffer memory barriers over the written
 * ranges (an execution-only barrier when nothing was written), then starts a
 * new epoch. Independent dispatches therefore run without barriers between
 * them.
 *
 * Submissions: a list is split into several command buffers ("segments")
 * when the FLOP estimates of its dispatches exceed the per-submit budget, so
 * no single submission runs long enough to trip a driver watchdog. Each
 * segment begins with a global barrier (orders it after everything submitted
 * before, including earlier runs and transfers); the last ends with a barrier
 * that makes results visible to the host. A run submits every segment and
 * waits once, on one fence, with the handle's timeout. */
#include <stdlib.h>
#include <string.h>

#include "gpu/internal.h"

#define QUERY_CAP 512u        /* timestamps per segment: 2 per dispatch */
#define SETS_PER_POOL 64u
#define MAX_BUFFER_BARRIERS 64u

typedef struct range_rec {
    VkBuffer buf;
    uint64_t begin, end;
} range_rec;

typedef struct segment {
    VkCommandBuffer cb;
    uint64_t flops;
    uint32_t ops;             /* dispatches + copies */
    VkQueryPool qpool;
    uint32_t n_timed;         /* dispatches with timestamps */
    int rows[QUERY_CAP / 2];  /* profile row of each timed dispatch */
} segment;

typedef struct range_list {
    range_rec *v;
    size_t n, cap;
} range_list;

enum { REC_RECORDING, REC_ENDED, REC_BROKEN };

struct md_gpu_cmd {
    md_gpu *gpu;
    int state;
    segment **segs;
    uint32_t n_segs, cap_segs;
    VkDescriptorPool *dpools;
    uint32_t n_dpools, sets_left;
    range_list reads, writes;
    md_gpu_buffer **bufs;
    size_t n_bufs, cap_bufs;
    VkFence fence;
    md_gpu_cmd_stats stats;
};

static const VkPipelineStageFlags STAGES = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
static const VkAccessFlags WRITES = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
static const VkAccessFlags ACCESSES = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                      VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static md_status broken(md_gpu_cmd *cmd, md_status s)
{
    cmd->state = REC_BROKEN;
    return s;
}

static segment *cur(md_gpu_cmd *cmd) { return cmd->segs[cmd->n_segs - 1]; }

static md_status segment_begin(md_gpu_cmd *cmd)
{
    const md_vk *vk = &cmd->gpu->vk;
    md_gpu *gpu = cmd->gpu;
    size_t cap = cmd->cap_segs;
    if (grow((void **)&cmd->segs, &cap, cmd->n_segs + 1, sizeof *cmd->segs))
        return md_fail(gpu->ctx, MD_ERR_NOMEM, "out of memory recording GPU commands");
    cmd->cap_segs = (uint32_t)cap;
    segment *sg = calloc(1, sizeof *sg);
    if (!sg) return md_fail(gpu->ctx, MD_ERR_NOMEM, "out of memory recording GPU commands");
    cmd->segs[cmd->n_segs++] = sg;
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = gpu->cmd_pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VkResult r = vk->AllocateCommandBuffers(gpu->device, &ai, &sg->cb);
    if (r != VK_SUCCESS) {
        sg->cb = VK_NULL_HANDLE;
        return md_gpu_vk_fail(gpu, r, "vkAllocateCommandBuffers");
    }
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    r = vk->BeginCommandBuffer(sg->cb, &bi);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "vkBeginCommandBuffer");
    if (gpu->opt.profile && gpu->caps.features.timestamps) {
        VkQueryPoolCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                    .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                    .queryCount = QUERY_CAP};
        r = vk->CreateQueryPool(gpu->device, &qi, NULL, &sg->qpool);
        if (r != VK_SUCCESS) {
            sg->qpool = VK_NULL_HANDLE;
            return md_gpu_vk_fail(gpu, r, "vkCreateQueryPool");
        }
        vk->CmdResetQueryPool(sg->cb, sg->qpool, 0, QUERY_CAP);
    }
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = WRITES,
                          .dstAccessMask = ACCESSES};
    vk->CmdPipelineBarrier(sg->cb, STAGES, STAGES, 0, 1, &mb, 0, NULL, 0, NULL);
    cmd->reads.n = cmd->writes.n = 0;
    return MD_OK;
}

static md_status segment_end(md_gpu_cmd *cmd, int last)
{
    const md_vk *vk = &cmd->gpu->vk;
    segment *sg = cur(cmd);
    if (last) {
        VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = WRITES,
                              .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
        vk->CmdPipelineBarrier(sg->cb, STAGES, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    }
    VkResult r = vk->EndCommandBuffer(sg->cb);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(cmd->gpu, r, "vkEndCommandBuffer");
    return MD_OK;
}

md_status md_gpu_cmd_begin(md_gpu *gpu, md_gpu_cmd **out)
{
    const md_vk *vk = &gpu->vk;
    *out = NULL;
    md_status s = md_gpu_check_alive(gpu);
    if (s) return s;
    md_gpu_cmd *cmd = calloc(1, sizeof *cmd);
    if (!cmd) return md_fail(gpu->ctx, MD_ERR_NOMEM, "out of memory for a GPU command list");
    cmd->gpu = gpu;
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkResult r = vk->CreateFence(gpu->device, &fi, NULL, &cmd->fence);
    if (r != VK_SUCCESS) {
        cmd->fence = VK_NULL_HANDLE;
        s = md_gpu_vk_fail(gpu, r, "vkCreateFence");
    }
    if (!s) s = segment_begin(cmd);
    if (s) {
        md_gpu_cmd_destroy(cmd);
        return s;
    }
    *out = cmd;
    return MD_OK;
}

void md_gpu_cmd_destroy(md_gpu_cmd *cmd)
{
    if (!cmd) return;
    md_gpu *gpu = cmd->gpu;
    const md_vk *vk = &gpu->vk;
    md_gpu_drain(gpu);
    for (uint32_t i = 0; i < cmd->n_segs; i++) {
        segment *sg = cmd->segs[i];
        if (sg->cb) vk->FreeCommandBuffers(gpu->device, gpu->cmd_pool, 1, &sg->cb);
        if (sg->qpool) vk->DestroyQueryPool(gpu->device, sg->qpool, NULL);
        free(sg);
    }
    for (uint32_t i = 0; i < cmd->n_dpools; i++) vk->DestroyDescriptorPool(gpu->device, cmd->dpools[i], NULL);
    for (size_t i = 0; i < cmd->n_bufs; i++) md_gpu_buffer_release(cmd->bufs[i]);
    if (cmd->fence) vk->DestroyFence(gpu->device, cmd->fence, NULL);
    free(cmd->segs);
    free(cmd->dpools);
    free(cmd->bufs);
    free(cmd->reads.v);
    free(cmd->writes.v);
    free(cmd);
}

/* ---- hazards ------------------------------------------------------------------ */

static int overlaps(const range_list *l, VkBuffer buf, uint64_t begin, uint64_t end)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].buf == buf && l->v[i].begin < end && begin < l->v[i].end) return 1;
    return 0;
}

static int add_range(range_list *l, VkBuffer buf, uint64_t begin, uint64_t end)
{
    for (size_t i = 0; i < l->n; i++) /* grow an existing touching range of the same buffer */
        if (l->v[i].buf == buf && l->v[i].begin <= end && begin <= l->v[i].end) {
            if (begin < l->v[i].begin) l->v[i].begin = begin;
            if (end > l->v[i].end) l->v[i].end = end;
            return 0;
        }
    if (grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v)) return -1;
    l->v[l->n++] = (range_rec){buf, begin, end};
    return 0;
}

typedef struct access {
    VkBuffer buf;
    uint64_t begin, end;
    unsigned mode;
} access;

static int needs_barrier(const md_gpu_cmd *cmd, const access *a, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (overlaps(&cmd->writes, a[i].buf, a[i].begin, a[i].end)) return 1;            /* RAW, WAW */
        if ((a[i].mode & MD_GPU_WRITE) && overlaps(&cmd->reads, a[i].buf, a[i].begin, a[i].end)) return 1; /* WAR */
    }
    return 0;
}

static void emit_barrier(md_gpu_cmd *cmd)
{
    const md_vk *vk = &cmd->gpu->vk;
    VkCommandBuffer cb = cur(cmd)->cb;
    size_t n = cmd->writes.n;
    if (n == 0) { /* WAR only: an execution dependency is enough */
        vk->CmdPipelineBarrier(cb, STAGES, STAGES, 0, 0, NULL, 0, NULL, 0, NULL);
    } else if (n > MAX_BUFFER_BARRIERS) {
        VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = WRITES,
                              .dstAccessMask = ACCESSES};
        vk->CmdPipelineBarrier(cb, STAGES, STAGES, 0, 1, &mb, 0, NULL, 0, NULL);
    } else {
        VkBufferMemoryBarrier bb[MAX_BUFFER_BARRIERS];
        for (size_t i = 0; i < n; i++)
            bb[i] = (VkBufferMemoryBarrier){.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER,
                                            .srcAccessMask = WRITES,
                                            .dstAccessMask = ACCESSES,
                                            .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                                            .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                                            .buffer = cmd->writes.v[i].buf,
                                            .offset = cmd->writes.v[i].begin,
                                            .size = cmd->writes.v[i].end - cmd->writes.v[i].begin};
        vk->CmdPipelineBarrier(cb, STAGES, STAGES, 0, 0, NULL, (uint32_t)n, bb, 0, NULL);
    }
    cmd->reads.n = cmd->writes.n = 0;
    cmd->stats.barriers++;
}

static int retain(md_gpu_cmd *cmd, md_gpu_buffer *b)
{
    for (size_t i = 0; i < cmd->n_bufs; i++)
        if (cmd->bufs[i] == b) return 0;
    if (grow((void **)&cmd->bufs, &cmd->cap_bufs, cmd->n_bufs + 1, sizeof *cmd->bufs)) return -1;
    cmd->bufs[cmd->n_bufs++] = b;
    b->refs++;
    return 0;
}

/* Barrier if needed, then note the accesses of the next command. */
static md_status track(md_gpu_cmd *cmd, const access *a, md_gpu_buffer *const *bufs, uint32_t n)
{
    if (needs_barrier(cmd, a, n)) emit_barrier(cmd);
    for (uint32_t i = 0; i < n; i++) {
        int fail = retain(cmd, bufs[i]);
        if (!fail && (a[i].mode & MD_GPU_READ)) fail = add_range(&cmd->reads, a[i].buf, a[i].begin, a[i].end);
        if (!fail && (a[i].mode & MD_GPU_WRITE)) fail = add_range(&cmd->writes, a[i].buf, a[i].begin, a[i].end);
        if (fail) return md_fail(cmd->gpu->ctx, MD_ERR_NOMEM, "out of memory recording GPU commands");
    }
    return MD_OK;
}

/* ---- recording ---------------------------------------------------------------- */

static md_status check_recording(md_gpu_cmd *cmd)
{
    if (cmd->state == REC_BROKEN)
        return md_fail(cmd->gpu->ctx, MD_ERR_INTERNAL, "GPU command list is unusable after an earlier error");
    if (cmd->state != REC_RECORDING)
        return md_fail(cmd->gpu->ctx, MD_ERR_INTERNAL, "GPU command list already ended");
    return md_gpu_check_alive(cmd->gpu);
}

/* Starts a new segment when the next op would push this one over the FLOP
 * budget or out of timestamp slots. */
static md_status maybe_split(md_gpu_cmd *cmd, uint64_t flops, int timed)
{
    segment *sg = cur(cmd);
    if (sg->ops == 0) return MD_OK;
    int over = flops > cmd->gpu->flop_budget || sg->flops > cmd->gpu->flop_budget - flops;
    int full = timed && sg->n_timed >= QUERY_CAP / 2;
    if (!over && !full) return MD_OK;
    md_status s = segment_end(cmd, 0);
    return s ? s : segment_begin(cmd);
}

static md_status descriptor_set(md_gpu_cmd *cmd, VkDescriptorSetLayout layout, VkDescriptorSet *out)
{
    const md_vk *vk = &cmd->gpu->vk;
    md_gpu *gpu = cmd->gpu;
    if (cmd->sets_left == 0) {
        size_t cap = cmd->n_dpools;
        if (grow((void **)&cmd->dpools, &cap, cmd->n_dpools + 1, sizeof *cmd->dpools))
            return md_fail(gpu->ctx, MD_ERR_NOMEM, "out of memory recording GPU commands");
        VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * MD_GPU_MAX_BINDINGS};
        VkDescriptorPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                         .maxSets = SETS_PER_POOL,
                                         .poolSizeCount = 1,
                                         .pPoolSizes = &ps};
        VkResult r = vk->CreateDescriptorPool(gpu->device, &pi, NULL, &cmd->dpools[cmd->n_dpools]);
        if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "vkCreateDescriptorPool");
        cmd->n_dpools++;
        cmd->sets_left = SETS_PER_POOL;
    }
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorPool = cmd->dpools[cmd->n_dpools - 1],
                                      .descriptorSetCount = 1,
                                      .pSetLayouts = &layout};
    VkResult r = vk->AllocateDescriptorSets(gpu->device, &ai, out);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "vkAllocateDescriptorSets");
    cmd->sets_left--;
    return MD_OK;
}

static md_status check_binding(md_gpu_cmd *cmd, const md_gpu_kernel *k, uint32_t i, const md_gpu_binding *b,
                               uint64_t *range)
{
    md_gpu *gpu = cmd->gpu;
    const md_gpu_limits *L = &gpu->caps.limits;
    if (!b->buf || b->buf->gpu != gpu || b->buf->dead)
        return md_fail(gpu->ctx, MD_ERR_USAGE, "kernel %s: binding %u has no live buffer of this GPU", k->label, i);
    if (!(b->access & MD_GPU_READ_WRITE) || (b->access & ~(unsigned)MD_GPU_READ_WRITE))
        return md_fail(gpu->ctx, MD_ERR_USAGE, "kernel %s: binding %u has no valid access mode", k->label, i);
    if (b->offset >= b->buf->size)
        return md_fail(gpu->ctx, MD_ERR_USAGE, "kernel %s: binding %u starts at %llu, past its %llu-byte buffer",
                       k->label, i, (unsigned long long)b->offset, (unsigned long long)b->buf->size);
    if (L->min_storage_buffer_offset_alignment && b->offset % L->min_storage_buffer_offset_alignment)
        return md_fail(gpu->ctx, MD_ERR_USAGE, "kernel %s: binding %u offset %llu is not a multiple of the device's "
                       "minStorageBufferOffsetAlignment (%llu)", k->label, i, (unsigned long long)b->offset,
                       (unsigned long long)L->min_storage_buffer_offset_alignment);
    *range = b->range ? b->range : b->buf->size - b->offset;
    if (*range > b->buf->size - b->offset)
        return md_fail(gpu->ctx, MD_ERR_USAGE, "kernel %s: binding %u range overruns its %llu-byte buffer", k->label,
                       i, (unsigned long long)b->buf->size);
    if (*range > L->max_storage_buffer_range)
        return md_fail(gpu->ctx, MD_ERR_GPU, "kernel %s: binding %u spans %llu bytes, above this device's "
                       "maxStorageBufferRange (%llu bytes); the op must be tiled", k->label, i,
                       (unsigned long long)*range, (unsigned long long)L->max_storage_buffer_range);
    return MD_OK;
}

static md_status check_dispatch(md_gpu_cmd *cmd, const md_gpu_dispatch *d, access *acc, md_gpu_buffer **bufs,
                                VkDescriptorBufferInfo *infos)
{
    md_gpu *gpu = cmd->gpu;
    const md_gpu_kernel *k = d->kernel;
    if (!k) return md_fail(gpu->ctx, MD_ERR_USAGE, "GPU dispatch without a kernel");
    if (k->push_size && !d->push)
        return md_fail(gpu->ctx, MD_ERR_USAGE, "kernel %s: %u bytes of push constants missing", k->label, k->push_size);
    if (k->n_bindings && !d->bindings)
        return md_fail(gpu->ctx, MD_ERR_USAGE, "kernel %s: bindings missing", k->label);
    for (int a = 0; a < 3; a++)
        if (d->groups[a] == 0 || d->groups[a] > gpu->caps.limits.max_workgroup_count[a])
            return md_fail(gpu->ctx, MD_ERR_USAGE, "kernel %s: %u workgroups on axis %d (1..%u allowed)", k->label,
                           d->groups[a], a, gpu->caps.limits.max_workgroup_count[a]);
    for (uint32_t i = 0; i < k->n_bindings; i++) {
        uint64_t range = 0;
        md_status s = check_binding(cmd, k, i, &d->bindings[i], &range);
        if (s) return s;
        bufs[i] = d->bindings[i].buf;
        uint64_t at = bufs[i]->base + d->bindings[i].offset; /* views: offsets into the real VkBuffer */
        acc[i] = (access){bufs[i]->buffer, at, at + range, d->bindings[i].access};
        infos[i] = (VkDescriptorBufferInfo){bufs[i]->buffer, at, range};
    }
    return MD_OK;
}

md_status md_gpu_cmd_dispatch(md_gpu_cmd *cmd, const md_gpu_dispatch *d)
{
    const md_vk *vk = &cmd->gpu->vk;
    md_status s = check_recording(cmd);
    if (s) return s;
    md_gpu *gpu = cmd->gpu;
    access acc[MD_GPU_MAX_BINDINGS];
    md_gpu_buffer *bufs[MD_GPU_MAX_BINDINGS];
    VkDescriptorBufferInfo infos[MD_GPU_MAX_BINDINGS];
    if ((s = check_dispatch(cmd, d, acc, bufs, infos))) return s; /* the list stays usable */
    const md_gpu_kernel *k = d->kernel;
    int timed = cur(cmd)->qpool != VK_NULL_HANDLE;
    if ((s = maybe_split(cmd, d->flops, timed))) return broken(cmd, s);
    VkDescriptorSet set;
    if ((s = descriptor_set(cmd, k->set_layout, &set))) return broken(cmd, s);
    VkWriteDescriptorSet w[MD_GPU_MAX_BINDINGS];
    for (uint32_t i = 0; i < k->n_bindings; i++)
        w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                      .dstSet = set,
                                      .dstBinding = i,
                                      .descriptorCount = 1,
                                      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                      .pBufferInfo = &infos[i]};
    vk->UpdateDescriptorSets(gpu->device, k->n_bindings, w, 0, NULL);
    if ((s = track(cmd, acc, bufs, k->n_bindings))) return broken(cmd, s);
    segment *sg = cur(cmd);
    VkCommandBuffer cb = sg->cb;
    vk->CmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, k->pipeline);
    vk->CmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, k->layout, 0, 1, &set, 0, NULL);
    if (k->push_size) vk->CmdPushConstants(cb, k->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, k->push_size, d->push);
    if (timed) {
        sg->rows[sg->n_timed] = md_gpu_profile_row(gpu, d->label ? d->label : k->label);
        /* Both stamps at bottom of pipe: the interval is from the completion of
         * everything before to the completion of this dispatch, so rows add up
         * to the GPU time of the run even when dispatches overlap. */
        vk->CmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, sg->qpool, 2 * sg->n_timed);
    }
    vk->CmdDispatch(cb, d->groups[0], d->groups[1], d->groups[2]);
    if (timed) vk->CmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, sg->qpool, 2 * sg->n_timed++ + 1);
    sg->ops++;
    sg->flops += d->flops;
    cmd->stats.dispatches++;
    cmd->stats.flops += d->flops;
    return MD_OK;
}

md_status md_gpu_cmd_copy(md_gpu_cmd *cmd, md_gpu_buffer *src, uint64_t src_offset, md_gpu_buffer *dst,
                          uint64_t dst_offset, uint64_t size)
{
    const md_vk *vk = &cmd->gpu->vk;
    md_status s = check_recording(cmd);
    if (s) return s;
    md_gpu *gpu = cmd->gpu;
    if (!src || !dst || src->gpu != gpu || dst->gpu != gpu || src->dead || dst->dead || size == 0 ||
        src_offset > src->size || size > src->size - src_offset || dst_offset > dst->size ||
        size > dst->size - dst_offset)
        return md_fail(gpu->ctx, MD_ERR_USAGE, "GPU copy of %llu bytes is outside its buffers", (unsigned long long)size);
    uint64_t s_at = src->base + src_offset, d_at = dst->base + dst_offset;
    if (src->buffer == dst->buffer && s_at < d_at + size && d_at < s_at + size)
        return md_fail(gpu->ctx, MD_ERR_USAGE, "GPU copy source and destination overlap");
    if ((s = maybe_split(cmd, 0, 0))) return broken(cmd, s);
    access acc[2] = {{src->buffer, s_at, s_at + size, MD_GPU_READ}, {dst->buffer, d_at, d_at + size, MD_GPU_WRITE}};
    md_gpu_buffer *bufs[2] = {src, dst};
    if ((s = track(cmd, acc, bufs, 2))) return broken(cmd, s);
    VkBufferCopy region = {s_at, d_at, size};
    vk->CmdCopyBuffer(cur(cmd)->cb, src->buffer, dst->buffer, 1, &region);
    cur(cmd)->ops++;
    cmd->stats.copies++;
    return MD_OK;
}

md_status md_gpu_cmd_end(md_gpu_cmd *cmd)
{
    md_status s = check_recording(cmd);
    if (s) return s;
    if ((s = segment_end(cmd, 1))) return broken(cmd, s);
    cmd->state = REC_ENDED;
    cmd->stats.submissions = cmd->n_segs;
    return MD_OK;
}

/* ---- running --------------------------------------------------------------------- */

static void collect_profile(md_gpu_cmd *cmd)
{
    const md_vk *vk = &cmd->gpu->vk;
    md_gpu *gpu = cmd->gpu;
    uint64_t mask = gpu->timestamp_bits >= 64 ? UINT64_MAX : (1ull << gpu->timestamp_bits) - 1;
    double period = gpu->caps.limits.timestamp_period_ns;
    for (uint32_t i = 0; i < cmd->n_segs; i++) {
        segment *sg = cmd->segs[i];
        if (!sg->qpool || !sg->n_timed) continue;
        uint64_t t[QUERY_CAP];
        VkResult r = vk->GetQueryPoolResults(gpu->device, sg->qpool, 0, 2 * sg->n_timed, sizeof t, t, sizeof t[0],
                                           VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
        if (r != VK_SUCCESS) {
            md_log(gpu->ctx, MD_LOG_WARN, "gpu: timestamps unavailable: %s", md_vk_result_name(r));
            continue;
        }
        for (uint32_t j = 0; j < sg->n_timed; j++) {
            uint64_t dt = ((t[2 * j + 1] & mask) - (t[2 * j] & mask)) & mask;
            md_gpu_profile_add(gpu, sg->rows[j], (double)dt * period);
        }
    }
}

md_status md_gpu_cmd_run(md_gpu_cmd *cmd)
{
    const md_vk *vk = &cmd->gpu->vk;
    md_gpu *gpu = cmd->gpu;
    if (cmd->state != REC_ENDED)
        return md_fail(gpu->ctx, MD_ERR_INTERNAL, "GPU command list run before md_gpu_cmd_end");
    md_status s = md_gpu_check_alive(gpu);
    if (s) return s;
    VkResult r = vk->ResetFences(gpu->device, 1, &cmd->fence);
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, "vkResetFences");
    for (uint32_t i = 0; i < cmd->n_segs; i++) {
        VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                           .commandBufferCount = 1,
                           .pCommandBuffers = &cmd->segs[i]->cb};
        r = md_gpu_queue_submit(gpu, 1, &si, i + 1 == cmd->n_segs ? cmd->fence : VK_NULL_HANDLE);
        if (r != VK_SUCCESS) {
            /* Earlier segments may be running: let them drain before anything
             * is freed (returns at once when the device is really gone). */
            if (i > 0) vk->QueueWaitIdle(gpu->queue);
            return md_gpu_vk_fail(gpu, r, "submitting GPU work");
        }
    }
    if ((s = md_gpu_wait_fence(gpu, cmd->fence, "GPU run"))) return s;
    if (gpu->opt.profile) collect_profile(cmd);
    return MD_OK;
}

void md_gpu_cmd_stats_get(const md_gpu_cmd *cmd, md_gpu_cmd_stats *out)
{
    *out = cmd->stats;
    out->submissions = cmd->n_segs;
}
