// Embeddings: token lookup (CLIP's token and position tables) and the sinusoidal timestep embedding of the UNet.
#pragma once

#include "backends/cpu/isa.hpp"
#include "core/tensor_view.hpp"
#include "core/thread_pool.hpp"

namespace nd::backends::cpu::ops {

// ids [..] I32 or I64; table [V, D] F32/F16/BF16 rows; out [.., D] F32. An id outside 0..V-1 is an error.
void embedding(const core::TensorView& ids, const core::TensorView& table, const core::TensorView& out,
               core::ThreadPool& pool, Isa isa = best_isa());

struct TimestepEmbeddingParams {
    bool flip_sin_to_cos = true;   // [cos, sin] as SD's UNet has it; false gives [sin, cos]
    float downscale_freq_shift = 0; // frequencies exp(-ln(max_period) * i / (half - shift))
    float max_period = 10000.0f;
};

// timesteps [N] F32 -> out [N, dim] F32, diffusers' get_timestep_embedding (odd dim pads a zero column).
void timestep_embedding(const core::TensorView& timesteps, const TimestepEmbeddingParams& params,
                        const core::TensorView& out);

} // namespace nd::backends::cpu::ops
