#include "backends/cpu/ops/reduce.hpp"

#include "op_test_support.hpp"

namespace nd::backends::cpu::ops {
namespace {

using namespace testing;

TEST(Reduce, Mean_over_the_last_dimension_matches_the_reference_with_and_without_keepdim) {
    std::mt19937 rng(1);
    core::ThreadPool pool(2);
    auto x = random_buffer({3, 5, 1031}, rng, 100.0f, 101.0f);
    for (Isa isa : supported_isas()) {
        auto out = zeros({3, 5});
        auto kept = zeros({3, 5, 1});
        auto ref = zeros({3, 5});
        mean_last_dim(x.view, out.view, pool, isa);
        mean_last_dim(x.view, kept.view, pool, isa);
        mean_last_dim_reference(x.view, ref.view);
        expect_close(out.values, ref.values, 0.0f, 1e-6f);
        EXPECT_EQ(out.values, kept.values);
        // Strided: the mean over the middle dimension of x, seen as the last of a transposed view.
        const core::TensorView xt = transposed(x.view, 1, 2); // [3, 1031, 5]
        auto out_t = zeros({3, 1031});
        auto ref_t = zeros({3, 1031});
        mean_last_dim(xt, out_t.view, pool, isa);
        mean_last_dim_reference(xt, ref_t.view);
        expect_close(out_t.values, ref_t.values, 0.0f, 1e-6f);
    }
    auto wrong = zeros({3, 4});
    expect_error([&] { mean_last_dim(x.view, wrong.view, pool); }, {"mean_last_dim", "[3, 4]", "[3, 5, 1031]"});
}

} // namespace
} // namespace nd::backends::cpu::ops
