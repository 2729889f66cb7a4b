/* Run-time loading of the Vulkan loader (see vk.h). */
#include "gpu/vk.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static const char *const default_names[] = {
#if defined(__APPLE__)
    "libvulkan.1.dylib", "libvulkan.dylib", "libMoltenVK.dylib",
#else
    "libvulkan.so.1", "libvulkan.so",
#endif
};

/* dlsym returns void *; POSIX guarantees it converts to a function pointer. */
static PFN_vkGetInstanceProcAddr find_gipa(void *lib)
{
    PFN_vkGetInstanceProcAddr f;
    void *sym = dlsym(lib, "vkGetInstanceProcAddr");
    memcpy(&f, &sym, sizeof f);
    return f;
}

md_status md_vk_open(md_ctx *ctx, md_vk *vk)
{
    memset(vk, 0, sizeof *vk);
    const char *env = getenv("MELODIFF_VULKAN_LIBRARY");
    const char *tried = env && *env ? env : default_names[0];
    if (env && *env) {
        vk->lib = dlopen(env, RTLD_NOW | RTLD_LOCAL);
    } else {
        for (size_t i = 0; i < sizeof default_names / sizeof default_names[0] && !vk->lib; i++)
            vk->lib = dlopen(default_names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (!vk->lib)
        return md_fail(ctx, MD_ERR_GPU, "the Vulkan loader (%s) is not installed or cannot be loaded; "
                       "install it (Debian/Ubuntu: libvulkan1) and a Vulkan driver", tried);
    vk->GetInstanceProcAddr = find_gipa(vk->lib);
    if (!vk->GetInstanceProcAddr) {
        md_vk_close(vk);
        return md_fail(ctx, MD_ERR_GPU, "%s is not a Vulkan loader (no vkGetInstanceProcAddr)", tried);
    }
    vk->EnumerateInstanceVersion =
        (PFN_vkEnumerateInstanceVersion)vk->GetInstanceProcAddr(NULL, "vkEnumerateInstanceVersion");
#define LOAD_GLOBAL(name) \
    vk->name = (PFN_vk##name)vk->GetInstanceProcAddr(NULL, "vk" #name); \
    if (!vk->name) { \
        md_vk_close(vk); \
        return md_fail(ctx, MD_ERR_GPU, "the Vulkan loader %s lacks vk" #name, tried); \
    }
    MD_VK_GLOBAL_FUNCS(LOAD_GLOBAL)
#undef LOAD_GLOBAL
    return MD_OK;
}

md_status md_vk_load_instance(md_ctx *ctx, md_vk *vk, VkInstance instance)
{
#define LOAD_INSTANCE(name) \
    vk->name = (PFN_vk##name)vk->GetInstanceProcAddr(instance, "vk" #name); \
    if (!vk->name) return md_fail(ctx, MD_ERR_GPU, "the Vulkan loader returned no vk" #name " (Vulkan 1.1 needed)");
    MD_VK_INSTANCE_FUNCS(LOAD_INSTANCE)
#undef LOAD_INSTANCE
    /* Optional: only there when VK_EXT_debug_utils was enabled. */
    vk->CreateDebugUtilsMessengerEXT = (PFN_vkCreateDebugUtilsMessengerEXT)
        vk->GetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT");
    vk->DestroyDebugUtilsMessengerEXT = (PFN_vkDestroyDebugUtilsMessengerEXT)
        vk->GetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT");
    return MD_OK;
}

void md_vk_close(md_vk *vk)
{
    if (vk->lib) dlclose(vk->lib);
    memset(vk, 0, sizeof *vk);
}
