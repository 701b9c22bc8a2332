#include "pipeline/prompt_parser.hpp"

#include <charconv>
#include <optional>

#include "core/error.hpp"
#include "core/utf8.hpp"
#include "text/unicode.hpp"

namespace nd::pipeline {

namespace {

constexpr double kRoundMultiplier = 1.1;
constexpr double kSquareMultiplier = 1.0 / 1.1;
constexpr std::string_view kBreak = "BREAK";

bool is_ascii_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// Bytes taken by white space (as a regex's \s sees it) starting at `pos`.
std::size_t white_space_at(std::string_view text, std::size_t pos) noexcept {
    const auto decoded = core::decode_utf8(text, pos);
    return decoded && text::is_white_space(decoded->code_point) ? decoded->length : 0;
}

std::size_t white_space_run(std::string_view text, std::size_t pos) noexcept {
    std::size_t end = pos;
    while (end < text.size()) {
        const std::size_t length = white_space_at(text, end);
        if (length == 0) {
            break;
        }
        end += length;
    }
    return end - pos;
}

bool is_word_code_point(char32_t c) noexcept {
    return c == U'_' || text::is_letter(c) || text::is_number(c);
}

// Whether the code point ending just before `pos` is a word character (a regex's \w).
bool word_before(std::string_view text, std::size_t pos) noexcept {
    if (pos == 0) {
        return false;
    }
    std::size_t start = pos - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80 && pos - start < 4) {
        --start;
    }
    const auto decoded = core::decode_utf8(text, start);
    return decoded && start + decoded->length == pos && is_word_code_point(decoded->code_point);
}

bool word_at(std::string_view text, std::size_t pos) noexcept {
    const auto decoded = core::decode_utf8(text, pos);
    return decoded && is_word_code_point(decoded->code_point);
}

// The weight group ":<number>)" at `pos`, with optional white space around the number, as the UI's
// pattern accepts it; nullopt if the text there is not one (then ':' is plain text).
struct WeightGroup {
    std::string_view number;
    std::size_t length;
};

std::optional<WeightGroup> weight_group_at(std::string_view text, std::size_t pos) {
    if (text[pos] != ':') {
        return std::nullopt;
    }
    std::size_t i = pos + 1;
    i += white_space_run(text, i);
    const std::size_t number_start = i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
        ++i;
    }
    const std::size_t digits_start = i;
    while (i < text.size() && (is_ascii_digit(text[i]) || text[i] == '.')) {
        ++i;
    }
    if (i == digits_start) {
        return std::nullopt;
    }
    const std::size_t number_end = i;
    i += white_space_run(text, i);
    if (i >= text.size() || text[i] != ')') {
        return std::nullopt;
    }
    return WeightGroup{text.substr(number_start, number_end - number_start), i + 1 - pos};
}

// The number as Python's float() reads it: optional sign, digits with at most one '.', at least one digit.
double parse_weight(std::string_view number, std::size_t offset) {
    std::string_view unsigned_part = number;
    bool negative = false;
    if (!unsigned_part.empty() && (unsigned_part[0] == '+' || unsigned_part[0] == '-')) {
        negative = unsigned_part[0] == '-';
        unsigned_part.remove_prefix(1);
    }
    std::size_t dots = 0;
    std::size_t digits = 0;
    for (const char c : unsigned_part) {
        (c == '.' ? dots : digits) += 1;
    }
    double value = 0.0;
    if (dots <= 1 && digits > 0) {
        const auto [end, ec] =
            std::from_chars(unsigned_part.data(), unsigned_part.data() + unsigned_part.size(), value);
        if (ec == std::errc() && end == unsigned_part.data() + unsigned_part.size()) {
            return negative ? -value : value;
        }
    }
    core::throw_error(ND_STATUS_INVALID_ARGUMENT, "prompt: the weight \"{}\" at byte {} is not a number",
                      number, offset);
}

class Parser {
public:
    explicit Parser(std::string_view prompt) : prompt_(prompt) {}

