#version 450
// Runtime test shader: subgroup arithmetic in compute. Every invocation
// writes the sum of x over its subgroup and the largest invocation id in
// it; with x = 1 both reveal the subgroup size.
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 2) writeonly buffer Z { uint z[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    y[i] = subgroupAdd(x[i]);
    z[i] = subgroupMax(gl_SubgroupInvocationID);
}
