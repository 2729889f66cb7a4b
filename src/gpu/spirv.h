/* Just enough SPIR-V reading to know a compute shader's workgroup size
 * once its specialization constants are applied, so a kernel that would
 * exceed the device's limits is refused with a clear message (instead of a
 * driver crash or a validation error) and the op layer can ask a kernel its
 * workgroup shape. */
#ifndef MD_GPU_SPIRV_H
#define MD_GPU_SPIRV_H

#include <stddef.h>
#include <stdint.h>

/* Workgroup size of the module's compute entry point with spec constant
 * constant_id i set to spec[i] (i < n_spec; others keep their defaults).
 * Returns 0 and out[3] on success, -1 when the module is malformed or
 * declares no workgroup size. */
int md_spirv_local_size(const uint32_t *code, size_t n_words, const uint32_t *spec, uint32_t n_spec,
                        uint32_t out[3]);

#endif
