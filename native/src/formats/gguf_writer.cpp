#include "formats/gguf_writer.hpp"

#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <type_traits>
#include <unistd.h>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/utf8.hpp"
#include "formats/ggml_type.hpp"

namespace nd::formats {

using core::format;

static_assert(std::endian::native == std::endian::little, "the GGUF writer stores values as the host does");

namespace {

template <typename... Args>
[[noreturn]] void refuse(core::FormatString<std::type_identity_t<Args>...> text, const Args&... args) {
    core::throw_error(ND_STATUS_INVALID_ARGUMENT, "gguf writer: {}", format(text, args...));
}

template <typename T>
void put(std::string& out, T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    out.append(bytes, sizeof(T));
}

void put_string(std::string& out, std::string_view text) {
    put<std::uint64_t>(out, text.size());
    out.append(text);
}

void put_array(std::string& out, const GgufArray& array);

void put_value(std::string& out, const GgufValue& value) {
    std::visit(
        [&out](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string>) {
                put_string(out, v);
            } else if constexpr (std::is_same_v<T, GgufArray>) {
                put_array(out, v);
            } else if constexpr (std::is_same_v<T, bool>) {
                put<std::uint8_t>(out, v ? 1 : 0);
            } else {
                put<T>(out, v);
            }
        },
        value);
}

void put_array(std::string& out, const GgufArray& array) {
    put<std::uint32_t>(out, static_cast<std::uint32_t>(array.element_type()));
    put<std::uint64_t>(out, array.size());
    std::visit(
        [&out](const auto& items) {
            using T = typename std::decay_t<decltype(items)>::value_type;
            if constexpr (std::is_same_v<T, std::string>) {
                for (const std::string& item : items) {
                    put_string(out, item);
                }
            } else if constexpr (std::is_same_v<T, GgufArray>) {
                for (const GgufArray& item : items) {
                    put_array(out, item);
                }
            } else if constexpr (std::is_same_v<T, bool>) {
                for (const bool item : items) {
                    put<std::uint8_t>(out, item ? 1 : 0);
                }
            } else {
                out.append(reinterpret_cast<const char*>(items.data()), items.size() * sizeof(T));
            }
        },
        array.items);
}

std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
    return (value + alignment - 1) / alignment * alignment;
}

void check_name(std::string_view name, std::string_view what, std::size_t max_bytes) {
    if (name.empty()) {
        refuse("a {} is empty", what);
    }
    if (name.size() > max_bytes) {
        refuse("{} '{}' is {} bytes long; at most {} are allowed", what, name, name.size(), max_bytes);
    }
    if (core::find_invalid_utf8(name) || name.find('\0') != std::string_view::npos) {
        refuse("{} '{}' is not valid UTF-8 without NUL characters", what, name);
    }
}

std::size_t array_depth(const GgufArray& array) {
    const auto* nested = std::get_if<std::vector<GgufArray>>(&array.items);
    std::size_t deepest = 0;
    if (nested != nullptr) {
        for (const GgufArray& item : *nested) {
            deepest = std::max(deepest, array_depth(item));
        }
    }
    return deepest + 1;
}

[[noreturn]] void refuse_io(const std::string& path, std::string_view what, int error_number) {
    core::throw_error(ND_STATUS_IO_ERROR, "{}: cannot {}: {}", path, what,
                      std::generic_category().message(error_number));
}

} // namespace

std::string gguf_header_bytes(std::span<const GgufKeyValue> metadata, std::span<const GgufTensorInfo> tensors,
                              std::uint32_t alignment) {
    std::string out;
    put<std::uint32_t>(out, kGgufMagic);
    put<std::uint32_t>(out, 3);
    put<std::uint64_t>(out, tensors.size());
    put<std::uint64_t>(out, metadata.size() + (alignment != kGgufDefaultAlignment ? 1 : 0));
    if (alignment != kGgufDefaultAlignment) {
        put_string(out, kGgufAlignmentKey);
        put<std::uint32_t>(out, static_cast<std::uint32_t>(GgufType::u32));
        put<std::uint32_t>(out, alignment);
    }
    for (const GgufKeyValue& entry : metadata) {
        put_string(out, entry.key);
        put<std::uint32_t>(out, static_cast<std::uint32_t>(gguf_type_of(entry.value)));
        put_value(out, entry.value);
    }
    for (const GgufTensorInfo& tensor : tensors) {
        put_string(out, tensor.name);
        put<std::uint32_t>(out, static_cast<std::uint32_t>(tensor.shape.size()));
        for (auto dim = tensor.shape.rbegin(); dim != tensor.shape.rend(); ++dim) {
            put<std::uint64_t>(out, static_cast<std::uint64_t>(*dim)); // innermost first
        }
        put<std::uint32_t>(out, tensor.ggml_type);
        put<std::uint64_t>(out, tensor.data_offset);
    }
    out.append(align_up(out.size(), alignment) - out.size(), '\0');
    return out;
}

