// Workgroup-wide sum and max for the row/group reductions of the norm and
// softmax shaders. Every lane gets the result. Must be called in uniform
// control flow (all lanes of the workgroup), as it contains barriers.
//
// Two implementations, picked at build time (CMake compiles the including
// shaders twice, see "variants" in CMakeLists.txt):
//  - default: a shared-memory tree; the workgroup size must be a power of
//    two (src/nn/gpu_ops.c dispatches these with 64 or 256 lanes);
//  - MD_SUBGROUP (the `_sg` SPIR-V, used when the device enables subgroup
//    arithmetic): subgroupAdd/subgroupMax inside each subgroup, one shared
//    slot per subgroup, then each subgroup reduces the slots again with one
//    more subgroup operation. Correct for any subgroup size and any
//    workgroup size: gl_SubgroupID, gl_NumSubgroups and gl_SubgroupSize come
//    from the driver, and a partial last subgroup only reduces its active
//    lanes (its lanes may then see a sum rounded differently in the last
//    bit; the max is exact). Two barriers per reduction instead of
//    log2(lanes) + 1.
#ifndef NN_REDUCE_GLSL
#define NN_REDUCE_GLSL

#ifdef MD_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

// One slot per subgroup; sized for subgroups of a single lane, the worst case.
shared float nn_red[gl_WorkGroupSize.x];

float nn_reduce_sum(float v) {
    float part = subgroupAdd(v);
    if (subgroupElect()) nn_red[gl_SubgroupID] = part;
    barrier();
    // Second level inside every subgroup: its lanes take the slots strided
    // (one each on GPUs with <= 64 lanes of 32..64-wide subgroups, a few on
    // lavapipe's 8-wide ones), then one more subgroupAdd.
    float acc = 0.0;
    for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) acc += nn_red[i];
    float total = subgroupAdd(acc);
    barrier(); // everyone has read the slots before they are reused
    return total;
}

float nn_reduce_max(float v) {
    float part = subgroupMax(v);
    if (subgroupElect()) nn_red[gl_SubgroupID] = part;
    barrier();
    float acc = -3.402823466e38;
    for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) acc = max(acc, nn_red[i]);
    float total = subgroupMax(acc);
    barrier();
    return total;
}

#else

shared float nn_red[gl_WorkGroupSize.x];

float nn_reduce_sum(float v) {
    uint lane = gl_LocalInvocationID.x;
    nn_red[lane] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1u) {
        if (lane < s) nn_red[lane] += nn_red[lane + s];
        barrier();
    }
    float total = nn_red[0];
    barrier(); // everyone has read the total before the array is reused
    return total;
}

float nn_reduce_max(float v) {
    uint lane = gl_LocalInvocationID.x;
    nn_red[lane] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1u) {
        if (lane < s) nn_red[lane] = max(nn_red[lane], nn_red[lane + s]);
        barrier();
    }
    float total = nn_red[0];
    barrier();
    return total;
}

#endif
#endif
