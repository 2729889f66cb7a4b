/* The quirk table and $MELODIFF_GPU_DISABLE on synthetic device
 * descriptions (no device needed). */
#include <string.h>

#include "gpu/internal.h"
#include "test_util.h"

static md_gpu_device_info device(uint32_t vendor, uint32_t dev, uint32_t api)
{
    md_gpu_device_info d;
    memset(&d, 0, sizeof d);
    d.vendor_id = vendor;
    d.device_id = dev;
    d.api_version = api;
    d.found.fp16_storage = d.found.fp16_arith = 1;
    d.found.subgroup_basic = d.found.subgroup_arith = d.found.subgroup_shuffle = 1;
    d.found.timestamps = 1;
    return d;
}

int main(void)
{
    /* A device no row mentions keeps everything it found. */
    md_gpu_device_info d = device(0x10005, 0, VK_API_VERSION_1_3);
    unsigned off = md_gpu_quirks_apply(&d, NULL);
    CHECK(d.enabled.fp16_storage && d.enabled.fp16_arith && d.enabled.subgroup_arith && d.enabled.timestamps);
    CHECK(!(off & MD_GPU_Q_PIPELINE_CACHE));
    CHECK_MSG(d.quirks[0] == '\0', "unexpected quirk text: %s", d.quirks);

    /* Cooperative matrices are never enabled yet, and that is said. */
    d = device(0x10de, 0x2330, VK_API_VERSION_1_3);
    d.found.coopmat = 1;
    md_gpu_quirks_apply(&d, NULL);
    CHECK(!d.enabled.coopmat && strstr(d.quirks, "cooperative"));

    /* Mali driver with implicit fp16 arithmetic: arithmetic off, storage kept. */
    d = device(0x13b5, 0x8602000, VK_API_VERSION_1_1);
    md_gpu_quirks_apply(&d, NULL);
    CHECK(!d.enabled.fp16_arith && d.enabled.fp16_storage);
    CHECK(strstr(d.quirks, "Mali") != NULL);

    /* Old Adreno driver: pipeline cache off; a newer one keeps it. */
    d = device(0x5143, 0x1234, VK_MAKE_API_VERSION(0, 1, 0, 61));
    off = md_gpu_quirks_apply(&d, NULL);
    CHECK(off & MD_GPU_Q_PIPELINE_CACHE);
    d = device(0x5143, 0x1234, VK_MAKE_API_VERSION(0, 1, 1, 128));
    off = md_gpu_quirks_apply(&d, NULL);
    CHECK(!(off & MD_GPU_Q_PIPELINE_CACHE));

    /* The environment escape hatch, with an unknown word reported. */
    d = device(0x10005, 0, VK_API_VERSION_1_3);
    off = md_gpu_quirks_apply(&d, "fp16, subgroup,bogus");
    CHECK(!d.enabled.fp16_storage && !d.enabled.fp16_arith);
    CHECK(!d.enabled.subgroup_basic && !d.enabled.subgroup_arith && !d.enabled.subgroup_shuffle);
    CHECK(d.enabled.timestamps);
    CHECK(strstr(d.quirks, "unknown feature 'bogus'") != NULL);
    CHECK(strstr(d.quirks, "MELODIFF_GPU_DISABLE=fp16") != NULL);
    off = md_gpu_quirks_apply(&d, "all");
    CHECK(!d.enabled.timestamps && (off & MD_GPU_Q_PIPELINE_CACHE));
    /* found is never touched */
    CHECK(d.found.fp16_arith && d.found.timestamps);

    /* Driver-version and driver-id ranges, on a table of the test's own. */
    static const md_gpu_quirk rows[] = {
        {0x1002, 0, 3 /* AMD open-source (RADV) */, 0, 0, 100, 200, MD_GPU_Q_SUBGROUP, "radv 1xx subgroups"},
    };
    d = device(0x1002, 0x73bf, VK_API_VERSION_1_3);
    d.driver_id = 3;
    d.driver_version = 150;
    off = md_gpu_quirks_apply_table(&d, rows, 1, NULL);
    CHECK((off & MD_GPU_Q_SUBGROUP) && !d.enabled.subgroup_arith && strstr(d.quirks, "radv 1xx"));
    d.driver_version = 200; /* max is exclusive */
    off = md_gpu_quirks_apply_table(&d, rows, 1, NULL);
    CHECK(!(off & MD_GPU_Q_SUBGROUP) && d.enabled.subgroup_arith);
    d.driver_version = 99;
    CHECK(!(md_gpu_quirks_apply_table(&d, rows, 1, NULL) & MD_GPU_Q_SUBGROUP));
    d.driver_version = 150;
    d.driver_id = 4; /* another driver on the same GPU */
    CHECK(!(md_gpu_quirks_apply_table(&d, rows, 1, NULL) & MD_GPU_Q_SUBGROUP));
    return md_test_finish();
}
