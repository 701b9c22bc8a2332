// A toy epsilon model for step-by-step checks of sampler update formulas: eps = a * input + b, recording
// every call it gets.
#pragma once

#include <span>
#include <vector>

#include "sampling/denoiser.hpp"

namespace nd::testing {

struct ToyModel {
    double a = 0.3;
    double b = 0.1;

    struct Call {
        sampling::ModelCall call;
        std::vector<float> input;
    };
    std::vector<Call> calls;

    [[nodiscard]] double eps(double input) const { return a * input + b; }

    [[nodiscard]] sampling::EpsilonModel model() {
        return [this](std::span<const float> input, const sampling::ModelCall& call, std::span<float> out) {
            calls.push_back({call, std::vector<float>(input.begin(), input.end())});
            for (std::size_t i = 0; i < input.size(); ++i) {
                out[i] = static_cast<float>(eps(input[i]));
            }
        };
    }
};

} // namespace nd::testing
