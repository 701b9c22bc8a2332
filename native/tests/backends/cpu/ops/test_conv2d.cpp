#include "backends/cpu/ops/conv2d.hpp"

#include <cmath>
#include <cstring>

#include "backends/cpu/prepacked_weights.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/half.hpp"
#include "op_test_support.hpp"

namespace nd::backends::cpu::ops {
namespace {

using namespace testing;

struct ConvCase {
    std::int64_t n, cin, h, w, cout;
    Conv2dParams p;
};

std::int64_t out_size(std::int64_t in, int pad, int dil, int k, int stride) {
    return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

// Weights as [Cout, K] rows of `type`, quantized from F32 values.
struct Weights {
    std::vector<std::byte> bytes;
    core::TensorView view;
};

Weights make_weights(nd_dtype type, std::int64_t cout, std::int64_t k, std::mt19937& rng) {
    auto w = random_buffer({cout, k}, rng, -0.5f, 0.5f);
    const auto row_bytes = static_cast<std::int64_t>(core::dtype_row_bytes(type, static_cast<std::uint64_t>(k)));
    Weights r;
    r.bytes.resize(static_cast<std::size_t>(row_bytes * cout));
    for (std::int64_t co = 0; co < cout; ++co) {
        quant::quantize_row(type, std::span(w.values.data() + co * k, static_cast<std::size_t>(k)),
                            std::span(r.bytes.data() + co * row_bytes, static_cast<std::size_t>(row_bytes)));
    }
    r.view.dtype = type;
    r.view.rank = 2;
    r.view.shape = {cout, k, 0, 0};
    r.view.strides = {row_bytes, row_bytes / k > 0 && !core::dtype_is_quantized(type) ? row_bytes / k : 0, 0, 0};
    r.view.data = r.bytes.data();
    return r;
}

// out (any strides) against the direct convolution; quantized weights get a tolerance for the 8-bit
// quantization of the activations that their integer kernels do (1% of Σ|x·w|).
void expect_matches_reference(const ConvCase& c, nd_dtype weight_type, Isa isa, core::ThreadPool& pool,
                              std::mt19937& rng, bool strided_views = false) {
    SCOPED_TRACE(std::string(core::dtype_name(weight_type)) + " " + isa_label(isa) + " k=" +
                 std::to_string(c.p.kernel_h) + "x" + std::to_string(c.p.kernel_w) + " stride=" +
                 std::to_string(c.p.stride) + (strided_views ? " strided" : ""));
    const Conv2dParams& p = c.p;
    const int sw = p.stride_w > 0 ? p.stride_w : p.stride;
    const int pw = p.padding_w >= 0 ? p.padding_w : p.padding;
    const std::int64_t oh = out_size(c.h, p.padding, p.dilation_h, p.kernel_h, p.stride);
    const std::int64_t ow = out_size(c.w, pw, p.dilation_w, p.kernel_w, sw);
    const std::int64_t k = c.cin * p.kernel_h * p.kernel_w;
    // NCHW channels sliced out of a bigger tensor, or (strided_views) an [N, C, H, W] view of channels-last
    // [N, H, W, C] memory, as a transformer block's permuted tokens are.
    auto x_holder = random_buffer({c.n, c.cin + 2, c.h, c.w}, rng);
    core::TensorView x = sliced(x_holder.view, 1, 1, c.cin);
    auto x_cl = random_buffer({c.n, c.h, c.w, c.cin}, rng);
    if (strided_views) {
        x = transposed(transposed(x_cl.view, 1, 3), 2, 3);
    }
    const Weights w = make_weights(weight_type, c.cout, k, rng);
    auto bias = random_buffer({c.cout}, rng);
    auto out_holder = zeros({c.n, oh, ow, c.cout}); // channels-last memory: C is written in place
    auto out_nchw = zeros({c.n, c.cout, oh, ow});
    const core::TensorView out = strided_views ? transposed(transposed(out_holder.view, 1, 3), 2, 3) : out_nchw.view;
    auto ref = zeros({c.n, c.cout, oh, ow});
    conv2d(x, w.view, bias.view, p, out, pool, isa);
    conv2d_reference(x, w.view, bias.view, p, ref.view);
    if (!core::dtype_is_quantized(weight_type)) {
        expect_close(gather(out), ref.values, 2e-5f, 2e-5f);
        return;
    }
    // Σ|x·w| per output, from the same reference over absolute values.
    std::vector<float> abs_x = gather(x);
    for (float& v : abs_x) {
        v = std::fabs(v);
    }
    std::vector<float> w_f32(static_cast<std::size_t>(c.cout * k));
    for (std::int64_t co = 0; co < c.cout; ++co) {
        quant::dequantize_row(weight_type,
                              std::span(w.bytes.data() + co * w.view.stride(0), static_cast<std::size_t>(w.view.stride(0))),
                              std::span(w_f32.data() + co * k, static_cast<std::size_t>(k)));
    }
    for (float& v : w_f32) {
        v = std::fabs(v);
    }
    auto magnitude = zeros({c.n, c.cout, oh, ow});
    conv2d_reference(contiguous_view(abs_x.data(), {c.n, c.cin, c.h, c.w}), contiguous_view(w_f32.data(), {c.cout, k}),
                     {}, p, magnitude.view);
    const std::vector<float> actual = gather(out);
    for (std::size_t i = 0; i < actual.size(); ++i) {
        ASSERT_NEAR(actual[i], ref.values[i], 1e-2f * magnitude.values[i] + 1e-5f) << "element " << i;
    }
}

TEST(Conv2d, Matches_direct_convolution_for_3x3_and_1x1_stride_1_and_2_on_every_isa) {
    std::mt19937 rng(1);
    core::ThreadPool pool(2);
    ConvCase cases[] = {
        {1, 4, 9, 7, 5, {3, 3, 1, 1}},  // odd sizes, padding 1
        {2, 3, 8, 8, 6, {3, 3, 2, 1}},  // SD's downsampling conv: stride 2, batch 2
        {1, 8, 5, 6, 3, {1, 1, 1, 0}},  // 1x1 projection
        {1, 2, 6, 5, 4, {3, 3, 1, 0}},  // no padding
        {1, 3, 7, 9, 2, {3, 3, 1, 1}},
        {1, 2, 9, 10, 3, {5, 3, 1, 2}}, // other kernel sizes
        {1, 5, 9, 11, 37, {3, 3, 1, 1}}, // 37 channels x 99 positions: whole and partial transpose blocks
        {1, 40, 9, 11, 7, {1, 1, 1, 0}},  // a 1x1 over 40 channels: patches by transposing x
    };
    cases[4].p.stride_w = 2; // asymmetric stride, padding and dilation
    cases[4].p.padding_w = 2;
    cases[4].p.dilation_h = 2;
    cases[5].p.dilation_w = 2;
    cases[5].p.padding_w = 3;
    for (Isa isa : supported_isas()) {
        for (const ConvCase& c : cases) {
            expect_matches_reference(c, ND_DTYPE_F32, isa, pool, rng);
            expect_matches_reference(c, ND_DTYPE_F32, isa, pool, rng, true);
        }
    }
}

TEST(Conv2d, Tiles_of_output_positions_join_seamlessly) {
    std::mt19937 rng(2);
    core::ThreadPool pool(2);
    // K = 9: 1024-row tiles over 1600 positions; K = 2880 (320 channels): 360-row tiles over 400 positions.
    expect_matches_reference({1, 1, 40, 40, 3, {3, 3, 1, 1}}, ND_DTYPE_F32, best_isa(), pool, rng);
    expect_matches_reference({1, 320, 20, 20, 2, {3, 3, 1, 1}}, ND_DTYPE_F32, best_isa(), pool, rng);
    expect_matches_reference({1, 320, 20, 20, 2, {3, 3, 1, 1}}, ND_DTYPE_F32, best_isa(), pool, rng, true);
}

TEST(Conv2d, Quantized_half_and_bf16_weights_match_the_reference_over_their_values) {
    std::mt19937 rng(3);
    core::ThreadPool pool(2);
    for (Isa isa : supported_isas()) {
        // Cin * 9 = 288 is a multiple of 32 (legacy blocks); 256-element K blocks need Cin * 9 % 256 == 0.
        for (nd_dtype type : {ND_DTYPE_F16, ND_DTYPE_BF16, ND_DTYPE_Q8_0, ND_DTYPE_Q4_0, ND_DTYPE_Q5_1}) {
            expect_matches_reference({1, 32, 6, 7, 7, {3, 3, 1, 1}}, type, isa, pool, rng);
        }
        expect_matches_reference({1, 32, 9, 8, 16, {3, 3, 2, 1}}, ND_DTYPE_Q8_0, isa, pool, rng, true);
        expect_matches_reference({1, 256, 3, 3, 5, {1, 1, 1, 0}}, ND_DTYPE_Q4_K, isa, pool, rng);
    }
}

// The CPU backend hands conv2d weights packed once per model; the products must be those of weights packed
// per call, bit for bit, for every weight kind, ISA, batch and tiling (K = 288: 1024-row tiles; K = 2880:
// 360-row tiles over 2 x 400 positions).
TEST(Conv2d, Prepacked_weights_give_bitwise_the_same_result) {
    std::mt19937 rng(6);
    core::ThreadPool pool(2);
    const ConvCase cases[] = {{2, 32, 6, 7, 40, {3, 3, 1, 1}}, {2, 320, 20, 20, 64, {3, 3, 1, 1}},
                              {2, 64, 5, 4, 32, {1, 1, 1, 0}}, {1, 32, 9, 8, 16, {3, 3, 2, 1}}};
    for (Isa isa : supported_isas()) {
        for (nd_dtype type : {ND_DTYPE_F16, ND_DTYPE_BF16, ND_DTYPE_F32, ND_DTYPE_Q8_0, ND_DTYPE_Q4_0}) {
            for (const ConvCase& c : cases) {
                SCOPED_TRACE(std::string(core::dtype_name(type)) + " " + isa_label(isa) + " cin=" +
                             std::to_string(c.cin) + " n=" + std::to_string(c.n));
                const Conv2dParams& p = c.p;
                const std::int64_t oh = out_size(c.h, p.padding, 1, p.kernel_h, p.stride);
                const std::int64_t ow = out_size(c.w, p.padding, 1, p.kernel_w, p.stride);
                const std::int64_t k = c.cin * p.kernel_h * p.kernel_w;
                auto x = random_buffer({c.n, c.cin, c.h, c.w}, rng);
                const Weights w = make_weights(type, c.cout, k, rng);
                auto bias = random_buffer({c.cout}, rng);
                auto per_call = zeros({c.n, c.cout, oh, ow});
                auto once = zeros({c.n, c.cout, oh, ow});
                conv2d(x.view, w.view, bias.view, p, per_call.view, pool, isa);
                const PrepackedWeights packed =
                    PrepackedWeights::pack(w.view.data, type, c.cout, k, w.view.stride(0), pool, isa);
                conv2d(x.view, w.view, bias.view, p, once.view, pool, isa, &packed);
                ASSERT_EQ(std::memcmp(per_call.values.data(), once.values.data(), once.values.size() * sizeof(float)), 0);
            }
        }
    }
}

// Small images share a tile (one product over several images' patches); each image's output must be what
// it is convolved alone, bit for bit.
TEST(Conv2d, Images_sharing_a_tile_give_what_each_gives_alone) {
    std::mt19937 rng(7);
    core::ThreadPool pool(2);
    for (Isa isa : supported_isas()) {
        for (nd_dtype type : {ND_DTYPE_F16, ND_DTYPE_Q8_0}) {
            for (const ConvCase& c : {ConvCase{3, 32, 5, 6, 40, {3, 3, 1, 1}}, ConvCase{5, 64, 4, 3, 32, {1, 1, 1, 0}}}) {
                SCOPED_TRACE(std::string(core::dtype_name(type)) + " " + isa_label(isa) + " cin=" + std::to_string(c.cin));
                const std::int64_t k = c.cin * c.p.kernel_h * c.p.kernel_w;
                auto x = random_buffer({c.n, c.cin, c.h, c.w}, rng);
                const Weights w = make_weights(type, c.cout, k, rng);
                auto bias = random_buffer({c.cout}, rng);
                auto together = zeros({c.n, c.cout, c.h, c.w});
                auto alone = zeros({c.n, c.cout, c.h, c.w});
                conv2d(x.view, w.view, bias.view, c.p, together.view, pool, isa);
                for (std::int64_t n = 0; n < c.n; ++n) {
                    conv2d(sliced(x.view, 0, n, 1), w.view, bias.view, c.p, sliced(alone.view, 0, n, 1), pool, isa);
                }
                ASSERT_EQ(std::memcmp(together.values.data(), alone.values.data(), alone.values.size() * sizeof(float)), 0);
            }
        }
    }
}

TEST(Conv2d, A_4d_half_weight_and_a_half_bias_are_read_as_stored) {
    std::mt19937 rng(4);
    core::ThreadPool pool(2);
    auto w = random_buffer({4, 3, 3, 3}, rng);
    std::vector<std::uint16_t> w16(w.values.size());
    for (std::size_t i = 0; i < w16.size(); ++i) {
        w16[i] = core::f32_to_f16(w.values[i]);
        w.values[i] = core::f16_to_f32(w16[i]);
    }
    core::TensorView w_half = w.view;
    w_half.dtype = ND_DTYPE_F16;
    w_half.strides = {54, 18, 6, 2};
    w_half.data = reinterpret_cast<std::byte*>(w16.data());
    auto bias = random_buffer({4}, rng);
    std::vector<std::uint16_t> b16(4);
    for (std::size_t i = 0; i < 4; ++i) {
        b16[i] = core::f32_to_f16(bias.values[i]);
        bias.values[i] = core::f16_to_f32(b16[i]);
    }
    core::TensorView b_half = bias.view;
    b_half.dtype = ND_DTYPE_F16;
    b_half.strides[0] = 2;
    b_half.data = reinterpret_cast<std::byte*>(b16.data());
    auto x = random_buffer({1, 3, 8, 8}, rng);
    auto out = zeros({1, 4, 8, 8});
    auto ref = zeros({1, 4, 8, 8});
    conv2d(x.view, w_half, b_half, {}, out.view, pool);
    conv2d_reference(x.view, w.view, bias.view, {}, ref.view);
    expect_close(out.values, ref.values, 2e-5f, 2e-5f);
}

TEST(Conv2d, The_patch_buffer_is_bounded_whatever_the_image_size) {
    // SD 1.5's largest convolutions: 320 channels at 64x64 (K = 2880) and 1280 at 8x8 (K = 11520).
    for (std::int64_t k : {2880L, 5760L, 11520L}) {
        EXPECT_LE(conv2d_patch_rows(k) * k * 4, 4 << 20) << k;
        EXPECT_GE(conv2d_patch_rows(k), 32);
    }
    float never_read = 0.0f; // shapes only: conv2d_scratch_bytes reads no data
    core::TensorView x = contiguous_view(&never_read, {1, 320, 64, 64});
    core::TensorView w = contiguous_view(&never_read, {320, 320, 3, 3});
    core::TensorView out = contiguous_view(&never_read, {1, 320, 64, 64});
    const std::int64_t full_patch_matrix = 4096LL * 2880 * 4;
    EXPECT_LE(conv2d_scratch_bytes(x, w, {}, out), (std::int64_t{4} << 20) + 360 * 320 * 4);
    EXPECT_LT(conv2d_scratch_bytes(x, w, {}, out) * 8, full_patch_matrix);
    // The VAE decoder at 512x512: 128 channels, 512x512 positions; still one bounded tile.
    core::TensorView xv = contiguous_view(&never_read, {1, 128, 512, 512});
    core::TensorView wv = contiguous_view(&never_read, {128, 128, 3, 3});
    EXPECT_LE(conv2d_scratch_bytes(xv, wv, {}, xv), (std::int64_t{5} << 20));
}

TEST(Conv2d, Mismatches_are_errors_naming_the_shapes) {
    std::mt19937 rng(5);
    core::ThreadPool pool(1);
    auto x = random_buffer({1, 4, 5, 5}, rng);
    auto w = random_buffer({2, 3, 3, 3}, rng);
    auto out = zeros({1, 2, 5, 5});
    expect_error([&] { conv2d(x.view, w.view, {}, {}, out.view, pool); },
                 {"conv2d", "[1, 4, 5, 5] has 4 channels", "[2, 3, 3, 3]"});
    auto w_ok = random_buffer({2, 4, 3, 3}, rng);
    auto wrong_out = zeros({1, 2, 4, 4});
    expect_error([&] { conv2d(x.view, w_ok.view, {}, {}, wrong_out.view, pool); },
                 {"conv2d", "out [1, 2, 4, 4] should be [1, 2, 5, 5]"});
    auto bias = random_buffer({3}, rng);
    expect_error([&] { conv2d(x.view, w_ok.view, bias.view, {}, out.view, pool); }, {"conv2d", "bias [3]", "2 elements"});
    auto rows = random_buffer({2, 35}, rng);
    expect_error([&] { conv2d(x.view, rows.view, {}, {}, out.view, pool); }, {"conv2d", "weight [2, 35]", "[Cout, 36]"});
}

} // namespace
} // namespace nd::backends::cpu::ops
