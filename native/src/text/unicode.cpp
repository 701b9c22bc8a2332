#include "text/unicode.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <span>

#include "core/error.hpp"
#include "core/utf8.hpp"

namespace nd::text {

namespace {

struct CodePointRange {
    char32_t first;
    char32_t last;
};

// `count` code points from `first`, every `stride`-th, each lowercasing to itself plus `delta`.
struct LowercaseRun {
    char32_t first;
    std::uint32_t count;
    std::int32_t delta;
    std::uint32_t stride;
};

struct LowercaseExpansion {
    char32_t code_point;
    char32_t lower[3]; // zero-terminated when shorter
};

struct CombiningClassRange {
    char32_t first;
    char32_t last;
    std::uint8_t combining_class;
};

struct CanonicalDecomposition {
    char32_t code_point;
    char32_t first;
    char32_t second; // 0 for a singleton decomposition
};

struct PrimaryComposite {
    char32_t first;
    char32_t second;
    char32_t composite;
};

#include "text/unicode_tables.g.inc"

bool in_ranges(std::span<const CodePointRange> ranges, char32_t c) noexcept {
    const auto it = std::upper_bound(ranges.begin(), ranges.end(), c,
                                     [](char32_t value, const CodePointRange& r) { return value < r.first; });
    return it != ranges.begin() && c <= std::prev(it)->last;
}

// Hangul syllables compose and decompose arithmetically (Unicode chapter 3.12).
constexpr char32_t kHangulBase = 0xAC00;
constexpr char32_t kLeadBase = 0x1100;
constexpr char32_t kVowelBase = 0x1161;
constexpr char32_t kTrailBase = 0x11A7;
constexpr char32_t kLeadCount = 19;
constexpr char32_t kVowelCount = 21;
constexpr char32_t kTrailCount = 28;
constexpr char32_t kSyllableCount = kLeadCount * kVowelCount * kTrailCount;

std::uint8_t combining_class(char32_t c) noexcept {
    if (c < 0x300) {
        return 0;
    }
    const auto it =
        std::upper_bound(std::begin(kCombiningClassRanges), std::end(kCombiningClassRanges), c,
                         [](char32_t value, const CombiningClassRange& r) { return value < r.first; });
    if (it == std::begin(kCombiningClassRanges) || c > std::prev(it)->last) {
        return 0;
    }
    return std::prev(it)->combining_class;
}

void append_decomposed(std::u32string& out, char32_t c) {
    if (c >= kHangulBase && c < kHangulBase + kSyllableCount) {
        const char32_t index = c - kHangulBase;
        out.push_back(kLeadBase + index / (kVowelCount * kTrailCount));
        out.push_back(kVowelBase + (index % (kVowelCount * kTrailCount)) / kTrailCount);
        if (index % kTrailCount != 0) {
            out.push_back(kTrailBase + index % kTrailCount);
        }
        return;
    }
    const auto it = std::lower_bound(
        std::begin(kCanonicalDecompositions), std::end(kCanonicalDecompositions), c,
        [](const CanonicalDecomposition& d, char32_t value) { return d.code_point < value; });
    if (it == std::end(kCanonicalDecompositions) || it->code_point != c) {
        out.push_back(c);
        return;
    }
    // Decompositions nest only a few levels deep (the table is acyclic by construction).
    append_decomposed(out, it->first);
    if (it->second != 0) {
        append_decomposed(out, it->second);
    }
}

char32_t compose_pair(char32_t first, char32_t second) noexcept {
    if (first >= kLeadBase && first < kLeadBase + kLeadCount && second >= kVowelBase &&
        second < kVowelBase + kVowelCount) {
        return kHangulBase + ((first - kLeadBase) * kVowelCount + (second - kVowelBase)) * kTrailCount;
    }
    if (first >= kHangulBase && first < kHangulBase + kSyllableCount &&
        (first - kHangulBase) % kTrailCount == 0 && second > kTrailBase &&
        second < kTrailBase + kTrailCount) {
        return first + (second - kTrailBase);
    }
    const PrimaryComposite key{first, second, 0};
    const auto it = std::lower_bound(std::begin(kPrimaryComposites), std::end(kPrimaryComposites), key,
                                     [](const PrimaryComposite& a, const PrimaryComposite& b) {
                                         return a.first != b.first ? a.first < b.first : a.second < b.second;
                                     });
    if (it == std::end(kPrimaryComposites) || it->first != first || it->second != second) {
        return 0;
    }
    return it->composite;
}

} // namespace

bool is_letter(char32_t c) noexcept {
    if (c < 0x80) {
        return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    }
    return in_ranges(kLetterRanges, c);
}

bool is_number(char32_t c) noexcept {
    if (c < 0x80) {
        return c >= '0' && c <= '9';
    }
    return in_ranges(kNumberRanges, c);
}

bool is_white_space(char32_t c) noexcept {
    return in_ranges(kWhiteSpaceRanges, c);
}

void append_lowercase(std::u32string& out, char32_t c) {
    if (c < 0x80) {
        out.push_back(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
        return;
    }
    for (const LowercaseExpansion& expansion : kLowercaseExpansions) {
        if (expansion.code_point == c) {
            for (const char32_t lower : expansion.lower) {
                if (lower != 0) {
                    out.push_back(lower);
                }
            }
            return;
        }
    }
    const auto it = std::upper_bound(std::begin(kLowercaseRuns), std::end(kLowercaseRuns), c,
                                     [](char32_t value, const LowercaseRun& r) { return value < r.first; });
    if (it != std::begin(kLowercaseRuns)) {
        const LowercaseRun& run = *std::prev(it);
        const char32_t offset = c - run.first;
        if (offset % run.stride == 0 && offset / run.stride < run.count) {
            out.push_back(static_cast<char32_t>(static_cast<std::int64_t>(c) + run.delta));
            return;
        }
    }
    out.push_back(c);
}

std::u32string to_nfc(std::u32string_view text) {
    // Nothing below U+0300 decomposes into, or composes with, anything else (the generator checks).
    if (std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x300; })) {
        return std::u32string(text);
    }
    std::u32string decomposed;
    decomposed.reserve(text.size() + 8);
    for (const char32_t c : text) {
        append_decomposed(decomposed, c);
    }
    // Canonical ordering: a stable sort of each run of non-starters by combining class.
    for (std::size_t i = 0; i < decomposed.size();) {
        if (combining_class(decomposed[i]) == 0) {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < decomposed.size() && combining_class(decomposed[end]) != 0) {
            ++end;
        }
        std::stable_sort(decomposed.begin() + static_cast<std::ptrdiff_t>(i),
                         decomposed.begin() + static_cast<std::ptrdiff_t>(end),
                         [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
        i = end;
    }
    // Canonical composition: each character joins the last starter unless something between blocks it.
    std::u32string out;
    out.reserve(decomposed.size());
    std::size_t starter = std::u32string::npos;
    int last_class = -1; // class of the last character kept after the starter; -1 when none
    for (const char32_t c : decomposed) {
        const int cls = combining_class(c);
        if (starter != std::u32string::npos) {
            const bool blocked = last_class != -1 && (last_class == 0 || last_class >= cls);
            if (!blocked) {
                const char32_t composite = compose_pair(out[starter], c);
                if (composite != 0) {
                    out[starter] = composite;
                    continue;
                }
            }
        }
        if (cls == 0) {
            starter = out.size();
            last_class = -1;
        } else {
            last_class = cls;
        }
        out.push_back(c);
    }
    return out;
}

std::u32string decode_utf8_text(std::string_view text, std::string_view what) {
    std::u32string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
        const auto decoded = core::decode_utf8(text, pos);
        if (!decoded) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: invalid UTF-8 at byte {}", what, pos);
        }
        out.push_back(decoded->code_point);
        pos += decoded->length;
    }
    return out;
}

} // namespace nd::text
