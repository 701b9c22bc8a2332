using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using NativeDiffusion.Images;

namespace NativeDiffusion.Cli;

/// <summary><c>nd generate "prompt" -m MODEL</c>: text to image (or image to image with <c>--init-image</c>), written as PNG with the settings.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var prompt = new Argument<string>("prompt") { Description = "The prompt, with the web UI's weighting syntax: (word:1.2), [word], BREAK." };
        var model = new Option<string>("--model", "-m")
        {
            Description = "The model: a .safetensors or .gguf file, or a diffusers folder.",
            Required = true,
            HelpName = "MODEL",
        };
        var negative = new Option<string?>("--negative", "-n") { Description = "The negative prompt." };
        var steps = new Option<int>("--steps") { Description = "Sampling steps, 1 to 1000.", DefaultValueFactory = _ => 20 };
        var cfg = new Option<double>("--cfg") { Description = "The CFG (guidance) scale, 0 to 100; 1 skips the negative prompt.", DefaultValueFactory = _ => 7 };
        var sampler = new Option<string>("--sampler")
        {
            Description = "The sampler.",
            DefaultValueFactory = _ => Samplers.EulerAncestral,
        };
        ModelOptions.AcceptOnly(sampler, Samplers.Names);
        var schedule = new Option<string>("--schedule")
        {
            Description = "The noise schedule (default: the sampler's own).",
            DefaultValueFactory = _ => Schedules.Default,
        };
        ModelOptions.AcceptOnly(schedule, Schedules.Names);
        var spacing = new Option<string?>("--timestep-spacing") { Description = "How timesteps are spaced (default: the sampler's own)." };
        ModelOptions.AcceptOnly(spacing, TimestepSpacings.Names);
        var seed = new Option<long>("--seed", "-s") { Description = "The seed; -1 for a random one (printed).", DefaultValueFactory = _ => GenerationRequest.RandomSeed };
        var rng = new Option<string>("--rng")
        {
            Description = "The noise generator: cpu (PyTorch's CPU generator, as diffusers on a CPU) or cuda (as web UIs on a GPU).",
            DefaultValueFactory = _ => "cpu",
        };
        ModelOptions.AcceptOnly(rng, ["cpu", "cuda"]);
        var width = new Option<int?>("--width", "-W") { Description = "The width, a multiple of 8 (default: 512, or the init image's)." };
        var height = new Option<int?>("--height", "-H") { Description = "The height, a multiple of 8 (default: 512, or the init image's)." };
        var batch = new Option<int>("--batch", "-b") { Description = "Images to make, with seeds seed, seed + 1, ... (1 to 64).", DefaultValueFactory = _ => 1 };
        var clipSkip = new Option<int>("--clip-skip") { Description = "CLIP skip as the web UI counts it: 1 the last layer, 2 the penultimate; 0 the model's default." };
        var initImage = new Option<string?>("--init-image", "-i") { Description = "Image to image: start from this PNG, JPEG or WebP.", HelpName = "FILE" };
        var strength = new Option<double>("--strength") { Description = "Image to image: how much of the init image is replaced, (0, 1].", DefaultValueFactory = _ => 0.75 };
        var threads = new Option<int>("--threads", "-t") { Description = "Worker threads (default: one per physical core)." };
        var weightType = ModelOptions.WeightTypeOption("--weight-type", "Convert the weights to this type while loading (default: as stored).");
        var output = new Option<string>("--output", "-o")
        {
            Description = "The image file (.png, .jpg, .webp); a batch writes NAME.png, NAME-1.png, ...",
            DefaultValueFactory = _ => "out.png",
            HelpName = "FILE",
        };
        var json = new Option<bool>("--json") { Description = "Print a JSON report (files, seeds, settings) instead of text." };
        var modelOptions = new ModelOptions();

        var command = new Command(
            "generate",
            $"Generate images from a prompt and save them with their settings (the web UI's PNG 'parameters').\n"
            + $"Samplers: {string.Join(", ", Samplers.Names)}. Schedules: {string.Join(", ", Schedules.Names)}.")
        {
            prompt, model, negative, steps, cfg, sampler, schedule, spacing, seed, rng, width, height, batch, clipSkip,
            initImage, strength, threads, weightType, output, json,
        };
        modelOptions.AddTo(command);

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            var initPath = parseResult.GetValue(initImage);
            var init = initPath is null ? null : await InputImage.LoadAsync(initPath, cancellationToken: cancellationToken).ConfigureAwait(false);
            GenerationRequest request;
            try
            {
                request = new GenerationRequest
                {
                    Prompt = parseResult.GetRequiredValue(prompt),
                    NegativePrompt = parseResult.GetValue(negative) ?? string.Empty,
                    Width = parseResult.GetValue(width) ?? init?.Width ?? 512,
                    Height = parseResult.GetValue(height) ?? init?.Height ?? 512,
                    Steps = parseResult.GetValue(steps),
                    CfgScale = parseResult.GetValue(cfg),
                    Sampler = parseResult.GetRequiredValue(sampler),
                    Schedule = parseResult.GetRequiredValue(schedule),
                    TimestepSpacing = parseResult.GetValue(spacing),
                    Seed = parseResult.GetValue(seed),
                    Rng = parseResult.GetRequiredValue(rng) == "cuda" ? NoiseSource.Cuda : NoiseSource.Cpu,
                    BatchCount = parseResult.GetValue(batch),
                    ClipSkip = parseResult.GetValue(clipSkip),
                    InitImage = init,
                    Strength = parseResult.GetValue(strength),
                };
                request.Validate();
            }
            catch (ArgumentException e)
            {
                error.WriteLine($"nd: error: {OptionErrors.Describe(e)}");
                return ExitCodes.Usage;
            }

            var loadOptions = modelOptions.Read(parseResult, error, parseResult.GetValue(weightType), parseResult.GetValue(threads));
            try
            {
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
                parseResult.GetRequiredValue(output),
                parseResult.GetValue(json),
                cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>The output files of a batch: <c>out.png</c>, <c>out-1.png</c>, <c>out-2.png</c>...</summary>
    internal static string OutputPath(string path, int index)
    {
        if (index == 0)
        {
            return path;
        }

        var folder = Path.GetDirectoryName(path);
        var name = $"{Path.GetFileNameWithoutExtension(path)}-{index.ToString(CultureInfo.InvariantCulture)}{Path.GetExtension(path)}";
        return string.IsNullOrEmpty(folder) ? name : Path.Combine(folder, name);
    }

    private static async Task<int> RunAsync(
        TextWriter output,
        TextWriter error,
        string modelPath,
        ModelLoadOptions loadOptions,
        GenerationRequest request,
        string outputPath,
        bool json,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        IReadOnlyList<GeneratedImage> images;
        DiffusionModel model;
        try
        {
            model = await DiffusionModel.LoadAsync(modelPath, loadOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            error.WriteLine("nd: cancelled while loading the model; no image was written");
            return ExitCodes.Cancelled;
        }

        await using (model.ConfigureAwait(false))
        {
            try
            {
                images = await ProgressDisplay.RunAsync(error, "generating", update => model.GenerateAsync(
                    request,
                    new InlineProgress<GenerationProgress>(p => update(p.Fraction, ProgressDisplay.Describe(p))),
                    cancellationToken)).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                error.WriteLine("nd: generation cancelled; no image was written");
                return ExitCodes.Cancelled;
            }
        }

        var files = new List<GeneratedImageReport>(images.Count);
        for (var i = 0; i < images.Count; i++)
        {
            var path = Path.GetFullPath(OutputPath(outputPath, i));
            if (Path.GetDirectoryName(path) is { Length: > 0 } folder)
            {
                Directory.CreateDirectory(folder);
            }

            // Not cancellable: the images are made, and each save is atomic.
            await images[i].SaveAsync(path, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            files.Add(new GeneratedImageReport(path, images[i].Settings!.Seed, images[i].Width, images[i].Height));
        }

        var seconds = clock.Elapsed.TotalSeconds;
        if (json)
        {
            var report = new GenerateReport(model.Info.Path, images[0].Settings!.ToInfotext(), seconds, files);
            output.WriteLine(JsonSerializer.Serialize(report, CliJsonContext.Output.GenerateReport));
        }
        else
        {
            foreach (var file in files)
            {
                output.WriteLine($"{file.Path}  seed {file.Seed.ToString(CultureInfo.InvariantCulture)}  {file.Width}x{file.Height}");
            }

            error.WriteLine($"nd: {files.Count} image(s) in {seconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
        }

        return ExitCodes.Success;
    }
}

/// <summary>An <see cref="IProgress{T}"/> that runs its action on the reporting thread.</summary>
internal sealed class InlineProgress<T>(Action<T> action) : IProgress<T>
{
    public void Report(T value) => action(value);
}
