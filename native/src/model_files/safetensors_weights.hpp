// The tensors of an open safetensors file as weights, borrowed from its mapping (nothing is copied).
#pragma once

#include <memory>
#include <string>

#include "formats/safetensors.hpp"
#include "model_files/weight_set.hpp"

namespace nd::model_files {

// Adds every tensor of `file` under its own name. Each tensor keeps `file` (and so its mapping) alive.
// Throws Error(ND_STATUS_INVALID_FORMAT) for a tensor the engine cannot hold (more than four dimensions)
// or a name already in `weights`, naming the file and the tensor.
void add_safetensors_weights(WeightSet& weights, const std::shared_ptr<const formats::SafetensorsFile>& file);

// Opens `path` and returns its tensors as a WeightSet (names as stored).
WeightSet load_safetensors_weights(const std::string& path);

} // namespace nd::model_files
