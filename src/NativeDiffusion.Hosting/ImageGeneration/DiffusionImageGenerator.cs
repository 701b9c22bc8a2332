using Microsoft.Extensions.AI;
using NativeDiffusion.Images;

namespace NativeDiffusion.Hosting.ImageGeneration;

/// <summary>
/// A <see cref="DiffusionModel"/> seen as a Microsoft.Extensions.AI <see cref="IImageGenerator"/>: text-to-image, the
/// images returned as <see cref="DataContent"/> (PNG with the generation settings in its <c>parameters</c> chunk by
/// default; JPEG or WebP when <see cref="ImageGenerationOptions.MediaType"/> asks).
/// </summary>
/// <remarks>
/// <para>Options map onto a <see cref="GenerationRequest"/> that starts from the model's <see cref="GenerationDefaults"/>:
/// <see cref="ImageGenerationOptions.ImageSize"/> is rounded to the nearest multiple of 8 (and must then be 64 to 4096 a
/// side), <see cref="ImageGenerationOptions.Count"/> is the batch size (1 to 64), and
/// <see cref="DiffusionImageGenerationProperties"/> names the additional properties read (seed, negative prompt...).
/// Only <see cref="ImageGenerationResponseFormat.Data"/> is produced; editing (original images) is not supported.</para>
/// <para>Thread safety: calls may run concurrently; they share the model, which runs one generation at a time, so they
/// queue. Cancelling a call's token stops its generation within one sampling step.</para>
/// </remarks>
public sealed class DiffusionImageGenerator : IImageGenerator
{
    /// <summary>The <see cref="ImageGeneratorMetadata.ProviderName"/> of every NativeDiffusion generator.</summary>
    public const string ProviderName = "NativeDiffusion";

    private readonly DiffusionModel? _model;
    private readonly bool _ownsModel;
    private readonly DiffusionModelRegistry? _registry;
    private readonly string? _modelName;
    private readonly GenerationDefaults _defaults;
    private readonly ImageGeneratorMetadata _metadata;

    /// <summary>A generator over <paramref name="model"/>.</summary>
    /// <param name="model">A model loaded with <see cref="DiffusionModel.LoadAsync"/>.</param>
    /// <param name="defaults">The values requests start from; null: <see cref="GenerationRequest"/>'s defaults.</param>
    /// <param name="ownsModel">Whether <see cref="Dispose"/> disposes the model too.</param>
    public DiffusionImageGenerator(DiffusionModel model, GenerationDefaults? defaults = null, bool ownsModel = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _ownsModel = ownsModel;
        _defaults = defaults ?? new GenerationDefaults();
        _metadata = new ImageGeneratorMetadata(ProviderName, providerUri: null, defaultModelId: string.IsNullOrEmpty(model.Info.Name) ? null : model.Info.Name);
    }

