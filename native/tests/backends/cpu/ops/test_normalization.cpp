#include "backends/cpu/ops/normalization.hpp"

#include <cmath>

#include "op_test_support.hpp"

namespace nd::backends::cpu::ops {
namespace {

using namespace testing;

TEST(Normalization, Group_norm_matches_the_reference_with_and_without_fused_silu) {
    std::mt19937 rng(1);
    core::ThreadPool pool(2);
    // Values far from zero mean: single-pass float statistics would lose digits here.
    auto x = random_buffer({2, 64, 9, 11}, rng, 50.0f, 54.0f);
    auto gamma = random_buffer({64}, rng);
    auto beta = random_buffer({64}, rng);
    for (bool silu : {false, true}) {
        GroupNormParams p;
        p.groups = 32;
        p.silu = silu;
        auto out = zeros({2, 64, 9, 11});
        auto ref = zeros({2, 64, 9, 11});
        group_norm(x.view, gamma.view, beta.view, p, out.view, pool);
        group_norm_reference(x.view, gamma.view, beta.view, p, ref.view);
        expect_close(out.values, ref.values, 2e-5f, 2e-5f);
    }
}

TEST(Normalization, Group_norm_normalises_each_group_to_zero_mean_unit_variance) {
    std::mt19937 rng(2);
    core::ThreadPool pool(1);
    auto x = random_buffer({1, 8, 4, 4}, rng);
    auto out = zeros({1, 8, 4, 4});
    GroupNormParams p;
    p.groups = 2;
    p.eps = 0.0f;
    group_norm(x.view, core::TensorView{}, core::TensorView{}, p, out.view, pool);
    for (int g = 0; g < 2; ++g) {
        double sum = 0, squares = 0;
        for (int i = 0; i < 64; ++i) {
            sum += out.values[static_cast<std::size_t>(g * 64 + i)];
            squares += out.values[static_cast<std::size_t>(g * 64 + i)] * out.values[static_cast<std::size_t>(g * 64 + i)];
        }
        EXPECT_NEAR(sum / 64, 0.0, 1e-6);
        EXPECT_NEAR(squares / 64, 1.0, 1e-5);
    }
}

TEST(Normalization, Group_norm_rejects_channels_that_do_not_split) {
    std::mt19937 rng(3);
    core::ThreadPool pool(1);
    auto x = random_buffer({1, 30, 2, 2}, rng);
    auto out = zeros({1, 30, 2, 2});
    GroupNormParams p;
    expect_error([&] { group_norm(x.view, {}, {}, p, out.view, pool); }, {"group_norm", "30 channels", "32 groups"});
    auto gamma = random_buffer({31}, rng);
    p.groups = 3;
    expect_error([&] { group_norm(x.view, gamma.view, {}, p, out.view, pool); }, {"gamma [31]", "30 elements"});
}

TEST(Normalization, Layer_norm_and_softmax_match_the_reference_on_odd_rows) {
    std::mt19937 rng(4);
    core::ThreadPool pool(2);
    auto x = random_buffer({3, 77, 129}, rng, -10.0f, 10.0f);
    auto gamma = random_buffer({129}, rng);
    auto beta = random_buffer({129}, rng);
    auto out = zeros({3, 77, 129});
    auto ref = zeros({3, 77, 129});
    layer_norm(x.view, gamma.view, beta.view, 1e-5f, out.view, pool);
    layer_norm_reference(x.view, gamma.view, beta.view, 1e-5f, ref.view);
    expect_close(out.values, ref.values, 2e-5f, 1e-5f);

    softmax(x.view, out.view, pool);
    softmax_reference(x.view, ref.view);
    expect_close(out.values, ref.values, 1e-7f, 1e-5f);
    double row_sum = 0;
    for (int i = 0; i < 129; ++i) {
        row_sum += out.values[static_cast<std::size_t>(i)];
    }
    EXPECT_NEAR(row_sum, 1.0, 1e-5);
}

TEST(Normalization, Softmax_is_stable_for_large_logits) {
    core::ThreadPool pool(1);
    std::vector<float> x = {1000.0f, 1001.0f, 1002.0f};
    std::vector<float> y(3);
    softmax(contiguous_view(x.data(), {1, 3}), contiguous_view(y.data(), {1, 3}), pool);
    EXPECT_NEAR(y[2], 0.6652409f, 1e-6f);
    EXPECT_NEAR(y[0], 0.0900306f, 1e-6f);
}

} // namespace
} // namespace nd::backends::cpu::ops
