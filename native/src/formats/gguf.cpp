#include "formats/gguf.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>
#include <unordered_set>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/utf8.hpp"
#include "formats/ggml_type.hpp"

namespace nd::formats {

using core::format;

static_assert(std::endian::native == std::endian::little, "the GGUF reader copies little-endian values as is");

namespace {

// Every refusal starts with "gguf: ", so a message read far from its cause still names the format.
template <typename... Args>
[[noreturn]] void refuse(core::FormatString<std::type_identity_t<Args>...> text, const Args&... args) {
    core::throw_invalid_format("gguf: {}", format(text, args...));
}

// The smallest number of bytes one item can take in the file, so that a count can be checked against the
// bytes left before anything is allocated for it.
constexpr std::uint64_t kMinKeyValueBytes = 8 + 1 + 4 + 1;                 // key length, key, type, u8 value
constexpr std::uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;       // name, n_dims, one dim, type, offset
constexpr std::size_t kHeaderFixedBytes = 4 + 4 + 8 + 8;                   // magic, version, two counts

std::uint64_t min_value_bytes(GgufType type) noexcept {
    switch (type) {
    case GgufType::u8:
    case GgufType::i8:
    case GgufType::boolean:
        return 1;
    case GgufType::u16:
    case GgufType::i16:
        return 2;
    case GgufType::u32:
    case GgufType::i32:
    case GgufType::f32:
        return 4;
    case GgufType::u64:
    case GgufType::i64:
    case GgufType::f64:
    case GgufType::string:
        return 8; // a string is at least its length
    case GgufType::array:
        return 4 + 8; // element type and count
    }
    return 1;
}

constexpr std::uint32_t kTypeCount = 13;

// Reads the file front to back; every read is bounds-checked and names what it was reading.
class Cursor {
public:
    explicit Cursor(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}

    std::uint64_t position() const noexcept { return pos_; }
    std::uint64_t remaining() const noexcept { return bytes_.size() - pos_; }

    void need(std::uint64_t count, std::string_view what) const {
        if (count > remaining()) {
            refuse("the file ends inside {} (at byte {}): {} bytes needed, {} left in the {}-byte file", what,
                   pos_, count, remaining(), bytes_.size());
        }
    }

    template <typename T>
    T read(std::string_view what) {
        need(sizeof(T), what);
        T value;
        std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return value;
    }

    template <typename T>
    void read_into(std::vector<T>& out, std::uint64_t count, std::string_view what) {
        need(count * sizeof(T), what); // count was checked against remaining() / sizeof(T)
        if (count == 0) {
            return; // an empty vector's data() may be null, which memcpy must not see
        }
        out.resize(static_cast<std::size_t>(count));
        std::memcpy(out.data(), bytes_.data() + pos_, static_cast<std::size_t>(count) * sizeof(T));
        pos_ += count * sizeof(T);
    }

