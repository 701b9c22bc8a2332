#include "backends/cpu/ops/embedding.hpp"

#include <cmath>
#include <cstring>

#include "backends/cpu/ops/view_checks.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"

namespace nd::backends::cpu::ops {

void embedding(const core::TensorView& ids, const core::TensorView& table, const core::TensorView& out,
               core::ThreadPool& pool, Isa) {
    if (ids.dtype != ND_DTYPE_I32 && ids.dtype != ND_DTYPE_I64) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "embedding: ids must be I32 or I64, got {}",
                          core::dtype_name(ids.dtype));
    }
    require_rank(table, 2, "embedding", "table");
    require_f32(out, "embedding", "out");
    require_inner_contiguous(out, "embedding", "out");
    const std::int64_t vocab = table.dim(0);
    const std::int64_t dim = table.dim(1);
    bool ok = out.rank == ids.rank + 1 && out.dim(out.rank - 1) == dim;
    for (int d = 0; ok && d < ids.rank; ++d) {
        ok = out.dim(d) == ids.dim(d);
    }
    if (!ok) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "embedding: out {} should be ids {} plus [{}]",
                          shape_string(out), shape_string(ids), dim);
    }
    const core::TensorView ids4 = as_4d(ids);
    const std::int64_t count = ids.elements();
    const auto row_bytes = core::dtype_row_bytes(table.dtype, static_cast<std::uint64_t>(dim));
    pool.parallel_for(count, 16, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t e = begin; e < end; ++e) {
            const std::int64_t i3 = e % ids4.dim(3);
            const std::int64_t i2 = (e / ids4.dim(3)) % ids4.dim(2);
            const std::int64_t i1 = (e / (ids4.dim(3) * ids4.dim(2))) % ids4.dim(1);
            const std::int64_t i0 = e / (ids4.dim(3) * ids4.dim(2) * ids4.dim(1));
            const std::byte* p = ids4.data + i0 * ids4.strides[0] + i1 * ids4.strides[1] + i2 * ids4.strides[2] +
                                 i3 * ids4.strides[3];
            std::int64_t id = 0;
            if (ids.dtype == ND_DTYPE_I32) {
                std::int32_t v;
                std::memcpy(&v, p, 4);
                id = v;
            } else {
                std::memcpy(&id, p, 8);
            }
            if (id < 0 || id >= vocab) {
                core::throw_error(ND_STATUS_INVALID_ARGUMENT, "embedding: id {} at position {} is outside 0..{}",
                                  id, e, vocab - 1);
            }
            float* dst = reinterpret_cast<float*>(out.data) + e * dim; // out rows are contiguous per id
            quant::dequantize_row(table.dtype, std::span(table.data + id * table.stride(0), row_bytes),
                                  std::span(dst, static_cast<std::size_t>(dim)));
        }
    });
}

void timestep_embedding(const core::TensorView& timesteps, const TimestepEmbeddingParams& p,
                        const core::TensorView& out) {
    require_f32(timesteps, "timestep_embedding", "timesteps");
    require_f32(out, "timestep_embedding", "out");
    require_rank(timesteps, 1, "timestep_embedding", "timesteps");
    require_rank(out, 2, "timestep_embedding", "out");
    if (out.dim(0) != timesteps.dim(0) || out.dim(1) < 2) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "timestep_embedding: out {} does not fit timesteps {}",
                          shape_string(out), shape_string(timesteps));
    }
    const std::int64_t dim = out.dim(1);
    const std::int64_t half = dim / 2;
    for (std::int64_t n = 0; n < timesteps.dim(0); ++n) {
        const float t = *reinterpret_cast<const float*>(timesteps.data + n * timesteps.stride(0));
        float* row = reinterpret_cast<float*>(out.data + n * out.stride(0));
        for (std::int64_t i = 0; i < half; ++i) {
            // Computed in float, as diffusers does, so that large timesteps round the same way.
            const float exponent = -std::log(p.max_period) * static_cast<float>(i) /
                                   (static_cast<float>(half) - p.downscale_freq_shift);
            const float angle = t * std::exp(exponent);
            const float s = std::sin(angle);
            const float c = std::cos(angle);
            row[i] = p.flip_sin_to_cos ? c : s;
            row[half + i] = p.flip_sin_to_cos ? s : c;
        }
        if (dim % 2 == 1) {
            row[dim - 1] = 0.0f;
        }
    }
}

} // namespace nd::backends::cpu::ops
