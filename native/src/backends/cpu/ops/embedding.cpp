#include "backends/cpu/ops/embedding.hpp"

#include <cmath>
#include <cstring>
#include <vector>

#include "backends/cpu/ops/view_checks.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"

namespace nd::backends::cpu::ops {

namespace {

void check_embedding(const core::TensorView& ids, const core::TensorView& table, const core::TensorView& out) {
    if (ids.dtype != ND_DTYPE_I32 && ids.dtype != ND_DTYPE_I64) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "embedding: ids must be I32 or I64, got {}",
                          core::dtype_name(ids.dtype));
    }
    if (ids.rank < 0 || ids.rank > core::kMaxDims - 1) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "embedding: ids {} must have 0 to 3 dimensions",
                          shape_string(ids));
    }
    require_rank(table, 2, "embedding", "table");
    if (core::dtype_block_elements(table.dtype) == 0 ||
        table.dim(1) % static_cast<std::int64_t>(core::dtype_block_elements(table.dtype)) != 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "embedding: table {} of {} cannot be read as rows",
                          shape_string(table), core::dtype_name(table.dtype));
    }
    require_f32(out, "embedding", "out");
    require_inner_contiguous(out, "embedding", "out");
    const std::int64_t dim = table.dim(1);
    bool ok = out.rank == ids.rank + 1 && out.dim(out.rank - 1) == dim;
    for (int d = 0; ok && d < ids.rank; ++d) {
        ok = out.dim(d) == ids.dim(d);
    }
    if (!ok) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "embedding: out {} should be ids {} plus [{}] (table {})",
                          shape_string(out), shape_string(ids), dim, shape_string(table));
    }
}

// Element e (row-major over ids' shape) of ids, and the matching row of out.
struct Lookup {
    const core::TensorView& ids;
    const core::TensorView& out;
    core::TensorView ids4;
    core::TensorView out4; // out without its last dimension, as 4-D

    Lookup(const core::TensorView& i, const core::TensorView& o) : ids(i), out(o), ids4(as_4d(i)) {
        core::TensorView rows = o;
        rows.rank = o.rank - 1;
        out4 = as_4d(rows);
    }

    void index(std::int64_t e, std::int64_t (&i)[4]) const {
        i[3] = e % ids4.dim(3);
        i[2] = (e / ids4.dim(3)) % ids4.dim(2);
        i[1] = (e / (ids4.dim(3) * ids4.dim(2))) % ids4.dim(1);
        i[0] = e / (ids4.dim(3) * ids4.dim(2) * ids4.dim(1));
    }
    std::int64_t id(std::int64_t e) const {
        std::int64_t i[4];
        index(e, i);
        const std::byte* p =
            ids4.data + i[0] * ids4.stride(0) + i[1] * ids4.stride(1) + i[2] * ids4.stride(2) + i[3] * ids4.stride(3);
        if (ids.dtype == ND_DTYPE_I32) {
            std::int32_t v;
            std::memcpy(&v, p, 4);
            return v;
        }
        std::int64_t v;
        std::memcpy(&v, p, 8);
        return v;
    }
    float* row(std::int64_t e) const {
        std::int64_t i[4];
        index(e, i);
        return reinterpret_cast<float*>(out4.data + i[0] * out4.stride(0) + i[1] * out4.stride(1) +
                                        i[2] * out4.stride(2) + i[3] * out4.stride(3));
    }
};

void check_id(std::int64_t id, std::int64_t e, std::int64_t vocab) {
    if (id < 0 || id >= vocab) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "embedding: id {} at position {} is outside 0..{}", id, e,
                          vocab - 1);
    }
}

void check_timestep(const core::TensorView& timesteps, const core::TensorView& out) {
    require_f32(timesteps, "timestep_embedding", "timesteps");
    require_f32(out, "timestep_embedding", "out");
    require_rank(timesteps, 1, "timestep_embedding", "timesteps");
    require_rank(out, 2, "timestep_embedding", "out");
    if (out.dim(0) != timesteps.dim(0) || out.dim(1) < 2) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "timestep_embedding: out {} should be [{}, dim >= 2] for timesteps {}", shape_string(out),
                          timesteps.dim(0), shape_string(timesteps));
    }
}

} // namespace

