// The layers of a Stable Diffusion UNet as graph fragments: ResBlock with its timestep embedding, the
// spatial transformer (self-attention, cross-attention, GEGLU feed-forward), the strided-conv downsample and
// the nearest-2x upsample. Each takes the layer's description (models/unet_architecture.hpp) and its input
// value, adds its nodes (named after the layer, "input_blocks.1.1.transformer_blocks.0.attn2") and returns
// its output value. The numerics are those of the original LDM code and diffusers' UNet2DConditionModel.
#pragma once

#include <cstdint>

#include "core/graph.hpp"
#include "models/model_weights.hpp"
#include "models/unet_architecture.hpp"

namespace nd::models {

// What every layer of one UNet graph shares.
struct UNetLayerContext {
    const ModelWeights& weights; // under the UNet's prefix
    core::Graph& graph;
    core::ValueId time_embedding; // silu(time MLP output) [B, time_embed_dim]: each ResBlock projects it
    core::ValueId context;        // [B, tokens, context_dim]: what cross-attention attends to
    int heads = 8;                // heads per attention when head_channels is 0 (SD 1.x)
    int head_channels = 0;        // channels per head when > 0 (SD 2.x and SDXL: 64)
    int groups = 32;              // GroupNorm groups
};

// x [B, in, H, W] -> [B, out, H, W]: skip(x) + conv(silu(gn(conv(silu(gn(x))) + emb))).
core::ValueId resblock(UNetLayerContext& c, const UNetLayer& layer, core::ValueId x);

// x [B, C, H, W] -> [B, C, H, W]: x + proj_out(blocks(proj_in(gn(x)))) over H*W tokens.
core::ValueId spatial_transformer(UNetLayerContext& c, const UNetLayer& layer, core::ValueId x);

// x [B, C, H, W] -> [B, C, ceil(H/2), ceil(W/2)]: a 3x3 convolution with stride 2.
core::ValueId downsample(UNetLayerContext& c, const UNetLayer& layer, core::ValueId x);

// x [B, C, H, W] -> [B, C, out_h, out_w] with out_h <= 2H: nearest-neighbour upsampling, then a 3x3
// convolution. A size below 2H (the skip of an odd-sized level) keeps the first rows, which is what nearest
// interpolation to that size picks.
core::ValueId upsample(UNetLayerContext& c, const UNetLayer& layer, core::ValueId x, std::int64_t out_h,
                       std::int64_t out_w);

} // namespace nd::models
