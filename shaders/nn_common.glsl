// Shared pieces of the nn op shaders: activations and the fused epilogue
// (see src/nn/params.h for its definition). Included by the nn_*.comp files.
#ifndef NN_COMMON_GLSL
#define NN_COMMON_GLSL

#define ACT_NONE 0
#define ACT_SILU 1
#define ACT_GELU 2
#define ACT_LEAKY 3
#define ACT_TANH 4

// GLSL has no erf. Abramowitz & Stegun 7.1.26: |error| <= 1.5e-7, far below
// the 1e-3 the ops are held to, and it keeps GELU in its exact (erf) form as
// PyTorch uses by default, rather than the tanh approximation.
float nn_erf(float x) {
    float a = abs(x);
    float t = 1.0 / (1.0 + 0.3275911 * a);
    float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 +
                 t * (-1.453152027 + t * 1.061405429))));
    float r = 1.0 - poly * exp(-a * a);
    return x < 0.0 ? -r : r;
}

// tanh from exp(-2|x|), which never overflows (the textbook ratio of
// exponentials gives inf/inf = NaN for large |x|).
float nn_tanh(float x) {
    float t = exp(-2.0 * abs(x));
    float r = (1.0 - t) / (1.0 + t);
    return x < 0.0 ? -r : r;
}

float nn_act(int act, float slope, float v) {
    if (act == ACT_SILU) return v / (1.0 + exp(-v));
    if (act == ACT_GELU) return 0.5 * v * (1.0 + nn_erf(v * 0.70710678118654752));
    if (act == ACT_LEAKY) return v >= 0.0 ? v : slope * v;
    if (act == ACT_TANH) return nn_tanh(v);
    return v;
}

#endif
