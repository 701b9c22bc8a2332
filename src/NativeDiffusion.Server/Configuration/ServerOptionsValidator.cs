using System.Globalization;
using Microsoft.Extensions.Options;

namespace NativeDiffusion.Server.Configuration;

/// <summary>Checks <see cref="ServerOptions"/> at start; every message names the configuration key and says what to set.</summary>
internal sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions options)
    {
        var failures = new List<string>();
        if (options.Models.Count == 0)
        {
            failures.Add("Models: no model is configured. Add one, e.g. --Models:0:Name=sd15 --Models:0:Path=/models/sd15.safetensors "
                + "(environment: Models__0__Name, Models__0__Path).");
        }

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Models.Count; i++)
        {
            ValidateModel(options.Models[i], $"Models:{i}", names, failures);
        }

        Range(failures, "QueueCapacity", options.QueueCapacity, 1, 100_000);
        Range(failures, "Concurrency", options.Concurrency, 1, 64);
        Range(failures, "MaxSteps", options.MaxSteps, 1, GenerationRequest.MaxSteps);
        Range(failures, "MaxBatch", options.MaxBatch, 1, GenerationRequest.MaxBatchCount);
        Range(failures, "PreviewInterval", options.PreviewInterval, 0, GenerationRequest.MaxSteps);
        if (options.MaxPixels < GenerationRequest.MinSide * GenerationRequest.MinSide
            || options.MaxPixels > (long)GenerationRequest.MaxSide * GenerationRequest.MaxSide)
        {
            failures.Add($"MaxPixels must be from {GenerationRequest.MinSide * GenerationRequest.MinSide} to "
                + $"{(long)GenerationRequest.MaxSide * GenerationRequest.MaxSide}, got {options.MaxPixels}.");
        }

        if (!double.IsFinite(options.MaxCfgScale) || options.MaxCfgScale < 1 || options.MaxCfgScale > GenerationRequest.MaxCfgScale)
        {
            failures.Add($"MaxCfgScale must be from 1 to {GenerationRequest.MaxCfgScale}, got {options.MaxCfgScale.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (options.MaxRequestBodyBytes < 1024)
        {
            failures.Add($"MaxRequestBodyBytes must be at least 1024, got {options.MaxRequestBodyBytes}.");
        }

        if (options.ApiKey is { } key && (key.Length == 0 || key.Any(char.IsWhiteSpace)))
        {
            failures.Add("ApiKey is empty or holds white space: remove it to serve without a key, or set a key without spaces.");
        }

        if (options.ShutdownGracePeriod < TimeSpan.Zero || options.ShutdownGracePeriod > TimeSpan.FromHours(1))
        {
            failures.Add($"ShutdownGracePeriod must be from 00:00:00 to 01:00:00, got {options.ShutdownGracePeriod}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateModel(ModelOptions model, string key, HashSet<string> names, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(model.Name) || !model.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
        {
            failures.Add($"{key}:Name must be letters, digits, '.', '-' or '_', got '{model.Name}'.");
        }
        else if (!names.Add(model.Name))
        {
            failures.Add($"{key}:Name '{model.Name}' is used by another model: names must be unique.");
        }

        if (string.IsNullOrWhiteSpace(model.Path))
        {
            failures.Add($"{key}:Path is not set: give the model file (.safetensors, .gguf) or diffusers folder.");
        }
        else if (!File.Exists(model.Path) && !Directory.Exists(model.Path))
        {
            failures.Add($"{key}:Path '{Path.GetFullPath(model.Path)}' does not exist.");
        }

        if (model.Tokenizer is { } tokenizer && !Directory.Exists(tokenizer))
        {
            failures.Add($"{key}:Tokenizer '{Path.GetFullPath(tokenizer)}' is not a folder (it should hold vocab.json and merges.txt).");
        }

        if (model.Vae is { } vae && !File.Exists(vae))
        {
            failures.Add($"{key}:Vae '{Path.GetFullPath(vae)}' does not exist.");
        }

        if (!string.IsNullOrWhiteSpace(model.WeightType) && !IsWeightType(model.WeightType))
        {
            failures.Add($"{key}:WeightType '{model.WeightType}' is not a weight type: use F32, F16, BF16 or a block-quantized type (Q8_0, Q4_K...), or leave it out.");
        }

        Range(failures, $"{key}:Threads", model.Threads, 0, ModelLoadOptions.MaxThreads);
        Range(failures, $"{key}:DefaultSteps", model.DefaultSteps, 1, GenerationRequest.MaxSteps);
        foreach (var (side, value) in new[] { ("DefaultWidth", model.DefaultWidth), ("DefaultHeight", model.DefaultHeight) })
        {
            if (value is < GenerationRequest.MinSide or > GenerationRequest.MaxSide || value % 8 != 0)
            {
                failures.Add($"{key}:{side} must be a multiple of 8 from {GenerationRequest.MinSide} to {GenerationRequest.MaxSide}, got {value}.");
            }
        }

        if (!Samplers.IsKnown(model.DefaultSampler))
        {
            failures.Add($"{key}:DefaultSampler '{model.DefaultSampler}' is unknown: use one of {string.Join(", ", Samplers.Names)}.");
        }

        if (!double.IsFinite(model.DefaultCfgScale) || model.DefaultCfgScale < 0 || model.DefaultCfgScale > GenerationRequest.MaxCfgScale)
        {
            failures.Add($"{key}:DefaultCfgScale must be from 0 to {GenerationRequest.MaxCfgScale}.");
        }
    }

    private static bool IsWeightType(string text)
    {
        if (int.TryParse(text, out _) || !Enum.TryParse<TensorDataType>(text, ignoreCase: true, out var type))
        {
            return false;
        }

        try
        {
            new ModelLoadOptions { WeightType = type }.Validate();
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void Range(List<string> failures, string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{key} must be from {min} to {max}, got {value}.");
        }
    }
}
