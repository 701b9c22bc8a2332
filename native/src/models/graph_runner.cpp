#include "models/graph_runner.hpp"

#include <utility>

#include "core/dtype.hpp"

namespace nd::models {

GraphRunner::GraphRunner(std::vector<backends::Backend*> backends)
    : backends_(std::move(backends)), executor_(backends_) {}

const core::Plan& GraphRunner::plan(const std::string& key, const Builder& build) {
    auto it = plans_.find(key);
    if (it == plans_.end()) {
        auto planned = std::make_unique<core::Plan>(backends::plan_for(build(), backends_));
        it = plans_.emplace(key, std::move(planned)).first;
    }
    return *it->second;
}

std::vector<core::Tensor> GraphRunner::run(const std::string& key, const Builder& build,
                                           std::span<const core::Tensor> inputs) {
    return executor_.run(plan(key, build), inputs);
}

void GraphRunner::release_weights() {
    release_arenas();
    for (const auto& [key, plan] : plans_) {
        for (std::size_t d = 0; d < backends_.size(); ++d) {
            backends_[d]->release_weights(*plan, static_cast<int>(d));
        }
    }
}

std::string shape_key(const core::Tensor& tensor) {
    return std::string(core::dtype_name(tensor.dtype())) + tensor.shape().to_string();
}

} // namespace nd::models
