using NativeDiffusion.Images;
using NativeDiffusion.Tokenizers;

namespace NativeDiffusion.Tests.Generation;

/// <summary>Loading, inspection and conversion of models through <see cref="DiffusionModel"/>.</summary>
public sealed class DiffusionModelLoadingTests
{
    [Fact]
    public async Task Loading_the_checkpoint_describes_an_SD1_model()
    {
        await using var model = await TinySd1.LoadAsync();

        var info = model.Info;
        Assert.Equal(ModelFamily.StableDiffusion1, info.Family);
        Assert.Equal("SD 1.x", info.FamilyName);
        Assert.Equal("single-file checkpoint", info.Layout);
        Assert.Equal(PredictionType.Epsilon, info.Prediction);
        Assert.False(string.IsNullOrEmpty(info.PredictionSource));
        Assert.Equal(ModelComponents.Unet | ModelComponents.Vae | ModelComponents.TextEncoder, info.Components & ~ModelComponents.Tokenizer);
        Assert.Contains(Path.GetFileName(TinySd1.Tokenizer), info.TokenizerSource, StringComparison.Ordinal);
        Assert.Equal(info.TensorCount, model.Tensors.Count);
        Assert.Equal(info.WeightBytes, model.Tensors.Sum(t => t.DataSize));
        Assert.Equal("model", info.Name);
        Assert.True(model.CanGenerate);
    }

    [Fact]
    public async Task Tensors_are_sorted_canonical_names_with_dtype_totals()
    {
        await using var model = await TinySd1.LoadAsync();

        var names = model.Tensors.Select(t => t.Name).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.Contains("model.diffusion_model.input_blocks.0.0.weight", names);
        var f16 = Assert.Single(model.TotalsByDtype, t => t.Dtype == TensorDataType.F16);
        Assert.True(f16.TensorCount > 900);
    }

    [Fact]
    public async Task A_missing_tokenizer_is_a_NotFound_error_that_says_how_to_provide_one()
    {
        Assert.False(TokenizerCache.Contains("clip-vit-large-patch14"), "this machine's tokenizer cache holds the CLIP vocabulary, so no tokenizer is missing");

        var error = await Assert.ThrowsAsync<NativeDiffusionException>(() => DiffusionModel.LoadAsync(TinySd1.Checkpoint));

        Assert.Equal(NativeErrorCode.NotFound, error.ErrorCode);
        Assert.Contains("TokenizerPath", error.Message, StringComparison.Ordinal);
        Assert.Contains("--tokenizer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Opening_for_inspection_needs_no_tokenizer_and_refuses_to_generate()
    {
        await using var model = await DiffusionModel.OpenForInspectionAsync(TinySd1.Checkpoint);

        Assert.Equal("SD 1.x", model.Info.FamilyName);
        Assert.False(model.CanGenerate);
        Assert.NotEmpty(model.Tensors);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => model.GenerateAsync(TinySd1.EulerRequest));
        Assert.Contains("LoadAsync", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_is_an_IoError_naming_the_path()
    {
        using var temp = new TempFolder();
        var missing = temp.File("absent.safetensors");

        var error = await Assert.ThrowsAsync<NativeDiffusionException>(() => DiffusionModel.LoadAsync(missing, TinySd1.Options));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.NotEqual(NativeErrorCode.Ok, error.ErrorCode);
    }

    [Fact]
    public async Task A_model_loads_from_a_path_with_non_ASCII_characters()
    {
        using var temp = new TempFolder("modèle 模型");
        var path = temp.File("tiny-ü.safetensors");
        File.Copy(TinySd1.Checkpoint, path);

        await using var model = await DiffusionModel.OpenForInspectionAsync(path);

        Assert.Equal(path, model.Info.Path);
        Assert.Equal("tiny-ü", model.Info.Name);
    }

    [Fact]
    public async Task Converting_to_Q8_0_gguf_gives_a_model_that_loads_without_a_tokenizer_path_and_generates()
    {
        using var temp = new TempFolder();
        var output = temp.File("tiny-q8_0.gguf");
        var progress = new SynchronousProgress<ConvertProgress>(_ => { });
        await using (var source = await DiffusionModel.OpenForInspectionAsync(TinySd1.Checkpoint, TinySd1.Options))
        {
            await source.ConvertAsync(output, new ConvertOptions { WeightType = TensorDataType.Q8_0 }, progress);
        }

        Assert.NotEmpty(progress.Reports);
        Assert.Equal(progress.Reports.Select(p => p.TensorsDone).Order(), progress.Reports.Select(p => p.TensorsDone));
        Assert.Equal(progress.Reports[^1].TensorCount, progress.Reports[^1].TensorsDone);

        await using var converted = await DiffusionModel.LoadAsync(output);
        Assert.Equal("GGUF", converted.Info.Layout);
        Assert.Equal("SD 1.x", converted.Info.FamilyName);
        Assert.True(converted.Info.Components.HasFlag(ModelComponents.Tokenizer));
        Assert.Contains(converted.TotalsByDtype, t => t.Dtype == TensorDataType.Q8_0);

        var image = Assert.Single(await converted.GenerateAsync(TinySd1.EulerRequest));
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.Equal("tiny-q8_0", image.Settings!.ModelName);
        // Q8_0 weights change the numbers a little, not the picture.
        Assert.InRange(MeanDifference(image, TinySd1.ReferencePixels("sd1.pipe.euler.64x64.image")), 0, 8);
    }

    [Fact]
    public async Task A_cancelled_conversion_throws_and_leaves_no_file()
    {
        using var temp = new TempFolder();
        var output = temp.File("cancelled.gguf");
        using var cancellation = new CancellationTokenSource();
        var progress = new SynchronousProgress<ConvertProgress>(_ => cancellation.Cancel());
        await using var source = await DiffusionModel.OpenForInspectionAsync(TinySd1.Checkpoint);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => source.ConvertAsync(output, new ConvertOptions(), progress, cancellation.Token));

        Assert.Single(progress.Reports);
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    private static double MeanDifference(GeneratedImage image, byte[] expected)
    {
        var actual = image.Pixels.Span;
        long sum = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            sum += Math.Abs(actual[i] - expected[i]);
        }

        return (double)sum / expected.Length;
    }
}
