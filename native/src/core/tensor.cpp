#include "core/tensor.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <optional>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/half.hpp"

namespace nd::core {

namespace {

std::size_t index(int d) noexcept { return static_cast<std::size_t>(d); }

// Maps a possibly negative dimension to [0, rank), or throws naming the operation.
int normalize_dim(int dim, int rank, const char* what, const Layout& layout) {
    const int d = dim < 0 ? dim + rank : dim;
    if (d < 0 || d >= rank) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: dimension {} is out of range for a tensor of shape {}", what,
                    dim, layout.shape.to_string());
    }
    return d;
}

std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const Shape& shape) {
    if (b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "a tensor of shape {} overflows 64 bits", shape.to_string());
    }
    return a * b;
}

// Elements per stride unit of the innermost dimension: the block for quantized types, 1 otherwise.
std::int64_t inner_unit(nd_dtype dtype) noexcept {
    const std::size_t block = dtype_block_elements(dtype);
    return block == 0 ? 1 : static_cast<std::int64_t>(block);
}

// Strides of a view of (shape, strides) as new_shape without moving data, or nothing when the memory
// order does not allow it. Works dimension group by dimension group: consecutive old dimensions that
// are laid out as one run ("chunks") can be split or merged freely; a new dimension may not straddle two
// chunks. Extent-1 dimensions take any stride.
std::optional<Strides> view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& new_shape) {
    Strides result{};
    if (old_shape.elements() == 0 || old_shape.rank == 0) {
        // Nothing to address (or a scalar becoming [1, 1...]): packed strides of one unit are as good as any.
        std::int64_t stride = old_shape.rank > 0 ? old_strides[index(old_shape.rank - 1)] : 1;
        if (stride == 0) {
            stride = 1;
        }
        for (int d = new_shape.rank - 1; d >= 0; --d) {
            result[index(d)] = stride;
            stride *= std::max<std::int64_t>(new_shape[d], 1);
        }
        return result;
    }
    int new_d = new_shape.rank - 1;
    std::int64_t chunk_base = old_strides[index(old_shape.rank - 1)];
    std::int64_t old_count = 1;
    std::int64_t new_count = 1;
    for (int old_d = old_shape.rank - 1; old_d >= 0; --old_d) {
        old_count *= old_shape[old_d];
        const bool chunk_ends =
            old_d == 0 || (old_shape[old_d - 1] != 1 && old_strides[index(old_d - 1)] != old_count * chunk_base);
        if (!chunk_ends) {
            continue;
        }
        while (new_d >= 0 && (new_count < old_count || new_shape[new_d] == 1)) {
            result[index(new_d)] = new_count * chunk_base;
            new_count *= new_shape[new_d];
            --new_d;
        }
        if (new_count != old_count) {
            return std::nullopt;
        }
        if (old_d > 0) {
            chunk_base = old_strides[index(old_d - 1)];
            old_count = 1;
            new_count = 1;
        }
    }
    if (new_d != -1) {
        return std::nullopt;
    }
    return result;
}

} // namespace

// ---------------------------------------------------------------------------------------------- Shape

Shape::Shape(std::initializer_list<std::int64_t> extents)
    : Shape(of(std::span<const std::int64_t>(extents.begin(), extents.size()))) {}

Shape Shape::of(std::span<const std::int64_t> extents) {
    if (extents.size() > static_cast<std::size_t>(kMaxDims)) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "a tensor has at most {} dimensions, not {}", kMaxDims,
                    extents.size());
    }
    Shape shape;
    shape.rank = static_cast<int>(extents.size());
    for (std::size_t d = 0; d < extents.size(); ++d) {
        if (extents[d] < -1) {
            throw_error(ND_STATUS_INVALID_ARGUMENT, "extent {} of a shape is negative ({})", d, extents[d]);
        }
        shape.dims[d] = extents[d];
    }
    return shape;
}

std::int64_t Shape::elements() const noexcept {
    std::int64_t n = 1;
    for (int d = 0; d < rank; ++d) {
        n *= dims[index(d)];
    }
    return n;
}

std::string Shape::to_string() const {
    std::string text = "[";
    for (int d = 0; d < rank; ++d) {
        if (d > 0) {
            text += ", ";
        }
        text += std::to_string(dims[index(d)]);
    }
    text += ']';
    return text;
}

bool operator==(const Shape& a, const Shape& b) noexcept {
    if (a.rank != b.rank) {
        return false;
    }
    for (int d = 0; d < a.rank; ++d) {
        if (a[d] != b[d]) {
            return false;
        }
    }
    return true;
}

