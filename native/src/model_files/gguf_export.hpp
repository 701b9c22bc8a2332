// Writes a loaded model as one self-contained GGUF file: its weights (converted by the per-tensor rules of
// weight_type.hpp), its family and prediction type, and its tokenizer vocabulary, so that the file needs
// nothing beside it.
//
// Tensor by tensor: each weight is converted (or copied as stored) into one buffer, written, and dropped, so
// memory holds the model's mappings plus one converted tensor. Names are the canonical (original-layout)
// names that stable-diffusion.cpp's GGUF files also use.
//
// Block-quantized convolution kernels are stored as matrices [O, C*kh*kw] (a quantized row must be whole
// blocks, and a 3x3 kernel's innermost extent is 3); our loaders read them back, stable-diffusion.cpp does
// not. `portable` keeps every convolution kernel F16 in its 4-D shape, as stable-diffusion.cpp's own
// converter does, for files meant for both engines.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "model_files/load_model_files.hpp"

namespace nd::model_files {

struct GgufExportOptions {
    std::optional<nd_dtype> weight_type; // nullopt: every weight as stored
    bool portable = false;
    // After each tensor: tensors done, tensors in all, the name just written.
    std::function<void(std::uint64_t done, std::uint64_t total, const std::string& name)> progress;
    // Polled between tensors; true stops the export with Error(ND_STATUS_CANCELLED), leaving no file.
    std::function<bool()> cancelled;
};

// Metadata keys written (and read back by load_model_files): modelspec.architecture, modelspec.prediction_type,
// nd.model_family, tokenizer.ggml.model ("clip"), tokenizer.ggml.tokens, tokenizer.ggml.merges, and every
// string entry of the source's own metadata that does not collide with those.
void export_gguf(const LoadedModelFiles& model, const std::filesystem::path& path, const GgufExportOptions& options);

} // namespace nd::model_files