    // A GGUF string: u64 length, then that many bytes (no terminator).
    std::string read_string(std::string_view what) {
        const std::uint64_t at = pos_;
        const auto length = read<std::uint64_t>(what);
        if (length > remaining()) {
            refuse("{} (at byte {}) claims {} bytes, but only {} bytes are left in the {}-byte file", what, at,
                   length, remaining(), bytes_.size());
        }
        std::string text(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<std::size_t>(length));
        pos_ += length;
        return text;
    }

private:
    std::span<const std::byte> bytes_;
    std::uint64_t pos_ = 0;
};

// Keys and tensor names are handed out as C strings and printed in messages.
void check_name(const std::string& name, std::string_view what, std::uint64_t offset) {
    if (name.empty()) {
        refuse("{} (at byte {}) is empty", what, offset);
    }
    if (name.size() > kGgufMaxKeyBytes) {
        refuse("{} (at byte {}) is {} bytes long; at most {} are allowed", what, offset, name.size(),
               kGgufMaxKeyBytes);
    }
    if (const auto bad = core::find_invalid_utf8(name)) {
        refuse("{} (at byte {}) is not valid UTF-8 (at byte {})", what, offset, offset + 8 + *bad);
    }
    if (name.find('\0') != std::string::npos) {
        refuse("{} '{}' (at byte {}) contains a NUL character", what, name.c_str(), offset);
    }
}

GgufType read_type(Cursor& cursor, std::string_view what) {
    const std::uint64_t at = cursor.position();
    const auto type = cursor.read<std::uint32_t>(what);
    if (type >= kTypeCount) {
        refuse("{} (at byte {}) is {}, not a GGUF value type (0 to {})", what, at, type, kTypeCount - 1);
    }
    return static_cast<GgufType>(type);
}

// Strings and arrays met inside arrays so far, against kGgufMaxArrayItems.
struct ItemBudget {
    std::uint64_t used = 0;
};

GgufArray read_array(Cursor& cursor, const std::string& key, std::size_t depth, ItemBudget& budget);

template <typename T>
void read_plain_array(Cursor& cursor, GgufArray& array, std::uint64_t count, const std::string& key) {
    std::vector<T> items;
    cursor.read_into(items, count, format("the elements of array '{}'", key));
    array.items = std::move(items);
}

bool read_bool(Cursor& cursor, const std::string& key) {
    const std::uint64_t at = cursor.position();
    const auto byte = cursor.read<std::uint8_t>(format("bool value of '{}'", key));
    if (byte > 1) {
        refuse("bool value of '{}' (at byte {}) is {}, not 0 or 1", key, at, byte);
    }
    return byte == 1;
}

GgufArray read_array(Cursor& cursor, const std::string& key, std::size_t depth, ItemBudget& budget) {
    const std::uint64_t at = cursor.position();
    if (depth > kGgufMaxArrayDepth) {
        refuse("array '{}' (at byte {}) nests arrays more than {} deep", key, at, kGgufMaxArrayDepth);
    }
    const GgufType type = read_type(cursor, format("the element type of array '{}'", key));
    const auto count = cursor.read<std::uint64_t>(format("the element count of array '{}'", key));
    if ((type == GgufType::string || type == GgufType::array) && count > kGgufMaxArrayItems - budget.used) {
        refuse("array '{}' (at byte {}) claims {} elements of {}, over the limit of {} strings and arrays inside "
               "the arrays of one file ({} used before it)",
               key, at, count, gguf_type_name(type), kGgufMaxArrayItems, budget.used);
    }
    if (type == GgufType::string || type == GgufType::array) {
        budget.used += count;
    }
    if (count > cursor.remaining() / min_value_bytes(type)) {
        refuse("array '{}' (at byte {}) claims {} elements of {}, more than the {} bytes left in the file can "
               "hold",
               key, at, count, gguf_type_name(type), cursor.remaining());
    }
    GgufArray array;
    switch (type) {
    case GgufType::u8: read_plain_array<std::uint8_t>(cursor, array, count, key); break;
    case GgufType::i8: read_plain_array<std::int8_t>(cursor, array, count, key); break;
    case GgufType::u16: read_plain_array<std::uint16_t>(cursor, array, count, key); break;
    case GgufType::i16: read_plain_array<std::int16_t>(cursor, array, count, key); break;
    case GgufType::u32: read_plain_array<std::uint32_t>(cursor, array, count, key); break;
    case GgufType::i32: read_plain_array<std::int32_t>(cursor, array, count, key); break;
    case GgufType::f32: read_plain_array<float>(cursor, array, count, key); break;
    case GgufType::u64: read_plain_array<std::uint64_t>(cursor, array, count, key); break;
    case GgufType::i64: read_plain_array<std::int64_t>(cursor, array, count, key); break;
    case GgufType::f64: read_plain_array<double>(cursor, array, count, key); break;
    case GgufType::boolean: {
        std::vector<bool> items(static_cast<std::size_t>(count)); // count <= bytes left
        for (std::uint64_t i = 0; i < count; ++i) {
            items[i] = read_bool(cursor, key);
        }
        array.items = std::move(items);
        break;
    }
    case GgufType::string: {
        // Grown as strings are read, never reserved from the count: memory follows the bytes consumed.
        std::vector<std::string> items;
        const std::string what = format("a string of array '{}'", key);
        for (std::uint64_t i = 0; i < count; ++i) {
            items.push_back(cursor.read_string(what));
        }
        array.items = std::move(items);
        break;
    }
    case GgufType::array: {
        std::vector<GgufArray> items;
        for (std::uint64_t i = 0; i < count; ++i) {
            items.push_back(read_array(cursor, key, depth + 1, budget));
        }
        array.items = std::move(items);
        break;
    }
    }
    return array;
}

GgufValue read_value(Cursor& cursor, GgufType type, const std::string& key, ItemBudget& budget) {
    const std::string what = format("the value of '{}'", key);
    switch (type) {
    case GgufType::u8: return cursor.read<std::uint8_t>(what);
    case GgufType::i8: return cursor.read<std::int8_t>(what);
    case GgufType::u16: return cursor.read<std::uint16_t>(what);
    case GgufType::i16: return cursor.read<std::int16_t>(what);
    case GgufType::u32: return cursor.read<std::uint32_t>(what);
    case GgufType::i32: return cursor.read<std::int32_t>(what);
    case GgufType::f32: return cursor.read<float>(what);
    case GgufType::boolean: return read_bool(cursor, key);
    case GgufType::string: return cursor.read_string(what);
    case GgufType::array: return read_array(cursor, key, 1, budget);
    case GgufType::u64: return cursor.read<std::uint64_t>(what);
    case GgufType::i64: return cursor.read<std::int64_t>(what);
    case GgufType::f64: return cursor.read<double>(what);
    }
    refuse("the value of '{}' has an unknown type", key); // unreachable: read_type checked it
}

std::string shape_text(std::span<const std::int64_t> shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        text += format("{}{}", i == 0 ? "" : ", ", shape[i]);
    }
    return text + "]";
}

void check_version(Cursor& cursor, GgufHeader& header) {
    const auto version = cursor.read<std::uint32_t>("the version");
    if (version == 2 || version == 3) {
        header.version = version;
        return;
    }
    if (version == 1) {
        refuse("version 1 (bytes 4-7) is not supported: it predates GGUF v2 (August 2023) and uses 32-bit "
               "counts; re-convert the model with a current tool");
    }
    if (version == 0x02000000 || version == 0x03000000) {
        refuse("the version (bytes 4-7) reads as {} big-endian: big-endian GGUF files are not supported",
               version >> 24);
    }
    refuse("unsupported version {} (bytes 4-7); this reader knows versions 2 and 3", version);
}

void read_metadata(Cursor& cursor, GgufHeader& header, std::uint64_t count) {
    std::unordered_set<std::string> keys;
    ItemBudget budget;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t at = cursor.position();
        std::string key = cursor.read_string(format("key {} of {}", i, count));
        check_name(key, format("key {}", i), at);
        if (!keys.insert(key).second) {
            refuse("key '{}' (at byte {}) appears twice", key, at);
        }
        const GgufType type = read_type(cursor, format("the type of '{}'", key));
        GgufValue value = read_value(cursor, type, key, budget);
        header.metadata.push_back({std::move(key), std::move(value), at});
    }
}