void GgufWriter::FileCloser::operator()(std::FILE* file) const noexcept { std::fclose(file); }

GgufWriter::GgufWriter(std::string path, GgufWriterOptions options)
    : path_(std::move(path)), temp_path_(path_ + ".tmp"), alignment_(options.alignment) {
    if (!std::has_single_bit(alignment_)) {
        refuse("alignment {} is not a power of two", alignment_);
    }
}

GgufWriter::~GgufWriter() {
    if (started_ && !finished_) {
        file_.reset();
        std::error_code ignored;
        std::filesystem::remove(temp_path_, ignored);
    }
}

void GgufWriter::require_declaring(std::string_view what) const {
    if (started_) {
        refuse("cannot add {} to {}: tensor data is already being written", what, path_);
    }
}

void GgufWriter::add_metadata(std::string key, GgufValue value) {
    require_declaring(format("metadata '{}'", key));
    check_name(key, "metadata key", kGgufMaxKeyBytes);
    if (key == kGgufAlignmentKey) {
        refuse("'{}' is written from GgufWriterOptions::alignment; do not add it as metadata", key);
    }
    for (const GgufKeyValue& entry : metadata_) {
        if (entry.key == key) {
            refuse("metadata key '{}' is added twice", key);
        }
    }
    if (const auto* array = std::get_if<GgufArray>(&value)) {
        if (array_depth(*array) > kGgufMaxArrayDepth) {
            refuse("metadata '{}' nests arrays more than {} deep", key, kGgufMaxArrayDepth);
        }
    }
    metadata_.push_back({std::move(key), std::move(value), 0});
}

void GgufWriter::add_tensor(std::string name, nd_dtype dtype, std::vector<std::int64_t> shape) {
    require_declaring(format("tensor '{}'", name));
    check_name(name, "tensor name", kGgufWriterMaxNameBytes);
    for (const GgufTensorInfo& tensor : tensors_) {
        if (tensor.name == name) {
            refuse("tensor '{}' is added twice", name);
        }
    }
    const auto ggml_type = ggml_type_from_dtype(dtype);
    if (!ggml_type) {
        refuse("tensor '{}': dtype {} has no GGML type", name, core::dtype_name(dtype));
    }
    if (shape.empty() || shape.size() > kGgufMaxDims) {
        refuse("tensor '{}' has {} dimensions; GGUF holds 1 to {}", name, shape.size(), kGgufMaxDims);
    }
    std::uint64_t n_elements = 1;
    for (const std::int64_t dim : shape) {
        if (dim <= 0) {
            refuse("tensor '{}' has a dimension of {}; GGUF dimensions are positive", name, dim);
        }
        if (__builtin_mul_overflow(n_elements, static_cast<std::uint64_t>(dim), &n_elements)) {
            refuse("tensor '{}' has more elements than fit in 64 bits", name);
        }
    }
    const auto row = static_cast<std::uint64_t>(shape.back());
    const std::size_t block = core::dtype_block_elements(dtype);
    if (row % block != 0) {
        refuse("tensor '{}': rows of {} elements are not whole {} blocks of {}", name, row,
               core::dtype_name(dtype), block);
    }
    GgufTensorInfo tensor;
    tensor.name = std::move(name);
    tensor.dtype = dtype;
    tensor.ggml_type = *ggml_type;
    tensor.shape = std::move(shape);
    tensor.n_elements = n_elements;
    std::uint64_t padded = 0;
    if (__builtin_mul_overflow(row / block * core::dtype_block_bytes(dtype), n_elements / row, &tensor.data_size) ||
        __builtin_add_overflow(tensor.data_size, alignment_ - 1, &padded) ||
        __builtin_add_overflow(data_size_, padded / alignment_ * alignment_, &padded)) {
        refuse("tensor '{}' makes the file larger than 64-bit offsets can address", tensor.name);
    }
    tensor.data_offset = data_size_;
    data_size_ = padded;
    tensors_.push_back(std::move(tensor));
}

