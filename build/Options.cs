namespace NativeDiffusion.Build;

/// <summary>The command line: target names and options, in any order.</summary>
internal sealed record Options(IReadOnlyList<string> Targets, string Preset, bool Check, bool Help, string? Filter = null)
{
    public const string DefaultPreset = "release";

    public static readonly IReadOnlyList<(string Syntax, string Description)> Descriptions =
    [
        ("--preset <name>", $"CMake preset for Native and Test (default: {DefaultPreset}; see CMakePresets.json)"),
        ("--check", "Bindings: verify the committed generated files instead of writing them"),
        ("--filter <regex>", "Bench: run only the benchmarks whose names match (Google Benchmark's --benchmark_filter)"),
        ("--help, -h", "Show the targets and options"),
    ];

    /// <exception cref="ArgumentException">An unknown option or a missing value.</exception>
    public static Options Parse(IReadOnlyList<string> args)
    {
        var targets = new List<string>();
        var preset = DefaultPreset;
        var check = false;
        var help = false;
        string? filter = null;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--preset":
                    preset = i + 1 < args.Count && !args[i + 1].StartsWith('-')
                        ? args[++i]
                        : throw new ArgumentException("--preset needs a preset name, e.g. --preset debug");
                    break;
                case "--filter":
                    filter = i + 1 < args.Count
                        ? args[++i]
                        : throw new ArgumentException("--filter needs a regular expression, e.g. --filter 'BM_matmul/F16'");
                    break;
                case "--check":
                    check = true;
                    break;
                case "--help" or "-h" or "-?":
                    help = true;
                    break;
                case var option when option.StartsWith('-'):
                    throw new ArgumentException($"unknown option '{option}'");
                default:
                    targets.Add(args[i]);
                    break;
            }
        }
        return new Options(targets, preset, check, help, filter);
    }
}
