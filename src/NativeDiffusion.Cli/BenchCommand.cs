using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace NativeDiffusion.Cli;

/// <summary>
/// <c>nd bench -m MODEL</c>: loads a model, generates with it and reports the time of each stage (load, text encoder,
/// each sampling step, VAE decode), the CPU time they took and the process's peak resident memory.
/// </summary>
internal static class BenchCommand
{
    /// <summary>The most runs one bench makes.</summary>
    public const int MaxRuns = 100;

    public static Command Create()
    {
        var model = new Option<string>("--model", "-m")
        {
            Description = "The model: a .safetensors or .gguf file, or a diffusers folder.",
            Required = true,
            HelpName = "MODEL",
        };
        var prompt = new Option<string>("--prompt", "-p")
        {
            Description = "The prompt (its length does not change the cost: CLIP always encodes 77 tokens).",
            DefaultValueFactory = _ => "a photograph of an astronaut riding a horse",
        };
        var width = new Option<int>("--width", "-W") { Description = "The width, a multiple of 8.", DefaultValueFactory = _ => 512 };
        var height = new Option<int>("--height", "-H") { Description = "The height, a multiple of 8.", DefaultValueFactory = _ => 512 };
        var steps = new Option<int>("--steps") { Description = "Sampling steps per run, 1 to 1000.", DefaultValueFactory = _ => 3 };
        var cfg = new Option<double>("--cfg") { Description = "The CFG scale; 1 runs the UNet on the prompt alone (half the work).", DefaultValueFactory = _ => 7 };
        var sampler = new Option<string>("--sampler") { Description = "The sampler.", DefaultValueFactory = _ => Samplers.Euler };
        ModelOptions.AcceptOnly(sampler, Samplers.Names);
        var seed = new Option<long>("--seed", "-s") { Description = "The seed.", DefaultValueFactory = _ => 42 };
        var threads = new Option<int>("--threads", "-t") { Description = "Worker threads (default: one per physical core)." };
        var runs = new Option<int>("--runs") { Description = $"Generations on the loaded model, 1 to {MaxRuns}.", DefaultValueFactory = _ => 1 };
        var weightType = ModelOptions.WeightTypeOption("--weight-type", "Convert the weights to this type while loading (default: as stored).");
        var json = new Option<bool>("--json") { Description = "Print the figures as JSON instead of a table." };
        var modelOptions = new ModelOptions();

        var command = new Command(
            "bench",
            "Measure a model: load time, text encoder, seconds per sampling step (the first apart: it packs the weights), "
            + "VAE decode, CPU time and peak resident memory. No image is written.")
        {
            model, prompt, width, height, steps, cfg, sampler, seed, threads, runs, weightType, json,
        };
        modelOptions.AddTo(command);

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            var runCount = parseResult.GetValue(runs);
            if (runCount is < 1 or > MaxRuns)
            {
                error.WriteLine($"nd: error: --runs: must be 1 to {MaxRuns}, got {runCount.ToString(CultureInfo.InvariantCulture)}.");
                return ExitCodes.Usage;
            }

            GenerationRequest request;
            ModelLoadOptions loadOptions;
            try
            {
                request = new GenerationRequest
                {
                    Prompt = parseResult.GetRequiredValue(prompt),
                    Width = parseResult.GetValue(width),
                    Height = parseResult.GetValue(height),
                    Steps = parseResult.GetValue(steps),
                    CfgScale = parseResult.GetValue(cfg),
                    Sampler = parseResult.GetRequiredValue(sampler),
                    Seed = parseResult.GetValue(seed),
                };
                request.Validate();
                loadOptions = modelOptions.Read(parseResult, error, parseResult.GetValue(weightType), parseResult.GetValue(threads));
                loadOptions.Validate();
            }
            catch (ArgumentException e)
            {
                error.WriteLine($"nd: error: {OptionErrors.Describe(e)}");
                return ExitCodes.Usage;
            }

            return await RunAsync(
                parseResult.InvocationConfiguration.Output,
                error,
                parseResult.GetRequiredValue(model),
                loadOptions,
                request,
                runCount,
                parseResult.GetValue(json),
                cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RunAsync(
        TextWriter output,
        TextWriter error,
        string modelPath,
        ModelLoadOptions loadOptions,
        GenerationRequest request,
        int runCount,
        bool json,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        DiffusionModel model;
        try
        {
            model = await DiffusionModel.LoadAsync(modelPath, loadOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            error.WriteLine("nd: cancelled while loading the model");
            return ExitCodes.Cancelled;
        }

        var loadSeconds = clock.Elapsed.TotalSeconds;
        var residentAfterLoad = ResidentMemory.Current();
        var runReports = new List<BenchRunReport>(runCount);
        await using (model.ConfigureAwait(false))
        {
            for (var run = 0; run < runCount; run++)
            {
                var recorder = new StageRecorder();
                var label = runCount > 1 ? $"run {run + 1}/{runCount}" : "benchmarking";
                try
                {
                    await ProgressDisplay.RunAsync(error, label, update => model.GenerateAsync(
                        request,
                        new InlineProgress<GenerationProgress>(p =>
                        {
                            recorder.Record(p);
                            update(p.Fraction, (runCount > 1 ? label + ": " : string.Empty) + ProgressDisplay.Describe(p));
                        }),
                        cancellationToken)).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    error.WriteLine("nd: bench cancelled");
                    return ExitCodes.Cancelled;
                }

                runReports.Add(recorder.Finish());
            }
        }

        var report = Summarise(model.Info.Path, loadOptions, request, runCount, loadSeconds, residentAfterLoad, runReports);
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(report, CliJsonContext.Output.BenchReport));
        }
        else
        {
            WriteTable(output, report);
        }

        return ExitCodes.Success;
    }

    private static BenchReport Summarise(
        string modelPath,
        ModelLoadOptions loadOptions,
        GenerationRequest request,
        int runCount,
        double loadSeconds,
        long? residentAfterLoad,
        IReadOnlyList<BenchRunReport> runs)
    {
        // The first step of the first run packs the weights for the kernels; it is reported apart from the rest.
        var firstStep = runs[0].StepSeconds.Count > 0 ? runs[0].StepSeconds[0] : (double?)null;
        var laterSteps = runs.SelectMany((r, i) => i == 0 ? r.StepSeconds.Skip(1) : r.StepSeconds).ToList();
        var laterStepsCpu = runs.SelectMany((r, i) => i == 0 ? r.StepCpuSeconds.Skip(1) : r.StepCpuSeconds).ToList();
        return new BenchReport(
            modelPath,
            loadOptions.WeightType?.ToFileName().ToLowerInvariant(),
            request.Width,
            request.Height,
            request.Steps,
            request.CfgScale,
            request.Sampler,
            loadOptions.Threads,
            runCount,
            Environment.ProcessorCount,
            LoadAverage.Read(),
            loadSeconds,
            runs.Average(r => r.TextEncoderSeconds),
            runs.Average(r => r.TextEncoderCpuSeconds),
            firstStep,
            runs[0].StepCpuSeconds.Count > 0 ? runs[0].StepCpuSeconds[0] : null,
            laterSteps.Count > 0 ? laterSteps.Average() : null,
            laterSteps.Count > 0 ? laterSteps.Min() : null,
            laterStepsCpu.Count > 0 ? laterStepsCpu.Average() : null,
            runs.Average(r => r.SamplingSeconds),
            runs.Average(r => r.SamplingCpuSeconds),
            runs.Average(r => r.DecodeSeconds),
            runs.Average(r => r.DecodeCpuSeconds),
            loadSeconds + runs.Sum(r => r.Seconds),
            residentAfterLoad,
            ResidentMemory.Peak(),
            ResidentMemory.PeakSource,
            runs);
    }

    private static void WriteTable(TextWriter output, BenchReport report)
    {
        var rows = new List<string[]>
        {
            new[] { "load", Seconds(report.LoadSeconds), string.Empty, string.Empty },
            new[] { "text encoder", Seconds(report.TextEncoderSeconds), Seconds(report.TextEncoderCpuSeconds), PerRunNote(report) },
            new[]
            {
                "first step", report.FirstStepSeconds is { } first ? Seconds(first) : "-",
                report.FirstStepCpuSeconds is { } firstCpu ? Seconds(firstCpu) : "-", "packs the weights",
            },
            new[]
            {
                "step",
                report.StepSecondsMean is { } mean ? Seconds(mean) : "-",
                report.StepCpuSecondsMean is { } meanCpu ? Seconds(meanCpu) : "-",
                report.StepSecondsMin is { } min ? $"mean after the first; min {Seconds(min)}" : "needs 2 steps or more",
            },
            new[]
            {
                "sampling", Seconds(report.SamplingSeconds), Seconds(report.SamplingCpuSeconds),
                $"{(report.SamplingSeconds > 0 ? report.SamplingCpuSeconds / report.SamplingSeconds : 0).ToString("0.00", CultureInfo.InvariantCulture)} cores busy",
            },
            new[] { "VAE decode", Seconds(report.DecodeSeconds), Seconds(report.DecodeCpuSeconds), string.Empty },
            new[] { "total", Seconds(report.TotalSeconds), string.Empty, "load and every run" },
            new[] { "RSS after load", report.ResidentAfterLoadBytes is { } rss ? Format.Bytes(rss) : "-", string.Empty, string.Empty },
            new[] { "peak RSS", report.PeakResidentBytes is { } peak ? Format.Bytes(peak) : "-", string.Empty, report.PeakResidentSource },
        };

        output.WriteLine($"model     {report.Model}");
        output.WriteLine(
            $"settings  {report.Width}x{report.Height}, {report.Steps} steps, CFG {report.CfgScale.ToString(CultureInfo.InvariantCulture)}, "
            + $"{report.Sampler}, {(report.Threads > 0 ? report.Threads.ToString(CultureInfo.InvariantCulture) : "default")} threads, "
            + $"weights {report.WeightType ?? "as stored"}, {report.Runs} run(s)");
        output.WriteLine(
            $"machine   {report.LogicalCores} logical cores"
            + (report.LoadAverage is { } load ? $", load average {string.Join(" ", load.Select(l => l.ToString("0.00", CultureInfo.InvariantCulture)))}" : string.Empty));
        output.WriteLine();
        Format.Table(output, string.Empty, ["stage", "wall", "CPU", "note"], rows, 1, 2);
    }

    private static string PerRunNote(BenchReport report) => report.Runs > 1 ? $"mean of {report.Runs} runs" : string.Empty;

    private static string Seconds(double seconds) => seconds.ToString(seconds < 10 ? "0.000" : "0.0", CultureInfo.InvariantCulture) + " s";

    /// <summary>
    /// Turns the progress reports of one single-image generation into stage times. The engine reports text encoding
    /// once when it is done, sampling step 0 before the first step and then after each step (with that step's time),
    /// and decoding once the image is decoded (with the decode time). CPU time is the whole process's, read at those
    /// reports, so it counts every worker thread.
    /// </summary>
    private sealed class StageRecorder
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<double> _steps = [];
        private readonly List<double> _stepCpu = [];
        private TimeSpan _cpuMark = Environment.CpuUsage.TotalTime;
        private TimeSpan _stepCpuMark;
        private double _textSeconds;
        private double _textCpuSeconds;
        private double _samplingStarted;
        private double _samplingSeconds;
        private double _samplingCpuSeconds;
        private double _decodeSeconds;
        private double _decodeCpuSeconds;

        public void Record(GenerationProgress progress)
        {
            var cpu = Environment.CpuUsage.TotalTime;
            switch (progress.Stage)
            {
                case GenerationStage.TextEncoding:
                    _textSeconds = progress.LastStep.TotalSeconds;
                    _textCpuSeconds = (cpu - _cpuMark).TotalSeconds;
                    break;
                case GenerationStage.Sampling when progress.Step == 0:
                    _samplingStarted = _clock.Elapsed.TotalSeconds;
                    _cpuMark = cpu;
                    _stepCpuMark = cpu;
                    break;
                case GenerationStage.Sampling:
                    _steps.Add(progress.LastStep.TotalSeconds);
                    _stepCpu.Add((cpu - _stepCpuMark).TotalSeconds);
                    _stepCpuMark = cpu;
                    if (progress.Step == progress.Steps)
                    {
                        _samplingSeconds = _clock.Elapsed.TotalSeconds - _samplingStarted;
                        _samplingCpuSeconds = (cpu - _cpuMark).TotalSeconds;
                        _cpuMark = cpu;
                    }

                    break;
                case GenerationStage.Decoding:
                    _decodeSeconds = progress.LastStep.TotalSeconds;
                    _decodeCpuSeconds = (cpu - _cpuMark).TotalSeconds;
                    break;
            }
        }

        public BenchRunReport Finish() => new(
            _textSeconds,
            _textCpuSeconds,
            _steps,
            _stepCpu,
            _samplingSeconds,
            _samplingCpuSeconds,
            _decodeSeconds,
            _decodeCpuSeconds,
            _clock.Elapsed.TotalSeconds);
    }
}

