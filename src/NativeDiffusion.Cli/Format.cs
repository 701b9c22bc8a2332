using System.Globalization;

namespace NativeDiffusion.Cli;

/// <summary>How <c>nd</c> writes numbers and flags for people (invariant culture, so output is the same everywhere).</summary>
internal static class Format
{
    /// <summary>A count with thousands separators: <c>11,520,235</c>.</summary>
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A byte size in binary units: <c>22.1 MiB</c>; plain bytes below 1 KiB.</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
        if (bytes < 1024)
        {
            return $"{bytes.ToString(CultureInfo.InvariantCulture)} B";
        }

        double value = bytes;
        var unit = -1;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return $"{value.ToString("0.0", CultureInfo.InvariantCulture)} {units[unit]}";
    }

    /// <summary>The names of the CPU features set, as vendors spell them: <c>SSE4.2</c>, <c>AVX2</c>, <c>AVX512BW</c>.</summary>
    public static IReadOnlyList<string> CpuFeatureNames(CpuFeatures features)
    {
        var names = new List<string>();
        var known = CpuFeatures.None;
        foreach (var feature in Enum.GetValues<CpuFeatures>())
        {
            if (feature != CpuFeatures.None && features.HasFlag(feature))
            {
                names.Add(feature.ToString().ToUpperInvariant().Replace('_', '.'));
            }

            known |= feature;
        }

        var unknown = (ulong)(features & ~known);
        if (unknown != 0)
        {
            names.Add($"0x{unknown.ToString("x", CultureInfo.InvariantCulture)}");
        }

        return names;
    }

    /// <summary>The names of the backends set: <c>CPU</c>, <c>Vulkan</c>, <c>CUDA</c>.</summary>
    public static IReadOnlyList<string> BackendNames(Backends backends)
    {
        var names = new List<string>();
        if (backends.HasFlag(Backends.Cpu))
        {
            names.Add("CPU");
        }

        if (backends.HasFlag(Backends.Vulkan))
        {
            names.Add("Vulkan");
        }

        if (backends.HasFlag(Backends.Cuda))
        {
            names.Add("CUDA");
        }

        var unknown = (int)(backends & ~(Backends.Cpu | Backends.Vulkan | Backends.Cuda));
        if (unknown != 0)
        {
            names.Add($"0x{unknown.ToString("x", CultureInfo.InvariantCulture)}");
        }

        return names;
    }

    /// <summary>Writes rows as aligned columns; columns listed in <paramref name="rightAligned"/> are right-aligned.</summary>
    public static void Table(TextWriter output, string indent, IReadOnlyList<string> header, IEnumerable<string[]> rows, params int[] rightAligned)
    {
        var all = new List<string[]> { header.ToArray() };
        all.AddRange(rows);
        var widths = new int[header.Count];
        foreach (var row in all)
        {
            for (var c = 0; c < widths.Length; c++)
            {
                widths[c] = Math.Max(widths[c], row[c].Length);
            }
        }

        foreach (var row in all)
        {
            var cells = new string[widths.Length];
            for (var c = 0; c < widths.Length; c++)
            {
                var last = c == widths.Length - 1;
                cells[c] = Array.IndexOf(rightAligned, c) >= 0 ? row[c].PadLeft(widths[c])
                    : last ? row[c]
                    : row[c].PadRight(widths[c]);
            }

            output.WriteLine(indent + string.Join("  ", cells));
        }
    }
}
