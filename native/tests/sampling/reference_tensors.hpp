// The float32 tensors of tiny-sd1/reference.safetensors by name, for the sampling tests.
#pragma once

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "formats/safetensors.hpp"
#include "support/fixtures.hpp"

namespace nd::testing {

inline std::filesystem::path reference_tensors_path() {
    return fixtures_dir() / "tiny-sd1" / "reference.safetensors";
}

class ReferenceTensors {
public:
    ReferenceTensors() : file_(formats::SafetensorsFile::open(reference_tensors_path().string())) {}

    // The F32 tensor `name`, or nothing when the file has no such tensor.
    [[nodiscard]] std::optional<std::vector<float>> find(const std::string& name) const {
        for (const formats::SafetensorsTensor& tensor : file_.tensors()) {
            if (tensor.name == name && tensor.dtype == ND_DTYPE_F32) {
                const std::span<const std::byte> bytes = file_.tensor_data(tensor);
                std::vector<float> values(bytes.size() / sizeof(float));
                std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
                return values;
            }
        }
        return std::nullopt;
    }

    [[nodiscard]] std::vector<std::string> names_starting_with(const std::string& prefix) const {
        std::vector<std::string> names;
        for (const formats::SafetensorsTensor& tensor : file_.tensors()) {
            if (tensor.name.starts_with(prefix)) {
                names.push_back(tensor.name);
            }
        }
        return names;
    }

private:
    formats::SafetensorsFile file_;
};

// The largest |a[i] - b[i]|, or infinity when the sizes differ.
inline double max_abs_difference(std::span<const float> a, std::span<const float> b) {
    if (a.size() != b.size()) {
        return INFINITY;
    }
    double largest = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        largest = std::max(largest, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    }
    return largest;
}

} // namespace nd::testing
