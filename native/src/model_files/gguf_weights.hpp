// A GGUF model file (stable-diffusion.cpp's `convert`, or ours): tensors borrowed from the mapping in whatever
// type they are stored (F32, F16, BF16, the GGML block types), typed metadata, and the tokenizer vocabulary
// when the file carries one (`tokenizer.ggml.tokens` and `tokenizer.ggml.merges`, string arrays, the llama.cpp
// convention).
//
// Names are taken as stored: stable-diffusion.cpp writes the original (LDM) names for the UNet and the VAE and
// for SD 1.x's CLIP. Its text encoders for SD 2.x and SDXL are stored under its own prefixes in transformers
// naming; canonicalize_sdcpp_text_encoders (open_clip_names.hpp) brings them back to the canonical layout.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "model_files/tokenizer_vocab.hpp"
#include "model_files/weight_set.hpp"

namespace nd::model_files {

struct GgufModelFile {
    WeightSet weights;                           // canonical names, position_ids dropped
    std::map<std::string, std::string> metadata; // scalar and string values, as text; arrays are left out
    std::optional<TokenizerVocab> tokenizer;     // source ModelFile, tokens + merges
};

// Opens and borrows. Throws Error(ND_STATUS_IO_ERROR) or Error(ND_STATUS_INVALID_FORMAT) naming the path.
GgufModelFile load_gguf_model(const std::string& path);

} // namespace nd::model_files
