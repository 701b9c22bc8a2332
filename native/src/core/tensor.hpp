// Tensors: a dtype, up to four dimensions (outermost first), byte strides, and a reference to storage.
//
// Storage is shared and comes in three kinds: owned (a 64-byte aligned heap block), borrowed (bytes of a
// memory-mapped file, used in place and kept alive through shared ownership of whatever owns the mapping),
// and arena (a slice of a planned arena, see core/planner.hpp). Reshape, permute, transpose, narrow,
// squeeze and unsqueeze make views: a new Layout over the same storage, no bytes copied. view() hands a
// kernel the core::TensorView it works on.
//
// Layout holds the shape arithmetic on its own, without memory, because the graph (core/graph.hpp) infers
// and checks the layouts of views before any memory exists; Tensor and Graph share these rules and their
// error messages.
//
// Block-quantized dtypes (Q8_0 ... Q8_K) only have row-wise views: the innermost dimension stays a run of
// whole packed blocks (its stride is the bytes of one block), and only the outer dimensions move freely.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/mapped_file.hpp"
#include "core/tensor_view.hpp"
#include "native_diffusion.h"

namespace nd::core {

// Up to kMaxDims extents, outermost first. Shape{} is a scalar (rank 0).
struct Shape {
    int rank = 0;
    std::array<std::int64_t, kMaxDims> dims{};

    Shape() noexcept = default;
    // Throws Error(ND_STATUS_INVALID_ARGUMENT) for more than kMaxDims extents or an extent below -1 (-1 only
    // means "infer" to reshape; layouts refuse it).
    Shape(std::initializer_list<std::int64_t> extents);
    static Shape of(std::span<const std::int64_t> extents);

    [[nodiscard]] std::int64_t operator[](int d) const noexcept { return dims[static_cast<std::size_t>(d)]; }
    [[nodiscard]] std::int64_t& operator[](int d) noexcept { return dims[static_cast<std::size_t>(d)]; }
    [[nodiscard]] std::int64_t back() const noexcept { return dims[static_cast<std::size_t>(rank - 1)]; }
    [[nodiscard]] std::int64_t elements() const noexcept;
    [[nodiscard]] std::span<const std::int64_t> extents() const noexcept {
        return {dims.data(), static_cast<std::size_t>(rank)};
    }
    // "[1, 320, 64, 64]"; "[]" for a scalar.
    [[nodiscard]] std::string to_string() const;

    friend bool operator==(const Shape& a, const Shape& b) noexcept;
};

using Strides = std::array<std::int64_t, kMaxDims>; // bytes; see TensorView

// Row-major strides of a packed tensor. For a block-quantized dtype the innermost stride is the bytes of
// one block and the next one out is the bytes of a row. Throws when a row is not a whole number of blocks.
Strides contiguous_strides(nd_dtype dtype, const Shape& shape);

// Bytes of a packed tensor of this dtype and shape. Throws on partial blocks and on overflow.
std::uint64_t packed_bytes(nd_dtype dtype, const Shape& shape);

// Where a tensor's elements lie relative to the start of its storage: dtype, shape, byte strides and the
// byte offset of the first element. Every method that makes a view returns a new Layout and throws
// Error(ND_STATUS_INVALID_ARGUMENT) with the shapes in the message when the view cannot exist.
// Dimension arguments may be negative, counting from the innermost (-1) as in PyTorch.
struct Layout {
    nd_dtype dtype = ND_DTYPE_F32;
    Shape shape;
    Strides strides{};
    std::int64_t offset = 0;

    static Layout packed(nd_dtype dtype, const Shape& shape);

    [[nodiscard]] int rank() const noexcept { return shape.rank; }
    [[nodiscard]] std::int64_t elements() const noexcept { return shape.elements(); }
    [[nodiscard]] bool is_contiguous() const;
    // Bytes the data would take packed (what a contiguous copy needs).
    [[nodiscard]] std::uint64_t packed_bytes() const { return core::packed_bytes(dtype, shape); }
    // One past the last byte any element touches, relative to the storage start (offset included);
    // offset itself for an empty tensor.
    [[nodiscard]] std::uint64_t end_byte() const;