// ------------------------------------------------------------------------------------ packed layouts

namespace {

void require_extents(const Shape& shape) {
    for (int d = 0; d < shape.rank; ++d) {
        if (shape[d] < 0) {
            throw_error(ND_STATUS_INVALID_ARGUMENT, "shape {} has a negative extent (-1 only asks reshape to infer one)",
                        shape.to_string());
        }
    }
}

} // namespace

Strides contiguous_strides(nd_dtype dtype, const Shape& shape) {
    require_extents(shape);
    Strides strides{};
    if (shape.rank == 0) {
        (void)dtype_row_bytes(dtype, 1); // a scalar of a block type or of an unknown dtype is refused here
        return strides;
    }
    const std::uint64_t row = dtype_row_bytes(dtype, static_cast<std::uint64_t>(shape.back()));
    strides[index(shape.rank - 1)] = static_cast<std::int64_t>(dtype_block_bytes(dtype));
    std::uint64_t stride = row;
    for (int d = shape.rank - 2; d >= 0; --d) {
        strides[index(d)] = static_cast<std::int64_t>(stride);
        stride = checked_mul(stride, static_cast<std::uint64_t>(std::max<std::int64_t>(shape[d], 1)), shape);
    }
    if (stride > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "a tensor of shape {} overflows 64 bits", shape.to_string());
    }
    return strides;
}

std::uint64_t packed_bytes(nd_dtype dtype, const Shape& shape) {
    require_extents(shape);
    if (shape.rank == 0) {
        return dtype_row_bytes(dtype, 1);
    }
    std::uint64_t bytes = dtype_row_bytes(dtype, static_cast<std::uint64_t>(shape.back()));
    for (int d = shape.rank - 2; d >= 0; --d) {
        bytes = checked_mul(bytes, static_cast<std::uint64_t>(shape[d]), shape);
    }
    return bytes;
}

// --------------------------------------------------------------------------------------------- Layout

Layout Layout::packed(nd_dtype dtype, const Shape& shape) {
    Layout layout;
    layout.dtype = dtype;
    layout.shape = shape;
    layout.strides = contiguous_strides(dtype, shape);
    return layout;
}

bool Layout::is_contiguous() const {
    const Strides packed = contiguous_strides(dtype, shape);
    for (int d = 0; d < shape.rank; ++d) {
        if (shape[d] != 1 && strides[index(d)] != packed[index(d)]) {
            return false;
        }
    }
    return true;
}

std::uint64_t Layout::end_byte() const {
    if (elements() == 0) {
        return static_cast<std::uint64_t>(offset);
    }
    if (shape.rank == 0) {
        return static_cast<std::uint64_t>(offset) + dtype_block_bytes(dtype);
    }
    std::uint64_t last = static_cast<std::uint64_t>(offset);
    for (int d = 0; d < shape.rank; ++d) {
        const std::int64_t units = d == shape.rank - 1 ? shape[d] / inner_unit(dtype) : shape[d];
        last += static_cast<std::uint64_t>(units - 1) * static_cast<std::uint64_t>(strides[index(d)]);
    }
    return last + dtype_block_bytes(dtype);
}