void read_alignment(GgufHeader& header) {
    const GgufKeyValue* entry = header.find(kGgufAlignmentKey);
    if (entry == nullptr) {
        return;
    }
    const auto* value = std::get_if<std::uint32_t>(&entry->value);
    if (value == nullptr) {
        refuse("'{}' (at byte {}) must be a uint32, not {}", kGgufAlignmentKey, entry->offset,
               gguf_type_name(gguf_type_of(entry->value)));
    }
    if (!std::has_single_bit(*value)) {
        refuse("'{}' (at byte {}) is {}, not a power of two", kGgufAlignmentKey, entry->offset, *value);
    }
    header.alignment = *value;
}

// A tensor's description, checked on its own; where its data lies is checked once the data start is known.
GgufTensorInfo read_tensor_info(Cursor& cursor, const GgufHeader& header, std::uint64_t index,
                                std::uint64_t count) {
    GgufTensorInfo tensor;
    tensor.info_offset = cursor.position();
    const std::uint64_t at = tensor.info_offset;
    tensor.name = cursor.read_string(format("the name of tensor {} of {}", index, count));
    check_name(tensor.name, format("the name of tensor {}", index), at);
    const std::string& name = tensor.name;

    const std::uint64_t dims_at = cursor.position();
    const auto n_dims = cursor.read<std::uint32_t>(format("the dimension count of tensor '{}'", name));
    if (n_dims < 1 || n_dims > kGgufMaxDims) {
        refuse("tensor '{}' has {} dimensions (at byte {}); 1 to {} are allowed", name, n_dims, dims_at,
               kGgufMaxDims);
    }
    std::uint64_t n_elements = 1;
    bool overflow = false;
    tensor.shape.assign(n_dims, 0);
    for (std::uint32_t i = 0; i < n_dims; ++i) {
        const std::uint64_t dim_at = cursor.position();
        const auto dim = cursor.read<std::uint64_t>(format("dimension {} of tensor '{}'", i, name));
        if (dim == 0 || dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            refuse("tensor '{}': ne[{}] (at byte {}) is {}; a dimension must be between 1 and 2^63-1", name, i,
                   dim_at, dim);
        }
        tensor.shape[n_dims - 1 - i] = static_cast<std::int64_t>(dim); // ne[0] is innermost
        overflow = overflow || __builtin_mul_overflow(n_elements, dim, &n_elements);
    }
    if (overflow) {
        refuse("tensor '{}': shape {} (at byte {}) has more elements than fit in 64 bits", name,
               shape_text(tensor.shape), dims_at);
    }
    tensor.n_elements = n_elements;

    const std::uint64_t type_at = cursor.position();
    tensor.ggml_type = cursor.read<std::uint32_t>(format("the type of tensor '{}'", name));
    const auto dtype = dtype_from_ggml_type(tensor.ggml_type);
    if (!dtype) {
        const char* type_name = ggml_type_name(tensor.ggml_type);
        if (type_name != nullptr) {
            core::throw_error(ND_STATUS_UNSUPPORTED,
                              "gguf: unsupported tensor type {} ({}) in tensor '{}' (at byte {}); this engine "
                              "reads F32, F16, BF16, F64, I8-I64, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and Q2_K-Q8_K",
                              tensor.ggml_type, type_name, name, type_at);
        }
        refuse("tensor '{}' has unknown ggml type {} (at byte {})", name, tensor.ggml_type, type_at);
    }
    tensor.dtype = *dtype;

    const std::uint64_t row = static_cast<std::uint64_t>(tensor.shape.back());
    const std::size_t block = core::dtype_block_elements(tensor.dtype);
    if (row % block != 0) {
        refuse("tensor '{}': rows of {} elements (ne[0], at byte {}) are not whole {} blocks of {}", name, row,
               dims_at + 4, core::dtype_name(tensor.dtype), block);
    }
    const std::uint64_t row_bytes = row / block * core::dtype_block_bytes(tensor.dtype);
    if (__builtin_mul_overflow(row_bytes, n_elements / row, &tensor.data_size)) {
        refuse("tensor '{}': shape {} of {} is more bytes than fit in 64 bits (at byte {})", name,
               shape_text(tensor.shape), core::dtype_name(tensor.dtype), dims_at);
    }

    const std::uint64_t offset_at = cursor.position();
    tensor.data_offset = cursor.read<std::uint64_t>(format("the data offset of tensor '{}'", name));
    if (tensor.data_offset % header.alignment != 0) {
        refuse("tensor '{}': data offset {} (at byte {}) is not a multiple of the alignment {}", name,
               tensor.data_offset, offset_at, header.alignment);
    }
    return tensor;
}

