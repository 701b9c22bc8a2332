// A single-file safetensors checkpoint in the original (LDM) layout: names as stored are canonical.
//
// F32, F16 and BF16 weights are borrowed from the mapping as they are. Dropped on load:
// - the int64 `position_ids` buffers that real checkpoints carry for their CLIP text encoders: they are the
//   constant 0..N-1 (some merged checkpoints even hold them damaged), the text encoder computes positions
//   itself, and diffusers folders do not carry them, so both layouts yield the same weights;
// - training leftovers: the DDPM schedule buffers (`betas`, `alphas_cumprod`, `posterior_*`, `sqrt_*`...,
//   which samplers compute from the schedule), `logvar`, `denoiser.sigmas`, and the EMA copies
//   (`model_ema.*`) of non-pruned checkpoints.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "formats/safetensors.hpp"
#include "model_files/weight_set.hpp"

namespace nd::model_files {

struct SingleFileCheckpoint {
    WeightSet weights;
    std::map<std::string, std::string> metadata; // the file's __metadata__
};

// Whether a name is one of those dropped on load (in every layout).
bool is_dropped_on_load(std::string_view name) noexcept;

// Opens and borrows a checkpoint. Throws Error(ND_STATUS_IO_ERROR) or Error(ND_STATUS_INVALID_FORMAT), naming
// the path.
SingleFileCheckpoint load_single_file(const std::string& path);

} // namespace nd::model_files
