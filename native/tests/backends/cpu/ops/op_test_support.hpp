// Owned F32 buffers with TensorViews over them, for op tests: contiguous, permuted and sliced views.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <random>
#include <vector>

#include "backends/cpu/isa.hpp"
#include "core/tensor_view.hpp"

namespace nd::backends::cpu::ops::testing {

struct Buffer {
    std::vector<float> values;
    core::TensorView view;
};

inline core::TensorView contiguous_view(float* data, std::initializer_list<std::int64_t> shape) {
    core::TensorView v;
    v.dtype = ND_DTYPE_F32;
    v.rank = static_cast<int>(shape.size());
    std::int64_t stride = 4;
    int d = v.rank - 1;
    for (auto it = std::rbegin(shape); it != std::rend(shape); ++it, --d) {
        v.shape[static_cast<std::size_t>(d)] = *it;
        v.strides[static_cast<std::size_t>(d)] = stride;
        stride *= *it;
    }
    v.data = reinterpret_cast<std::byte*>(data);
    return v;
}

inline Buffer random_buffer(std::initializer_list<std::int64_t> shape, std::mt19937& rng, float lo = -2.0f,
                            float hi = 2.0f) {
    std::int64_t n = 1;
    for (auto s : shape) {
        n *= s;
    }
    Buffer b;
    b.values.resize(static_cast<std::size_t>(n));
    std::uniform_real_distribution<float> uniform(lo, hi);
    for (float& v : b.values) {
        v = uniform(rng);
    }
    b.view = contiguous_view(b.values.data(), shape);
    return b;
}

inline Buffer zeros(std::initializer_list<std::int64_t> shape) {
    std::int64_t n = 1;
    for (auto s : shape) {
        n *= s;
    }
    Buffer b;
    b.values.assign(static_cast<std::size_t>(n), 0.0f);
    b.view = contiguous_view(b.values.data(), shape);
    return b;
}

// The view with dimensions a and b swapped: same memory, strided.
inline core::TensorView transposed(core::TensorView v, int a, int b) {
    std::swap(v.shape[static_cast<std::size_t>(a)], v.shape[static_cast<std::size_t>(b)]);
    std::swap(v.strides[static_cast<std::size_t>(a)], v.strides[static_cast<std::size_t>(b)]);
    return v;
}

inline std::vector<Isa> supported_isas() {
    std::vector<Isa> isas;
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        if (isa_supported(isa, cpu_features())) {
            isas.push_back(isa);
        }
    }
    return isas;
}

// Every element within abs + rel * |expected|.
inline void expect_close(const std::vector<float>& actual, const std::vector<float>& expected, float abs,
                         float rel = 0.0f) {
    ASSERT_EQ(actual.size(), expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i) {
        ASSERT_NEAR(actual[i], expected[i], abs + rel * std::fabs(expected[i])) << "element " << i;
    }
}

// Runs `fn` and checks it throws nd::core::Error whose message contains every needle.
template <typename Fn>
void expect_error(Fn fn, std::initializer_list<const char*> needles) {
    try {
        fn();
        ADD_FAILURE() << "no error";
    } catch (const std::exception& e) {
        for (const char* needle : needles) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what() << " lacks " << needle;
        }
    }
}

} // namespace nd::backends::cpu::ops::testing