    // A view with `shape` (one extent may be -1: inferred). Refused, with a message saying a contiguous
    // copy is needed, when the strides cannot express it without copying.
    [[nodiscard]] Layout reshape(const Shape& shape) const;
    // dims[i] is the old dimension that becomes dimension i; a permutation of [0, rank).
    [[nodiscard]] Layout permute(std::span<const int> dims) const;
    [[nodiscard]] Layout permute(std::initializer_list<int> dims) const {
        return permute(std::span<const int>(dims.begin(), dims.size()));
    }
    [[nodiscard]] Layout transpose(int a, int b) const;
    // Elements [start, start + length) of dimension `dim`.
    [[nodiscard]] Layout narrow(int dim, std::int64_t start, std::int64_t length) const;
    // Removes dimension `dim`, which must have extent 1.
    [[nodiscard]] Layout squeeze(int dim) const;
    // Inserts an extent-1 dimension before position `dim` (in [-rank-1, rank]).
    [[nodiscard]] Layout unsqueeze(int dim) const;

    // "F32 [2, 3] strides [12, 4] offset 0", for messages.
    [[nodiscard]] std::string to_string() const;
};

// A block of bytes shared by tensors and their views.
class Storage {
public:
    enum class Kind {
        Owned,    // a 64-byte aligned heap block that this object frees
        Borrowed, // bytes owned elsewhere (a memory-mapped file), read-only; the owner is kept alive here
        Arena,    // a slice of a planned arena (a backend buffer); the arena is kept alive here
    };

    static constexpr std::size_t kAlignment = 64;

    // A zero-filled owned block. Throws Error(ND_STATUS_OUT_OF_MEMORY) naming the size.
    static std::shared_ptr<Storage> allocate(std::uint64_t bytes);
    // Borrows `bytes` (read-only memory such as a file mapping) and keeps `owner` alive as long as any
    // tensor uses them.
    static std::shared_ptr<Storage> borrow(std::shared_ptr<const void> owner, std::span<const std::byte> bytes);
    // Writable memory owned by `owner` (an arena buffer).
    static std::shared_ptr<Storage> arena(std::shared_ptr<void> owner, std::span<std::byte> bytes);

    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;
    ~Storage();

    [[nodiscard]] Kind kind() const noexcept { return kind_; }
    [[nodiscard]] bool writable() const noexcept { return kind_ != Kind::Borrowed; }
    [[nodiscard]] std::byte* data() const noexcept { return data_; }
    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

private:
    Storage(Kind kind, std::byte* data, std::uint64_t size, std::shared_ptr<const void> owner) noexcept
        : kind_(kind), data_(data), size_(size), owner_(std::move(owner)) {}

    Kind kind_;
    std::byte* data_;
    std::uint64_t size_;
    std::shared_ptr<const void> owner_; // empty for Owned
};

class Tensor {
public:
    Tensor() noexcept = default; // no storage: defined() is false

    // A packed, zero-filled tensor in owned storage.
    static Tensor empty(nd_dtype dtype, const Shape& shape);
    // A packed owned copy of `bytes`, which must be exactly packed_bytes(dtype, shape).
    static Tensor copy_of(nd_dtype dtype, const Shape& shape, std::span<const std::byte> bytes);
    static Tensor from_f32(const Shape& shape, std::span<const float> values);
    static Tensor from_i32(const Shape& shape, std::span<const std::int32_t> values);
    // A packed tensor over borrowed bytes (a weight in a mapped file): nothing is copied and `owner` (the
    // object holding the mapping, e.g. a shared_ptr<SafetensorsFile>) stays alive with the tensor.
    static Tensor borrow(std::shared_ptr<const void> owner, std::span<const std::byte> bytes, nd_dtype dtype,
                         const Shape& shape);
    // The same for a range of a mapped file.
    static Tensor borrow(std::shared_ptr<const MappedFile> file, std::uint64_t offset, nd_dtype dtype,
                         const Shape& shape);

