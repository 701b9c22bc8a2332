using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NativeDiffusion.Hosting;
using NativeDiffusion.Hosting.ImageGeneration;

// In the namespace of IServiceCollection, as ASP.NET Core's own extensions are, so that they show without a using.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers NativeDiffusion's services: <c>services.AddNativeDiffusion(configuration.GetSection("NativeDiffusion"))</c>.</summary>
public static class NativeDiffusionServiceCollectionExtensions
{
    /// <summary>
    /// Adds the models described by <paramref name="configuration"/> (a <see cref="NativeDiffusionOptions"/> section, e.g.
    /// <c>builder.Configuration.GetSection("NativeDiffusion")</c>). See <see cref="AddNativeDiffusion(IServiceCollection, Action{NativeDiffusionOptions})"/>
    /// for what is registered.
    /// </summary>
    public static IServiceCollection AddNativeDiffusion(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var sectionPath = configuration is IConfigurationSection section ? section.Path : string.Empty;
        services.AddOptions<NativeDiffusionOptions>().Bind(configuration);
        return AddCore(services, sectionPath);
    }

    /// <summary>
    /// Adds the models that <paramref name="configure"/> describes, and registers:
    /// <list type="bullet">
    /// <item><see cref="IDiffusionModelRegistry"/> (singleton): each model loaded once, on first use (or on start with
    /// <see cref="DiffusionModelOptions.LoadOnStart"/>), shared, and disposed with the service provider;</item>
    /// <item><see cref="IImageGenerator"/> keyed by each model's name, and unkeyed for the default model;</item>
    /// <item>validation of the options when the host starts (<c>ValidateOnStart</c>): a missing file or an out-of-range
    /// value stops the start with an <see cref="OptionsValidationException"/> naming the model and the field.</item>
    /// </list>
    /// Logging goes to the registered <c>ILoggerFactory</c>: categories <c>NativeDiffusion.Hosting.DiffusionModelRegistry</c>
    /// (loads) and <see cref="NativeDiffusion.NativeDiffusionLibrary.NativeLogCategory"/> (the models and the engine).
    /// </summary>
    public static IServiceCollection AddNativeDiffusion(this IServiceCollection services, Action<NativeDiffusionOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<NativeDiffusionOptions>().Configure(configure);
        return AddCore(services, NativeDiffusionOptions.DefaultSectionName);
    }

    private static IServiceCollection AddCore(IServiceCollection services, string sectionPath)
    {
        services.AddOptions<NativeDiffusionOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NativeDiffusionOptions>>(new NativeDiffusionOptionsValidator(sectionPath)));
        services.TryAddSingleton<DiffusionModelRegistry>();
        services.TryAddSingleton<IDiffusionModelRegistry>(sp => sp.GetRequiredService<DiffusionModelRegistry>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, DiffusionModelPreloader>());

        // Any key: the model names are known only once the options are read. The factory refuses unknown names.
        services.TryAddKeyedSingleton<IImageGenerator>(KeyedService.AnyKey, (sp, key) =>
        {
            var registry = sp.GetRequiredService<DiffusionModelRegistry>();
            var name = key as string ?? throw new KeyNotFoundException($"An IImageGenerator key must be a model name (a string), not {key}.");
            _ = registry.GetOptions(name); // throws, listing the names, if there is no such model
            return new DiffusionImageGenerator(registry, name);
        });
        services.TryAddSingleton<IImageGenerator>(sp =>
        {
            var registry = sp.GetRequiredService<DiffusionModelRegistry>();
            return new DiffusionImageGenerator(registry, registry.DefaultModelName);
        });
        return services;
    }
}
