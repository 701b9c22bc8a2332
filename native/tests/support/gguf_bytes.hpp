// Builds GGUF files byte by byte, valid or deliberately broken, for the format tests and the fuzz seeds.
// Independent of the engine's writer, so that the writer's output can be compared with the spec as
// written here by hand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace nd::testing {

// GGUF metadata value types and GGML tensor types, as the file stores them.
enum GgufTypeId : std::uint32_t {
    kGgufU8 = 0,
    kGgufI8 = 1,
    kGgufU16 = 2,
    kGgufI16 = 3,
    kGgufU32 = 4,
    kGgufI32 = 5,
    kGgufF32 = 6,
    kGgufBool = 7,
    kGgufString = 8,
    kGgufArray = 9,
    kGgufU64 = 10,
    kGgufI64 = 11,
    kGgufF64 = 12,
};
enum GgmlTypeId : std::uint32_t { kGgmlF32 = 0, kGgmlF16 = 1, kGgmlQ8_0 = 8, kGgmlQ8_1 = 9 };

class GgufBytes {
public:
    template <typename T>
    GgufBytes& put(T value) {
        char raw[sizeof(T)];
        std::memcpy(raw, &value, sizeof(T));
        bytes_.append(raw, sizeof(T));
        return *this;
    }
    GgufBytes& u8(std::uint8_t value) { return put(value); }
    GgufBytes& u32(std::uint32_t value) { return put(value); }
    GgufBytes& u64(std::uint64_t value) { return put(value); }
    GgufBytes& raw(std::string_view text) {
        bytes_.append(text);
        return *this;
    }
    // A GGUF string: u64 length, then the bytes.
    GgufBytes& str(std::string_view text) { return u64(text.size()).raw(text); }

    // Magic, version and the two counts.
    GgufBytes& header(std::uint64_t tensors, std::uint64_t kvs, std::uint32_t version = 3) {
        return raw("GGUF").u32(version).u64(tensors).u64(kvs);
    }
    // A key and its type; the value follows with the plain writers.
    GgufBytes& key(std::string_view name, std::uint32_t type) { return str(name).u32(type); }
    GgufBytes& kv_u32(std::string_view name, std::uint32_t value) { return key(name, kGgufU32).u32(value); }
    GgufBytes& kv_string(std::string_view name, std::string_view value) {
        return key(name, kGgufString).str(value);
    }
    // A tensor description; `ne` innermost first, as the file stores it; `offset` relative to the data.
    GgufBytes& tensor(std::string_view name, const std::vector<std::uint64_t>& ne, std::uint32_t type,
                      std::uint64_t offset) {
        str(name).u32(static_cast<std::uint32_t>(ne.size()));
        for (const std::uint64_t dim : ne) {
            u64(dim);
        }
        return u32(type).u64(offset);
    }
    // Zero bytes up to the next multiple of `alignment`.
    GgufBytes& pad(std::size_t alignment = 32) {
        bytes_.append((alignment - bytes_.size() % alignment) % alignment, '\0');
        return *this;
    }
    // `count` bytes, each its offset in the file modulo 251 (a prime, so a tensor read from a wrong
    // offset shows).
    GgufBytes& data(std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) {
            bytes_.push_back(static_cast<char>(bytes_.size() % 251));
        }
        return *this;
    }

    std::size_t size() const { return bytes_.size(); }
    const std::string& str() const { return bytes_; }

private:
    std::string bytes_;
};

// A small valid file: two metadata values (a string and an array of two strings) and two tensors,
// 'a' F32 outermost-first [2, 3] at data offset 0 and 'b' Q8_0 [1, 32] at data offset 32, nothing after
// the last tensor (so that cutting the file anywhere makes it invalid).
inline std::string small_valid_gguf() {
    GgufBytes file;
    file.header(2, 2)
        .kv_string("general.name", "tiny")
        .key("tokenizer.tokens", kGgufArray)
        .u32(kGgufString)
        .u64(2)
        .str("hi")
        .str("there");
    file.tensor("a", {3, 2}, kGgmlF32, 0).tensor("b", {32, 1}, kGgmlQ8_0, 32).pad();
    file.data(24).raw(std::string(8, '\0')).data(34);
    return file.str();
}

} // namespace nd::testing
