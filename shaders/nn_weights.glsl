// The weight buffer of the conv/linear shaders (binding 1 in each), read
// through nn_w(i) as a float. Default: float32. With MD_F16_WEIGHTS (the
// `_f16w` SPIR-V, used when the weights were uploaded as float16, see
// md_nn_set_precision): float16 storage, widened on load, so only storage
// and bandwidth halve -- every multiply-add still accumulates in fp32.
// Needs only storageBuffer16BitAccess, not shaderFloat16.
#ifndef NN_WEIGHTS_GLSL
#define NN_WEIGHTS_GLSL

#ifdef MD_F16_WEIGHTS
#extension GL_EXT_shader_16bit_storage : require
layout(std430, binding = 1) readonly buffer Wt { float16_t w[]; };
#else
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
#endif

float nn_w(int i) { return float(w[i]); }
float nn_w(uint i) { return float(w[i]); }

#endif
