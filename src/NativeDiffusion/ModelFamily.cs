namespace NativeDiffusion;

/// <summary>The model families the engine recognises from tensor names and shapes (mirrors <c>nd_model_family</c>).</summary>
public enum ModelFamily
{
    /// <summary>Stable Diffusion 1.x (CLIP ViT-L/14 text encoder, 4-channel latents).</summary>
    StableDiffusion1 = 1,

    /// <summary>Stable Diffusion 2.x (OpenCLIP ViT-H/14 text encoder).</summary>
    StableDiffusion2 = 2,

    /// <summary>Stable Diffusion XL base (two text encoders).</summary>
    StableDiffusionXL = 3,

    /// <summary>Stable Diffusion XL refiner.</summary>
    StableDiffusionXLRefiner = 4,
}

/// <summary>What the model's UNet predicts (mirrors <c>nd_prediction_type</c>).</summary>
public enum PredictionType
{
    /// <summary>As a load option: what the files say, epsilon when they say nothing. Never the resolved value.</summary>
    Auto = 0,

    /// <summary>The noise (epsilon); SD 1.x and most SD 2.x base models.</summary>
    Epsilon = 1,

    /// <summary>The velocity (v-prediction); SD 2.x 768 models.</summary>
    V = 2,
}

/// <summary>The parts a model file or folder holds (mirrors <c>nd_model_component_flags</c>).</summary>
[Flags]
public enum ModelComponents
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>The denoising UNet.</summary>
    Unet = 1,

    /// <summary>The VAE (autoencoder).</summary>
    Vae = 2,

    /// <summary>The (first) text encoder.</summary>
    TextEncoder = 4,

    /// <summary>SDXL's second text encoder.</summary>
    TextEncoder2 = 8,

    /// <summary>The tokenizer vocabulary.</summary>
    Tokenizer = 16,
}
