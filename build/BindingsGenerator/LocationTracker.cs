using System.Text.Json;

namespace NativeDiffusion.BindingsGenerator;

/// <summary>
/// Follows the file and line of the locations of clang's JSON AST dump in document order. The dump
/// writes "file" only when it changes from the last location written, and "line" only when file or
/// line changes; a location inside a macro expansion is written as "spellingLoc" then "expansionLoc",
/// so after walking one the tracker holds the expansion's file, which is where the code appears.
/// </summary>
internal sealed class LocationTracker
{
    public string? File { get; private set; }

    public int Line { get; private set; }

    /// <summary>Walks any JSON value in document order, updating file and line at each location.</summary>
    public void Walk(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object when IsBareLocation(element):
                if (element.TryGetProperty("file", out var file))
                {
                    File = file.GetString();
                }
                if (element.TryGetProperty("line", out var line))
                {
                    Line = line.GetInt32();
                }
                // "includedFrom" inside a location names the includer; it does not change the current file.
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Walk(property.Value);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item);
                }
                break;
        }
    }

    /// <summary>Whether a "loc" value is a real location (implicit declarations have an empty one).</summary>
    public static bool IsValid(JsonElement location) =>
        location.ValueKind == JsonValueKind.Object
        && (IsBareLocation(location) || location.TryGetProperty("expansionLoc", out _));

    /// <summary>The byte offset of a location in its file (the expansion's, for a macro).</summary>
    public static int? OffsetOf(JsonElement location)
    {
        if (location.TryGetProperty("expansionLoc", out var expansion))
        {
            location = expansion;
        }
        return location.TryGetProperty("offset", out var offset) ? offset.GetInt32() : null;
    }

    /// <summary>The offset just past the token a location points at (a range's end points at its last token).</summary>
    public static int? EndOf(JsonElement location)
    {
        if (location.TryGetProperty("expansionLoc", out var expansion))
        {
            location = expansion;
        }
        return location.TryGetProperty("offset", out var offset) && location.TryGetProperty("tokLen", out var length)
            ? offset.GetInt32() + length.GetInt32()
            : null;
    }

    private static bool IsBareLocation(JsonElement element) =>
        element.TryGetProperty("offset", out _) && element.TryGetProperty("col", out _);
}
