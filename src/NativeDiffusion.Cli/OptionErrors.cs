namespace NativeDiffusion.Cli;

/// <summary>
/// Turns the <see cref="ArgumentException"/> a request or load option throws into the one-line message the
/// commands print, naming the command-line option rather than the property.
/// </summary>
internal static class OptionErrors
{
    /// <summary>"--width: Width must be a multiple of 8..." for a refused <see cref="GenerationRequest.Width"/>.</summary>
    public static string Describe(ArgumentException exception) => OptionName(exception.ParamName) + FirstLine(exception.Message);

    private static string OptionName(string? property) => property switch
    {
        nameof(GenerationRequest.Width) => "--width: ",
        nameof(GenerationRequest.Height) => "--height: ",
        nameof(GenerationRequest.Steps) => "--steps: ",
        nameof(GenerationRequest.CfgScale) => "--cfg: ",
        nameof(GenerationRequest.Seed) => "--seed: ",
        nameof(GenerationRequest.BatchCount) => "--batch: ",
        nameof(GenerationRequest.ClipSkip) => "--clip-skip: ",
        nameof(GenerationRequest.Strength) => "--strength: ",
        nameof(GenerationRequest.InitImage) => "--init-image: ",
        nameof(ModelLoadOptions.Threads) => "--threads: ",
        nameof(ModelLoadOptions.WeightType) => "--weight-type: ",
        _ => string.Empty,
    };

    // ArgumentException appends " (Parameter 'X')" and, out of range, the value on a line of its own.
    private static string FirstLine(string message)
    {
        var end = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return (end >= 0 ? message[..end] : message.Split('\n')[0]).TrimEnd();
    }
}