// Makes data offsets absolute and checks that every tensor lies inside the file, apart from the others.
void place_tensors(GgufHeader& header, std::uint64_t file_size) {
    if (header.tensors.empty()) {
        return;
    }
    if (header.data_start > file_size) {
        refuse("the data section would start at byte {} (the header ends at an unaligned offset and is padded "
               "to {}), past the end of the {}-byte file",
               header.data_start, header.alignment, file_size);
    }
    const std::uint64_t data_bytes = file_size - header.data_start;
    for (GgufTensorInfo& tensor : header.tensors) {
        if (tensor.data_offset > data_bytes || tensor.data_size > data_bytes - tensor.data_offset) {
            refuse("tensor '{}' (described at byte {}) needs {} bytes at data offset {}, past the end of the "
                   "data section ({} bytes from byte {})",
                   tensor.name, tensor.info_offset, tensor.data_size, tensor.data_offset, data_bytes,
                   header.data_start);
        }
        tensor.data_offset += header.data_start;
    }
    std::vector<const GgufTensorInfo*> sorted;
    sorted.reserve(header.tensors.size());
    for (const GgufTensorInfo& tensor : header.tensors) {
        sorted.push_back(&tensor);
    }
    std::sort(sorted.begin(), sorted.end(), [](const GgufTensorInfo* a, const GgufTensorInfo* b) {
        return a->data_offset < b->data_offset;
    });
    for (std::size_t i = 1; i < sorted.size(); ++i) {
        const GgufTensorInfo& previous = *sorted[i - 1];
        const GgufTensorInfo& next = *sorted[i];
        if (next.data_offset < previous.data_offset + previous.data_size) {
            refuse("tensors '{}' [{}, {}) and '{}' [{}, {}) overlap (file offsets; described at bytes {} and "
                   "{})",
                   previous.name, previous.data_offset, previous.data_offset + previous.data_size, next.name,
                   next.data_offset, next.data_offset + next.data_size, previous.info_offset,
                   next.info_offset);
        }
    }
}

