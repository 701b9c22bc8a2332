#include "model_files/safetensors_weights.hpp"

#include "core/error.hpp"

namespace nd::model_files {

void add_safetensors_weights(WeightSet& weights, const std::shared_ptr<const formats::SafetensorsFile>& file) {
    for (const formats::SafetensorsTensor& info : file->tensors()) {
        try {
            if (info.shape.size() > static_cast<std::size_t>(core::kMaxDims)) {
                core::throw_invalid_format("tensor '{}' has {} dimensions; the engine holds at most {}", info.name,
                                           info.shape.size(), core::kMaxDims);
            }
            core::Tensor tensor = core::Tensor::borrow(file, file->tensor_data(info), info.dtype,
                                                       core::Shape::of(info.shape));
            weights.add(info.name, std::move(tensor));
        } catch (const core::Error& error) {
            throw core::with_context(error, file->path());
        }
    }
}

WeightSet load_safetensors_weights(const std::string& path) {
    auto file = std::make_shared<const formats::SafetensorsFile>(formats::SafetensorsFile::open(path));
    WeightSet weights;
    add_safetensors_weights(weights, file);
    return weights;
}

} // namespace nd::model_files
