using Microsoft.Extensions.Logging;

namespace NativeDiffusion.Tests.Generation;

/// <summary>The engine's messages reach the model's logger for as long as the model lives.</summary>
public sealed class DiffusionModelLoggingTests
{
    [Fact]
    public async Task Engine_messages_during_generation_reach_the_logger_given_at_load()
    {
        var logger = new TestLogger(LogLevel.Debug);
        await using var model = await DiffusionModel.LoadAsync(TinySd1.Checkpoint, TinySd1.Options with { Logger = logger });

        await model.GenerateAsync(TinySd1.EulerRequest);

        Assert.Contains(logger.Entries, e => e.EventId.Id == 1 && e.Message.Contains("loading model", StringComparison.Ordinal));
        Assert.Contains(logger.Entries, e => e.EventId.Id == 1 && e.Message.Contains("generating 64x64", StringComparison.Ordinal));
        Assert.Contains(logger.Entries, e => e.EventId.Name == "ModelLoaded");
        Assert.Contains(logger.Entries, e => e.EventId.Name == "GenerationFinished" && e.Level == LogLevel.Information);
    }

    [Fact]
    public async Task A_logger_that_throws_fails_the_load_with_its_exception()
    {
        var logger = new TestLogger { ThrowOnNativeMessage = new InvalidOperationException("logger failed") };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => DiffusionModel.LoadAsync(TinySd1.Checkpoint, TinySd1.Options with { Logger = logger }));

        Assert.Equal("logger failed", error.Message);
    }
}
