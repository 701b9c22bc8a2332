// Owned F32 buffers with TensorViews over them, for op tests: contiguous, permuted and sliced views.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string>
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

// The view restricted to [begin, begin + count) along dimension `dim`: same memory, strided.
inline core::TensorView sliced(core::TensorView v, int dim, std::int64_t begin, std::int64_t count) {
    v.data += begin * v.strides[static_cast<std::size_t>(dim)];
    v.shape[static_cast<std::size_t>(dim)] = count;
    return v;
}

// The elements of an F32 view (any strides) in row-major order.
inline std::vector<float> gather(const core::TensorView& v) {
    std::vector<float> out;
    std::array<std::int64_t, 4> shape{1, 1, 1, 1};
    std::array<std::int64_t, 4> strides{0, 0, 0, 0};
    for (int d = 0; d < v.rank; ++d) {
        shape[static_cast<std::size_t>(4 - v.rank + d)] = v.shape[static_cast<std::size_t>(d)];
        strides[static_cast<std::size_t>(4 - v.rank + d)] = v.strides[static_cast<std::size_t>(d)];
    }
    for (std::int64_t a = 0; a < shape[0]; ++a)
        for (std::int64_t b = 0; b < shape[1]; ++b)
            for (std::int64_t c = 0; c < shape[2]; ++c)
                for (std::int64_t d = 0; d < shape[3]; ++d)
                    out.push_back(*reinterpret_cast<const float*>(v.data + a * strides[0] + b * strides[1] +
                                                                  c * strides[2] + d * strides[3]));
    return out;
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

inline std::string isa_label(Isa isa) {
    return std::string("isa=") + std::string(isa_name(isa));
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
