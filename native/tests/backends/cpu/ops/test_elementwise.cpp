#include "backends/cpu/ops/elementwise.hpp"

#include <cmath>

#include "op_test_support.hpp"

namespace nd::backends::cpu::ops {
namespace {

using namespace testing;

TEST(Elementwise, Binary_ops_broadcast_like_numpy_on_strided_views) {
    std::mt19937 rng(1);
    core::ThreadPool pool(2);
    auto a = random_buffer({2, 3, 5, 7}, rng);
    auto b = random_buffer({3, 1, 7}, rng); // broadcasts over N and H
    for (BinaryOp op : {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div}) {
        auto out = zeros({2, 3, 5, 7});
        auto ref = zeros({2, 3, 5, 7});
        binary(op, a.view, b.view, out.view, pool);
        binary_reference(op, a.view, b.view, ref.view);
        expect_close(out.values, ref.values, 0.0f);
        // Spot-check the broadcast against the formula.
        const float x = a.values[((1 * 3 + 2) * 5 + 4) * 7 + 6];
        const float y = b.values[(2 * 1 + 0) * 7 + 6];
        const float expected = op == BinaryOp::Add ? x + y : op == BinaryOp::Sub ? x - y : op == BinaryOp::Mul ? x * y : x / y;
        EXPECT_EQ(out.values[((1 * 3 + 2) * 5 + 4) * 7 + 6], expected);
    }
    // A transposed (non-contiguous) operand gives what its contiguous copy gives.
    auto m = random_buffer({6, 4}, rng);
    auto mt = zeros({4, 6});
    for (int i = 0; i < 6; ++i) {
        for (int j = 0; j < 4; ++j) {
            mt.values[static_cast<std::size_t>(j * 6 + i)] = m.values[static_cast<std::size_t>(i * 4 + j)];
        }
    }
    auto row = random_buffer({6}, rng);
    auto out1 = zeros({4, 6});
    auto out2 = zeros({4, 6});
    binary(BinaryOp::Mul, transposed(m.view, 0, 1), row.view, out1.view, pool);
    binary(BinaryOp::Mul, mt.view, row.view, out2.view, pool);
    EXPECT_EQ(out1.values, out2.values);
}

TEST(Elementwise, In_place_add_is_allowed) {
    std::mt19937 rng(2);
    core::ThreadPool pool(2);
    auto a = random_buffer({3, 100}, rng);
    auto b = random_buffer({3, 100}, rng);
    const auto expected = [&] {
        std::vector<float> e(300);
        for (std::size_t i = 0; i < 300; ++i) {
            e[i] = a.values[i] + b.values[i];
        }
        return e;
    }();
    binary(BinaryOp::Add, a.view, b.view, a.view, pool);
    EXPECT_EQ(a.values, expected);
}

TEST(Elementwise, Shapes_that_do_not_broadcast_are_errors_naming_them) {
    std::mt19937 rng(3);
    core::ThreadPool pool(1);
    auto a = random_buffer({2, 3}, rng);
    auto b = random_buffer({4}, rng);
    auto out = zeros({2, 3});
    expect_error([&] { binary(BinaryOp::Add, a.view, b.view, out.view, pool); }, {"add", "[2, 3]", "[4]"});
    auto c = random_buffer({3}, rng);
    auto wrong = zeros({3, 3});
    expect_error([&] { binary(BinaryOp::Mul, a.view, c.view, wrong.view, pool); }, {"mul", "out [3, 3]"});
}

TEST(Elementwise, Activations_match_their_definitions) {
    std::mt19937 rng(4);
    core::ThreadPool pool(2);
    auto x = random_buffer({5, 333}, rng, -8.0f, 8.0f);
    for (Activation kind : {Activation::Silu, Activation::GeluErf, Activation::GeluTanh, Activation::QuickGelu}) {
        auto out = zeros({5, 333});
        auto ref = zeros({5, 333});
        activation(kind, x.view, out.view, pool);
        activation_reference(kind, x.view, ref.view);
        expect_close(out.values, ref.values, 1e-6f, 1e-5f);
    }
    // Known values: silu(1) = 1/(1+e^-1), gelu(1) = 0.8413447, quick_gelu(1) = 1/(1+e^-1.702) = 0.8457958.
    std::vector<float> one = {1.0f};
    std::vector<float> r(1);
    auto v = contiguous_view(one.data(), {1});
    auto o = contiguous_view(r.data(), {1});
    activation(Activation::Silu, v, o, pool);
    EXPECT_NEAR(r[0], 0.7310586f, 1e-6f);
    activation(Activation::GeluErf, v, o, pool);
    EXPECT_NEAR(r[0], 0.8413447f, 1e-6f);
    activation(Activation::GeluTanh, v, o, pool);
    EXPECT_NEAR(r[0], 0.8411920f, 1e-6f);
    activation(Activation::QuickGelu, v, o, pool);
    EXPECT_NEAR(r[0], 0.8457958f, 1e-6f);
}

TEST(Elementwise, Geglu_gates_the_first_half_with_gelu_of_the_second) {
    std::mt19937 rng(5);
    core::ThreadPool pool(2);
    auto x = random_buffer({2, 7, 10}, rng);
    auto out = zeros({2, 7, 5});
    auto ref = zeros({2, 7, 5});
    geglu(x.view, out.view, pool);
    geglu_reference(x.view, ref.view);
    expect_close(out.values, ref.values, 1e-6f, 1e-5f);
    const float a = x.values[3];
    const float g = x.values[8];
    EXPECT_NEAR(out.values[3], a * 0.5f * g * (1.0f + std::erf(g / std::sqrt(2.0f))), 1e-6f);
    auto wrong = zeros({2, 7, 4});
    expect_error([&] { geglu(x.view, wrong.view, pool); }, {"geglu", "[2, 7, 4]", "[2, 7, 10]"});
}

TEST(Elementwise, Scale_and_clamp) {
    std::mt19937 rng(6);
    core::ThreadPool pool(2);
    auto x = random_buffer({4, 9}, rng, -3.0f, 3.0f);
    auto out = zeros({4, 9});
    scale(x.view, 0.18215f, 1.0f, out.view, pool);
    for (std::size_t i = 0; i < out.values.size(); ++i) {
        ASSERT_EQ(out.values[i], x.values[i] * 0.18215f + 1.0f);
    }
    clamp(x.view, -1.0f, 1.0f, out.view, pool);
    for (std::size_t i = 0; i < out.values.size(); ++i) {
        ASSERT_EQ(out.values[i], std::min(1.0f, std::max(-1.0f, x.values[i])));
    }
}

} // namespace
} // namespace nd::backends::cpu::ops