    // Any layout that lies inside `storage` (checked; throws Error(ND_STATUS_INVALID_ARGUMENT)).
    Tensor(std::shared_ptr<Storage> storage, const Layout& layout);

    [[nodiscard]] bool defined() const noexcept { return storage_ != nullptr; }
    [[nodiscard]] const Layout& layout() const noexcept { return layout_; }
    [[nodiscard]] nd_dtype dtype() const noexcept { return layout_.dtype; }
    [[nodiscard]] int rank() const noexcept { return layout_.shape.rank; }
    [[nodiscard]] const Shape& shape() const noexcept { return layout_.shape; }
    [[nodiscard]] std::int64_t dim(int d) const noexcept { return layout_.shape[d]; }
    [[nodiscard]] std::int64_t stride(int d) const noexcept { return layout_.strides[static_cast<std::size_t>(d)]; }
    [[nodiscard]] std::int64_t elements() const noexcept { return layout_.elements(); }
    [[nodiscard]] bool is_contiguous() const { return layout_.is_contiguous(); }
    [[nodiscard]] std::uint64_t packed_bytes() const { return layout_.packed_bytes(); }
    [[nodiscard]] const std::shared_ptr<Storage>& storage() const noexcept { return storage_; }
    // The first element (nullptr when not defined).
    [[nodiscard]] std::byte* data() const noexcept;
    template <typename T>
    [[nodiscard]] T* data_as() const noexcept {
        return reinterpret_cast<T*>(data());
    }

    // The window a kernel reads. Borrowed storage is read-only memory: kernels only read their inputs.
    [[nodiscard]] TensorView view() const noexcept;
    // The window a kernel writes; throws Error(ND_STATUS_INVALID_ARGUMENT) on read-only storage.
    [[nodiscard]] TensorView mutable_view() const;

    // Views (see Layout): same storage, no copy.
    [[nodiscard]] Tensor reshape(const Shape& shape) const { return with(layout_.reshape(shape)); }
    [[nodiscard]] Tensor permute(std::initializer_list<int> dims) const { return with(layout_.permute(dims)); }
    [[nodiscard]] Tensor permute(std::span<const int> dims) const { return with(layout_.permute(dims)); }
    [[nodiscard]] Tensor transpose(int a, int b) const { return with(layout_.transpose(a, b)); }
    [[nodiscard]] Tensor narrow(int dim, std::int64_t start, std::int64_t length) const {
        return with(layout_.narrow(dim, start, length));
    }
    [[nodiscard]] Tensor squeeze(int dim) const { return with(layout_.squeeze(dim)); }
    [[nodiscard]] Tensor unsqueeze(int dim) const { return with(layout_.unsqueeze(dim)); }

    // This tensor when it is contiguous, otherwise a packed copy in owned storage.
    [[nodiscard]] Tensor contiguous() const;
    // Copies the elements of `src` (same dtype and shape, any layouts) into this tensor.
    void copy_from(const Tensor& src) const;

    // Element values as float (F32, F16, BF16 and the integer types); for tests and debugging.
    [[nodiscard]] std::vector<float> to_f32() const;

private:
    [[nodiscard]] Tensor with(const Layout& layout) const {
        Tensor t;
        t.storage_ = storage_;
        t.layout_ = layout;
        return t;
    }

    std::shared_ptr<Storage> storage_;
    Layout layout_;
};

// Copies the elements of `src` into `dst` (same dtype and shape; any strides, block types row-wise).
// Throws Error(ND_STATUS_INVALID_ARGUMENT) on a dtype or shape mismatch. The kernel behind contiguous
// and concat on the CPU.
void copy_elements(const TensorView& src, const TensorView& dst);

// A TensorView over `base` with `layout` (whose offset is relative to `base`).
TensorView make_view(std::byte* base, const Layout& layout) noexcept;

} // namespace nd::core