// Integers of every GGUF type, as sign and magnitude, for the widening getters.
struct Integer {
    bool negative = false;
    std::uint64_t magnitude = 0;
};

std::optional<Integer> as_integer(const GgufValue& value) noexcept {
    return std::visit(
        [](const auto& v) -> std::optional<Integer> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                if constexpr (std::is_signed_v<T>) {
                    if (v < 0) {
                        return Integer{true, static_cast<std::uint64_t>(-(static_cast<std::int64_t>(v) + 1)) + 1};
                    }
                }
                return Integer{false, static_cast<std::uint64_t>(v)};
            } else {
                return std::nullopt;
            }
        },
        value);
}

[[noreturn]] void refuse_type(const GgufKeyValue& entry, std::string_view expected) {
    refuse("key '{}' (at byte {}) is {}, not {}", entry.key, entry.offset,
           gguf_type_name(gguf_type_of(entry.value)), expected);
}

Integer require_integer(const GgufKeyValue& entry, std::string_view expected) {
    const auto integer = as_integer(entry.value);
    if (!integer) {
        refuse_type(entry, expected);
    }
    return *integer;
}

} // namespace

const char* gguf_type_name(GgufType type) noexcept {
    switch (type) {
    case GgufType::u8: return "uint8";
    case GgufType::i8: return "int8";
    case GgufType::u16: return "uint16";
    case GgufType::i16: return "int16";
    case GgufType::u32: return "uint32";
    case GgufType::i32: return "int32";
    case GgufType::f32: return "float32";
    case GgufType::boolean: return "bool";
    case GgufType::string: return "string";
    case GgufType::array: return "array";
    case GgufType::u64: return "uint64";
    case GgufType::i64: return "int64";
    case GgufType::f64: return "float64";
    }
    return "?";
}

std::size_t GgufArray::size() const noexcept {
    return std::visit([](const auto& vector) { return vector.size(); }, items);
}

const GgufKeyValue* GgufHeader::find(std::string_view key) const noexcept {
    const auto found = std::find_if(metadata.begin(), metadata.end(),
                                    [key](const GgufKeyValue& entry) { return entry.key == key; });
    return found != metadata.end() ? &*found : nullptr;
}