Layout Layout::reshape(const Shape& requested) const {
    Shape target = requested;
    int inferred = -1;
    std::int64_t known = 1;
    for (int d = 0; d < target.rank; ++d) {
        if (target[d] == -1) {
            if (inferred >= 0) {
                throw_error(ND_STATUS_INVALID_ARGUMENT, "reshape {} to {}: only one extent may be -1",
                            shape.to_string(), target.to_string());
            }
            inferred = d;
        } else if (target[d] < 0) {
            throw_error(ND_STATUS_INVALID_ARGUMENT, "reshape {} to {}: negative extent", shape.to_string(),
                        target.to_string());
        } else {
            known *= target[d];
        }
    }
    if (inferred >= 0) {
        if (known == 0 || elements() % known != 0) {
            throw_error(ND_STATUS_INVALID_ARGUMENT, "reshape {} to {}: {} elements cannot fill the -1 extent",
                        shape.to_string(), target.to_string(), elements());
        }
        target[inferred] = elements() / known;
    }
    if (target.elements() != elements()) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "reshape {} to {}: {} elements cannot become {}", shape.to_string(),
                    target.to_string(), elements(), target.elements());
    }
    const std::int64_t unit = inner_unit(dtype);
    Shape old_units = shape;
    Shape new_units = target;
    if (unit > 1) {
        // Block types reshape in units of blocks, so that the innermost dimension stays whole blocks.
        if (target.rank == 0 || target.back() % unit != 0) {
            throw_error(ND_STATUS_INVALID_ARGUMENT,
                        "reshape {} {} to {}: the innermost extent must be a whole number of {}-element blocks",
                        dtype_name(dtype), shape.to_string(), target.to_string(), unit);
        }
        old_units[old_units.rank - 1] /= unit;
        new_units[new_units.rank - 1] /= unit;
    }
    const std::optional<Strides> strides_found = view_strides(old_units, strides, new_units);
    if (!strides_found) {
        throw_error(ND_STATUS_INVALID_ARGUMENT,
                    "reshape {} to {}: the strides {} cannot express this view; a contiguous copy is needed first",
                    shape.to_string(), target.to_string(), to_string());
    }
    Layout result = *this;
    result.shape = target;
    result.strides = *strides_found;
    if (unit > 1) {
        result.strides[index(target.rank - 1)] = static_cast<std::int64_t>(dtype_block_bytes(dtype));
    }
    return result;
}

Layout Layout::permute(std::span<const int> dims) const {
    if (static_cast<int>(dims.size()) != shape.rank) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "permute of {} needs {} dimensions, got {}", shape.to_string(),
                    shape.rank, dims.size());
    }
    Layout result = *this;
    std::array<bool, kMaxDims> used{};
    for (int d = 0; d < shape.rank; ++d) {
        const int from = normalize_dim(dims[index(d)], shape.rank, "permute", *this);
        if (used[index(from)]) {
            throw_error(ND_STATUS_INVALID_ARGUMENT, "permute of {}: dimension {} is named twice", shape.to_string(),
                        from);
        }
        used[index(from)] = true;
        result.shape[d] = shape[from];
        result.strides[index(d)] = strides[index(from)];
    }
    if (dtype_is_quantized(dtype) && shape.rank > 0) {
        const int inner_from = (dims[index(shape.rank - 1)] + shape.rank) % shape.rank;
        if (inner_from != shape.rank - 1) {
            throw_error(ND_STATUS_INVALID_ARGUMENT,
                        "permute of {} {}: block-quantized tensors keep their innermost dimension in place",
                        dtype_name(dtype), shape.to_string());
        }
    }
    return result;
}

Layout Layout::transpose(int a, int b) const {
    std::array<int, kMaxDims> dims{};
    for (int d = 0; d < shape.rank; ++d) {
        dims[index(d)] = d;
    }
    const int da = normalize_dim(a, shape.rank, "transpose", *this);
    const int db = normalize_dim(b, shape.rank, "transpose", *this);
    std::swap(dims[index(da)], dims[index(db)]);
    return permute(std::span<const int>(dims.data(), static_cast<std::size_t>(shape.rank)));
}

Layout Layout::narrow(int dim, std::int64_t start, std::int64_t length) const {
    const int d = normalize_dim(dim, shape.rank, "narrow", *this);
    if (start < 0 || length < 0 || start > shape[d] || length > shape[d] - start) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "narrow of {}: elements [{}, {}) are outside dimension {} of {}",
                    shape.to_string(), start, start + length, d, shape[d]);
    }
    Layout result = *this;
    if (d == shape.rank - 1 && dtype_is_quantized(dtype)) {
        const std::int64_t unit = inner_unit(dtype);
        if (start % unit != 0 || length % unit != 0) {
            throw_error(ND_STATUS_INVALID_ARGUMENT,
                        "narrow of {} {}: elements [{}, {}) of the innermost dimension are not whole {}-element blocks",
                        dtype_name(dtype), shape.to_string(), start, start + length, unit);
        }
        result.offset += (start / unit) * strides[index(d)];
    } else {
        result.offset += start * strides[index(d)];
    }
    result.shape[d] = length;
    return result;
}

Layout Layout::squeeze(int dim) const {
    const int d = normalize_dim(dim, shape.rank, "squeeze", *this);
    if (shape[d] != 1) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "squeeze of {}: dimension {} has extent {}, not 1", shape.to_string(),
                    d, shape[d]);
    }
    Layout result = *this;
    result.shape.rank = shape.rank - 1;
    for (int i = d; i < shape.rank - 1; ++i) {
        result.shape[i] = shape[i + 1];
        result.strides[index(i)] = strides[index(i + 1)];
    }
    result.shape[shape.rank - 1] = 0;
    result.strides[index(shape.rank - 1)] = 0;
    return result;
}

