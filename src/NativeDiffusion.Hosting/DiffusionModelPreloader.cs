using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace NativeDiffusion.Hosting;

/// <summary>
/// Loads the models marked <see cref="DiffusionModelOptions.LoadOnStart"/> while the host starts, so that the first
/// request does not wait and a model that cannot load stops the start with <see cref="DiffusionModelLoadException"/>.
/// </summary>
internal sealed class DiffusionModelPreloader(IDiffusionModelRegistry registry, IOptions<NativeDiffusionOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var names = options.Value.Models.Where(m => m.Value?.LoadOnStart == true).Select(m => m.Key);
        // One at a time: loading is bound by disk and memory, and the first failure is the one to report.
        foreach (var name in names)
        {
            await registry.GetAsync(name, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask; // the registry disposes the models
}