    /// <summary>A generator over a registry's models: <paramref name="modelName"/> unless a request names another in
    /// <see cref="ImageGenerationOptions.ModelId"/>; each loads on first use.</summary>
    internal DiffusionImageGenerator(DiffusionModelRegistry registry, string? modelName)
    {
        _registry = registry;
        _modelName = modelName;
        _defaults = new GenerationDefaults();
        _metadata = new ImageGeneratorMetadata(ProviderName, providerUri: null, defaultModelId: modelName);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The prompt is empty, or an option is out of range (the option is named).</exception>
    /// <exception cref="NotSupportedException">Original images (editing), or a response format or media type not produced.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public async Task<ImageGenerationResponse> GenerateAsync(
        ImageGenerationRequest request,
        ImageGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Prompt))
        {
            throw new ArgumentException("The prompt is empty: image generation needs a text prompt.", nameof(request));
        }

        if (request.OriginalImages?.Any() == true)
        {
            throw new NotSupportedException("Editing images (ImageGenerationRequest.OriginalImages) is not supported yet; use DiffusionModel.GenerateAsync with GenerationRequest.InitImage for img2img.");
        }

        if (options?.ResponseFormat is { } format && format != ImageGenerationResponseFormat.Data)
        {
            throw new NotSupportedException($"ResponseFormat {format} is not supported: the images are returned as data (ImageGenerationResponseFormat.Data).");
        }

        var (imageFormat, mediaType) = ChooseFormat(options?.MediaType);
        var (model, defaults) = await ResolveModelAsync(options?.ModelId, cancellationToken).ConfigureAwait(false);
        var generationRequest = CreateRequest(request.Prompt, options, defaults);
        var images = await model.GenerateAsync(generationRequest, progress: null, cancellationToken).ConfigureAwait(false);

        var contents = new List<AIContent>(images.Count);
        foreach (var image in images)
        {
            var seed = image.Settings?.Seed;
            contents.Add(new DataContent(image.Encode(imageFormat), mediaType)
            {
                Name = seed is null ? null : $"{seed}.{imageFormat.ToString().ToLowerInvariant()}",
                RawRepresentation = image,
            });
        }

        return new ImageGenerationResponse(contents) { RawRepresentation = images };
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(ImageGeneratorMetadata))
        {
            return _metadata;
        }

        if (serviceType == typeof(DiffusionModel))
        {
            return _model;
        }

        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Disposes the model if the generator owns it; a registry's models stay with the registry.</summary>
    public void Dispose()
    {
        if (_ownsModel)
        {
            _model?.Dispose();
        }
    }

    /// <summary>The request for <paramref name="prompt"/>: <paramref name="defaults"/> overridden by <paramref name="options"/>.</summary>
    internal static GenerationRequest CreateRequest(string prompt, ImageGenerationOptions? options, GenerationDefaults defaults)
    {
        var request = defaults.CreateRequest(prompt);
        if (options is null)
        {
            return request;
        }

        if (options.ImageSize is { } size)
        {
            request = request with
            {
                Width = RoundSide(size.Width, "width"),
                Height = RoundSide(size.Height, "height"),
            };
        }

        if (options.Count is { } count)
        {
            if (count is < 1 or > GenerationRequest.MaxBatchCount)
            {
                throw new ArgumentOutOfRangeException(nameof(options), count, $"ImageGenerationOptions.Count must be 1 to {GenerationRequest.MaxBatchCount}, got {count}.");
            }

            request = request with { BatchCount = count };
        }

        if (options.AdditionalProperties is { } extra)
        {
            if (extra.TryGetValue(DiffusionImageGenerationProperties.Seed, out long seed))
            {
                request = request with { Seed = seed };
            }

            if (extra.TryGetValue(DiffusionImageGenerationProperties.NegativePrompt, out string? negative) && negative is not null)
            {
                request = request with { NegativePrompt = negative };
            }

            if (extra.TryGetValue(DiffusionImageGenerationProperties.Steps, out int steps))
            {
                request = request with { Steps = steps };
            }

            if (extra.TryGetValue(DiffusionImageGenerationProperties.CfgScale, out double cfgScale))
            {
                request = request with { CfgScale = cfgScale };
            }

            if (extra.TryGetValue(DiffusionImageGenerationProperties.Sampler, out string? sampler) && sampler is not null)
            {
                request = request with { Sampler = sampler };
            }
        }

        return request;
    }

    // To the nearest multiple of 8 (halves up), then checked against the engine's range.
    private static int RoundSide(int side, string which)
    {
        var rounded = (int)Math.Min(((long)side + 4) / 8 * 8, int.MaxValue);
        if (rounded is < GenerationRequest.MinSide or > GenerationRequest.MaxSide)
        {
            throw new ArgumentOutOfRangeException(
                "options", side,
                $"ImageGenerationOptions.ImageSize {which} {side} is out of range: sides are rounded to a multiple of 8 and must be {GenerationRequest.MinSide} to {GenerationRequest.MaxSide}.");
        }

        return rounded;
    }

    private static (ImageFormat Format, string MediaType) ChooseFormat(string? mediaType) => mediaType?.ToLowerInvariant() switch
    {
        null or "image/png" => (ImageFormat.Png, "image/png"),
        "image/jpeg" or "image/jpg" => (ImageFormat.Jpeg, "image/jpeg"),
        "image/webp" => (ImageFormat.Webp, "image/webp"),
        _ => throw new NotSupportedException($"MediaType '{mediaType}' is not produced: use image/png (the default), image/jpeg or image/webp."),
    };

    private async ValueTask<(DiffusionModel Model, GenerationDefaults Defaults)> ResolveModelAsync(string? modelId, CancellationToken cancellationToken)
    {
        if (_model is not null)
        {
            if (modelId is not null && !string.Equals(modelId, _metadata.DefaultModelId, StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"ImageGenerationOptions.ModelId '{modelId}' names another model than this generator's ('{_metadata.DefaultModelId}').", "options");
            }

            return (_model, _defaults);
        }

        var name = modelId ?? _modelName ?? throw new InvalidOperationException(
            $"No model is named: set ImageGenerationOptions.ModelId to one of {string.Join(", ", _registry!.Names)}, or NativeDiffusion:DefaultModel.");
        var defaults = _registry!.GetOptions(name).Defaults;
        var model = await _registry.GetAsync(name, cancellationToken).ConfigureAwait(false);
        return (model, defaults);
    }
}