Layout Layout::unsqueeze(int dim) const {
    if (shape.rank >= kMaxDims) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "unsqueeze of {}: a tensor has at most {} dimensions",
                    shape.to_string(), kMaxDims);
    }
    const int d = dim < 0 ? dim + shape.rank + 1 : dim;
    if (d < 0 || d > shape.rank) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "unsqueeze of {}: position {} is out of range", shape.to_string(),
                    dim);
    }
    if (d == shape.rank && dtype_is_quantized(dtype)) {
        throw_error(ND_STATUS_INVALID_ARGUMENT,
                    "unsqueeze of {} {}: a block-quantized tensor's innermost dimension must stay whole blocks",
                    dtype_name(dtype), shape.to_string());
    }
    Layout result = *this;
    result.shape.rank = shape.rank + 1;
    for (int i = shape.rank; i > d; --i) {
        result.shape[i] = shape[i - 1];
        result.strides[index(i)] = strides[index(i - 1)];
    }
    result.shape[d] = 1;
    // Any stride works for extent 1; the one a packed layout would have keeps is_contiguous() simple.
    if (d == shape.rank) {
        result.strides[index(d)] = static_cast<std::int64_t>(dtype_block_bytes(dtype));
    } else {
        const std::int64_t inner_units = d == shape.rank - 1 ? shape[d] / inner_unit(dtype) : shape[d];
        result.strides[index(d)] = strides[index(d)] * std::max<std::int64_t>(inner_units, 1);
    }
    return result;
}

std::string Layout::to_string() const {
    std::string text = dtype_name(dtype);
    text += ' ';
    text += shape.to_string();
    text += " strides [";
    for (int d = 0; d < shape.rank; ++d) {
        if (d > 0) {
            text += ", ";
        }
        text += std::to_string(strides[index(d)]);
    }
    text += "] offset ";
    text += std::to_string(offset);
    return text;
}

// -------------------------------------------------------------------------------------------- Storage

std::shared_ptr<Storage> Storage::allocate(std::uint64_t bytes) {
    const std::uint64_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    if (bytes > std::numeric_limits<std::size_t>::max() - kAlignment) {
        throw_error(ND_STATUS_OUT_OF_MEMORY, "cannot allocate {} bytes", bytes);
    }
    void* memory = ::operator new(static_cast<std::size_t>(std::max<std::uint64_t>(rounded, kAlignment)),
                                  std::align_val_t{kAlignment}, std::nothrow);
    if (memory == nullptr) {
        throw_error(ND_STATUS_OUT_OF_MEMORY, "cannot allocate {} bytes for a tensor", bytes);
    }
    std::memset(memory, 0, static_cast<std::size_t>(std::max<std::uint64_t>(rounded, kAlignment)));
    return std::shared_ptr<Storage>(new Storage(Kind::Owned, static_cast<std::byte*>(memory), bytes, nullptr));
}

std::shared_ptr<Storage> Storage::borrow(std::shared_ptr<const void> owner, std::span<const std::byte> bytes) {
    // The cast only makes the pointer fit the one member; writable() keeps kernels from writing through it.
    return std::shared_ptr<Storage>(new Storage(Kind::Borrowed, const_cast<std::byte*>(bytes.data()), bytes.size(),
                                                std::move(owner)));
}

std::shared_ptr<Storage> Storage::arena(std::shared_ptr<void> owner, std::span<std::byte> bytes) {
    return std::shared_ptr<Storage>(new Storage(Kind::Arena, bytes.data(), bytes.size(), std::move(owner)));
}

Storage::~Storage() {
    if (kind_ == Kind::Owned) {
        ::operator delete(data_, std::align_val_t{kAlignment});
    }
}

// --------------------------------------------------------------------------------------------- Tensor

Tensor::Tensor(std::shared_ptr<Storage> storage, const Layout& layout) : storage_(std::move(storage)), layout_(layout) {
    if (storage_ == nullptr) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "a tensor {} needs storage", layout.to_string());
    }
    bool bad = layout.offset < 0;
    for (int d = 0; d < layout.rank(); ++d) {
        bad = bad || layout.strides[index(d)] < 0;
    }
    if (bad || layout.end_byte() > storage_->size()) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "a tensor {} does not lie inside its {} bytes of storage",
                    layout.to_string(), storage_->size());
    }
}

