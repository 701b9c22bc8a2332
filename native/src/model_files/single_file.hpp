// A single-file safetensors checkpoint in the original (LDM) layout: names as stored are canonical.
//
// F32, F16 and BF16 weights are borrowed from the mapping as they are. The int64 `position_ids` buffers that
// real checkpoints carry for their CLIP text encoders are dropped: they are the constant 0..N-1 (some merged
// checkpoints even hold them damaged), the text encoder computes positions itself, and diffusers folders do
// not carry them, so both layouts yield the same weights.
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

// Whether a canonical name is one of the dropped `position_ids` buffers.
bool is_position_ids(std::string_view name) noexcept;

// Opens and borrows a checkpoint. Throws Error(ND_STATUS_IO_ERROR) or Error(ND_STATUS_INVALID_FORMAT), naming
// the path.
SingleFileCheckpoint load_single_file(const std::string& path);

} // namespace nd::model_files
