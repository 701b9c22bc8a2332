#include "model_files/weight_set.hpp"

#include "core/error.hpp"

namespace nd::model_files {

void WeightSet::add(std::string name, core::Tensor tensor) {
    if (weights_.contains(name)) {
        core::throw_invalid_format("weight '{}' appears twice", name);
    }
    weights_.emplace(std::move(name), std::move(tensor));
}

void WeightSet::replace(std::string_view name, core::Tensor tensor) {
    auto it = weights_.find(name);
    if (it == weights_.end()) {
        core::throw_invalid_format("cannot replace weight '{}': it is not present", name);
    }
    it->second = std::move(tensor);
}

bool WeightSet::erase(std::string_view name) {
    auto it = weights_.find(name);
    if (it == weights_.end()) {
        return false;
    }
    weights_.erase(it);
    return true;
}

const core::Tensor* WeightSet::find(std::string_view name) const noexcept {
    auto it = weights_.find(name);
    return it == weights_.end() ? nullptr : &it->second;
}

const core::Tensor& WeightSet::require(std::string_view name) const {
    const core::Tensor* tensor = find(name);
    if (tensor == nullptr) {
        core::throw_invalid_format("missing weight '{}'", name);
    }
    return *tensor;
}

std::vector<std::string> WeightSet::names_with_prefix(std::string_view prefix) const {
    std::vector<std::string> names;
    for (auto it = weights_.lower_bound(prefix); it != weights_.end() && it->first.starts_with(prefix); ++it) {
        names.push_back(it->first);
    }
    return names;
}

} // namespace nd::model_files
