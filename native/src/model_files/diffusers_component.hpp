// The weight files of one diffusers component folder (unet/, vae/, text_encoder/...), opened and borrowed.
//
// A component stores its weights as `<base>.safetensors`, as a variant `<base>.<variant>.safetensors`
// (`fp16`), or sharded: `<base>.safetensors.index.json` (or `.index.<variant>.json`) whose `weight_map` names
// the shard holding each tensor. <base> is `diffusion_pytorch_model` (diffusers models) or `model`
// (transformers models). PyTorch pickles (`.bin`) are refused: they can run code when loaded.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "model_files/weight_set.hpp"

namespace nd::model_files {

// Which variant to prefer when a component has several: Auto takes `fp16` when present (half the memory,
// and what the engine computes from anyway), then the plain files.
enum class DiffusersVariant { Auto, Fp16, Full };

// The files that hold the component's weights: one file, or the shards of an index (and the index).
struct DiffusersComponentFiles {
    std::vector<std::filesystem::path> files;
    std::filesystem::path index; // empty unless sharded
};

// Finds them. Throws Error(ND_STATUS_NOT_FOUND) listing the names looked for when there are none,
// Error(ND_STATUS_UNSUPPORTED) when only `.bin` pickles are there, Error(ND_STATUS_INVALID_FORMAT) for a
// malformed index (a shard name that leaves the folder, no weight_map).
DiffusersComponentFiles diffusers_component_files(const std::filesystem::path& folder, DiffusersVariant variant);

// Every tensor of the component under its stored name, borrowed from the mappings. For a sharded component
// every name in the index's weight_map must be present (Error(ND_STATUS_INVALID_FORMAT) naming it).
WeightSet load_diffusers_component(const std::filesystem::path& folder, DiffusersVariant variant);

} // namespace nd::model_files
