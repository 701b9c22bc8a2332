// The GGUF format (versions 2 and 3, little-endian): a header of typed key/value metadata and tensor
// descriptions, then the tensor data, each tensor at an aligned offset of the data section.
//
// parse_gguf validates everything a later reader relies on: after it returns, every string and count was
// within the file, every tensor has a known engine dtype, a shape whose byte size is exact (rows are whole
// quantization blocks), an aligned offset inside the file, and no two tensors overlap. Each refusal is
// Error(ND_STATUS_INVALID_FORMAT) naming the field or tensor and the byte offset in the file. No count read
// from the file is trusted for an allocation: memory grows only with bytes actually consumed.
//
// Shapes are given OUTERMOST FIRST, like safetensors and core::Tensor. GGUF stores ne[] innermost first
// (ne[0] is the row length); the parser and the writer convert.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/mapped_file.hpp"
#include "native_diffusion.h"

namespace nd::formats {

inline constexpr std::uint32_t kGgufMagic = 0x46554747; // "GGUF" read as a little-endian u32
inline constexpr std::uint64_t kGgufDefaultAlignment = 32;
inline constexpr std::size_t kGgufMaxDims = 4;             // GGML_MAX_DIMS
inline constexpr std::size_t kGgufMaxArrayDepth = 8;       // arrays of arrays, nested at most this deep
inline constexpr std::size_t kGgufMaxKeyBytes = 65535;     // keys and tensor names
// Caps on what a header may declare, so that a hostile file cannot turn a few bytes per item into a large
// multiple in memory (a GgufTensorInfo or a std::string is several times its bytes in the file). Real files
// are far below them: a model has a few thousand tensors, a vocabulary a few hundred thousand strings.
inline constexpr std::uint64_t kGgufMaxTensors = 1 << 20;
inline constexpr std::uint64_t kGgufMaxKeyValues = 1 << 20;
inline constexpr std::uint64_t kGgufMaxArrayItems = 1 << 22; // strings and arrays inside arrays, all together
inline constexpr std::string_view kGgufAlignmentKey = "general.alignment";

// The metadata value types, with the numbers the file uses. GgufValue's alternatives are in this order.
enum class GgufType : std::uint32_t {
    u8 = 0,
    i8 = 1,
    u16 = 2,
    i16 = 3,
    u32 = 4,
    i32 = 5,
    f32 = 6,
    boolean = 7,
    string = 8,
    array = 9,
    u64 = 10,
    i64 = 11,
    f64 = 12,
};

// "uint8", "string", "array"...; "?" for a number outside the enum. Static storage.
const char* gguf_type_name(GgufType type) noexcept;

// An array value: elements of one type, stored compactly in a vector of that type (a file of n bytes never
// becomes more than a small multiple of n in memory). Arrays of arrays hold a vector<GgufArray>.
struct GgufArray {
    using Items = std::variant<std::vector<std::uint8_t>, std::vector<std::int8_t>, std::vector<std::uint16_t>,
                               std::vector<std::int16_t>, std::vector<std::uint32_t>, std::vector<std::int32_t>,
                               std::vector<float>, std::vector<bool>, std::vector<std::string>,
                               std::vector<GgufArray>, std::vector<std::uint64_t>, std::vector<std::int64_t>,
                               std::vector<double>>;

    Items items; // the alternative's index is the element GgufType

    GgufType element_type() const noexcept { return static_cast<GgufType>(items.index()); }
    std::size_t size() const noexcept;
};

// A metadata value; the alternative's index is its GgufType.
using GgufValue = std::variant<std::uint8_t, std::int8_t, std::uint16_t, std::int16_t, std::uint32_t,
                               std::int32_t, float, bool, std::string, GgufArray, std::uint64_t,
                               std::int64_t, double>;

inline GgufType gguf_type_of(const GgufValue& value) noexcept { return static_cast<GgufType>(value.index()); }

// An array value from a vector of any element type GgufArray::Items holds.
template <typename T>
GgufValue gguf_array(std::vector<T> items) {
    return GgufValue(std::in_place_type<GgufArray>, GgufArray{GgufArray::Items(std::move(items))});
}

struct GgufKeyValue {
    std::string key;
    GgufValue value;
    std::uint64_t offset = 0; // of the key in the file, for messages
};

struct GgufTensorInfo {
    std::string name;
    nd_dtype dtype = ND_DTYPE_F32;
    std::uint32_t ggml_type = 0;      // as stored in the file
    std::vector<std::int64_t> shape;  // outermost first; 1 to 4 dimensions, each > 0
    std::uint64_t n_elements = 0;
    std::uint64_t data_offset = 0;    // absolute, from the start of the file
    std::uint64_t data_size = 0;      // bytes
    std::uint64_t info_offset = 0;    // of the tensor's description in the header, for messages
};

struct GgufHeader {
    std::uint32_t version = 3;
    std::uint64_t alignment = kGgufDefaultAlignment;
    std::uint64_t data_start = 0;         // absolute offset of the data section (aligned)
    std::vector<GgufKeyValue> metadata;   // in file order; keys unique
    std::vector<GgufTensorInfo> tensors;  // in file order; names unique

