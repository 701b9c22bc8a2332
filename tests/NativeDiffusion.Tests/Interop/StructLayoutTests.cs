using System.Reflection;
using System.Runtime.InteropServices;
using NativeDiffusion.Interop;

namespace NativeDiffusion.Tests.Interop;

/// <summary>
/// Every struct and field of the generated bindings has the size and offset the native library reports
/// through nd_struct_layout: the two sides were compiled by different compilers from one header.
/// </summary>
public sealed unsafe class StructLayoutTests
{
    /// <summary>One case per struct (field null) and per field, named by the C names.</summary>
    public static TheoryData<string, string?> Entries()
    {
        var data = new TheoryData<string, string?>();
        foreach (var entry in StructLayouts.All)
        {
            data.Add(entry.NativeStruct, entry.NativeField);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Managed_layout_matches_the_native_library(string nativeStruct, string? nativeField)
    {
        NativeLibraryLoader.EnsureLoaded();
        var entry = StructLayouts.All.Single(e => e.NativeStruct == nativeStruct && e.NativeField == nativeField);

        var (nativeOffset, nativeSize) = NativeLayout(nativeStruct, nativeField);

        if (entry.ManagedField is null)
        {
            Assert.Equal(nativeSize, (nuint)Marshal.SizeOf(entry.ManagedType));
            Assert.Equal(0u, nativeOffset);
        }
        else
        {
            Assert.Equal(nativeOffset, (nuint)Marshal.OffsetOf(entry.ManagedType, entry.ManagedField));
            Assert.Equal(nativeSize, ManagedFieldSize(entry.ManagedType, entry.ManagedField));
        }
    }

    [Fact]
    public void Unknown_struct_name_is_not_found()
    {
        NativeLibraryLoader.EnsureLoaded();
        nuint offset, size;

        var status = NativeMethods.nd_struct_layout("nd_no_such_struct", null, &offset, &size);

        Assert.Equal(NdStatus.NotFound, status);
    }

    private static (nuint Offset, nuint Size) NativeLayout(string nativeStruct, string? nativeField)
    {
        nuint offset, size;
        // field_name may be NULL in C (the struct's own size); the binding's string parameter passes null as NULL.
        var status = NativeMethods.nd_struct_layout(nativeStruct, nativeField, &offset, &size);
        Assert.True(status == NdStatus.Ok,
                    $"nd_struct_layout({nativeStruct}, {nativeField ?? "NULL"}) returned {status}: " +
                    Marshal.PtrToStringUTF8((nint)NativeMethods.nd_last_error()));
        return (offset, size);
    }

    /// <summary>The size a field takes in the struct: pointers and function pointers are IntPtr.Size.</summary>
    private static nuint ManagedFieldSize(Type type, string fieldName)
    {
        var field = type.GetField(fieldName, BindingFlags.Public | BindingFlags.Instance);
        Assert.True(field is not null, $"{type.Name} has no public field {fieldName}");
        var fieldType = field.FieldType;
        if (fieldType.IsPointer || fieldType.IsFunctionPointer || fieldType == typeof(nint) || fieldType == typeof(nuint))
        {
            return (nuint)IntPtr.Size;
        }
        return (nuint)Marshal.SizeOf(fieldType.IsEnum ? Enum.GetUnderlyingType(fieldType) : fieldType);
    }
}
