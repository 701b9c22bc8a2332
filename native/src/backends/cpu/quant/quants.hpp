// The GGML block-quantized formats (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K ... Q6_K, Q8_K), bit-compatible with
// GGUF files: the same block structs, and quantizers that produce the same bytes as the reference ones, so
// that files we write load in stable-diffusion.cpp and theirs load here.
#pragma once

#include <cstddef>
#include <span>

#include "native_diffusion.h"

namespace nd::backends::cpu::quant {

// Quantizes one row: src.size() must be a multiple of the type's block and dst.size() must equal
// core::dtype_row_bytes(type, src.size()). Throws nd::core::Error (invalid argument) otherwise.
void quantize_row(nd_dtype type, std::span<const float> src, std::span<std::byte> dst);

// The inverse: every element of dst from the blocks of src (same size rules).
void dequantize_row(nd_dtype type, std::span<const std::byte> src, std::span<float> dst);

} // namespace nd::backends::cpu::quant