Tensor Tensor::empty(nd_dtype dtype, const Shape& shape) {
    const Layout layout = Layout::packed(dtype, shape);
    return Tensor(Storage::allocate(layout.packed_bytes()), layout);
}

Tensor Tensor::copy_of(nd_dtype dtype, const Shape& shape, std::span<const std::byte> bytes) {
    Tensor tensor = empty(dtype, shape);
    if (bytes.size() != tensor.packed_bytes()) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "a {} tensor of shape {} needs {} bytes, not {}", dtype_name(dtype),
                    shape.to_string(), tensor.packed_bytes(), bytes.size());
    }
    if (!bytes.empty()) {
        std::memcpy(tensor.data(), bytes.data(), bytes.size());
    }
    return tensor;
}

Tensor Tensor::from_f32(const Shape& shape, std::span<const float> values) {
    return copy_of(ND_DTYPE_F32, shape, std::as_bytes(values));
}

Tensor Tensor::from_i32(const Shape& shape, std::span<const std::int32_t> values) {
    return copy_of(ND_DTYPE_I32, shape, std::as_bytes(values));
}

Tensor Tensor::borrow(std::shared_ptr<const void> owner, std::span<const std::byte> bytes, nd_dtype dtype,
                      const Shape& shape) {
    const Layout layout = Layout::packed(dtype, shape);
    if (layout.packed_bytes() != bytes.size()) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "a {} tensor of shape {} needs {} bytes, not the {} borrowed",
                    dtype_name(dtype), shape.to_string(), layout.packed_bytes(), bytes.size());
    }
    return Tensor(Storage::borrow(std::move(owner), bytes), layout);
}

Tensor Tensor::borrow(std::shared_ptr<const MappedFile> file, std::uint64_t offset, nd_dtype dtype,
                      const Shape& shape) {
    if (file == nullptr) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "a borrowed tensor needs a mapped file");
    }
    const std::uint64_t bytes = core::packed_bytes(dtype, shape);
    if (offset > file->size() || bytes > file->size() - offset) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: a {} tensor of shape {} at offset {} ends past the file's {} bytes",
                    file->path(), dtype_name(dtype), shape.to_string(), offset, file->size());
    }
    const std::span<const std::byte> range = file->bytes().subspan(static_cast<std::size_t>(offset),
                                                                   static_cast<std::size_t>(bytes));
    return borrow(std::shared_ptr<const void>(file), range, dtype, shape);
}

std::byte* Tensor::data() const noexcept {
    return storage_ != nullptr ? storage_->data() + layout_.offset : nullptr;
}

TensorView make_view(std::byte* base, const Layout& layout) noexcept {
    TensorView view;
    view.dtype = layout.dtype;
    view.rank = layout.shape.rank;
    view.shape = layout.shape.dims;
    view.strides = layout.strides;
    view.data = base + layout.offset;
    return view;
}

TensorView Tensor::view() const noexcept {
    Layout at_zero = layout_;
    at_zero.offset = 0;
    return make_view(data(), at_zero);
}

TensorView Tensor::mutable_view() const {
    if (storage_ == nullptr || !storage_->writable()) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "tensor {} is read-only (borrowed from a file) or has no storage",
                    layout_.to_string());
    }
    return view();
}

Tensor Tensor::contiguous() const {
    if (is_contiguous()) {
        return *this;
    }
    Tensor copy = empty(dtype(), shape());
    copy_elements(view(), copy.view());
    return copy;
}

void Tensor::copy_from(const Tensor& src) const {
    copy_elements(src.view(), mutable_view());
}