    // Lookups. Absent keys give nullptr / nullopt. A key present with a type the getter cannot return
    // throws Error(ND_STATUS_INVALID_FORMAT) naming the key, the expected and the actual type.
    const GgufKeyValue* find(std::string_view key) const noexcept;
    std::optional<std::string_view> find_string(std::string_view key) const;
    // Integers of any GGUF integer type whose value fits the requested type (a u8 satisfies find_u32; a
    // negative i32 does not and throws).
    std::optional<std::uint32_t> find_u32(std::string_view key) const;
    std::optional<std::uint64_t> find_u64(std::string_view key) const;
    std::optional<std::int64_t> find_i64(std::string_view key) const;
    std::optional<double> find_float(std::string_view key) const; // f32 or f64
    std::optional<bool> find_bool(std::string_view key) const;
    const GgufArray* find_array(std::string_view key) const;
    // An array whose elements are strings (a tokenizer vocabulary, merges).
    const std::vector<std::string>* find_string_array(std::string_view key) const;

    const GgufTensorInfo* find_tensor(std::string_view name) const noexcept;

    // name -> index into tensors; filled by parse_gguf.
    std::unordered_map<std::string, std::size_t> tensor_index;
};

// Validates and describes a whole file held in memory. Throws Error(ND_STATUS_INVALID_FORMAT); a version 1
// file or a big-endian one is refused with a message saying so.
GgufHeader parse_gguf(std::span<const std::byte> whole_file);

// An open file: the mapping and its validated header, which together guarantee valid tensor_data().
class GgufFile {
public:
    // Throws Error(ND_STATUS_IO_ERROR) or Error(ND_STATUS_INVALID_FORMAT); messages start with the path.
    static GgufFile open(const std::string& path);

    const std::string& path() const noexcept { return file_.path(); }
    std::uint64_t file_size() const noexcept { return file_.size(); }
    const GgufHeader& header() const noexcept { return header_; }
    std::uint32_t version() const noexcept { return header_.version; }
    std::span<const GgufTensorInfo> tensors() const noexcept { return header_.tensors; }
    std::span<const GgufKeyValue> metadata() const noexcept { return header_.metadata; }
    const GgufTensorInfo* find_tensor(std::string_view name) const noexcept {
        return header_.find_tensor(name);
    }

    const GgufKeyValue* find(std::string_view key) const noexcept { return header_.find(key); }
    // The typed lookups of GgufHeader, with the path in front of their messages.
    std::optional<std::string_view> find_string(std::string_view key) const;
    std::optional<std::uint32_t> find_u32(std::string_view key) const;
    std::optional<std::uint64_t> find_u64(std::string_view key) const;
    std::optional<std::int64_t> find_i64(std::string_view key) const;
    std::optional<double> find_float(std::string_view key) const;
    std::optional<bool> find_bool(std::string_view key) const;
    const GgufArray* find_array(std::string_view key) const;
    const std::vector<std::string>* find_string_array(std::string_view key) const;

    // The bytes of a tensor of this file (valid while the GgufFile lives; moving it keeps them valid).
    std::span<const std::byte> tensor_data(const GgufTensorInfo& tensor) const noexcept {
        return file_.bytes().subspan(tensor.data_offset, tensor.data_size);
    }
    // The mapping itself, for callers that borrow tensors from it.
    const core::MappedFile& mapping() const noexcept { return file_; }

private:
    GgufFile(core::MappedFile file, GgufHeader header) noexcept
        : file_(std::move(file)), header_(std::move(header)) {}

    core::MappedFile file_;
    GgufHeader header_;
};

} // namespace nd::formats
