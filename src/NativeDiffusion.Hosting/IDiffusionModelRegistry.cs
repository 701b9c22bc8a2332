namespace NativeDiffusion.Hosting;

/// <summary>
/// The app's named models (<see cref="NativeDiffusionOptions.Models"/>), each loaded once, on first use, and shared by
/// every caller; the registry disposes them when it is disposed (with the host's service provider, on shutdown).
/// </summary>
/// <remarks>
/// Thread safety: every member may be called concurrently. Callers asking for a model that is loading wait for the
/// same load. A model runs one generation at a time (see <see cref="DiffusionModel"/>): concurrent
/// <see cref="DiffusionModel.GenerateAsync"/> calls on a shared model queue up, each with its own cancellation. Do not
/// dispose a model obtained here: the registry owns it.
/// </remarks>
public interface IDiffusionModelRegistry
{
    /// <summary>The configured model names, in the order configuration lists them.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>The model used when none is named (<see cref="NativeDiffusionOptions.DefaultModel"/>, or the only one); null if none.</summary>
    string? DefaultModelName { get; }

    /// <summary>
    /// The model named <paramref name="name"/> (ignoring case), loading it on the first call. A failed load is not
    /// remembered: the next call tries again (after the file is fixed, say).
    /// </summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="cancellationToken">Stops this caller's wait; the load goes on for the others.</param>
    /// <exception cref="KeyNotFoundException">No model has that name; the message lists the names.</exception>
    /// <exception cref="DiffusionModelLoadException">The model could not be loaded; the message names it and says why.</exception>
    /// <exception cref="ObjectDisposedException">The registry has been disposed (the host is shutting down).</exception>
    ValueTask<DiffusionModel> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>A request for <paramref name="prompt"/> with the model's <see cref="DiffusionModelOptions.Defaults"/>.</summary>
    /// <exception cref="KeyNotFoundException">No model has that name.</exception>
    GenerationRequest CreateRequest(string name, string prompt);
}
