// Runs a model's graphs on backends: each graph is built and planned once per key (typically the input
// shapes), then run through one Executor whose arenas are reused from call to call.
//
// A model's runner (ClipTextEncoderRunner, VaeRunner) owns one of these; the backends (a CpuBackend with
// its thread count, later a GPU backend in front of it) belong to the caller and must outlive it. Not
// thread-safe: one run at a time (the executor's arenas are shared between runs).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "backends/backend.hpp"
#include "core/graph.hpp"
#include "core/planner.hpp"
#include "core/tensor.hpp"

namespace nd::models {

class GraphRunner {
public:
    // Backends in order of preference (backends::plan_for places each op on the first that runs it).
    explicit GraphRunner(std::vector<backends::Backend*> backends);
    explicit GraphRunner(backends::Backend& backend)
        : GraphRunner(std::vector<backends::Backend*>{&backend}) {}

    using Builder = std::function<core::Graph()>;

    // The plan for `key`, building and planning the graph with `build` the first time the key is seen.
    const core::Plan& plan(const std::string& key, const Builder& build);
    // Runs the plan for `key` with `inputs` (in the graph's input order); returns its outputs in
    // mark_output order, as packed host tensors the caller owns.
    std::vector<core::Tensor> run(const std::string& key, const Builder& build,
                                  std::span<const core::Tensor> inputs);

    [[nodiscard]] std::size_t plan_count() const noexcept { return plans_.size(); }

    // A check run every few ops while a plan runs; it may throw to stop (see Executor::set_interrupt).
    void set_interrupt(std::function<void()> check) { executor_.set_interrupt(std::move(check)); }

private:
    std::vector<backends::Backend*> backends_;
    backends::Executor executor_;
    std::map<std::string, std::unique_ptr<core::Plan>> plans_;
};

// "[2, 77]": a key part for a tensor's shape (and "I32" dtype), so graphs are cached per input shape.
std::string shape_key(const core::Tensor& tensor);

} // namespace nd::models
