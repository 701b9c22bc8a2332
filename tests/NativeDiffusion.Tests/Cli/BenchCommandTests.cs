using System.Text.Json;
using NativeDiffusion.Cli;
using NativeDiffusion.Tests.Generation;

namespace NativeDiffusion.Tests.Cli;

/// <summary><c>nd bench</c> on the tiny SD 1.x fixture, run in-process. Times are checked for presence and sign, never for size.</summary>
public sealed class BenchCommandTests
{
    [Fact]
    public async Task Bench_table_lists_every_stage_the_settings_and_peak_memory()
    {
        var (code, stdout, _) = await RunAsync(
            "bench", "-m", TinySd1.Checkpoint, "--tokenizer", TinySd1.Tokenizer, "-W", "64", "-H", "64", "--steps", "3", "--threads", "1");

        Assert.Equal(0, code);
        Assert.Contains("64x64, 3 steps, CFG 7, euler, 1 threads, weights as stored, 1 run(s)", stdout, StringComparison.Ordinal);
        Assert.Contains(TinySd1.Checkpoint, stdout, StringComparison.Ordinal);
        foreach (var stage in new[] { "load", "text encoder", "first step", "step", "sampling", "VAE decode", "total" })
        {
            Assert.Matches($@"(?m)^{stage}\s+\d+\.\d+ s", stdout);
        }

        Assert.Matches(@"(?m)^step\s+\d+\.\d+ s\s+\d+\.\d+ s\s+mean after the first; min \d+\.\d+ s", stdout);
        Assert.Matches(@"(?m)^stage\s+wall\s+CPU\s+note", stdout);
        Assert.Matches(@"(?m)^sampling\s+\d+\.\d+ s\s+\d+\.\d+ s\s+\d+\.\d\d cores busy", stdout);
        if (OperatingSystem.IsLinux())
        {
            Assert.Matches(@"(?m)^peak RSS\s+\d+\.\d (KiB|MiB|GiB)\s+VmHWM", stdout);
            Assert.Matches(@"load average \d+\.\d\d \d+\.\d\d \d+\.\d\d", stdout);
        }
    }

