// Shared-memory radix-2 FFT of N = 2^LOG2N complex values, one workgroup per
// transform (Griffin-Lim's STFT frames, shaders/gl_*.comp). N complex floats
// in shared memory: 16 KiB for N = 2048, Vulkan's guaranteed minimum, which
// src/audio/griffinlim_gpu.c checks against the device before it runs.
//
// In place, decimation in time: the input is stored in bit-reversed order,
// then LOG2N stages of butterflies, each lane doing N/2/WG of them with a
// barrier between stages. Twiddles come from a table the host computes in
// double precision: tw[k] = exp(-2 pi i k / N), k < N/2, so the transform is
// as accurate as FFTW's in float (no cos/sin of large arguments in float).
//
// The includer declares: LOG2N and WG (constants), `shared vec2 fft_buf[]`
// of N entries, and a readonly buffer `tw` of vec2.

const uint FFT_N = 1u << LOG2N;

uint fft_bitrev(uint i) { return bitfieldReverse(i) >> (32u - LOG2N); }

// sign = -1: forward (exp(-i...)); +1: inverse, unnormalised.
void fft_run(float sign) {
    for (uint s = 0u; s < LOG2N; s++) {
        uint half_ = 1u << s;
        uint step = FFT_N >> (s + 1u);  // twiddle stride for this stage
        for (uint b = gl_LocalInvocationID.x; b < FFT_N / 2u; b += WG) {
            uint pos = b & (half_ - 1u);
            uint i0 = ((b >> s) << (s + 1u)) + pos;
            uint i1 = i0 + half_;
            vec2 w = tw[pos * step];
            w.y *= -sign;  // table holds exp(-i...): conjugate for the inverse
            vec2 a = fft_buf[i0], c = fft_buf[i1];
            vec2 cw = vec2(c.x * w.x - c.y * w.y, c.x * w.y + c.y * w.x);
            fft_buf[i0] = a + cw;
            fft_buf[i1] = a - cw;
        }
        barrier();
    }
}