std::vector<float> Tensor::to_f32() const {
    std::vector<float> values;
    if (!defined()) {
        return values;
    }
    if (dtype_is_quantized(dtype())) {
        throw_error(ND_STATUS_UNSUPPORTED, "to_f32 of a {} tensor: dequantize it with the quant kernels",
                    dtype_name(dtype()));
    }
    const Tensor packed = contiguous();
    const auto n = static_cast<std::size_t>(packed.elements());
    values.resize(n);
    const std::byte* p = packed.data();
    for (std::size_t i = 0; i < n; ++i) {
        switch (dtype()) {
        case ND_DTYPE_F32: { float v; std::memcpy(&v, p + i * 4, 4); values[i] = v; break; }
        case ND_DTYPE_F64: { double v; std::memcpy(&v, p + i * 8, 8); values[i] = static_cast<float>(v); break; }
        case ND_DTYPE_F16: { std::uint16_t v; std::memcpy(&v, p + i * 2, 2); values[i] = f16_to_f32(v); break; }
        case ND_DTYPE_BF16: { std::uint16_t v; std::memcpy(&v, p + i * 2, 2); values[i] = bf16_to_f32(v); break; }
        case ND_DTYPE_I8: values[i] = static_cast<float>(static_cast<std::int8_t>(p[i])); break;
        case ND_DTYPE_U8:
        case ND_DTYPE_BOOL: values[i] = static_cast<float>(static_cast<std::uint8_t>(p[i])); break;
        case ND_DTYPE_I16: { std::int16_t v; std::memcpy(&v, p + i * 2, 2); values[i] = v; break; }
        case ND_DTYPE_U16: { std::uint16_t v; std::memcpy(&v, p + i * 2, 2); values[i] = v; break; }
        case ND_DTYPE_I32: { std::int32_t v; std::memcpy(&v, p + i * 4, 4); values[i] = static_cast<float>(v); break; }
        case ND_DTYPE_U32: { std::uint32_t v; std::memcpy(&v, p + i * 4, 4); values[i] = static_cast<float>(v); break; }
        case ND_DTYPE_I64: { std::int64_t v; std::memcpy(&v, p + i * 8, 8); values[i] = static_cast<float>(v); break; }
        case ND_DTYPE_U64: { std::uint64_t v; std::memcpy(&v, p + i * 8, 8); values[i] = static_cast<float>(v); break; }
        default:
            throw_error(ND_STATUS_UNSUPPORTED, "to_f32 of a {} tensor", dtype_name(dtype()));
        }
    }
    return values;
}

// ------------------------------------------------------------------------------------ copy_elements

void copy_elements(const TensorView& src, const TensorView& dst) {
    bool same_shape = src.rank == dst.rank;
    for (int d = 0; same_shape && d < src.rank; ++d) {
        same_shape = src.dim(d) == dst.dim(d);
    }
    if (src.dtype != dst.dtype || !same_shape) {
        Shape s;
        Shape t;
        s.rank = src.rank;
        s.dims = src.shape;
        t.rank = dst.rank;
        t.dims = dst.shape;
        throw_error(ND_STATUS_INVALID_ARGUMENT, "copy of {} {} into {} {}: dtype and shape must match",
                    dtype_name(src.dtype), s.to_string(), dtype_name(dst.dtype), t.to_string());
    }
    if (src.elements() == 0) {
        return;
    }
    // Seen as 4-D with leading extent-1 dimensions; the innermost dimension is a row of units (elements, or
    // blocks for quantized types), copied with one memcpy when both sides are packed along it.
    std::array<std::int64_t, kMaxDims> shape{1, 1, 1, 1};
    std::array<std::int64_t, kMaxDims> ss{};
    std::array<std::int64_t, kMaxDims> ds{};
    const int pad = kMaxDims - src.rank;
    for (int d = 0; d < src.rank; ++d) {
        shape[index(d + pad)] = src.dim(d);
        ss[index(d + pad)] = src.stride(d);
        ds[index(d + pad)] = dst.stride(d);
    }
    const auto unit_bytes = static_cast<std::int64_t>(dtype_block_bytes(src.dtype));
    const std::int64_t units = src.rank == 0 ? 1 : shape[3] / inner_unit(src.dtype);
    if (src.rank == 0) {
        ss[3] = ds[3] = unit_bytes;
    }
    const bool packed_rows = ss[3] == unit_bytes && ds[3] == unit_bytes;
    for (std::int64_t i0 = 0; i0 < shape[0]; ++i0) {
        for (std::int64_t i1 = 0; i1 < shape[1]; ++i1) {
            for (std::int64_t i2 = 0; i2 < shape[2]; ++i2) {
                const std::byte* s = src.data + i0 * ss[0] + i1 * ss[1] + i2 * ss[2];
                std::byte* t = dst.data + i0 * ds[0] + i1 * ds[1] + i2 * ds[2];
                if (packed_rows) {
                    std::memmove(t, s, static_cast<std::size_t>(units * unit_bytes));
                    continue;
                }
                for (std::int64_t u = 0; u < units; ++u) {
                    std::memmove(t + u * ds[3], s + u * ss[3], static_cast<std::size_t>(unit_bytes));
                }
            }
        }
    }
}

} // namespace nd::core
