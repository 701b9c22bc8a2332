namespace NativeDiffusion.Hosting;

/// <summary>A configured model could not be loaded; <see cref="Exception.InnerException"/> is the engine's reason.</summary>
public sealed class DiffusionModelLoadException : Exception
{
    /// <summary>An exception for model <paramref name="modelName"/>, at <paramref name="path"/>, failing because of <paramref name="innerException"/>.</summary>
    public DiffusionModelLoadException(string modelName, string path, Exception innerException)
        : base($"The model '{modelName}' could not be loaded from '{path}': {innerException?.Message}", innerException)
    {
        ModelName = modelName;
        Path = path;
    }

    /// <summary>An exception with a message of its own.</summary>
    public DiffusionModelLoadException(string message)
        : base(message)
    {
        ModelName = string.Empty;
        Path = string.Empty;
    }

    /// <summary>An exception with a message of its own and its cause.</summary>
    public DiffusionModelLoadException(string message, Exception? innerException)
        : base(message, innerException)
    {
        ModelName = string.Empty;
        Path = string.Empty;
    }

    /// <summary>An exception with no message.</summary>
    public DiffusionModelLoadException()
        : this("A diffusion model could not be loaded.")
    {
    }

    /// <summary>The model's name in <see cref="NativeDiffusionOptions.Models"/>.</summary>
    public string ModelName { get; }

    /// <summary>The model's path as configured.</summary>
    public string Path { get; }
}
