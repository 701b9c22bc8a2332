namespace NativeDiffusion;

/// <summary>What a loaded model is, as the engine recognised it.</summary>
/// <param name="Path">The model's full path (a file or a diffusers folder).</param>
/// <param name="Family">The model family.</param>
/// <param name="FamilyName">The family as people name it: <c>SD 1.x</c>, <c>SD 2.x</c>, <c>SDXL base</c>, <c>SDXL refiner</c>.</param>
/// <param name="Layout">How the files are laid out: <c>single-file checkpoint</c>, <c>diffusers folder</c>, <c>GGUF</c>.</param>
/// <param name="Prediction">What the UNet predicts, as resolved (<see cref="PredictionType.Epsilon"/> or <see cref="PredictionType.V"/>).</param>
/// <param name="PredictionSource">Where <paramref name="Prediction"/> came from: <c>override</c>, <c>metadata</c>, <c>marker key</c>, <c>scheduler config</c> or <c>default</c>.</param>
/// <param name="Components">The parts present.</param>
/// <param name="TokenizerSource">Where the tokenizer vocabulary came from; empty when none was found.</param>
/// <param name="TensorCount">The number of weights.</param>
/// <param name="WeightBytes">The bytes of all weights as held (after any conversion).</param>
public sealed record ModelInfo(
    string Path,
    ModelFamily Family,
    string FamilyName,
    string Layout,
    PredictionType Prediction,
    string PredictionSource,
    ModelComponents Components,
    string TokenizerSource,
    long TensorCount,
    long WeightBytes)
{
    /// <summary>The name the web UI gives the model (<c>Model</c> in the infotext): the file name without its extension, or a folder's name.</summary>
    public string Name =>
        System.IO.Path.HasExtension(Path) && !Layout.Contains("folder", StringComparison.OrdinalIgnoreCase)
            ? System.IO.Path.GetFileNameWithoutExtension(Path)
            : System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(Path));
}
