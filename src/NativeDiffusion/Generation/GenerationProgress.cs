using NativeDiffusion.Images;

namespace NativeDiffusion;

/// <summary>The stage a generation is in (mirrors <c>nd_stage</c>).</summary>
public enum GenerationStage
{
    /// <summary>The prompts are being tokenized and encoded.</summary>
    TextEncoding = 0,

    /// <summary>The denoising loop is running.</summary>
    Sampling = 1,

    /// <summary>The VAE is decoding the latents into pixels.</summary>
    Decoding = 2,
}

/// <summary>Where a generation stands.</summary>
/// <param name="Stage">The stage it is in.</param>
/// <param name="Step">Sampling steps done for the current image.</param>
/// <param name="Steps">Sampling steps an image takes (for img2img, those that run).</param>
/// <param name="Image">The current image's index in the batch, from 0.</param>
/// <param name="Images">The images in the batch.</param>
/// <param name="LastStep">How long the last sampling step took.</param>
/// <param name="Elapsed">Time since the request started.</param>
/// <param name="EstimatedRemaining">The sampling time left, from the mean step time so far; null until a step has run.</param>
public sealed record GenerationProgress(
    GenerationStage Stage,
    int Step,
    int Steps,
    int Image,
    int Images,
    TimeSpan LastStep,
    TimeSpan Elapsed,
    TimeSpan? EstimatedRemaining)
{
    /// <summary>The fraction of all sampling steps of the batch done, 0 to 1.</summary>
    public double Fraction => Steps <= 0 || Images <= 0 ? 0 : Math.Clamp((Image * (double)Steps + Step) / ((double)Steps * Images), 0, 1);
}

/// <summary>What <see cref="DiffusionModel.GenerateStreamingAsync"/> yields: progress, previews, then the images.</summary>
public abstract record GenerationUpdate;

/// <summary>A progress report.</summary>
/// <param name="Progress">Where the generation stands.</param>
public sealed record GenerationProgressUpdate(GenerationProgress Progress) : GenerationUpdate;

/// <summary>A cheap preview of an image being made (a linear map of the latents, not the VAE: small and blurry).</summary>
/// <param name="Preview">The preview, without settings.</param>
/// <param name="Step">The sampling step it shows.</param>
/// <param name="Image">The image's index in the batch, from 0.</param>
public sealed record GenerationPreviewUpdate(GeneratedImage Preview, int Step, int Image) : GenerationUpdate;

/// <summary>The finished images; always the last update of a successful generation.</summary>
/// <param name="Images">The images, with their settings, in batch order.</param>
public sealed record GenerationCompletedUpdate(IReadOnlyList<GeneratedImage> Images) : GenerationUpdate;