void embedding(const core::TensorView& ids, const core::TensorView& table, const core::TensorView& out,
               core::ThreadPool& pool, Isa) {
    check_embedding(ids, table, out);
    const std::int64_t vocab = table.dim(0);
    const std::int64_t dim = table.dim(1);
    const auto row_bytes = core::dtype_row_bytes(table.dtype, static_cast<std::uint64_t>(dim));
    const Lookup lookup(ids, out);
    // Every id first, so that a bad one fails before anything is written.
    const std::int64_t count = ids.elements();
    for (std::int64_t e = 0; e < count; ++e) {
        check_id(lookup.id(e), e, vocab);
    }
    pool.parallel_for(count, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(dim, 1)),
                      [&](std::int64_t begin, std::int64_t end, int) {
                          for (std::int64_t e = begin; e < end; ++e) {
                              quant::dequantize_row(table.dtype,
                                                    std::span(table.data + lookup.id(e) * table.stride(0), row_bytes),
                                                    std::span(lookup.row(e), static_cast<std::size_t>(dim)));
                          }
                      });
}

void embedding_reference(const core::TensorView& ids, const core::TensorView& table, const core::TensorView& out) {
    check_embedding(ids, table, out);
    const std::int64_t dim = table.dim(1);
    const auto row_bytes = core::dtype_row_bytes(table.dtype, static_cast<std::uint64_t>(dim));
    const Lookup lookup(ids, out);
    for (std::int64_t e = 0; e < ids.elements(); ++e) {
        const std::int64_t id = lookup.id(e);
        check_id(id, e, table.dim(0));
        std::vector<float> row(static_cast<std::size_t>(dim));
        quant::dequantize_row(table.dtype, std::span(table.data + id * table.stride(0), row_bytes), std::span(row));
        std::memcpy(lookup.row(e), row.data(), row.size() * sizeof(float));
    }
}

void timestep_embedding(const core::TensorView& timesteps, const TimestepEmbeddingParams& p,
                        const core::TensorView& out) {
    check_timestep(timesteps, out);
    const std::int64_t dim = out.dim(1);
    const std::int64_t half = dim / 2;
    // Each step rounded to float as PyTorch computes it: the exponent (-ln(max_period) as a float times i,
    // divided by half - shift), exp, t · freq, scale · angle.
    const auto log_period = static_cast<float>(-std::log(static_cast<double>(p.max_period)));
    const float divisor = static_cast<float>(half) - p.downscale_freq_shift;
    for (std::int64_t n = 0; n < timesteps.dim(0); ++n) {
        const float t = *reinterpret_cast<const float*>(timesteps.data + n * timesteps.stride(0));
        const auto element = [&](std::int64_t i) -> float& {
            return *reinterpret_cast<float*>(out.data + n * out.stride(0) + i * out.stride(1));
        };
        for (std::int64_t i = 0; i < half; ++i) {
            const float exponent = log_period * static_cast<float>(i) / divisor;
            const float angle = p.scale * (t * std::exp(exponent));
            const float s = std::sin(angle);
            const float c = std::cos(angle);
            element(i) = p.flip_sin_to_cos ? c : s;
            element(half + i) = p.flip_sin_to_cos ? s : c;
        }
        if (dim % 2 == 1) {
            element(dim - 1) = 0.0f;
        }
    }
}

void timestep_embedding(const core::TensorView& timesteps, const TimestepEmbeddingParams& params,
                        const core::TensorView& out, core::ThreadPool&, Isa) {
    timestep_embedding(timesteps, params, out); // [N, 320..1280]: a few microseconds, not worth splitting
}

void timestep_embedding_reference(const core::TensorView& timesteps, const TimestepEmbeddingParams& p,
                                  const core::TensorView& out) {
    check_timestep(timesteps, out);
    const std::int64_t dim = out.dim(1);
    const std::int64_t half = dim / 2;
    for (std::int64_t n = 0; n < timesteps.dim(0); ++n) {
        const double t = *reinterpret_cast<const float*>(timesteps.data + n * timesteps.stride(0));
        for (std::int64_t i = 0; i < dim; ++i) {
            double value = 0.0;
            if (i < 2 * half) {
                const std::int64_t f = i % half;
                const double freq = std::exp(-std::log(static_cast<double>(p.max_period)) * static_cast<double>(f) /
                                             (static_cast<double>(half) - p.downscale_freq_shift));
                const double angle = p.scale * t * freq;
                const bool first = i < half;
                value = first == p.flip_sin_to_cos ? std::cos(angle) : std::sin(angle);
            }
            *reinterpret_cast<float*>(out.data + n * out.stride(0) + i * out.stride(1)) = static_cast<float>(value);
        }
    }
}

} // namespace nd::backends::cpu::ops
