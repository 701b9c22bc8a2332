// The weights of a loaded model, by name: what every model file layout becomes once it is open.
//
// Names are canonical: the original (LDM) single-file layout that real checkpoints and stable-diffusion.cpp's
// GGUF files use (`model.diffusion_model.*` for the UNet, `first_stage_model.*` for the VAE,
// `cond_stage_model.transformer.text_model.*` for SD 1.x's CLIP, `cond_stage_model.model.*` for SD 2.x's
// OpenCLIP, `conditioner.embedders.N.*` for SDXL). Loaders of other layouts (diffusers folders,
// stable-diffusion.cpp's renamed text encoders) translate their names into these, so the model builders
// (native/src/models) know one naming only; docs/formats.md ("What loads") lists the rules.
//
// Tensors are usually borrowed from a memory-mapped file (core::Tensor::borrow), so holding a WeightSet keeps
// the mappings alive and costs no copy; a weight converted on load owns its storage instead.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.hpp"

namespace nd::model_files {

class WeightSet {
public:
    // Adds a weight. Throws Error(ND_STATUS_INVALID_FORMAT) when the name is already present (two files,
    // or two keys that map to one canonical name), naming it.
    void add(std::string name, core::Tensor tensor);
    // Replaces a present weight (a separate VAE file, a conversion); throws when it is absent.
    void replace(std::string_view name, core::Tensor tensor);
    // Removes a weight if present; returns whether it was.
    bool erase(std::string_view name);

    [[nodiscard]] bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }
    // nullptr when absent.
    [[nodiscard]] const core::Tensor* find(std::string_view name) const noexcept;
    // Throws Error(ND_STATUS_INVALID_FORMAT) "missing weight 'NAME'" when absent.
    [[nodiscard]] const core::Tensor& require(std::string_view name) const;

    // Names that start with `prefix`, sorted.
    [[nodiscard]] std::vector<std::string> names_with_prefix(std::string_view prefix) const;
    [[nodiscard]] std::size_t size() const noexcept { return weights_.size(); }
    [[nodiscard]] bool empty() const noexcept { return weights_.empty(); }

    // Sorted by name.
    using Map = std::map<std::string, core::Tensor, std::less<>>;
    [[nodiscard]] const Map& all() const noexcept { return weights_; }

private:
    Map weights_;
};

} // namespace nd::model_files
