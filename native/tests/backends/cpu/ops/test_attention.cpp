#include "backends/cpu/ops/attention.hpp"

#include "op_test_support.hpp"

namespace nd::backends::cpu::ops {
namespace {

using namespace testing;

void expect_matches_reference(std::int64_t b, std::int64_t h, std::int64_t lq, std::int64_t lk, std::int64_t d,
                              Isa isa, core::ThreadPool& pool, std::mt19937& rng) {
    SCOPED_TRACE(std::string(isa_name(isa)) + " lq=" + std::to_string(lq) + " lk=" + std::to_string(lk) +
                 " d=" + std::to_string(d));
    // Heads split out of [B, L, H*D] tensors, as the UNet's attention sees them: strided views, no copies.
    auto q = random_buffer({b, lq, h, d}, rng);
    auto k = random_buffer({b, lk, h, d}, rng);
    auto v = random_buffer({b, lk, h, d}, rng);
    auto out = zeros({b, h, lq, d});
    auto ref = zeros({b, h, lq, d});
    attention(transposed(q.view, 1, 2), transposed(k.view, 1, 2), transposed(v.view, 1, 2), 0.0f, out.view, pool, isa);
    attention_reference(transposed(q.view, 1, 2), transposed(k.view, 1, 2), transposed(v.view, 1, 2), 0.0f, ref.view);
    expect_close(out.values, ref.values, 2e-6f, 2e-5f);
}

TEST(Attention, Matches_the_naive_reference_on_every_isa_for_sd_head_sizes) {
    std::mt19937 rng(1);
    core::ThreadPool pool(2);
    for (Isa isa : supported_isas()) {
        expect_matches_reference(1, 2, 37, 77, 40, isa, pool, rng);  // cross-attention: 77 text tokens
        expect_matches_reference(2, 1, 65, 300, 64, isa, pool, rng); // several key tiles, partial last ones
        expect_matches_reference(1, 1, 5, 3, 160, isa, pool, rng);
        expect_matches_reference(1, 3, 1, 1, 80, isa, pool, rng);
    }
}

TEST(Attention, Four_thousand_tokens_need_no_score_matrix_and_stay_accurate) {
    std::mt19937 rng(2);
    core::ThreadPool pool(2);
    const std::int64_t l = 4096;
    const std::int64_t d = 40;
    auto q = random_buffer({1, 1, l, d}, rng);
    auto k = random_buffer({1, 1, l, d}, rng);
    auto v = random_buffer({1, 1, l, d}, rng);
    auto out = zeros({1, 1, l, d});
    attention(q.view, k.view, v.view, 0.0f, out.view, pool);
    // The scratch is per thread and independent of the token count: far below one 4096 x 4096 score matrix.
    EXPECT_LT(attention_scratch_bytes(d) * static_cast<std::size_t>(pool.size()), std::size_t{l * l * 4} / 100);
    // Sampled rows against the double-precision reference (the whole reference would take minutes).
    for (std::int64_t row : {0L, 1L, 1234L, 4095L}) {
        core::TensorView q_row = q.view;
        q_row.shape[2] = 1;
        q_row.data += row * q.view.stride(2);
        std::vector<float> expected(static_cast<std::size_t>(d));
        attention_reference(q_row, k.view, v.view, 0.0f, contiguous_view(expected.data(), {1, 1, 1, d}));
        for (std::int64_t c = 0; c < d; ++c) {
            ASSERT_NEAR(out.values[static_cast<std::size_t>(row * d + c)], expected[static_cast<std::size_t>(c)], 1e-5f)
                << "row " << row << " channel " << c;
        }
    }
}

TEST(Attention, Mismatched_shapes_are_errors_naming_them) {
    std::mt19937 rng(3);
    core::ThreadPool pool(1);
    auto q = random_buffer({1, 2, 4, 8}, rng);
    auto k = random_buffer({1, 2, 6, 16}, rng);
    auto out = zeros({1, 2, 4, 8});
    expect_error([&] { attention(q.view, k.view, k.view, 0.0f, out.view, pool); },
                 {"attention", "[1, 2, 4, 8]", "[1, 2, 6, 16]"});
    expect_error([&] { attention(q.view, transposed(q.view, 2, 3), q.view, 0.0f, out.view, pool); },
                 {"last dimension of k"});
}

} // namespace
} // namespace nd::backends::cpu::ops
