/* VkResult -> md_status, the device-lost latch, fault injection, and the two
 * places the runtime touches the queue (submit, fence wait). */
#include <inttypes.h>

#include "gpu/internal.h"

const char *md_vk_result_name(VkResult r)
{
    switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_ERROR_INVALID_EXTERNAL_HANDLE: return "VK_ERROR_INVALID_EXTERNAL_HANDLE";
    case VK_ERROR_FRAGMENTATION: return "VK_ERROR_FRAGMENTATION";
    case VK_PIPELINE_COMPILE_REQUIRED: return "VK_PIPELINE_COMPILE_REQUIRED";
    default: return "VkResult error";
    }
}

md_status md_gpu_vk_fail(md_gpu *gpu, VkResult r, const char *what)
{
    md_ctx *ctx = gpu ? gpu->ctx : NULL;
    switch (r) {
    case VK_ERROR_OUT_OF_HOST_MEMORY:
        return md_fail(ctx, MD_ERR_NOMEM, "%s: out of host memory (VK_ERROR_OUT_OF_HOST_MEMORY)", what);
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
        return md_fail(ctx, MD_ERR_GPU, "%s: out of GPU memory (VK_ERROR_OUT_OF_DEVICE_MEMORY); "
                       "try a smaller batch or segment length", what);
    case VK_ERROR_DEVICE_LOST:
        if (gpu) gpu->lost = 1;
        return md_fail(ctx, MD_ERR_GPU, "%s: the GPU device was lost (VK_ERROR_DEVICE_LOST: driver "
                       "reset, hang or timeout); restart the program", what);
    default:
        return md_fail(ctx, MD_ERR_GPU, "%s failed: %s (%d)", what, md_vk_result_name(r), (int)r);
    }
}

md_status md_gpu_check_alive(md_gpu *gpu)
{
    if (!gpu->lost) return MD_OK;
    return md_fail(gpu->ctx, MD_ERR_GPU, "the GPU device was lost earlier (VK_ERROR_DEVICE_LOST); "
                   "no further GPU work is possible on this handle");
}

void md_gpu_inject_fault(md_gpu *gpu, md_gpu_fault fault, int after_n)
{
    gpu->fault = (unsigned)fault;
    gpu->fault_after = after_n < 0 ? 0 : after_n;
}

int md_gpu_fault_fires(md_gpu *gpu, md_gpu_fault fault)
{
    if (gpu->fault != (unsigned)fault) return 0;
    if (gpu->fault_after > 0) {
        gpu->fault_after--;
        return 0;
    }
    gpu->fault = MD_GPU_FAULT_NONE; /* one shot; device loss itself is sticky */
    return 1;
}

VkResult md_gpu_queue_submit(md_gpu *gpu, uint32_t n, const VkSubmitInfo *si, VkFence fence)
{
    const md_vk *vk = &gpu->vk;
    if (md_gpu_fault_fires(gpu, MD_GPU_FAULT_DEVICE_LOST)) return VK_ERROR_DEVICE_LOST;
    return vk->QueueSubmit(gpu->queue, n, si, fence);
}

md_status md_gpu_wait_fence(md_gpu *gpu, VkFence fence, const char *what)
{
    const md_vk *vk = &gpu->vk;
    VkResult r = vk->WaitForFences(gpu->device, 1, &fence, VK_TRUE, gpu->timeout_ns);
    if (r == VK_TIMEOUT) {
        /* Work may still be queued: treat the device as unusable rather than
         * free objects the GPU might still touch. */
        gpu->lost = 1;
        gpu->pending = 1;
        return md_fail(gpu->ctx, MD_ERR_GPU, "%s: the GPU did not finish within %.1f s "
                       "(hung, or too slow: raise MELODIFF_GPU_TIMEOUT_MS)", what,
                       (double)gpu->timeout_ns / 1e9);
    }
    if (r != VK_SUCCESS) return md_gpu_vk_fail(gpu, r, what);
    return MD_OK;
}

void md_gpu_drain(md_gpu *gpu)
{
    const md_vk *vk = &gpu->vk;
    if (!gpu->pending) return;
    vk->DeviceWaitIdle(gpu->device);
    gpu->pending = 0;
}
