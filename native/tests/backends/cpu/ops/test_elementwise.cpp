#include "backends/cpu/ops/elementwise.hpp"

#include <cmath>
#include <cstdio>

#include "op_test_support.hpp"

namespace nd::backends::cpu::ops {
namespace {

using namespace testing;

constexpr BinaryOp kBinaryOps[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div};
constexpr Activation kActivations[] = {Activation::Silu, Activation::GeluErf, Activation::GeluTanh,
                                       Activation::QuickGelu};

double activation_in_double(Activation kind, double x) {
    switch (kind) {
    case Activation::Silu: return x / (1.0 + std::exp(-x));
    case Activation::GeluErf: return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
    case Activation::GeluTanh: {
        // 0.5·x·(1 + tanh(y)) with 1 + tanh(y) from tanh's definition, 2 / (1 + e^(-2y)): the literal form
        // cancels to nothing in double once y < -18.
        const double y = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
        return 0.5 * x * (2.0 / (1.0 + std::exp(-2.0 * y)));
    }
    case Activation::QuickGelu: return x / (1.0 + std::exp(-1.702 * x));
    }
    return 0.0;
}

TEST(Elementwise, Binary_ops_broadcast_like_numpy_and_match_the_reference_on_every_isa) {
    std::mt19937 rng(1);
    core::ThreadPool pool(2);
    struct Case {
        std::initializer_list<std::int64_t> a, b, out;
    };
    const Case cases[] = {
        {{2, 3, 5, 7}, {3, 1, 7}, {2, 3, 5, 7}},       // trailing alignment, broadcast over N and H
        {{4, 1, 6}, {5, 1}, {4, 5, 6}},                 // both sides stretch
        {{1}, {3, 17}, {3, 17}},                        // a scalar
        {{2, 32, 9, 11}, {2, 32, 1, 1}, {2, 32, 9, 11}}, // a per-channel bias, as the ResBlocks add the time embedding
        {{3, 1000}, {3, 1000}, {3, 1000}},              // long rows: vector bodies and a tail
        {{}, {}, {}},                                   // rank 0
    };
    for (Isa isa : supported_isas()) {
        for (const Case& c : cases) {
            auto a = random_buffer(c.a, rng);
            auto b = random_buffer(c.b, rng, 0.5f, 2.0f);
            for (BinaryOp op : kBinaryOps) {
                SCOPED_TRACE(isa_label(isa) + " op " + std::to_string(static_cast<int>(op)) + " a " +
                             std::to_string(a.values.size()));
                auto out = zeros(c.out);
                auto ref = zeros(c.out);
                binary(op, a.view, b.view, out.view, pool, isa);
                binary_reference(op, a.view, b.view, ref.view);
                ASSERT_EQ(out.values, ref.values); // each element one IEEE operation: bit-exact
            }
        }
    }
    // Spot-check the broadcast against the formula.
    auto a = random_buffer({2, 3, 5, 7}, rng);
    auto b = random_buffer({3, 1, 7}, rng);
    auto out = zeros({2, 3, 5, 7});
    sub(a.view, b.view, out.view, pool);
    EXPECT_EQ(out.values[((1 * 3 + 2) * 5 + 4) * 7 + 6], a.values[((1 * 3 + 2) * 5 + 4) * 7 + 6] - b.values[2 * 7 + 6]);
}

TEST(Elementwise, Binary_ops_read_and_write_strided_views) {
    std::mt19937 rng(2);
    core::ThreadPool pool(2);
    auto m = random_buffer({6, 4, 5}, rng);
    auto big = random_buffer({4, 9}, rng);
    const core::TensorView a = transposed(m.view, 0, 2);         // [5, 4, 6], innermost stride 80 bytes
    const core::TensorView b = sliced(big.view, 1, 2, 6);        // [4, 6] with rows 36 bytes apart
    auto holder = zeros({5, 4, 8});
    const core::TensorView out = sliced(holder.view, 2, 1, 6);   // [5, 4, 6] inside a [5, 4, 8] buffer
    for (Isa isa : supported_isas()) {
        for (BinaryOp op : kBinaryOps) {
            std::fill(holder.values.begin(), holder.values.end(), 7.0f);
            binary(op, a, b, out, pool, isa);
            auto ref = zeros({5, 4, 6});
            binary_reference(op, a, b, ref.view);
            ASSERT_EQ(gather(out), ref.values) << isa_label(isa);
            EXPECT_EQ(holder.values[0], 7.0f); // outside the slice: untouched
            EXPECT_EQ(holder.values[7], 7.0f);
        }
    }
}

TEST(Elementwise, In_place_ops_overwrite_their_input) {
    std::mt19937 rng(3);
    core::ThreadPool pool(2);
    for (Isa isa : supported_isas()) {
        auto a = random_buffer({3, 101}, rng);
        auto b = random_buffer({101}, rng);
        auto expected = zeros({3, 101});
        binary_reference(BinaryOp::Add, a.view, b.view, expected.view);
        add(a.view, b.view, a.view, pool, isa);
        EXPECT_EQ(a.values, expected.values) << isa_label(isa);

        auto x = random_buffer({7, 33}, rng);
        auto act = zeros({7, 33});
        activation_reference(Activation::Silu, x.view, act.view);
        silu(x.view, x.view, pool, isa);
        expect_close(x.values, act.values, 1e-6f, 2e-6f);
    }
}

TEST(Elementwise, Shapes_that_do_not_broadcast_are_errors_naming_op_and_shapes) {
    std::mt19937 rng(4);
    core::ThreadPool pool(1);
    auto a = random_buffer({2, 3}, rng);
    auto b = random_buffer({4}, rng);
    auto out = zeros({2, 3});
    expect_error([&] { add(a.view, b.view, out.view, pool); }, {"add", "[2, 3]", "[4]", "do not broadcast"});
    auto c = random_buffer({3}, rng);
    auto wrong = zeros({3, 3});
    expect_error([&] { mul(a.view, c.view, wrong.view, pool); }, {"mul", "out [3, 3]", "[2, 3]", "[3]"});
    expect_error([&] { gelu(a.view, wrong.view, pool); }, {"gelu", "[2, 3]", "[3, 3]"});
    expect_error([&] { scale(a.view, 1.0f, 0.0f, wrong.view, pool); }, {"scale", "[2, 3]", "[3, 3]"});
    core::TensorView half = a.view;
    half.dtype = ND_DTYPE_F16;
    expect_error([&] { div(half, a.view, out.view, pool); }, {"div", "a must be F32", "F16"});
}

// Dense sweep over [-30, 30] plus the special points: every ISA against the double-precision definitions.
TEST(Elementwise, Activations_are_within_a_few_1e_6_of_the_double_precision_definitions_on_every_isa) {
    core::ThreadPool pool(2);
    std::vector<float> xs;
    for (int i = -300000; i <= 300000; i += 7) {
        xs.push_back(static_cast<float>(i) * 1e-4f);
    }
    for (float special : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-6f, 0.59f, 0.5966f, 0.6f, 1.19f, 1.1932f, -1.1932f,
                          -87.0f, -88.5f, -100.0f, 88.0f, 100.0f, 1e6f, -1e6f}) {
        xs.push_back(special);
    }
    const auto n = static_cast<std::int64_t>(xs.size());
    const core::TensorView x = contiguous_view(xs.data(), {n});
    for (Isa isa : supported_isas()) {
        for (Activation kind : kActivations) {
            std::vector<float> out(xs.size());
            activation(kind, x, contiguous_view(out.data(), {n}), pool, isa);
            double worst = 0.0;
            float worst_x = 0.0f;
            for (std::size_t i = 0; i < xs.size(); ++i) {
                const double expected = activation_in_double(kind, xs[i]);
                // Relative error where the result is not negligible next to 1e-12. Deeper in the negative tails
                // (results below 1e-12) the float rounding of the exponent's argument limits any float
                // evaluation: gelu_tanh(-9) is e^-69 and an argument 2 ulp off moves it by 1e-5 relative.
                const double error = std::fabs(out[i] - expected) / std::max(std::fabs(expected), 1e-12);
                if (error > worst) {
                    worst = error;
                    worst_x = xs[i];
                }
            }
            // gelu_tanh: e^(-2y) with 2y ~ 25 at x = -6 turns the argument's float rounding (three roundings,
            // 1e-7 relative) into 3e-6; PyTorch's own float 1 + tanh(y) keeps no digit at all there.
            const double bound = kind == Activation::GeluTanh ? 4e-6 : 2e-6;
            EXPECT_LT(worst, bound) << isa_label(isa) << " activation " << static_cast<int>(kind) << " worst at x = "
                                   << worst_x;
            std::printf("  %-6s activation %d: worst relative error %.2e at x = %g\n",
                        std::string(isa_name(isa)).c_str(), static_cast<int>(kind), worst, static_cast<double>(worst_x));
        }
    }
}

TEST(Elementwise, Activations_match_known_values) {
    core::ThreadPool pool(1);
    std::vector<float> one = {1.0f};
    std::vector<float> r(1);
    auto v = contiguous_view(one.data(), {1});
    auto o = contiguous_view(r.data(), {1});
    for (Isa isa : supported_isas()) {
        silu(v, o, pool, isa);
        EXPECT_NEAR(r[0], 0.7310586f, 1e-7f);
        gelu(v, o, pool, isa);
        EXPECT_NEAR(r[0], 0.8413447f, 1e-7f);
        gelu_tanh(v, o, pool, isa);
        EXPECT_NEAR(r[0], 0.8411920f, 1e-7f);
        quick_gelu(v, o, pool, isa);
        EXPECT_NEAR(r[0], 0.8457958f, 1e-7f);
    }
}

TEST(Elementwise, Activations_on_strided_views_match_the_reference) {
    std::mt19937 rng(5);
    core::ThreadPool pool(2);
    auto x = random_buffer({3, 17, 5}, rng, -6.0f, 6.0f);
    const core::TensorView xt = transposed(x.view, 0, 2); // [5, 17, 3]
    for (Isa isa : supported_isas()) {
        for (Activation kind : kActivations) {
            auto holder = zeros({3, 17, 5});
            const core::TensorView out = transposed(holder.view, 0, 2);
            activation(kind, xt, out, pool, isa);
            auto ref = zeros({5, 17, 3});
            activation_reference(kind, xt, ref.view);
            expect_close(gather(out), ref.values, 1e-6f, 2e-6f);
        }
    }
}

TEST(Elementwise, Geglu_gates_the_first_half_with_gelu_of_the_second_on_every_isa) {
    std::mt19937 rng(6);
    core::ThreadPool pool(2);
    auto x = random_buffer({2, 7, 2 * 37}, rng, -5.0f, 5.0f);
    auto holder = random_buffer({2, 9, 2 * 37}, rng);
    const core::TensorView x_rows = sliced(holder.view, 1, 1, 7); // rows of a bigger tensor
    for (Isa isa : supported_isas()) {
        for (const core::TensorView& in : {x.view, x_rows}) {
            auto out = zeros({2, 7, 37});
            auto ref = zeros({2, 7, 37});
            geglu(in, out.view, pool, isa);
            geglu_reference(in, ref.view);
            expect_close(out.values, ref.values, 1e-6f, 2e-6f);
        }
    }
    auto out = zeros({2, 7, 37});
    geglu(x.view, out.view, pool);
    const float a = x.values[3];
    const float g = x.values[37 + 3];
    EXPECT_NEAR(out.values[3], a * 0.5f * g * (1.0f + std::erf(g / std::sqrt(2.0f))), 1e-5f);
    auto wrong = zeros({2, 7, 36});
    expect_error([&] { geglu(x.view, wrong.view, pool); }, {"geglu", "[2, 7, 36]", "[2, 7, 74]"});
}

TEST(Elementwise, Scale_and_clamp_match_the_reference_exactly_on_every_isa) {
    std::mt19937 rng(7);
    core::ThreadPool pool(2);
    auto x = random_buffer({4, 9, 13}, rng, -3.0f, 3.0f);
    for (Isa isa : supported_isas()) {
        for (const core::TensorView& in : {x.view, transposed(x.view, 1, 2)}) {
            auto out = zeros({4, in.dim(1), in.dim(2)});
            auto ref = zeros({4, in.dim(1), in.dim(2)});
            scale(in, 0.18215f, 1.0f, out.view, pool, isa);
            scale_reference(in, 0.18215f, 1.0f, ref.view);
            for (std::size_t i = 0; i < out.values.size(); ++i) {
                ASSERT_EQ(out.values[i], ref.values[i]) << isa_label(isa) << " element " << i;
            }
            clamp(in, -1.0f, 1.0f, out.view, pool, isa);
            clamp_reference(in, -1.0f, 1.0f, ref.view);
            ASSERT_EQ(out.values, ref.values) << isa_label(isa);
        }
    }
    // x * s + b rounded twice, as PyTorch computes it.
    auto out = zeros({4, 9, 13});
    scale(x.view, 0.18215f, 1.0f, out.view, pool);
    const float product = x.values[5] * 0.18215f;
    EXPECT_EQ(out.values[5], product + 1.0f);
}

} // namespace
} // namespace nd::backends::cpu::ops
