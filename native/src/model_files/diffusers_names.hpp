// Diffusers (and transformers) weight names translated into the canonical (LDM single-file) names.
//
// Diffusers names a UNet by block kind and position (down_blocks.1.resnets.0), the original layout by a flat
// sequence (input_blocks.4.0); the translation is arithmetic on those indices plus a handful of renamed
// leaves. Transformer blocks inside attentions carry the same names in both layouts. The rules come from how
// the two layouts are built (one LDM input block per resnet, plus one per downsampler), not from a table.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nd::model_files {

// What the UNet translation needs beyond a name: resnets per down block (up blocks have one more) and which
// up blocks have attentions (their upsampler then sits one slot further in the LDM block).
struct UnetNameLayout {
    int layers_per_block = 2;
    std::vector<int> up_blocks_with_attention;
};

// Derives the layout from the diffusers names themselves (the highest resnet index of down block 0, the
// up blocks that hold "attentions"). Throws Error(ND_STATUS_INVALID_FORMAT) when there are no down blocks.
UnetNameLayout unet_name_layout(const std::vector<std::string>& diffusers_names);

// "down_blocks.1.resnets.0.conv1.weight" -> "input_blocks.4.0.in_layers.2.weight" (no model prefix);
// nullopt for a name that is not part of a diffusers UNet2DConditionModel of the SD family.
std::optional<std::string> unet_name_to_ldm(std::string_view name, const UnetNameLayout& layout);

// "decoder.up_blocks.0.resnets.1.norm1.weight" -> "decoder.up.3.block.1.norm1.weight" for a VAE of `levels`
// levels (diffusers counts decoder blocks from the bottom, LDM from the top); nullopt when the name is not
// part of a diffusers AutoencoderKL or its level index is not below `levels`. The mid-block attention's q/k/v/proj_out are linear
// weights [C, C] in diffusers and 1x1 convolutions [C, C, 1, 1] in LDM: see vae_weight_needs_conv_shape.
std::optional<std::string> vae_name_to_ldm(std::string_view name, int levels);

// Whether a translated VAE weight is one of those mid-attention projections stored as [C, C].
bool vae_weight_needs_conv_shape(std::string_view ldm_name);

} // namespace nd::model_files
