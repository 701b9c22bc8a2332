using NativeDiffusion.Server.Configuration;

namespace NativeDiffusion.Server.Hosting;

/// <summary>A loaded model under its configured name, with what the A1111 API lists about it.</summary>
/// <param name="Options">Its configuration.</param>
/// <param name="Model">The loaded model.</param>
/// <param name="Sha256">The file's SHA-256 in lower-case hex; null for a diffusers folder.</param>
internal sealed record ServedModel(ModelOptions Options, DiffusionModel Model, string? Sha256)
{
    public string Name => Options.Name;

    /// <summary>The web UI's short hash: the first 10 hex digits of the SHA-256.</summary>
    public string? ShortHash => Sha256?[..10];

    /// <summary>The web UI's title: <c>name [shorthash]</c>.</summary>
    public string Title => ShortHash is null ? Name : $"{Name} [{ShortHash}]";

    /// <summary>The file or folder name only: a request never sees the server's paths.</summary>
    public string FileName => System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(Options.Path));
}
