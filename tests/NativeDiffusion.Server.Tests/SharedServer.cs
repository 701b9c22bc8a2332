namespace NativeDiffusion.Server.Tests;

/// <summary>One server with the default limits and the tiny model, shared by the tests of a class.</summary>
public sealed class SharedServer : IAsyncLifetime
{
    internal ServerFactory Factory { get; } = new();

    internal HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync() => Client = await Factory.ReadyClientAsync();

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Factory.DisposeAsync();
    }
}
