// exp, exp2, the normal CDF and the activations built on them, written once over the vector types of simd.hpp
// so that every ISA variant computes the same polynomials (and the scalar build is the same math, one lane
// at a time). Accuracy, measured against double-precision std:: functions in tests/backends/cpu/ops:
//
//   exp, exp2    about 2 ulp (Cody-Waite reduction, degree-7 polynomial, exact scaling by 2^n with gradual
//                underflow and overflow to infinity, like std::exp)
//   normal_cdf   Φ(x) = erfc(-x/√2)/2 with relative error below 1e-6 on both tails: erf(z) = z·P(z²) for
//                |z| < 0.84375, erfc(z) = e^(-z²)·Q(1/(1 + z/2)) beyond, with e^(-z²) from an exact split of
//                z², so that GELU of large negative inputs keeps its digits (1 + erf(x) would cancel them)
//   sigmoid      1/(1 + e^-x)
//
// GELU's tanh form uses 0.5·(1 + tanh(y)) = sigmoid(2y), an identity, so no tanh is evaluated: it would cancel
// near y = -inf the same way 1 + erf does. The polynomial coefficients are Chebyshev fits of our own
// (mpmath.chebyfit: erf(√u)/√u on u in [0, 0.84375²] degree 5, erfc(z)·e^(z²) on t = 1/(1 + z/2) for z in
// [0.84375, 10] degree 9; the fit error is below 4e-9 relative, under float rounding).
#pragma once

namespace nd::backends::cpu::ops::vmath {

inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693145751953125f; // ln 2 split in two, so that n·kLn2Hi is exact
inline constexpr float kLn2Lo = 1.42860682030941723212e-6f;
inline constexpr float kSqrtHalf = 0.70710678118654752440f;
inline constexpr float kSqrt2OverPi = 0.79788456080286535588f;

// e^r for |r| <= ln2/2 (Taylor to degree 7: truncation error 5e-9 there).
template <typename V>
inline V exp_reduced(V r) noexcept {
    V p = V::set1(1.0f / 5040.0f);
    p = V::fmadd(p, r, V::set1(1.0f / 720.0f));
    p = V::fmadd(p, r, V::set1(1.0f / 120.0f));
    p = V::fmadd(p, r, V::set1(1.0f / 24.0f));
    p = V::fmadd(p, r, V::set1(1.0f / 6.0f));
    p = V::fmadd(p, r, V::set1(0.5f));
    p = V::fmadd(p, r, V::set1(1.0f));
    return V::fmadd(p, r, V::set1(1.0f));
}

template <typename V>
inline V exp(V x) noexcept {
    const V xc = V::min(V::max(x, V::set1(-104.0f)), V::set1(88.8f)); // beyond: 0 and infinity anyway
    const V n = V::round(V::mul(xc, V::set1(kLog2e)));
    V r = V::fnmadd(n, V::set1(kLn2Hi), xc);
    r = V::fnmadd(n, V::set1(kLn2Lo), r);
    return V::ldexp(exp_reduced(r), n);
}

// 2^x. Attention scores are kept in log2 units so that this is their exponential.
template <typename V>
inline V exp2(V x) noexcept {
    const V xc = V::min(V::max(x, V::set1(-150.0f)), V::set1(128.5f));
    const V n = V::round(xc);
    const V f = V::sub(xc, n); // exact, |f| <= 0.5
    return V::ldexp(exp_reduced(V::mul(f, V::set1(kLn2Hi + kLn2Lo))), n);
}

template <typename V>
inline V sigmoid(V x) noexcept {
    const V one = V::set1(1.0f);
    return V::div(one, V::add(one, exp(V::sub(V::zero(), x))));
}

// Φ(x), the standard normal CDF.
template <typename V>
inline V normal_cdf(V x) noexcept {
    const V half = V::set1(0.5f);
    const V xc = V::min(V::max(x, V::set1(-20.0f)), V::set1(20.0f)); // Φ is 0 or 1 in float beyond
    const V z = V::mul(V::abs(xc), V::set1(kSqrtHalf));
    // z² = x²/2 from x, not from the rounded z (whose error z²·1e-7 would show in e^(-z²)): hi + lo exactly.
    const V xx = V::mul(xc, xc);
    const V hi = V::mul(xx, half);
    const V lo = V::mul(V::product_error(xc, xc, xx), half);
    // Near zero: erf(z) = z·P(z²).
    const V u = hi;
    V p = V::set1(-0.00063530605602747592f);
    p = V::fmadd(p, u, V::set1(0.0050574433273660713f));
    p = V::fmadd(p, u, V::set1(-0.026806251301416637f));
    p = V::fmadd(p, u, V::set1(0.11282805217978197f));
    p = V::fmadd(p, u, V::set1(-0.37612579098186351f));
    p = V::fmadd(p, u, V::set1(1.1283791611896149f));
    const V erf_small = V::mul(z, p);
    // Beyond: erfc(z) = e^(-z²)·Q(t), t = 1/(1 + z/2), e^(-z²) = e^(-hi)·(1 - lo).
    const V t = V::div(V::set1(1.0f), V::fmadd(z, half, V::set1(1.0f)));
    V q = V::set1(-0.076591039585921878f);
    q = V::fmadd(q, t, V::set1(0.36056724122402655f));
    q = V::fmadd(q, t, V::set1(-0.62815509448632184f));
    q = V::fmadd(q, t, V::set1(0.4242724747791763f));
    q = V::fmadd(q, t, V::set1(-0.11970964475362229f));
    q = V::fmadd(q, t, V::set1(0.24025961062290943f));
    q = V::fmadd(q, t, V::set1(0.23352427110530198f));
    q = V::fmadd(q, t, V::set1(0.28385835171438012f));
    q = V::fmadd(q, t, V::set1(0.28196017601395875f));
    q = V::fmadd(q, t, V::set1(4.4976348809935315e-6f));
    const V e = V::mul(exp(V::sub(V::zero(), hi)), V::sub(V::set1(1.0f), lo));
    const V erfc_large = V::mul(e, q);
    // Φ = 1/2 + erf(z)/2 or 1 - erfc(z)/2 for x >= 0; 1/2 - erf(z)/2 or erfc(z)/2 for x < 0.
    // upper = 1 - Φ(|x|): (1 - erf(z))/2 near zero, erfc(z)/2 beyond.
    const V upper = V::select_lt(z, V::set1(0.84375f), V::fnmadd(half, erf_small, half), V::mul(half, erfc_large));
    // Φ(x) = 1 - upper for x >= 0, upper for x < 0.
    return V::select_lt(x, V::zero(), upper, V::sub(V::set1(1.0f), upper));
}

template <typename V>
inline V silu(V x) noexcept {
    return V::mul(x, sigmoid(x));
}

template <typename V>
inline V gelu_erf(V x) noexcept {
    return V::mul(x, normal_cdf(x));
}

template <typename V>
inline V gelu_tanh(V x) noexcept {
    // 0.5·x·(1 + tanh(y)) = x·sigmoid(2y), y = √(2/π)·(x + 0.044715·x³); 2y as x·(c + c·0.044715·x²) in three
    // roundings, since for negative x its error is what limits the result's relative accuracy.
    constexpr float c = 2.0f * kSqrt2OverPi;
    const V two_y = V::mul(x, V::fmadd(V::mul(x, x), V::set1(c * 0.044715f), V::set1(c)));
    return V::mul(x, sigmoid(two_y));
}

template <typename V>
inline V quick_gelu(V x) noexcept {
    return V::mul(x, sigmoid(V::mul(x, V::set1(1.702f))));
}

} // namespace nd::backends::cpu::ops::vmath
