#version 450
// Multi-head self-attention core, one query token per invocation, with an
// online (streaming) softmax: the running maximum, normaliser and value
// accumulator are rescaled as each key arrives, so no T x T score matrix is
// ever stored and any token count fits (the reference does it the plain way
// with the full score row, so the two check each other).
//
// qkv: N x 3C x H x W (q, k, v channel blocks; head h owns channels h*HD..),
// y: N x C x H x W. Sequence s of a sample holds t tokens at plane positions
// s * seq_first + j * step: one sequence of all H*W positions, or one per
// column (its H positions). Lanes take consecutive query tokens of the same
// (n, head, sequence), so key and value loads are uniform across a group.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int HD = 32; // head dimension C / heads
layout(std430, binding = 0) readonly buffer QKV { float qkv[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { int count, c, heads, t, seqs, seq_first, step, plane; float scale; } pc;
void main() {
    int stride = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
    for (int i = int(gl_GlobalInvocationID.x); i < pc.count; i += stride) {
        int tq = i % pc.t, r = i / pc.t;
        int seq = r % pc.seqs, nh = r / pc.seqs, head = nh % pc.heads, n = nh / pc.heads;
        int first = seq * pc.seq_first;
        int qbase = (n * 3 * pc.c + head * HD) * pc.plane + first;
        int kbase = qbase + pc.c * pc.plane, vbase = kbase + pc.c * pc.plane;
        float q[HD], acc[HD];
        for (int d = 0; d < HD; d++) {
            q[d] = qkv[qbase + d * pc.plane + tq * pc.step] * pc.scale;
            acc[d] = 0.0;
        }
        float m = -3.402823466e38, l = 0.0;
        for (int tk = 0; tk < pc.t; tk++) {
            float s = 0.0;
            for (int d = 0; d < HD; d++) s += q[d] * qkv[kbase + d * pc.plane + tk * pc.step];
            float m_new = max(m, s);
            float corr = exp(m - m_new), p = exp(s - m_new);
            l = l * corr + p;
            for (int d = 0; d < HD; d++) acc[d] = acc[d] * corr + p * qkv[vbase + d * pc.plane + tk * pc.step];
            m = m_new;
        }
        int obase = (n * pc.c + head * HD) * pc.plane + first + tq * pc.step;
        for (int d = 0; d < HD; d++) y[obase + d * pc.plane] = acc[d] / l;
    }
}
