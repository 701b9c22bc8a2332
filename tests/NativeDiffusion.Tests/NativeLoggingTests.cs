using Microsoft.Extensions.Logging;
using NativeDiffusion.Interop;

namespace NativeDiffusion.Tests;

public sealed class NativeLoggingTests
{
    [Fact]
    public void Native_log_messages_reach_the_ILogger()
    {
        var logger = new TestLogger(LogLevel.Trace);

        using (SafeTensorsFile.Open(TestPaths.TinySd1Model, logger))
        {
        }

        var native = logger.Entries.Where(e => e.EventId.Id == 1).ToList();
        Assert.NotEmpty(native);
        Assert.All(native, e => Assert.False(string.IsNullOrWhiteSpace(e.Message)));
        Assert.Contains(logger.Entries, e => e.EventId.Name == "SafeTensorsOpened" && e.Message.Contains("981 tensors", StringComparison.Ordinal));
    }

    [Fact]
    public void Native_messages_below_the_loggers_level_are_not_delivered()
    {
        var logger = new TestLogger(LogLevel.Error);

        using (SafeTensorsFile.Open(TestPaths.TinySd1Model, logger))
        {
        }

        Assert.All(logger.Entries, e => Assert.True(e.Level >= LogLevel.Error, $"{e.Level}: {e.Message}"));
    }

    [Fact]
    public void Minimum_native_level_is_the_lowest_level_the_logger_enables()
    {
        Assert.Equal(NdLogLevel.Trace, NativeContext.GetMinimumLevel(new TestLogger(LogLevel.Trace)));
        Assert.Equal(NdLogLevel.Debug, NativeContext.GetMinimumLevel(new TestLogger(LogLevel.Debug)));
        Assert.Equal(NdLogLevel.Info, NativeContext.GetMinimumLevel(new TestLogger(LogLevel.Information)));
        Assert.Equal(NdLogLevel.Warning, NativeContext.GetMinimumLevel(new TestLogger(LogLevel.Warning)));
        Assert.Equal(NdLogLevel.Error, NativeContext.GetMinimumLevel(new TestLogger(LogLevel.Error)));
        Assert.Equal(NdLogLevel.Error, NativeContext.GetMinimumLevel(new TestLogger(LogLevel.Critical)));
        Assert.Equal(NdLogLevel.None, NativeContext.GetMinimumLevel(new TestLogger(LogLevel.None)));
    }

    [Fact]
    public void A_logger_that_throws_never_unwinds_into_native_code_and_its_exception_surfaces_after_the_call()
    {
        var failure = new InvalidOperationException("logger failure");
        var logger = new TestLogger(LogLevel.Trace) { ThrowOnNativeMessage = failure };

        var e = Assert.Throws<InvalidOperationException>(() => SafeTensorsFile.Open(TestPaths.TinySd1Model, logger));

        Assert.Same(failure, e);
    }

    [Fact]
    public void Failures_reach_the_logger_too()
    {
        var logger = new TestLogger(LogLevel.Debug);
        using var temp = new TempFolder();

        Assert.Throws<NativeDiffusionException>(() => SafeTensorsFile.Open(temp.File("absent.safetensors"), logger));

        Assert.Contains(logger.Entries, e => e.EventId.Name == "SafeTensorsOpenFailed" && e.Message.Contains("IoError", StringComparison.Ordinal));
    }
}
