#include "pipeline/latent_preview.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/error.hpp"
#include "pipeline/image_conversion.hpp"
#include "sampling/noise_generator.hpp"

namespace nd::pipeline {

namespace {

constexpr int kFeatures = 5; // 4 latent channels and a constant

// Smooth random latents: N(0, 1) on a coarse grid, upsampled bilinearly, so that the decoder sees areas of
// colour (as in real images) rather than per-pixel noise, whose decoding is mostly texture.
std::vector<float> smooth_latents(int samples, int size) {
    constexpr int kCoarse = 4;
    const auto generator = sampling::make_noise_generator(sampling::NoiseSource::TorchCpu, 20240607);
    const std::vector<float> coarse =
        generator->randn(static_cast<std::size_t>(samples) * 4 * kCoarse * kCoarse);
    std::vector<float> out(static_cast<std::size_t>(samples) * 4 * static_cast<std::size_t>(size * size));
    const auto at = [&](int plane, int y, int x) {
        return coarse[(static_cast<std::size_t>(plane) * kCoarse + static_cast<std::size_t>(y)) * kCoarse +
                      static_cast<std::size_t>(x)];
    };
    for (int plane = 0; plane < samples * 4; ++plane) {
        for (int y = 0; y < size; ++y) {
            const float fy = static_cast<float>(y) * (kCoarse - 1) / static_cast<float>(size - 1);
            const int y0 = std::min(static_cast<int>(fy), kCoarse - 2);
            const float wy = fy - static_cast<float>(y0);
            for (int x = 0; x < size; ++x) {
                const float fx = static_cast<float>(x) * (kCoarse - 1) / static_cast<float>(size - 1);
                const int x0 = std::min(static_cast<int>(fx), kCoarse - 2);
                const float wx = fx - static_cast<float>(x0);
                const float top = at(plane, y0, x0) * (1 - wx) + at(plane, y0, x0 + 1) * wx;
                const float bottom = at(plane, y0 + 1, x0) * (1 - wx) + at(plane, y0 + 1, x0 + 1) * wx;
                out[(static_cast<std::size_t>(plane) * static_cast<std::size_t>(size) +
                     static_cast<std::size_t>(y)) *
                        static_cast<std::size_t>(size) +
                    static_cast<std::size_t>(x)] = top * (1 - wy) + bottom * wy;
            }
        }
    }
    return out;
}

// Solves the symmetric positive definite system a x = b (kFeatures unknowns) by Gaussian elimination with
// partial pivoting, in double.
std::array<double, kFeatures> solve(std::array<std::array<double, kFeatures>, kFeatures> a,
                                    std::array<double, kFeatures> b) {
    for (int col = 0; col < kFeatures; ++col) {
        int pivot = col;
        for (int row = col + 1; row < kFeatures; ++row) {
            if (std::fabs(a[static_cast<std::size_t>(row)][static_cast<std::size_t>(col)]) >
                std::fabs(a[static_cast<std::size_t>(pivot)][static_cast<std::size_t>(col)])) {
                pivot = row;
            }
        }
        std::swap(a[static_cast<std::size_t>(col)], a[static_cast<std::size_t>(pivot)]);
        std::swap(b[static_cast<std::size_t>(col)], b[static_cast<std::size_t>(pivot)]);
        const double diagonal = a[static_cast<std::size_t>(col)][static_cast<std::size_t>(col)];
        if (std::fabs(diagonal) < 1e-12) {
            continue; // a latent channel the decoder ignores: its weight stays 0
        }
        for (int row = 0; row < kFeatures; ++row) {
            if (row == col) {
                continue;
            }
            const double f = a[static_cast<std::size_t>(row)][static_cast<std::size_t>(col)] / diagonal;
            for (int k = col; k < kFeatures; ++k) {
                a[static_cast<std::size_t>(row)][static_cast<std::size_t>(k)] -=
                    f * a[static_cast<std::size_t>(col)][static_cast<std::size_t>(k)];
            }
            b[static_cast<std::size_t>(row)] -= f * b[static_cast<std::size_t>(col)];
        }
    }
    std::array<double, kFeatures> x{};
    for (int i = 0; i < kFeatures; ++i) {
        const double diagonal = a[static_cast<std::size_t>(i)][static_cast<std::size_t>(i)];
        x[static_cast<std::size_t>(i)] =
            std::fabs(diagonal) < 1e-12 ? 0.0 : b[static_cast<std::size_t>(i)] / diagonal;
    }
    return x;
}

} // namespace

LatentRgbMap fit_latent_rgb_map(const std::function<core::Tensor(const core::Tensor&)>& decode) {
    constexpr int kSamples = 2;
    constexpr int kSize = 16;
    const std::vector<float> latents = smooth_latents(kSamples, kSize);
    const core::Tensor image =
        decode(core::Tensor::from_f32(core::Shape{kSamples, 4, kSize, kSize}, latents)).contiguous();
    if (image.rank() != 4 || image.dim(0) != kSamples || image.dim(1) != 3 || image.dim(2) % kSize != 0 ||
        image.dim(2) != image.dim(3)) {
        core::throw_error(ND_STATUS_INTERNAL_ERROR,
                          "latent preview: the decoder gave {} for {} latents of {}x{}",
                          image.shape().to_string(), kSamples, kSize, kSize);
    }
    const auto factor = static_cast<std::size_t>(image.dim(2) / kSize);
    const auto side = static_cast<std::size_t>(image.dim(2));
    const std::vector<float> pixels = image.to_f32();

    // Normal equations of the least-squares fit, one right-hand side per colour.
    std::array<std::array<double, kFeatures>, kFeatures> ata{};
    std::array<std::array<double, kFeatures>, 3> atb{};
    constexpr auto plane = static_cast<std::size_t>(kSize * kSize);
    for (std::size_t n = 0; n < kSamples; ++n) {
        for (std::size_t y = 0; y < kSize; ++y) {
            for (std::size_t x = 0; x < kSize; ++x) {
                std::array<double, kFeatures> f{};
                for (std::size_t k = 0; k < 4; ++k) {
                    f[k] = latents[(n * 4 + k) * plane + y * kSize + x];
                }
                f[4] = 1.0;
                for (std::size_t c = 0; c < 3; ++c) {
                    double sum = 0.0;
                    for (std::size_t dy = 0; dy < factor; ++dy) {
                        for (std::size_t dx = 0; dx < factor; ++dx) {
                            sum += pixels[((n * 3 + c) * side + y * factor + dy) * side + x * factor + dx];
                        }
                    }
                    const double mean = sum / static_cast<double>(factor * factor);
                    for (std::size_t i = 0; i < kFeatures; ++i) {
                        atb[c][i] += f[i] * mean;
                    }
                }
                for (std::size_t i = 0; i < kFeatures; ++i) {
                    for (std::size_t j = 0; j < kFeatures; ++j) {
                        ata[i][j] += f[i] * f[j];
                    }
                }
            }
        }
    }
    LatentRgbMap map;
    for (std::size_t c = 0; c < 3; ++c) {
        const std::array<double, kFeatures> x = solve(ata, atb[c]);
        for (std::size_t k = 0; k < 4; ++k) {
            map.weight[k][c] = static_cast<float>(x[k]);
        }
        map.bias[c] = static_cast<float>(x[4]);
    }
    return map;
}

Image preview_image(const LatentRgbMap& map, std::span<const float> latents, int width, int height) {
    const auto pixels = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
    std::vector<float> unit(pixels * 3);
    for (std::size_t p = 0; p < pixels; ++p) {
        for (std::size_t c = 0; c < 3; ++c) {
            float v = map.bias[c];
            for (std::size_t k = 0; k < 4; ++k) {
                v += map.weight[k][c] * latents[k * pixels + p];
            }
            unit[p * 3 + c] = v / 2.0F + 0.5F;
        }
    }
    Image image;
    image.width = width;
    image.height = height;
    image.rgb = rgb8_from_unit(unit);
    return image;
}

} // namespace nd::pipeline
