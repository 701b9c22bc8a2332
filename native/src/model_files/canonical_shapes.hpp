// Shapes made canonical where layouts differ only by unit dimensions.
//
// SD 2.x and SDXL project into and out of their UNet transformers with linear layers ([C, C]); SD 1.x with 1x1
// convolutions ([C, C, 1, 1]). stable-diffusion.cpp's converter stores every one of them as a 1x1
// convolution, so its SD 2.x and SDXL GGUF files hold [C, C, 1, 1] where the checkpoints hold [C, C]. The
// same bytes either way: the fix is a view. Block-quantized SD 1.x projections stay matrices (see the .cpp).
#pragma once

#include <cstddef>

#include "model_files/model_family.hpp"
#include "model_files/weight_set.hpp"

namespace nd::model_files {

// Reshapes the UNet's `proj_in.weight` / `proj_out.weight` to what `family`'s checkpoints hold (views, no
// copy). Returns how many changed.
std::size_t canonicalize_unet_projection_shapes(WeightSet& weights, ModelFamily family);

} // namespace nd::model_files
