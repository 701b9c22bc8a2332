using System.Text.Json;
using NativeDiffusion.Cli;
using NativeDiffusion.Images;
using NativeDiffusion.Tests.Generation;

namespace NativeDiffusion.Tests.Cli;

/// <summary><c>nd generate</c>, <c>nd convert</c> and <c>nd inspect</c> of models, run in-process.</summary>
public sealed class GenerateConvertCommandTests
{
    [Fact]
    public async Task Generate_writes_a_png_whose_parameters_parse_back_to_the_request()
    {
        using var temp = new TempFolder();
        var output = temp.File("cat.png");

        var (code, stdout, stderr) = await RunAsync(
            "generate", "a photo of a cat", "-m", TinySd1.Checkpoint, "--tokenizer", TinySd1.Tokenizer, "-W", "64", "-H", "64",
            "--steps", "6", "--cfg", "7.5", "--sampler", "euler", "--schedule", "karras", "--seed", "7", "--negative", "blurry", "-o", output);

        Assert.Equal(0, code);
        Assert.Contains(output, stdout, StringComparison.Ordinal);
        Assert.Contains("seed 7", stdout, StringComparison.Ordinal);
        var settings = await PngMetadata.ReadSettingsAsync(output);
        Assert.NotNull(settings);
        Assert.Equal("a photo of a cat", settings.Prompt);
        Assert.Equal("blurry", settings.NegativePrompt);
        Assert.Equal((6, "Euler", "Karras", 7.5, 7L), (settings.Steps, settings.Sampler, settings.ScheduleType, settings.CfgScale, settings.Seed));
        Assert.Equal((64, 64), (settings.Width, settings.Height));
        Assert.Equal("model", settings.ModelName);
        var image = await GeneratedImage.LoadAsync(output);
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.Contains("step 6/6", stderr, StringComparison.Ordinal);
        Assert.Contains("it/s", stderr, StringComparison.Ordinal);
        Assert.Contains("ETA", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_of_the_fixture_request_matches_the_diffusers_image_within_one_level()
    {
        using var temp = new TempFolder();
        var output = temp.File("euler.png");

        var (code, _, _) = await RunAsync(
            "generate", "a photo of an astronaut riding a horse on mars", "--negative", "blurry, low quality", "-m", TinySd1.Checkpoint,
            "--tokenizer", TinySd1.Tokenizer, "-W", "64", "-H", "64", "--steps", "6", "--cfg", "7.5", "--sampler", "euler", "--seed", "7",
            "--rng", "cpu", "-o", output);

        Assert.Equal(0, code);
        var image = await GeneratedImage.LoadAsync(output);
        Assert.InRange(TinySd1.MaxDifference(image, TinySd1.ReferencePixels("sd1.pipe.euler.64x64.image")), 0, 1);
    }

    [Fact]
    public async Task Generate_batch_writes_numbered_files_and_a_json_report()
    {
        using var temp = new TempFolder();
        var output = temp.File("batch.png");

        var (code, stdout, _) = await RunAsync(
            "generate", "a cat", "-m", TinySd1.Checkpoint, "--tokenizer", TinySd1.Tokenizer, "-W", "64", "-H", "64", "--steps", "2",
            "--seed", "40", "--batch", "3", "-o", output, "--json");

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        var images = json.RootElement.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal([output, temp.File("batch-1.png"), temp.File("batch-2.png")], images.Select(i => i.GetProperty("path").GetString()));
        Assert.Equal([40L, 41L, 42L], images.Select(i => i.GetProperty("seed").GetInt64()));
        Assert.All(images, i => Assert.True(File.Exists(i.GetProperty("path").GetString())));
        Assert.Equal(41, (await PngMetadata.ReadSettingsAsync(temp.File("batch-1.png")))!.Seed);
        Assert.StartsWith("a cat\n", json.RootElement.GetProperty("parameters").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_img2img_takes_the_size_of_the_init_image_and_records_the_strength()
    {
        using var temp = new TempFolder();
        var init = temp.File("init.png");
        var pixels = new byte[64 * 72 * 3];
        new Random(1).NextBytes(pixels);
        await new GeneratedImage(64, 72, pixels).SaveAsync(init);
        var output = temp.File("out.png");

        var (code, _, stderr) = await RunAsync(
            "generate", "a cat", "-m", TinySd1.Checkpoint, "--tokenizer", TinySd1.Tokenizer, "--steps", "4", "--seed", "1",
            "--init-image", init, "--strength", "0.5", "-o", output);

        Assert.True(code == 0, stderr);
        var settings = (await PngMetadata.ReadSettingsAsync(output))!;
        Assert.Equal((64, 72), (settings.Width, settings.Height));
        Assert.Equal(0.5, settings.DenoisingStrength);
    }

    [Theory]
    [InlineData("--width", "65")]
    [InlineData("--steps", "0")]
    [InlineData("--cfg", "101")]
    [InlineData("--batch", "65")]
    [InlineData("--strength", "1.5")]
    [InlineData("--seed", "-5")]
    [InlineData("--weight-type", "q8_k")]
    [InlineData("--sampler", "k_euler")]
    [InlineData("--rng", "gpu")]
    public async Task Generate_with_a_bad_value_exits_2_naming_the_option(string option, string value)
    {
        var (code, _, stderr) = await RunAsync("generate", "a cat", "-m", TinySd1.Checkpoint, "--tokenizer", TinySd1.Tokenizer, option, value);

        Assert.Equal(2, code);
        Assert.Contains(option.TrimStart('-'), stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_with_an_init_image_that_is_no_image_exits_1_saying_why()
    {
        using var temp = new TempFolder();
        var init = temp.File("init.png");
        await File.WriteAllTextAsync(init, "not an image");

        var (code, _, stderr) = await RunAsync("generate", "a cat", "-m", TinySd1.Checkpoint, "--init-image", init);

        Assert.Equal(1, code);
        Assert.StartsWith("nd: error: ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_without_a_model_option_exits_2()
    {
        var (code, _, stderr) = await RunAsync("generate", "a cat");

        Assert.Equal(2, code);
        Assert.Contains("--model", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_with_a_missing_model_exits_1_naming_it()
    {
        using var temp = new TempFolder();
        var missing = temp.File("absent.safetensors");

        var (code, stdout, stderr) = await RunAsync("generate", "a cat", "-m", missing, "-W", "64", "-H", "64");

        Assert.Equal(1, code);
        Assert.Equal(string.Empty, stdout);
        Assert.StartsWith("nd: error: ", stderr, StringComparison.Ordinal);
        Assert.Contains(missing, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_without_a_tokenizer_exits_1_saying_how_to_provide_one()
    {
        var (code, _, stderr) = await RunAsync("generate", "a cat", "-m", TinySd1.Checkpoint, "-W", "64", "-H", "64");

        Assert.Equal(1, code);
        Assert.Contains("--tokenizer", stderr, StringComparison.Ordinal);
        Assert.Contains("NotFound", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_cancelled_exits_130_says_so_and_writes_nothing()
    {
        using var temp = new TempFolder();
        using var cancellation = new CancellationTokenSource();
        using var error = new CancellingWriter(cancellation, "step 2/");
        using var output = new StringWriter();

        var code = await NdCommandLine.RunAsync(
            ["generate", "a cat", "-m", TinySd1.Checkpoint, "--tokenizer", TinySd1.Tokenizer, "-W", "64", "-H", "64", "--steps", "20", "-o", temp.File("out.png")],
            output,
            error,
            cancellation.Token);

        Assert.Equal(ExitCodes.Cancelled, code);
        Assert.Contains("cancelled", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("step 4/", error.ToString(), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public async Task Convert_to_q8_0_then_inspect_shows_SD1_and_the_dtype_totals_and_the_gguf_generates()
    {
        using var temp = new TempFolder();
        var gguf = temp.File("tiny-q8_0.gguf");

        var (code, stdout, stderr) = await RunAsync("convert", TinySd1.Checkpoint, "-o", gguf, "--type", "q8_0", "--tokenizer", TinySd1.Tokenizer);

        Assert.True(code == 0, stderr);
        Assert.Contains(gguf, stdout, StringComparison.Ordinal);
        Assert.Contains("tensor ", stderr, StringComparison.Ordinal);

        (code, stdout, _) = await RunAsync("inspect", gguf);
        Assert.Equal(0, code);
        Assert.Contains("Model:       SD 1.x", stdout, StringComparison.Ordinal);
        Assert.Contains("Layout:      GGUF", stdout, StringComparison.Ordinal);
        Assert.Contains("tokenizer", stdout, StringComparison.Ordinal);
        Assert.Matches(@"Q8_0\s+\d+\s+[\d,]+\s+[\d,]+", stdout);
        Assert.Matches(@"all\s+980\s+", stdout);

        (code, stdout, _) = await RunAsync("inspect", gguf, "--json", "--filter", "input_blocks.0.0.weight");
        Assert.Equal(0, code);
        using (var json = JsonDocument.Parse(stdout))
        {
            var model = json.RootElement.GetProperty("model");
            Assert.Equal("SD 1.x", model.GetProperty("family").GetString());
            Assert.Equal("GGUF", model.GetProperty("layout").GetString());
            Assert.Contains("tokenizer", model.GetProperty("components").EnumerateArray().Select(c => c.GetString()));
            Assert.Contains(model.GetProperty("totalsByDtype").EnumerateArray(), t => t.GetProperty("dtype").GetString() == "Q8_0");
            Assert.Equal("model.diffusion_model.input_blocks.0.0.weight", json.RootElement.GetProperty("tensors")[0].GetProperty("name").GetString());
        }

        (code, _, stderr) = await RunAsync("generate", "a cat", "-m", gguf, "-W", "64", "-H", "64", "--steps", "2", "-o", temp.File("gguf.png"));
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(temp.File("gguf.png")));
    }

    [Fact]
    public async Task Inspect_of_a_diffusers_folder_lists_canonical_tensors_and_the_model()
    {
        var (code, stdout, _) = await RunAsync("inspect", TinySd1.DiffusersFolder, "--limit", "2");

        Assert.Equal(0, code);
        Assert.Contains("Model:       SD 1.x", stdout, StringComparison.Ordinal);
        Assert.Contains("Layout:      diffusers folder", stdout, StringComparison.Ordinal);
        Assert.Contains("Prediction:  epsilon (scheduler config)", stdout, StringComparison.Ordinal);
        Assert.Contains("Components:  UNet, VAE, text encoder, tokenizer", stdout, StringComparison.Ordinal);
        Assert.Contains("Tensors (canonical names): 980 (first 2 listed)", stdout, StringComparison.Ordinal);
        Assert.Matches(@"F16\s+980\s+11,520,235\s+23,040,470", stdout);
    }

    [Fact]
    public async Task Inspect_of_a_safetensors_file_that_is_no_model_still_lists_it()
    {
        var (code, stdout, _) = await RunAsync("inspect", TestPaths.Fixture("tiny-sd1", "reference.safetensors"), "--json");

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("model").ValueKind);
        Assert.Contains("unsupported model", json.RootElement.GetProperty("modelError").GetString(), StringComparison.Ordinal);
        Assert.True(json.RootElement.GetProperty("tensorCount").GetInt32() > 0);
    }

    [Fact]
    public async Task Help_lists_the_sampler_and_schedule_names()
    {
        var (code, stdout, _) = await RunAsync("generate", "--help");

        Assert.Equal(0, code);
        foreach (var name in Samplers.Names.Concat(Schedules.Names))
        {
            Assert.Contains(name, stdout, StringComparison.Ordinal);
        }
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await NdCommandLine.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>A stderr that cancels a token once a line containing <c>trigger</c> is written: Ctrl+C at a known step.</summary>
    private sealed class CancellingWriter(CancellationTokenSource cancellation, string trigger) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.Contains(trigger, StringComparison.Ordinal))
            {
                cancellation.Cancel();
            }
        }
    }
}