const GgufTensorInfo* GgufWriter::next_tensor() const noexcept {
    return current_ < tensors_.size() ? &tensors_[current_] : nullptr;
}

void GgufWriter::start_data() {
    if (finished_) {
        refuse("{} is already finished", path_);
    }
    if (started_) {
        return;
    }
    const std::string header = gguf_header_bytes(metadata_, tensors_, alignment_);
    std::FILE* file = std::fopen(temp_path_.c_str(), "wb");
    if (file == nullptr) {
        refuse_io(temp_path_, "create the file", errno);
    }
    file_.reset(file);
    started_ = true;
    write_bytes(std::as_bytes(std::span<const char>(header)));
}

void GgufWriter::write_bytes(std::span<const std::byte> bytes) {
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_.get()) != bytes.size()) {
        refuse_io(temp_path_, "write", errno);
    }
}

void GgufWriter::write_padding(std::uint64_t count) {
    static constexpr std::byte kZeros[256] = {};
    while (count > 0) {
        const std::size_t chunk = count < sizeof(kZeros) ? static_cast<std::size_t>(count) : sizeof(kZeros);
        write_bytes(std::span<const std::byte>(kZeros, chunk));
        count -= chunk;
    }
}

void GgufWriter::write_tensor_data(std::span<const std::byte> bytes) {
    start_data();
    while (!bytes.empty()) {
        const GgufTensorInfo* tensor = next_tensor();
        if (tensor == nullptr) {
            refuse("{} bytes written to {} after its last tensor", bytes.size(), path_);
        }
        const std::uint64_t left = tensor->data_size - current_written_;
        const std::size_t chunk = bytes.size() < left ? bytes.size() : static_cast<std::size_t>(left);
        write_bytes(bytes.first(chunk));
        bytes = bytes.subspan(chunk);
        current_written_ += chunk;
        if (current_written_ == tensor->data_size) {
            write_padding(align_up(tensor->data_size, alignment_) - tensor->data_size);
            ++current_;
            current_written_ = 0;
        }
    }
}

void GgufWriter::write_tensor(std::string_view name, std::span<const std::byte> bytes) {
    const GgufTensorInfo* tensor = next_tensor();
    if (tensor == nullptr || tensor->name != name) {
        refuse("tensor '{}' written to {} out of order: the next declared tensor is '{}'", name, path_,
               tensor != nullptr ? tensor->name : std::string("(none: all are written)"));
    }
    if (current_written_ != 0 || bytes.size() != tensor->data_size) {
        refuse("tensor '{}' ({} elements of {}) needs {} bytes, not {}", name, tensor->n_elements,
               core::dtype_name(tensor->dtype), tensor->data_size, current_written_ + bytes.size());
    }
    write_tensor_data(bytes);
}

void GgufWriter::finish() {
    start_data();
    if (const GgufTensorInfo* tensor = next_tensor()) {
        refuse("cannot finish {}: tensor '{}' has {} of its {} bytes ({} of {} tensors complete)", path_,
               tensor->name, current_written_, tensor->data_size, current_, tensors_.size());
    }
    if (std::fflush(file_.get()) != 0) {
        refuse_io(temp_path_, "write", errno);
    }
    if (::fsync(::fileno(file_.get())) != 0) {
        refuse_io(temp_path_, "sync", errno);
    }
    std::FILE* file = file_.release();
    if (std::fclose(file) != 0) {
        refuse_io(temp_path_, "close", errno);
    }
    std::error_code error;
    std::filesystem::rename(temp_path_, path_, error);
    if (error) {
        core::throw_error(ND_STATUS_IO_ERROR, "{}: cannot rename {} over it: {}", path_, temp_path_,
                          error.message());
    }
    finished_ = true;
}

} // namespace nd::formats