    [Fact]
    public async Task Bench_json_parses_with_positive_stage_times_and_peak_memory()
    {
        var (code, stdout, _) = await RunAsync(
            "bench", "-m", TinySd1.Checkpoint, "--tokenizer", TinySd1.Tokenizer, "-W", "64", "-H", "64", "--steps", "3", "--runs", "2",
            "--sampler", "dpmpp_2m", "--cfg", "5", "--json");

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal(TinySd1.Checkpoint, root.GetProperty("model").GetString());
        Assert.Equal((64, 64, 3, 2), (root.GetProperty("width").GetInt32(), root.GetProperty("height").GetInt32(),
            root.GetProperty("steps").GetInt32(), root.GetProperty("runs").GetInt32()));
        Assert.Equal("dpmpp_2m", root.GetProperty("sampler").GetString());
        Assert.Equal(5, root.GetProperty("cfgScale").GetDouble());
        foreach (var name in new[]
                 {
                     "loadSeconds", "textEncoderSeconds", "firstStepSeconds", "stepSecondsMean", "stepSecondsMin", "samplingSeconds",
                     "samplingCpuSeconds", "decodeSeconds", "totalSeconds",
                 })
        {
            Assert.True(root.GetProperty(name).GetDouble() > 0, $"{name} is {root.GetProperty(name)}");
        }

        Assert.True(root.GetProperty("stepSecondsMin").GetDouble() <= root.GetProperty("stepSecondsMean").GetDouble());
        foreach (var name in new[] { "textEncoderCpuSeconds", "firstStepCpuSeconds", "stepCpuSecondsMean", "decodeCpuSeconds" })
        {
            Assert.True(root.GetProperty(name).GetDouble() >= 0, $"{name} is {root.GetProperty(name)}");
        }

        var runs = root.GetProperty("runDetails").EnumerateArray().ToList();
        Assert.Equal(2, runs.Count);
        var laterSteps = new List<double>();
        var laterStepsCpu = new List<double>();
        var runSeconds = 0.0;
        for (var i = 0; i < runs.Count; i++)
        {
            var steps = runs[i].GetProperty("stepSeconds").EnumerateArray().Select(s => s.GetDouble()).ToList();
            Assert.Equal(3, steps.Count);
            Assert.Equal(3, runs[i].GetProperty("stepCpuSeconds").GetArrayLength());
            Assert.All(steps, s => Assert.True(s > 0));
            laterSteps.AddRange(i == 0 ? steps.Skip(1) : steps);
            var stepsCpu = runs[i].GetProperty("stepCpuSeconds").EnumerateArray().Select(s => s.GetDouble()).ToList();
            laterStepsCpu.AddRange(i == 0 ? stepsCpu.Skip(1) : stepsCpu);
            Assert.True(runs[i].GetProperty("textEncoderSeconds").GetDouble() > 0);
            Assert.True(runs[i].GetProperty("decodeSeconds").GetDouble() > 0);
            runSeconds += runs[i].GetProperty("seconds").GetDouble();
        }

        // The summary is computed from the runs: the first step of run 1 apart, the rest averaged.
        Assert.Equal(runs[0].GetProperty("stepSeconds")[0].GetDouble(), root.GetProperty("firstStepSeconds").GetDouble());
        Assert.Equal(laterSteps.Average(), root.GetProperty("stepSecondsMean").GetDouble(), 9);
        Assert.Equal(laterSteps.Min(), root.GetProperty("stepSecondsMin").GetDouble());
        Assert.Equal(laterStepsCpu.Average(), root.GetProperty("stepCpuSecondsMean").GetDouble(), 9);
        Assert.Equal(root.GetProperty("loadSeconds").GetDouble() + runSeconds, root.GetProperty("totalSeconds").GetDouble(), 9);
        if (OperatingSystem.IsLinux())
        {
            var peak = root.GetProperty("peakResidentBytes").GetInt64();
            Assert.True(peak > 0);
            Assert.True(peak >= root.GetProperty("residentAfterLoadBytes").GetInt64());
            Assert.Equal("VmHWM", root.GetProperty("peakResidentSource").GetString());
            Assert.Equal(3, root.GetProperty("loadAverage").GetArrayLength());
        }
    }

    [Fact]
    public async Task Bench_of_one_step_reports_it_as_the_first_step_and_no_later_step_time()
    {
        var (code, stdout, _) = await RunAsync(
            "bench", "-m", TinySd1.Checkpoint, "--tokenizer", TinySd1.Tokenizer, "-W", "64", "-H", "64", "--steps", "1", "--json");

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        Assert.True(json.RootElement.GetProperty("firstStepSeconds").GetDouble() > 0);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("stepSecondsMean").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("stepSecondsMin").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("stepCpuSecondsMean").ValueKind);
    }

    [Theory]
    [InlineData("--runs", "0", "--runs")]
    [InlineData("--runs", "101", "--runs")]
    [InlineData("--steps", "0", "--steps")]
    [InlineData("-W", "65", "--width")]
    [InlineData("--cfg", "-1", "--cfg")]
    [InlineData("--threads", "-1", "--threads")]
    [InlineData("--sampler", "plms", "--sampler")]
    [InlineData("--weight-type", "q9", "--weight-type")]
    [InlineData("--steps", "many", "--steps")]
    public async Task Bench_with_a_bad_argument_exits_2_naming_the_option(string option, string value, string named)
    {
        var (code, stdout, stderr) = await RunAsync("bench", "-m", TinySd1.Checkpoint, "--tokenizer", TinySd1.Tokenizer, option, value);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains(named, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("peak RSS", stdout, StringComparison.Ordinal); // nothing ran (a parse error prints the help)
    }

    [Fact]
    public async Task Bench_without_a_model_exits_2()
    {
        var (code, _, stderr) = await RunAsync("bench", "--steps", "2");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--model", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_of_a_missing_model_exits_1_with_one_line()
    {
        using var temp = new TempFolder();
        var missing = temp.File("missing.safetensors");

        var (code, stdout, stderr) = await RunAsync("bench", "-m", missing, "-W", "64", "-H", "64", "--steps", "1");

        Assert.Equal(ExitCodes.Failure, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains("missing.safetensors", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await NdCommandLine.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
