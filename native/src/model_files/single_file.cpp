#include "model_files/single_file.hpp"

#include <memory>
#include <vector>

#include "model_files/safetensors_weights.hpp"

namespace nd::model_files {

bool is_dropped_on_load(std::string_view name) noexcept {
    if (name == "position_ids" || name.ends_with(".position_ids") || name.starts_with("model_ema.") ||
        name == "logvar" || name == "denoiser.sigmas") {
        return true;
    }
    // The DDPM schedule buffers are top-level names (no dot).
    static constexpr std::string_view kSchedule[] = {"betas", "alphas_cumprod", "sqrt_", "log_one_minus_",
                                                     "posterior_"};
    if (name.find('.') != std::string_view::npos) {
        return false;
    }
    for (std::string_view prefix : kSchedule) {
        if (name.starts_with(prefix)) {
            return true;
        }
    }
    return false;
}

SingleFileCheckpoint load_single_file(const std::string& path) {
    auto file = std::make_shared<const formats::SafetensorsFile>(formats::SafetensorsFile::open(path));
    SingleFileCheckpoint checkpoint;
    add_safetensors_weights(checkpoint.weights, file);
    std::vector<std::string> dropped;
    for (const auto& [name, tensor] : checkpoint.weights.all()) {
        if (is_dropped_on_load(name)) {
            dropped.push_back(name);
        }
    }
    for (const std::string& name : dropped) {
        checkpoint.weights.erase(name);
    }
    for (const formats::SafetensorsMetadataEntry& entry : file->metadata()) {
        checkpoint.metadata.emplace(entry.key, entry.value);
    }
    return checkpoint;
}

} // namespace nd::model_files
