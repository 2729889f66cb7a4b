#version 450
// Runtime test shader: a 2-D workgroup from two spec constants and a fixed
// z, for the SPIR-V workgroup-size reader. Writes each invocation's flat
// local index so the shape can also be checked on the device.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z = 2) in;
layout(std430, binding = 0) writeonly buffer Out { uint data[]; };
void main() {
    uint per_group = gl_WorkGroupSize.x * gl_WorkGroupSize.y * gl_WorkGroupSize.z;
    data[gl_WorkGroupID.x * per_group + gl_LocalInvocationIndex] = gl_LocalInvocationIndex;
}
