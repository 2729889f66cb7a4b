#version 450
// variants: f16w
// Linear layer y[r, o] = act(x[r, :] . w[o, :] + bias[o]), weight O x K
// (PyTorch layout). One output per invocation, grid-stride; consecutive
// lanes take consecutive o so a row of x is shared across the group.
#extension GL_GOOGLE_include_directive : require
#include "nn_common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int ACT = 0;
layout(constant_id = 2) const float SLOPE = 0.01;
layout(constant_id = 3) const bool HAS_BIAS = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
#include "nn_weights.glsl"
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint count, k, outs; } pc;
void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        uint r = i / pc.outs, o = i % pc.outs;
        float acc = HAS_BIAS ? bias[o] : 0.0;
        for (uint k = 0u; k < pc.k; k++) acc += x[r * pc.k + k] * nn_w(o * pc.k + k);
        y[i] = nn_act(ACT, SLOPE, acc);
    }
}
