// Matmul with block-quantized weights: activations are quantized on the fly to the 8-bit format that pairs
// with the weight type, and blocks are multiplied in integers (AVX-512 VNNI, AVX2 maddubs), so that a
// quantized weight reads fewer bytes AND does cheaper arithmetic than an F16 one.
#pragma once

#include "backends/cpu/matmul.hpp"

namespace nd::backends::cpu::quant {

// matmul() routes here for every block-quantized w_type. Same contract as matmul().
void matmul_quantized(const MatmulArgs& args, core::ThreadPool& pool, Isa isa);

} // namespace nd::backends::cpu::quant
