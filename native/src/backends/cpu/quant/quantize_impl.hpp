// Per-block quantizers and dequantizers behind quants.hpp's row functions; also used by the matmul kernels'
// tests. One pair per format.
#pragma once

#include "backends/cpu/quant/blocks.hpp"

namespace nd::backends::cpu::quant::detail {

void quantize_q8_0(const float* x, BlockQ8_0& b);
void quantize_q4_0(const float* x, BlockQ4_0& b);
void quantize_q4_1(const float* x, BlockQ4_1& b);
void quantize_q5_0(const float* x, BlockQ5_0& b);
void quantize_q5_1(const float* x, BlockQ5_1& b);
void quantize_q2_k(const float* x, BlockQ2_K& b);
void quantize_q3_k(const float* x, BlockQ3_K& b);
void quantize_q4_k(const float* x, BlockQ4_K& b);
void quantize_q5_k(const float* x, BlockQ5_K& b);
void quantize_q6_k(const float* x, BlockQ6_K& b);
void quantize_q8_k(const float* x, BlockQ8_K& b);

void dequantize_q8_0(const BlockQ8_0& b, float* y);
void dequantize_q4_0(const BlockQ4_0& b, float* y);
void dequantize_q4_1(const BlockQ4_1& b, float* y);
void dequantize_q5_0(const BlockQ5_0& b, float* y);
void dequantize_q5_1(const BlockQ5_1& b, float* y);
void dequantize_q2_k(const BlockQ2_K& b, float* y);
void dequantize_q3_k(const BlockQ3_K& b, float* y);
void dequantize_q4_k(const BlockQ4_K& b, float* y);
void dequantize_q5_k(const BlockQ5_K& b, float* y);
void dequantize_q6_k(const BlockQ6_K& b, float* y);
void dequantize_q8_k(const BlockQ8_K& b, float* y);

} // namespace nd::backends::cpu::quant::detail