std::optional<std::string_view> GgufHeader::find_string(std::string_view key) const {
    const GgufKeyValue* entry = find(key);
    if (entry == nullptr) {
        return std::nullopt;
    }
    const auto* text = std::get_if<std::string>(&entry->value);
    if (text == nullptr) {
        refuse_type(*entry, "a string");
    }
    return std::string_view(*text);
}

std::optional<std::uint64_t> GgufHeader::find_u64(std::string_view key) const {
    const GgufKeyValue* entry = find(key);
    if (entry == nullptr) {
        return std::nullopt;
    }
    const Integer integer = require_integer(*entry, "an unsigned integer");
    if (integer.negative) {
        refuse("key '{}' (at byte {}) is -{}, not an unsigned integer", entry->key, entry->offset,
               integer.magnitude);
    }
    return integer.magnitude;
}

std::optional<std::uint32_t> GgufHeader::find_u32(std::string_view key) const {
    const auto value = find_u64(key);
    if (value && *value > std::numeric_limits<std::uint32_t>::max()) {
        refuse("key '{}' (at byte {}) is {}, more than a uint32 holds", key, find(key)->offset, *value);
    }
    return value ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(*value)) : std::nullopt;
}

std::optional<std::int64_t> GgufHeader::find_i64(std::string_view key) const {
    const GgufKeyValue* entry = find(key);
    if (entry == nullptr) {
        return std::nullopt;
    }
    const Integer integer = require_integer(*entry, "an integer");
    constexpr std::uint64_t kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (integer.magnitude > kMax + (integer.negative ? 1 : 0)) {
        refuse("key '{}' (at byte {}) is {}, more than an int64 holds", entry->key, entry->offset,
               integer.magnitude);
    }
    if (integer.negative) {
        return integer.magnitude == kMax + 1 ? std::numeric_limits<std::int64_t>::min()
                                             : -static_cast<std::int64_t>(integer.magnitude);
    }
    return static_cast<std::int64_t>(integer.magnitude);
}

std::optional<double> GgufHeader::find_float(std::string_view key) const {
    const GgufKeyValue* entry = find(key);
    if (entry == nullptr) {
        return std::nullopt;
    }
    if (const auto* value = std::get_if<float>(&entry->value)) {
        return *value;
    }
    if (const auto* value = std::get_if<double>(&entry->value)) {
        return *value;
    }
    refuse_type(*entry, "a float32 or float64");
}

std::optional<bool> GgufHeader::find_bool(std::string_view key) const {
    const GgufKeyValue* entry = find(key);
    if (entry == nullptr) {
        return std::nullopt;
    }
    const auto* value = std::get_if<bool>(&entry->value);
    if (value == nullptr) {
        refuse_type(*entry, "a bool");
    }
    return *value;
}

const GgufArray* GgufHeader::find_array(std::string_view key) const {
    const GgufKeyValue* entry = find(key);
    if (entry == nullptr) {
        return nullptr;
    }
    const auto* array = std::get_if<GgufArray>(&entry->value);
    if (array == nullptr) {
        refuse_type(*entry, "an array");
    }
    return array;
}

const std::vector<std::string>* GgufHeader::find_string_array(std::string_view key) const {
    const GgufArray* array = find_array(key);
    if (array == nullptr) {
        return nullptr;
    }
    const auto* strings = std::get_if<std::vector<std::string>>(&array->items);
    if (strings == nullptr) {
        refuse("key '{}' (at byte {}) is an array of {}, not of strings", key, find(key)->offset,
               gguf_type_name(array->element_type()));
    }
    return strings;
}

const GgufTensorInfo* GgufHeader::find_tensor(std::string_view name) const noexcept {
    const auto found = tensor_index.find(std::string(name));
    return found != tensor_index.end() ? &tensors[found->second] : nullptr;
}

