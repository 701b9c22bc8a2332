namespace NativeDiffusion.Tests.Generation;

/// <summary>An <see cref="IProgress{T}"/> that runs its action on the reporting thread (unlike <see cref="Progress{T}"/>, which posts).</summary>
internal sealed class SynchronousProgress<T>(Action<T> onReport) : IProgress<T>
{
    public List<T> Reports { get; } = [];

    public void Report(T value)
    {
        lock (Reports)
        {
            Reports.Add(value);
        }

        onReport(value);
    }
}
