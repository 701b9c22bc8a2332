#include "backends/cpu/ops/attention.hpp"

#include "op_test_support.hpp"

namespace nd::backends::cpu::ops {
namespace {

using namespace testing;

struct Shape {
    std::int64_t b, h, lq, lk, d;
};

// Heads split out of [B, L, H*D] tensors, as the UNet's attention sees them: strided views, no copies.
void expect_matches_reference(const Shape& s, const AttentionOptions& options, Isa isa, core::ThreadPool& pool,
                              std::mt19937& rng) {
    SCOPED_TRACE(isa_label(isa) + " b=" + std::to_string(s.b) + " h=" + std::to_string(s.h) + " lq=" +
                 std::to_string(s.lq) + " lk=" + std::to_string(s.lk) + " d=" + std::to_string(s.d) +
                 (options.causal ? " causal" : ""));
    auto q = random_buffer({s.b, s.lq, s.h, s.d}, rng);
    auto k = random_buffer({s.b, s.lk, s.h, s.d}, rng);
    auto v = random_buffer({s.b, s.lk, s.h, s.d}, rng);
    auto out_holder = zeros({s.b, s.lq, s.h, s.d}); // out written as a head-split view too
    auto ref = zeros({s.b, s.h, s.lq, s.d});
    const core::TensorView out = transposed(out_holder.view, 1, 2);
    attention(transposed(q.view, 1, 2), transposed(k.view, 1, 2), transposed(v.view, 1, 2), options, out, pool, isa);
    attention_reference(transposed(q.view, 1, 2), transposed(k.view, 1, 2), transposed(v.view, 1, 2), options,
                        ref.view);
    expect_close(gather(out), ref.values, 2e-6f, 2e-5f);
}

TEST(Attention, Matches_the_naive_reference_on_every_isa_for_sd_head_sizes_and_odd_shapes) {
    std::mt19937 rng(1);
    core::ThreadPool pool(2);
    const Shape shapes[] = {
        {1, 2, 37, 77, 40},   // cross-attention: 77 text tokens, D = 40 (SD 1.x level 1)
        {2, 1, 65, 300, 64},  // several key blocks and query tiles, partial last ones (SD 2.x / SDXL heads)
        {1, 1, 5, 3, 160},    // D = 160: two chunks of the output accumulator
        {1, 3, 1, 1, 80},     // one query, one key
        {1, 2, 130, 129, 80}, // query tiles of 64 + 2, key blocks of 128 + 1
        {1, 1, 9, 20, 24},    // head sizes outside SD's: partial vectors
        {1, 1, 17, 33, 100},
        {1, 1, 3, 5, 1},
    };
    for (Isa isa : supported_isas()) {
        for (const Shape& s : shapes) {
            expect_matches_reference(s, AttentionOptions{}, isa, pool, rng);
        }
    }
}

TEST(Attention, Causal_masking_matches_the_reference) {
    std::mt19937 rng(2);
    core::ThreadPool pool(2);
    for (Isa isa : supported_isas()) {
        expect_matches_reference({1, 2, 77, 77, 64}, AttentionOptions{0.0f, true}, isa, pool, rng); // CLIP's
        expect_matches_reference({1, 1, 150, 140, 40}, AttentionOptions{0.0f, true}, isa, pool, rng);
        expect_matches_reference({1, 1, 5, 9, 40}, AttentionOptions{0.3f, true}, isa, pool, rng);
    }
}

TEST(Attention, An_explicit_scale_replaces_one_over_sqrt_d) {
    std::mt19937 rng(3);
    core::ThreadPool pool(2);
    for (Isa isa : supported_isas()) {
        expect_matches_reference({1, 1, 10, 12, 40}, AttentionOptions{0.05f, false}, isa, pool, rng);
    }
    // Large logits: the online softmax rescales as the running maximum grows.
    auto q = random_buffer({1, 1, 4, 8}, rng, 5.0f, 6.0f);
    auto k = random_buffer({1, 1, 300, 8}, rng, -6.0f, 6.0f);
    auto v = random_buffer({1, 1, 300, 8}, rng);
    auto out = zeros({1, 1, 4, 8});
    auto ref = zeros({1, 1, 4, 8});
    attention(q.view, k.view, v.view, 3.0f, out.view, pool);
    attention_reference(q.view, k.view, v.view, 3.0f, ref.view);
    expect_close(out.values, ref.values, 2e-6f, 2e-5f);
}

TEST(Attention, Four_thousand_tokens_need_no_score_matrix_and_stay_accurate) {
    std::mt19937 rng(4);
    core::ThreadPool pool(2);
    const std::int64_t l = 4096;
    const std::int64_t d = 40;
    auto q = random_buffer({1, 1, l, d}, rng);
    auto k = random_buffer({1, 1, l, d}, rng);
    auto v = random_buffer({1, 1, l, d}, rng);
    auto out = zeros({1, 1, l, d});
    attention(q.view, k.view, v.view, 0.0f, out.view, pool);
    // The scratch is per thread and independent of the token count: far below one 4096 x 4096 score matrix.
    const std::size_t score_matrix = std::size_t{l * l * 4};
    EXPECT_LT(attention_scratch_bytes(d) * static_cast<std::size_t>(pool.size()), score_matrix / 100);
    EXPECT_EQ(attention_scratch_bytes(d), attention_scratch_bytes(d)); // a function of d alone
    EXPECT_LT(attention_scratch_bytes(160), std::size_t{256} << 10);
    // Sampled rows against the double-precision reference (the whole reference would take minutes).
    for (std::int64_t row : {0L, 1L, 63L, 64L, 1234L, 4095L}) {
        const core::TensorView q_row = sliced(q.view, 2, row, 1);
        std::vector<float> expected(static_cast<std::size_t>(d));
        attention_reference(q_row, k.view, v.view, 0.0f, contiguous_view(expected.data(), {1, 1, 1, d}));
        for (std::int64_t c = 0; c < d; ++c) {
            ASSERT_NEAR(out.values[static_cast<std::size_t>(row * d + c)], expected[static_cast<std::size_t>(c)], 1e-5f)
                << "row " << row << " channel " << c;
        }
    }
}

TEST(Attention, Mismatched_shapes_are_errors_naming_them) {
    std::mt19937 rng(5);
    core::ThreadPool pool(1);
    auto q = random_buffer({1, 2, 4, 8}, rng);
    auto k = random_buffer({1, 2, 6, 16}, rng);
    auto out = zeros({1, 2, 4, 8});
    expect_error([&] { attention(q.view, k.view, k.view, 0.0f, out.view, pool); },
                 {"attention", "[1, 2, 4, 8]", "[1, 2, 6, 16]"});
    expect_error([&] { attention(q.view, transposed(q.view, 2, 3), q.view, 0.0f, out.view, pool); },
                 {"attention", "last dimension of k"});
    auto wrong_out = zeros({1, 2, 5, 8});
    expect_error([&] { attention(q.view, q.view, q.view, 0.0f, wrong_out.view, pool); },
                 {"attention", "q [1, 2, 4, 8]", "out [1, 2, 5, 8]"});
    auto v = random_buffer({1, 2, 5, 8}, rng);
    expect_error([&] { attention(q.view, q.view, v.view, 0.0f, out.view, pool); },
                 {"attention", "k [1, 2, 4, 8]", "v [1, 2, 5, 8]"});
}

} // namespace
} // namespace nd::backends::cpu::ops
