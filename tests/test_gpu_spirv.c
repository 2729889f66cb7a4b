/* The SPIR-V workgroup-size reader on the embedded shaders (no device):
 * defaults, spec constants, literal components, malformed modules. */
#include <stdlib.h>
#include <string.h>

#include "gpu/shader.h"
#include "gpu/spirv.h"
#include "test_util.h"

static int local_size(const char *name, const uint32_t *spec, uint32_t n_spec, uint32_t out[3])
{
    size_t bytes = 0;
    const uint32_t *code = md_shader_find(name, &bytes);
    if (!code) return -2;
    return md_spirv_local_size(code, bytes / 4, spec, n_spec, out);
}

int main(void)
{
    uint32_t ls[3];
    uint32_t spec[2] = {128, 4};
    CHECK(local_size("fill", spec, 1, ls) == 0 && ls[0] == 128 && ls[1] == 1 && ls[2] == 1);
    CHECK(local_size("fill", NULL, 0, ls) == 0 && ls[0] == 1); /* glslang's default for an unset id */
    CHECK(local_size("rt_wg2d", spec, 2, ls) == 0 && ls[0] == 128 && ls[1] == 4 && ls[2] == 2);
    CHECK(local_size("rt_wg2d", spec, 1, ls) == 0 && ls[0] == 128 && ls[1] == 1 && ls[2] == 2);
    CHECK(local_size("no_such_shader", spec, 1, ls) == -2);

    size_t bytes = 0;
    const uint32_t *code = md_shader_find("rt_add", &bytes);
    CHECK(code && md_spirv_local_size(code, bytes / 4, spec, 1, ls) == 0 && ls[0] == 128);
    uint32_t *copy = malloc(bytes);
    if (copy && code) {
        memcpy(copy, code, bytes);
        CHECK(md_spirv_local_size(copy, 3, spec, 1, ls) == -1);             /* shorter than the header */
        CHECK(md_spirv_local_size(copy, bytes / 4 - 1, spec, 1, ls) <= 0);  /* cut at the end: no crash */
        copy[5] = 0;                                                        /* instruction of length 0 */
        CHECK(md_spirv_local_size(copy, bytes / 4, spec, 1, ls) == -1);
        memcpy(copy, code, bytes);
        copy[5] = (copy[5] & 0xffffu) | (0xffffu << 16);                    /* length past the end */
        CHECK(md_spirv_local_size(copy, bytes / 4, spec, 1, ls) == -1);
        memcpy(copy, code, bytes);
        copy[0] = 0xdeadbeefu;                                              /* not SPIR-V */
        CHECK(md_spirv_local_size(copy, bytes / 4, spec, 1, ls) == -1);
    }
    free(copy);
    return md_test_finish();
}
