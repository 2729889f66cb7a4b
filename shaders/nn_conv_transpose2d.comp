#version 450
// Transposed convolution (learned upsampling) written as a gather: each
// output sums the inputs whose kernel footprint covers it. Weight layout
// Cin x Cout x KH x KW (PyTorch ConvTranspose2d). Grid-stride over outputs.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int KH = 4;
layout(constant_id = 2) const int KW = 4;
layout(constant_id = 3) const int SH = 2;
layout(constant_id = 4) const int SW = 2;
layout(constant_id = 5) const bool HAS_BIAS = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { int count, cin, h, w, cout, oh, ow, pad_h, pad_w; } pc;
void main() {
    int stride = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
    for (int i = int(gl_GlobalInvocationID.x); i < pc.count; i += stride) {
        int ox = i % pc.ow, oy = (i / pc.ow) % pc.oh;
        int oc = (i / (pc.ow * pc.oh)) % pc.cout, n = i / (pc.ow * pc.oh * pc.cout);
        float acc = HAS_BIAS ? bias[oc] : 0.0;
        for (int ky = 0; ky < KH; ky++) {
            int ty = oy + pc.pad_h - ky; // = iy * SH when input row iy reaches here
            if (ty < 0 || ty % SH != 0 || ty / SH >= pc.h) continue;
            int iy = ty / SH;
            for (int kx = 0; kx < KW; kx++) {
                int tx = ox + pc.pad_w - kx;
                if (tx < 0 || tx % SW != 0 || tx / SW >= pc.w) continue;
                int ix = tx / SW;
                for (int ic = 0; ic < pc.cin; ic++)
                    acc += x[((n * pc.cin + ic) * pc.h + iy) * pc.w + ix] *
                           w[((ic * pc.cout + oc) * KH + ky) * KW + kx];
            }
        }
        y[i] = acc;
    }
}
