using System.Text.Json;
using NativeDiffusion.Cli;

namespace NativeDiffusion.Tests.Cli;

/// <summary>Runs the <c>nd</c> tool in-process and checks what it prints and returns.</summary>
public sealed class CliTests
{
    [Fact]
    public async Task Info_prints_version_library_path_build_and_machine()
    {
        var (code, output, error) = await RunAsync("info");

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, error);
        Assert.Contains($"NativeDiffusion {NativeDiffusionLibrary.Version} (ABI version {NativeDiffusionLibrary.AbiVersion})", output, StringComparison.Ordinal);
        Assert.Contains($"Library:       {NativeDiffusionLibrary.LoadedLibraryPath}", output, StringComparison.Ordinal);
        foreach (var label in new[] { "Compiler:", "Build type:", "C++ flags:", "Backends:      CPU", "CPU:", "CPU features:", "Cores:", "Memory:" })
        {
            Assert.Contains(label, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Info_json_parses_and_matches_the_library()
    {
        var (code, output, _) = await RunAsync("info", "--json");

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal(NativeDiffusionLibrary.Version, root.GetProperty("version").GetString());
        Assert.Equal(NativeDiffusionLibrary.AbiVersion, root.GetProperty("abiVersion").GetUInt32());
        Assert.Equal(NativeDiffusionLibrary.LoadedLibraryPath, root.GetProperty("libraryPath").GetString());
        Assert.Contains("CPU", root.GetProperty("build").GetProperty("backends").EnumerateArray().Select(b => b.GetString()));
        var system = root.GetProperty("system");
        Assert.True(system.GetProperty("logicalCores").GetInt32() >= 1);
        Assert.True(system.GetProperty("totalMemoryBytes").GetInt64() > 0);
        Assert.Equal(JsonValueKind.Array, system.GetProperty("cpuFeatures").ValueKind);
    }

    [Fact]
    public async Task Inspect_lists_tensors_metadata_totals_and_the_parameter_count()
    {
        var (code, output, error) = await RunAsync("inspect", TestPaths.TinySd1Model);

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, error);
        Assert.Contains("Tensors: 981", output, StringComparison.Ordinal);
        Assert.Contains("cond_stage_model.transformer.text_model.embeddings.position_ids", output, StringComparison.Ordinal);
        Assert.Contains("[49408, 128]", output, StringComparison.Ordinal);
        Assert.Contains("format: pt", output, StringComparison.Ordinal);
        Assert.Contains("11,520,235 parameters", output, StringComparison.Ordinal);
        Assert.Matches(@"F16\s+980\s+11,520,235\s+23,040,470", output);
        Assert.Matches(@"I64\s+1\s+77\s+616", output);
    }

    [Fact]
    public async Task Inspect_json_reports_counts_tensors_and_totals()
    {
        var (code, output, _) = await RunAsync("inspect", TestPaths.TinySd1Model, "--json");

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal(981, root.GetProperty("tensorCount").GetInt32());
        Assert.Equal(11_520_235, root.GetProperty("parameterCount").GetInt64());
        Assert.Equal(981, root.GetProperty("tensors").GetArrayLength());
        Assert.Equal("pt", root.GetProperty("metadata").GetProperty("format").GetString());
        var first = root.GetProperty("tensors")[0];
        Assert.Equal("F16", first.GetProperty("dtype").GetString());
        Assert.Equal(2, first.GetProperty("shape").GetArrayLength());
        var f16 = root.GetProperty("totalsByDtype").EnumerateArray().Single(t => t.GetProperty("dtype").GetString() == "F16");
        Assert.Equal(980, f16.GetProperty("tensorCount").GetInt32());
    }

    [Fact]
    public async Task Inspect_filter_and_limit_narrow_the_listing()
    {
        var (code, output, _) = await RunAsync("inspect", TestPaths.TinySd1Model, "--json", "--filter", "POSITION_IDS");

        Assert.Equal(0, code);
        using (var json = JsonDocument.Parse(output))
        {
            Assert.Equal(1, json.RootElement.GetProperty("matchingTensorCount").GetInt32());
            Assert.Equal("I64", json.RootElement.GetProperty("tensors")[0].GetProperty("dtype").GetString());
        }

        (code, output, _) = await RunAsync("inspect", TestPaths.TinySd1Model, "--limit", "3");
        Assert.Equal(0, code);
        Assert.Contains("Tensors: 981 (first 3 listed)", output, StringComparison.Ordinal);
        Assert.Contains("11,520,235 parameters", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_of_a_missing_file_exits_1_with_a_one_line_message()
    {
        using var temp = new TempFolder();
        var missing = temp.File("absent.safetensors");

        var (code, output, error) = await RunAsync("inspect", missing);

        Assert.Equal(1, code);
        Assert.Equal(string.Empty, output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("nd: error: ", line, StringComparison.Ordinal);
        Assert.Contains(missing, line, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", line.Replace(missing, "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_of_a_malformed_file_exits_1()
    {
        using var temp = new TempFolder();
        var path = temp.File("garbage.safetensors");
        File.WriteAllText(path, "definitely not a safetensors file");

        var (code, _, error) = await RunAsync("inspect", path);

        Assert.Equal(1, code);
        Assert.StartsWith("nd: error: ", error, StringComparison.Ordinal);
        Assert.Contains("InvalidFormat", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData]
    [InlineData("frobnicate")]
    [InlineData("inspect")]
    [InlineData("info", "--no-such-option")]
    [InlineData("inspect", "model.safetensors", "--limit", "-1")]
    [InlineData("inspect", "model.safetensors", "--limit", "many")]
    public async Task Bad_usage_exits_2_with_a_message(params string[] args)
    {
        var (code, _, error) = await RunAsync(args);

        Assert.Equal(2, code);
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public async Task Help_exits_0()
    {
        var (code, output, _) = await RunAsync("--help");

        Assert.Equal(0, code);
        Assert.Contains("inspect", output, StringComparison.Ordinal);
        Assert.Contains("info", output, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await NdCommandLine.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