    std::vector<PromptSpan> run() {
        std::size_t pos = 0;
        while (pos < prompt_.size()) {
            pos = step(pos);
        }
        for (const std::size_t start : round_) {
            multiply_from(start, kRoundMultiplier);
        }
        for (const std::size_t start : square_) {
            multiply_from(start, kSquareMultiplier);
        }
        if (spans_.empty()) {
            spans_.push_back(PromptSpan{});
        }
        return join_equal_weights();
    }

private:
    // Consumes one token of the syntax at `pos`; returns where the next one starts.
    std::size_t step(std::size_t pos) {
        const char c = prompt_[pos];
        if (c == '\\') {
            // An escape keeps the next character if it is one of ( ) [ ] \, else the backslash vanishes.
            const bool escapes = pos + 1 < prompt_.size() &&
                                 std::string_view("()[]\\").find(prompt_[pos + 1]) != std::string_view::npos;
            spans_.push_back(
                PromptSpan{escapes ? std::string(1, prompt_[pos + 1]) : std::string(), 1.0, false});
            return pos + (escapes ? 2 : 1);
        }
        if (c == '(') {
            round_.push_back(spans_.size());
            return pos + 1;
        }
        if (c == '[') {
            square_.push_back(spans_.size());
            return pos + 1;
        }
        if (c == ':') {
            if (const auto group = weight_group_at(prompt_, pos)) {
                if (!round_.empty()) {
                    const double weight = parse_weight(group->number, pos + 1);
                    multiply_from(pop(round_), weight);
                } else {
                    add_text(prompt_.substr(pos, group->length));
                }
                return pos + group->length;
            }
            add_text(prompt_.substr(pos, 1));
            return pos + 1;
        }
        if (c == ')' && !round_.empty()) {
            multiply_from(pop(round_), kRoundMultiplier);
            return pos + 1;
        }
        if (c == ']' && !square_.empty()) {
            multiply_from(pop(square_), kSquareMultiplier);
            return pos + 1;
        }
        if (c == ')' || c == ']') {
            add_text(prompt_.substr(pos, 1));
            return pos + 1;
        }
        const std::size_t end = prompt_.find_first_of("\\()[]:", pos);
        const std::size_t stop = end == std::string_view::npos ? prompt_.size() : end;
        add_text(prompt_.substr(pos, stop - pos));
        return stop;
    }

    static std::size_t pop(std::vector<std::size_t>& stack) {
        const std::size_t top = stack.back();
        stack.pop_back();
        return top;
    }

    void multiply_from(std::size_t start, double multiplier) {
        for (std::size_t i = start; i < spans_.size(); ++i) {
            if (!spans_[i].is_break) {
                spans_[i].weight *= multiplier;
            }
        }
    }

    // Plain text, split at each BREAK that stands as a word; the white space around a BREAK goes with it.
    void add_text(std::string_view text) {
        std::size_t part_start = 0;
        std::size_t search = 0;
        while (true) {
            const std::size_t found = text.find(kBreak, search);
            if (found == std::string_view::npos) {
                break;
            }
            const std::size_t after = found + kBreak.size();
            if (word_before(text, found) || (after < text.size() && word_at(text, after))) {
                search = found + 1;
                continue;
            }
            // The match starts at the white space run before BREAK, but not inside the previous match.
            std::size_t match_start = found;
            while (match_start > part_start) {
                std::size_t prev = match_start - 1;
                while (prev > part_start && (static_cast<unsigned char>(text[prev]) & 0xC0) == 0x80) {
                    --prev;
                }
                if (white_space_at(text, prev) != match_start - prev) {
                    break;
                }
                match_start = prev;
            }
            spans_.push_back(
                PromptSpan{std::string(text.substr(part_start, match_start - part_start)), 1.0, false});
            spans_.push_back(PromptSpan{std::string(kBreak), 1.0, true});
            part_start = after + white_space_run(text, after);
            search = part_start;
        }
        spans_.push_back(PromptSpan{std::string(text.substr(part_start)), 1.0, false});
    }

    std::vector<PromptSpan> join_equal_weights() {
        std::vector<PromptSpan> joined;
        for (PromptSpan& span : spans_) {
            if (!joined.empty() && !span.is_break && !joined.back().is_break &&
                joined.back().weight == span.weight) {
                joined.back().text += span.text;
            } else {
                joined.push_back(std::move(span));
            }
        }
        return joined;
    }

    std::string_view prompt_;
    std::vector<PromptSpan> spans_;
    std::vector<std::size_t> round_;  // span index where each open '(' started
    std::vector<std::size_t> square_; // the same for '['
};

} // namespace

std::vector<PromptSpan> parse_prompt_weights(std::string_view prompt) {
    return Parser(prompt).run();
}

} // namespace nd::pipeline
