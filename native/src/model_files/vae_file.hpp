// A separate VAE that replaces the one in the checkpoint (a fine-tuned decoder such as vae-ft-mse, or the
// only VAE of a UNet-only file).
//
// Accepted layouts, all mapped to `first_stage_model.*`: an LDM VAE file (`encoder.*`, `decoder.*`,
// `quant_conv.*`, `post_quant_conv.*`, no prefix; training leftovers `loss.*` and `model_ema.*` are
// skipped), the same with the `first_stage_model.` prefix, a diffusers AutoencoderKL file
// (`encoder.down_blocks.*`...), or a diffusers `vae/` folder.
#pragma once

#include <filesystem>

#include "model_files/diffusers_component.hpp"
#include "model_files/weight_set.hpp"

namespace nd::model_files {

// The VAE at `path` under canonical names (`first_stage_model.*`), borrowed. Throws
// Error(ND_STATUS_INVALID_FORMAT) when the file holds something that is not a VAE, naming the weight.
WeightSet load_vae_file(const std::filesystem::path& path, DiffusersVariant variant = DiffusersVariant::Auto);

// Puts `vae` (canonical names) in place of the VAE of `weights`. When `weights` has a VAE, both must have
// exactly the same names and shapes (types may differ): Error(ND_STATUS_INVALID_FORMAT) names the first
// weight missing, extra or of another shape. When it has none, the VAE is added.
void replace_vae(WeightSet& weights, const WeightSet& vae);

} // namespace nd::model_files
