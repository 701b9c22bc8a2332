#include "model_files/single_file.hpp"

#include <memory>
#include <vector>

#include "model_files/safetensors_weights.hpp"

namespace nd::model_files {

bool is_position_ids(std::string_view name) noexcept {
    return name == "position_ids" || name.ends_with(".position_ids");
}

SingleFileCheckpoint load_single_file(const std::string& path) {
    auto file = std::make_shared<const formats::SafetensorsFile>(formats::SafetensorsFile::open(path));
    SingleFileCheckpoint checkpoint;
    add_safetensors_weights(checkpoint.weights, file);
    std::vector<std::string> dropped;
    for (const auto& [name, tensor] : checkpoint.weights.all()) {
        if (is_position_ids(name)) {
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