/// <summary>The process's resident memory: current and peak (VmRSS and VmHWM on Linux).</summary>
internal static class ResidentMemory
{
    /// <summary>Where <see cref="Peak"/> comes from, for the report.</summary>
    public static string PeakSource => OperatingSystem.IsLinux() ? "VmHWM" : "PeakWorkingSet64";

    /// <summary>The peak resident set of the process so far, in bytes; null if it cannot be read.</summary>
    public static long? Peak() => OperatingSystem.IsLinux() ? StatusField("VmHWM:") : PeakWorkingSet();

    /// <summary>The resident set of the process now, in bytes; null if it cannot be read.</summary>
    public static long? Current()
    {
        if (OperatingSystem.IsLinux())
        {
            return StatusField("VmRSS:");
        }

        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    /// <summary>A field of <c>/proc/self/status</c> written in kB (<c>VmHWM:  123456 kB</c>), in bytes.</summary>
    internal static long? StatusField(string name)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(name, StringComparison.Ordinal))
                {
                    var parts = line[name.Length..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    return parts.Length == 2 && parts[1] == "kB" && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kb)
                        ? kb * 1024
                        : null;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    private static long PeakWorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }
}

/// <summary>The system's load average (1, 5 and 15 minutes), from <c>/proc/loadavg</c>; null where there is none.</summary>
internal static class LoadAverage
{
    public static IReadOnlyList<double>? Read()
    {
        try
        {
            if (!OperatingSystem.IsLinux())
            {
                return null;
            }

            var parts = File.ReadAllText("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = new List<double>(3);
            for (var i = 0; i < 3 && i < parts.Length; i++)
            {
                if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    return null;
                }

                values.Add(value);
            }

            return values.Count == 3 ? values : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
