// What a UNet checkpoint is, read from its tensor names and shapes alone (no config file): the sequence of
// layers in each input, middle and output block of the original (LDM) layout, their widths, and the
// summary figures (model channels, channel multipliers, res blocks per level, transformer depth per level,
// context width) that SD 1.x, SD 2.x and SDXL differ in.
//
// A block of the LDM layout is a list of layers `input_blocks.N.M`; each layer's kind shows in its weight
// names (`in_layers.*`: a ResBlock; `proj_in.*`: a spatial transformer; `op.*`: a strided-conv downsample;
// `conv.*`: a nearest-2x upsample; a bare `weight`: the stem convolution).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model_files/weight_set.hpp"

namespace nd::models {

inline constexpr std::string_view kUNetPrefix = "model.diffusion_model.";

enum class UNetLayerKind : std::uint8_t { Conv, ResBlock, Transformer, Downsample, Upsample };

struct UNetLayer {
    UNetLayerKind kind = UNetLayerKind::Conv;
    std::string name; // relative to the prefix: "input_blocks.4.0"
    std::int64_t in_channels = 0;
    std::int64_t out_channels = 0;
    bool skip_conv = false;         // ResBlock: a 1x1 convolution on the skip path (in != out)
    int depth = 0;                  // Transformer: its number of transformer blocks
    bool linear_projection = false; // Transformer: proj_in/proj_out are [C, C] matrices (SD 2.x, SDXL), not 1x1 convs
    std::int64_t context_dim = 0;   // Transformer: the width of the cross-attention context
    std::int64_t ff_inner = 0;      // Transformer: the feed-forward's hidden width (GEGLU gives half of proj's rows)
};

struct UNetBlock {
    std::vector<UNetLayer> layers;
};

struct UNetArchitecture {
    std::int64_t in_channels = 0;
    std::int64_t out_channels = 0;
    std::int64_t model_channels = 0;   // the stem's width; also the sinusoidal timestep embedding's width
    std::int64_t time_embed_dim = 0;   // the timestep MLP's width
    std::int64_t context_dim = 0;      // 0 when no layer cross-attends
    std::int64_t adm_in_channels = 0;  // SDXL's label_emb input width; 0 when absent
    std::vector<UNetBlock> input_blocks;
    UNetBlock middle_block;
    std::vector<UNetBlock> output_blocks;

    // Summary, derived from the blocks.
    std::vector<int> channel_mult;      // per level
    int num_res_blocks = 0;             // ResBlocks per level on the way down
    std::vector<int> transformer_depth; // per level; 0 where a level has no attention
    bool linear_projection = false;

    // "in 4, out 4, channels 320 x [1, 2, 4, 4], 2 res blocks, transformer depth [1, 1, 1, 0], context 768".
    [[nodiscard]] std::string describe() const;
};

// Reads the architecture of the UNet whose weights lie under `prefix`. Throws Error(ND_STATUS_INVALID_FORMAT)
// naming the layer and tensor when a layer is of no known kind, a weight that fixes a width is missing, or
// the blocks do not fit together (output blocks that do not mirror the input blocks, mixed context widths).
UNetArchitecture infer_unet_architecture(const model_files::WeightSet& weights,
                                         std::string_view prefix = kUNetPrefix);

} // namespace nd::models
