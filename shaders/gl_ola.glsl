// The Griffin-Lim waveform at padded sample j (j = signal index + pad): the
// overlap-add of the segments covering it (gl_synth.comp), in frame order,
// times the reciprocal window-square sum. As md_istft_finish on the CPU.
// The includer declares FFT_N (or N) as the frame length, and buffers
// `seg` and `wsum_inv`; hop is a push constant there.
float ola_sample(uint j, uint hop, uint frames) {
    uint t_hi = min(j / hop, frames - 1u);
    uint t_lo = j + 1u > FFT_N ? (j + 1u - FFT_N + hop - 1u) / hop : 0u;
    float acc = 0.0;
    for (uint t = t_lo; t <= t_hi; t++) acc += seg[t * FFT_N + (j - t * hop)];
    return acc * wsum_inv[j];
}
