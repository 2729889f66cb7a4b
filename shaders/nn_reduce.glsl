// Workgroup-wide sum through shared memory, for the row/group reductions of
// the norm and softmax shaders. The workgroup size must be a power of two
// (src/nn/gpu_ops.c only dispatches these with 64 or 256 lanes).
#ifndef NN_REDUCE_GLSL
#define NN_REDUCE_GLSL

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
