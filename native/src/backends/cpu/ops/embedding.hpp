// Embeddings: token lookup (CLIP's token and position tables) and the sinusoidal timestep embedding of the UNet.
#pragma once

#include "backends/cpu/isa.hpp"
#include "core/tensor_view.hpp"
#include "core/thread_pool.hpp"

namespace nd::backends::cpu::ops {

// ids [..] I32 or I64 (rank 0..3, any strides); table [V, D] rows of F32/F16/BF16 or a block-quantized type;
// out [.., D] F32 with a contiguous last dimension. An id outside 0..V-1 is an error naming it.
void embedding(const core::TensorView& ids, const core::TensorView& table, const core::TensorView& out,
               core::ThreadPool& pool, Isa isa = best_isa());
void embedding_reference(const core::TensorView& ids, const core::TensorView& table, const core::TensorView& out);

struct TimestepEmbeddingParams {
    bool flip_sin_to_cos = true;   // [cos, sin] as SD's UNet has it; false gives [sin, cos]
    float downscale_freq_shift = 0; // frequencies exp(-ln(max_period) * i / (half - shift)); SD's UNet: 0
    float max_period = 10000.0f;
    float scale = 1.0f;             // multiplies the angles (diffusers' `scale`)
};

// timesteps [N] F32 -> out [N, dim] F32, diffusers' get_timestep_embedding: half = dim / 2,
// freq_i = exp(-ln(max_period) * i / (half - shift)), angle = scale * t * freq_i, [sin, cos] (or [cos, sin]
// when flipped); an odd dim pads a zero column. Computed in float step by step as PyTorch does, so that the
// rounding of large timesteps (t = 999) matches. Tiny; the pool overload exists for the op convention.
void timestep_embedding(const core::TensorView& timesteps, const TimestepEmbeddingParams& params,
                        const core::TensorView& out);
void timestep_embedding(const core::TensorView& timesteps, const TimestepEmbeddingParams& params,
                        const core::TensorView& out, core::ThreadPool& pool, Isa isa = best_isa());
// The same formula in double precision, for tests.
void timestep_embedding_reference(const core::TensorView& timesteps, const TimestepEmbeddingParams& params,
                                  const core::TensorView& out);

} // namespace nd::backends::cpu::ops
