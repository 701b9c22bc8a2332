// The two blocks the SD autoencoder is made of, as graph pieces: a ResNet block without time embedding and
// the single-head spatial self-attention of its mid block. Both normalize with GroupNorm (32 groups,
// eps 1e-6 in every SD VAE).
#pragma once

#include <cstdint>
#include <string>

#include "core/graph.hpp"
#include "models/model_weights.hpp"

namespace nd::models {

struct VaeNormParams {
    int groups = 32;
    float eps = 1e-6f;
};

// norm1 -> silu -> conv1 (3x3) -> norm2 -> silu -> conv2 (3x3), plus the input (through a 1x1 nin_shortcut
// when the width changes).
struct VaeResBlockWeights {
    NormWeights norm1;
    ConvWeights conv1;
    NormWeights norm2;
    ConvWeights conv2;
    ConvWeights shortcut; // undefined when in and out widths agree

    [[nodiscard]] std::int64_t out_channels() const noexcept { return conv2.out_channels(); }
};

// x + proj_out(attention(q(norm(x)), k(...), v(...))) over the H*W positions, one head of all C channels.
struct VaeAttentionWeights {
    NormWeights norm;
    LinearWeights q, k, v, proj_out; // stored as 1x1 convolutions, read as [C, C] matrices
};

// Reads `name`.{norm1,conv1,norm2,conv2,nin_shortcut} with `in` input channels; the output width is
// conv1's. Throws Error(ND_STATUS_INVALID_FORMAT) naming a missing or mis-shaped tensor.
VaeResBlockWeights read_vae_res_block(const ModelWeights& weights, const std::string& name, std::int64_t in);
// Reads `name`.{norm,q,k,v,proj_out} for `channels` channels.
VaeAttentionWeights read_vae_attention(const ModelWeights& weights, const std::string& name,
                                       std::int64_t channels);

core::ValueId add_vae_res_block(core::Graph& graph, core::ValueId x, const VaeResBlockWeights& w,
                                const VaeNormParams& norm, const std::string& name);
core::ValueId add_vae_attention(core::Graph& graph, core::ValueId x, const VaeAttentionWeights& w,
                                const VaeNormParams& norm, const std::string& name);

} // namespace nd::models
