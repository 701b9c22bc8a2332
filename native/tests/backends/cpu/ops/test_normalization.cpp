#include "backends/cpu/ops/normalization.hpp"

#include <cmath>

#include "core/half.hpp"
#include "op_test_support.hpp"

namespace nd::backends::cpu::ops {
namespace {

using namespace testing;

TEST(Normalization, Group_norm_matches_the_reference_with_and_without_fused_silu_on_every_isa) {
    std::mt19937 rng(1);
    core::ThreadPool pool(2);
    // Values far from zero mean: single-pass float statistics would lose digits here.
    auto x = random_buffer({2, 64, 9, 11}, rng, 50.0f, 54.0f);
    auto gamma = random_buffer({64}, rng);
    auto beta = random_buffer({64}, rng);
    for (Isa isa : supported_isas()) {
        for (bool silu : {false, true}) {
            SCOPED_TRACE(isa_label(isa) + (silu ? " silu" : ""));
            GroupNormParams p;
            p.groups = 32;
            p.silu = silu;
            auto out = zeros({2, 64, 9, 11});
            auto ref = zeros({2, 64, 9, 11});
            group_norm(x.view, gamma.view, beta.view, p, out.view, pool, isa);
            group_norm_reference(x.view, gamma.view, beta.view, p, ref.view);
            expect_close(out.values, ref.values, 1e-5f, 1e-5f);
        }
    }
}

TEST(Normalization, Group_norm_takes_rank_2_and_3_strided_channels_half_weights_and_runs_in_place) {
    std::mt19937 rng(2);
    core::ThreadPool pool(2);
    GroupNormParams p;
    p.groups = 4;
    p.eps = 1e-6f;
    auto gamma = random_buffer({12}, rng);
    std::vector<std::uint16_t> gamma16(12);
    for (std::size_t i = 0; i < 12; ++i) {
        gamma16[i] = core::f32_to_f16(gamma.values[i]);
        gamma.values[i] = core::f16_to_f32(gamma16[i]);
    }
    core::TensorView gamma_f16 = gamma.view;
    gamma_f16.dtype = ND_DTYPE_F16;
    gamma_f16.strides[0] = 2;
    gamma_f16.data = reinterpret_cast<std::byte*>(gamma16.data());
    for (Isa isa : supported_isas()) {
        SCOPED_TRACE(isa_label(isa));
        // [N, C, L] and [N, C]
        for (auto shape : {std::initializer_list<std::int64_t>{3, 12, 37}, std::initializer_list<std::int64_t>{3, 12}}) {
            auto x = random_buffer(shape, rng);
            auto out = zeros(shape);
            auto ref = zeros(shape);
            group_norm(x.view, gamma_f16, {}, p, out.view, pool, isa);
            group_norm_reference(x.view, gamma.view, {}, p, ref.view);
            expect_close(out.values, ref.values, 1e-5f, 1e-5f);
        }
        // 12 channels taken out of 20: the N and C strides are free.
        auto big = random_buffer({2, 20, 5, 7}, rng);
        const core::TensorView x = sliced(big.view, 1, 3, 12);
        auto out = zeros({2, 12, 5, 7});
        auto ref = zeros({2, 12, 5, 7});
        group_norm(x, gamma.view, {}, p, out.view, pool, isa);
        group_norm_reference(x, gamma.view, {}, p, ref.view);
        expect_close(out.values, ref.values, 1e-5f, 1e-5f);
        // In place.
        auto y = random_buffer({1, 12, 6, 6}, rng);
        auto expected = zeros({1, 12, 6, 6});
        group_norm_reference(y.view, gamma.view, {}, p, expected.view);
        group_norm(y.view, gamma.view, {}, p, y.view, pool, isa);
        expect_close(y.values, expected.values, 1e-5f, 1e-5f);
    }
}

TEST(Normalization, Group_norm_normalises_each_group_to_zero_mean_unit_variance) {
    std::mt19937 rng(3);
    core::ThreadPool pool(1);
    auto x = random_buffer({1, 8, 64, 64}, rng, 1000.0f, 1001.0f); // a large offset, 32768 values per group
    auto out = zeros({1, 8, 64, 64});
    GroupNormParams p;
    p.groups = 2;
    p.eps = 0.0f;
    group_norm(x.view, core::TensorView{}, core::TensorView{}, p, out.view, pool);
    for (int g = 0; g < 2; ++g) {
        double sum = 0, squares = 0;
        for (int i = 0; i < 4 * 4096; ++i) {
            const double v = out.values[static_cast<std::size_t>(g * 4 * 4096 + i)];
            sum += v;
            squares += v * v;
        }
        EXPECT_NEAR(sum / (4 * 4096), 0.0, 2e-4); // float inputs near 1000 carry 6e-5 of rounding each
        EXPECT_NEAR(squares / (4 * 4096), 1.0, 1e-4);
    }
}

TEST(Normalization, Group_norm_errors_name_the_op_and_shapes) {
    std::mt19937 rng(4);
    core::ThreadPool pool(1);
    auto x = random_buffer({1, 30, 2, 2}, rng);
    auto out = zeros({1, 30, 2, 2});
    GroupNormParams p;
    expect_error([&] { group_norm(x.view, {}, {}, p, out.view, pool); },
                 {"group_norm", "[1, 30, 2, 2]", "30 channels", "32 groups"});
    auto gamma = random_buffer({31}, rng);
    p.groups = 3;
    expect_error([&] { group_norm(x.view, gamma.view, {}, p, out.view, pool); }, {"group_norm", "gamma [31]", "30 elements"});
    auto wrong = zeros({1, 30, 2, 3});
    expect_error([&] { group_norm(x.view, {}, {}, p, wrong.view, pool); }, {"group_norm", "[1, 30, 2, 2]", "[1, 30, 2, 3]"});
    expect_error([&] { group_norm(transposed(x.view, 2, 3), {}, {}, p, out.view, pool); },
                 {"group_norm", "spatial dimensions", "contiguous"});
}

TEST(Normalization, Layer_norm_matches_the_reference_on_every_isa_with_odd_rows_and_strided_views) {
    std::mt19937 rng(5);
    core::ThreadPool pool(2);
    auto x = random_buffer({3, 77, 129}, rng, -10.0f, 10.0f);
    auto gamma = random_buffer({129}, rng);
    auto beta = random_buffer({129}, rng);
    auto offset = random_buffer({2, 5, 1283}, rng, 30.0f, 31.0f);
    for (Isa isa : supported_isas()) {
        SCOPED_TRACE(isa_label(isa));
        auto out = zeros({3, 77, 129});
        auto ref = zeros({3, 77, 129});
        layer_norm(x.view, gamma.view, beta.view, 1e-5f, out.view, pool, isa);
        layer_norm_reference(x.view, gamma.view, beta.view, 1e-5f, ref.view);
        expect_close(out.values, ref.values, 1e-5f, 1e-5f);
        // No affine, rows of a transposed (outer-strided) view, a large common offset.
        const core::TensorView xt = transposed(offset.view, 0, 1); // [5, 2, 1283]
        auto out2 = zeros({5, 2, 1283});
        auto ref2 = zeros({5, 2, 1283});
        layer_norm(xt, {}, {}, 1e-6f, out2.view, pool, isa);
        layer_norm_reference(xt, {}, {}, 1e-6f, ref2.view);
        expect_close(out2.values, ref2.values, 2e-5f, 1e-5f);
        // In place.
        auto y = random_buffer({4, 33}, rng);
        auto expected = zeros({4, 33});
        layer_norm_reference(y.view, gamma.view.data ? sliced(gamma.view, 0, 0, 33) : gamma.view, {}, 1e-5f,
                             expected.view);
        layer_norm(y.view, sliced(gamma.view, 0, 0, 33), {}, 1e-5f, y.view, pool, isa);
        expect_close(y.values, expected.values, 1e-5f, 1e-5f);
    }
    auto wrong = random_buffer({128}, rng);
    auto out = zeros({3, 77, 129});
    expect_error([&] { layer_norm(x.view, wrong.view, {}, 1e-5f, out.view, pool); },
                 {"layer_norm", "gamma [128]", "129 elements"});
    expect_error([&] { layer_norm(transposed(x.view, 1, 2), {}, {}, 1e-5f, transposed(out.view, 1, 2), pool); },
                 {"layer_norm", "last dimension of x"});
}

TEST(Normalization, Softmax_matches_the_reference_on_every_isa_in_place_and_for_any_length) {
    std::mt19937 rng(6);
    core::ThreadPool pool(2);
    for (Isa isa : supported_isas()) {
        SCOPED_TRACE(isa_label(isa));
        for (std::int64_t n : {1L, 7L, 16L, 77L, 129L, 4096L}) {
            auto x = random_buffer({3, n}, rng, -20.0f, 20.0f);
            auto out = zeros({3, n});
            auto ref = zeros({3, n});
            softmax(x.view, out.view, pool, isa);
            softmax_reference(x.view, ref.view);
            expect_close(out.values, ref.values, 1e-9f, 2e-6f);
            softmax(x.view, x.view, pool, isa);
            EXPECT_EQ(x.values, out.values);
            double row_sum = 0;
            for (std::int64_t i = 0; i < n; ++i) {
                row_sum += out.values[static_cast<std::size_t>(i)];
            }
            EXPECT_NEAR(row_sum, 1.0, 2e-6);
        }
    }
}

TEST(Normalization, Softmax_is_stable_for_large_logits) {
    core::ThreadPool pool(1);
    std::vector<float> x = {1000.0f, 1001.0f, 1002.0f, -1e30f};
    std::vector<float> y(4);
    for (Isa isa : supported_isas()) {
        softmax(contiguous_view(x.data(), {1, 4}), contiguous_view(y.data(), {1, 4}), pool, isa);
        EXPECT_NEAR(y[2], 0.6652409f, 1e-6f);
        EXPECT_NEAR(y[0], 0.0900306f, 1e-6f);
        EXPECT_EQ(y[3], 0.0f);
    }
}

} // namespace
} // namespace nd::backends::cpu::ops