GgufHeader parse_gguf(std::span<const std::byte> whole_file) {
    if (whole_file.size() < 4 || std::memcmp(whole_file.data(), "GGUF", 4) != 0) {
        refuse("the file does not start with the magic \"GGUF\" (bytes 0-3)");
    }
    if (whole_file.size() < kHeaderFixedBytes) {
        refuse("the file is {} bytes long, too short for the {}-byte GGUF header", whole_file.size(),
               kHeaderFixedBytes);
    }
    Cursor cursor(whole_file);
    cursor.read<std::uint32_t>("the magic");
    GgufHeader header;
    check_version(cursor, header);
    const auto tensor_count = cursor.read<std::uint64_t>("the tensor count");
    const auto kv_count = cursor.read<std::uint64_t>("the metadata count");
    if (tensor_count > kGgufMaxTensors) {
        refuse("the tensor count (bytes 8-15) is {}, over the limit of {}", tensor_count, kGgufMaxTensors);
    }
    if (kv_count > kGgufMaxKeyValues) {
        refuse("the metadata count (bytes 16-23) is {}, over the limit of {}", kv_count, kGgufMaxKeyValues);
    }
    if (tensor_count > cursor.remaining() / kMinTensorInfoBytes) {
        refuse("the tensor count (bytes 8-15) is {}, more than the {} bytes after the header could describe "
               "(a tensor description takes at least {} bytes)",
               tensor_count, cursor.remaining(), kMinTensorInfoBytes);
    }
    if (kv_count > cursor.remaining() / kMinKeyValueBytes) {
        refuse("the metadata count (bytes 16-23) is {}, more than the {} bytes after the header could hold "
               "(a key/value pair takes at least {} bytes)",
               kv_count, cursor.remaining(), kMinKeyValueBytes);
    }

    read_metadata(cursor, header, kv_count);
    read_alignment(header);

    for (std::uint64_t i = 0; i < tensor_count; ++i) {
        GgufTensorInfo tensor = read_tensor_info(cursor, header, i, tensor_count);
        if (!header.tensor_index.emplace(tensor.name, header.tensors.size()).second) {
            refuse("tensor '{}' (at byte {}) appears twice", tensor.name, tensor.info_offset);
        }
        header.tensors.push_back(std::move(tensor));
    }
    // Alignment is at most 2^31 and the position at most the file size, so this cannot overflow.
    const std::uint64_t end = cursor.position();
    header.data_start = (end + header.alignment - 1) / header.alignment * header.alignment;
    place_tensors(header, whole_file.size());
    return header;
}

GgufFile GgufFile::open(const std::string& path) {
    core::MappedFile file = core::MappedFile::open(path);
    try {
        GgufHeader header = parse_gguf(file.bytes());
        return GgufFile(std::move(file), std::move(header));
    } catch (const core::Error& error) {
        throw core::with_context(error, path);
    }
}

namespace {

// Runs a header lookup with the file's path in front of any refusal.
template <typename Lookup>
auto with_path(const std::string& path, Lookup lookup) {
    try {
        return lookup();
    } catch (const core::Error& error) {
        throw core::with_context(error, path);
    }
}

} // namespace

std::optional<std::string_view> GgufFile::find_string(std::string_view key) const {
    return with_path(path(), [&] { return header_.find_string(key); });
}
std::optional<std::uint32_t> GgufFile::find_u32(std::string_view key) const {
    return with_path(path(), [&] { return header_.find_u32(key); });
}
std::optional<std::uint64_t> GgufFile::find_u64(std::string_view key) const {
    return with_path(path(), [&] { return header_.find_u64(key); });
}
std::optional<std::int64_t> GgufFile::find_i64(std::string_view key) const {
    return with_path(path(), [&] { return header_.find_i64(key); });
}
std::optional<double> GgufFile::find_float(std::string_view key) const {
    return with_path(path(), [&] { return header_.find_float(key); });
}
std::optional<bool> GgufFile::find_bool(std::string_view key) const {
    return with_path(path(), [&] { return header_.find_bool(key); });
}
const GgufArray* GgufFile::find_array(std::string_view key) const {
    return with_path(path(), [&] { return header_.find_array(key); });
}
const std::vector<std::string>* GgufFile::find_string_array(std::string_view key) const {
    return with_path(path(), [&] { return header_.find_string_array(key); });
}

} // namespace nd::formats
