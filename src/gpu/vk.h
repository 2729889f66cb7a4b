/* Vulkan entry points, loaded at run time.
 *
 * melodiff does not link the Vulkan loader: md_vk_open() dlopens it, so a
 * machine without libvulkan still runs every command that needs no GPU, and
 * a GPU command fails with a one-line MD_ERR_GPU instead of the dynamic
 * linker refusing to start the program. Each md_gpu handle holds its own
 * table (no process-wide state). Every file of src/gpu includes this header
 * instead of <vulkan/vulkan.h>. */
#ifndef MD_GPU_VK_H
#define MD_GPU_VK_H

#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <vulkan/vulkan.h>

#include "melodiff/context.h"

/* Functions fetched with vkGetInstanceProcAddr(NULL, ...). */
#define MD_VK_GLOBAL_FUNCS(X) \
    X(EnumerateInstanceLayerProperties) X(EnumerateInstanceExtensionProperties) X(CreateInstance)

/* Functions fetched with vkGetInstanceProcAddr(instance, ...): instance,
 * physical-device and device level (device ones through loader trampolines). */
#define MD_VK_INSTANCE_FUNCS(X) \
    X(DestroyInstance) X(EnumeratePhysicalDevices) X(GetPhysicalDeviceProperties) \
    X(GetPhysicalDeviceProperties2) X(GetPhysicalDeviceFeatures2) X(GetPhysicalDeviceMemoryProperties) \
    X(GetPhysicalDeviceQueueFamilyProperties) X(EnumerateDeviceExtensionProperties) X(CreateDevice) \
    X(DestroyDevice) X(GetDeviceQueue) X(DeviceWaitIdle) X(QueueSubmit) X(QueueWaitIdle) \
    X(CreateBuffer) X(DestroyBuffer) X(GetBufferMemoryRequirements) X(AllocateMemory) X(FreeMemory) \
    X(MapMemory) X(UnmapMemory) X(BindBufferMemory) \
    X(CreateCommandPool) X(DestroyCommandPool) X(AllocateCommandBuffers) X(FreeCommandBuffers) \
    X(BeginCommandBuffer) X(EndCommandBuffer) X(ResetCommandBuffer) \
    X(CreateFence) X(DestroyFence) X(ResetFences) X(WaitForFences) \
    X(CreateShaderModule) X(DestroyShaderModule) X(CreatePipelineCache) X(DestroyPipelineCache) \
    X(GetPipelineCacheData) X(CreateDescriptorSetLayout) X(DestroyDescriptorSetLayout) \
    X(CreatePipelineLayout) X(DestroyPipelineLayout) X(CreateComputePipelines) X(DestroyPipeline) \
    X(CreateDescriptorPool) X(DestroyDescriptorPool) X(AllocateDescriptorSets) X(UpdateDescriptorSets) \
    X(CreateQueryPool) X(DestroyQueryPool) X(GetQueryPoolResults) \
    X(CmdPipelineBarrier) X(CmdCopyBuffer) X(CmdFillBuffer) X(CmdBindPipeline) X(CmdBindDescriptorSets) \
    X(CmdPushConstants) X(CmdDispatch) X(CmdWriteTimestamp) X(CmdResetQueryPool)

#define MD_VK_FIELD(name) PFN_vk##name name;

typedef struct md_vk {
    void *lib;                                   /* dlopen handle of the loader */
    PFN_vkGetInstanceProcAddr GetInstanceProcAddr;
    PFN_vkEnumerateInstanceVersion EnumerateInstanceVersion; /* NULL on a 1.0 loader */
    MD_VK_GLOBAL_FUNCS(MD_VK_FIELD)
    MD_VK_INSTANCE_FUNCS(MD_VK_FIELD)
    /* VK_EXT_debug_utils, present only with validation */
    PFN_vkCreateDebugUtilsMessengerEXT CreateDebugUtilsMessengerEXT;
    PFN_vkDestroyDebugUtilsMessengerEXT DestroyDebugUtilsMessengerEXT;
} md_vk;

/* Loads the Vulkan loader ($MELODIFF_VULKAN_LIBRARY, else the platform's
 * libvulkan) and its global functions. A missing loader is MD_ERR_GPU. */
md_status md_vk_open(md_ctx *ctx, md_vk *vk);
/* Fetches every instance- and device-level function for this instance. */
md_status md_vk_load_instance(md_ctx *ctx, md_vk *vk, VkInstance instance);
/* Unloads the loader (after the instance is destroyed). */
void md_vk_close(md_vk *vk);

#endif
