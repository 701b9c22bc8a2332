using NativeDiffusion.Images;

namespace NativeDiffusion.Server.Jobs;

/// <summary>Where a running job stands, written by its worker and read by <c>/sdapi/v1/progress</c>; a snapshot per update.</summary>
internal sealed class JobProgress
{
    private volatile Snapshot _current = new(GenerationStage.TextEncoding, 0, 0, 0, 1, 0, null, null);

    public Snapshot Current => _current;

    public void Report(GenerationProgress progress)
    {
        var last = _current;
        _current = last with
        {
            Stage = progress.Stage,
            Step = progress.Step,
            Steps = progress.Steps,
            Image = progress.Image,
            Images = progress.Images,
            Fraction = progress.Fraction,
            EtaSeconds = progress.EstimatedRemaining?.TotalSeconds,
        };
    }

    public void ReportPreview(GeneratedImage preview) => _current = _current with { Preview = preview };

    /// <summary>One consistent view of the progress.</summary>
    public sealed record Snapshot(
        GenerationStage Stage, int Step, int Steps, int Image, int Images, double Fraction, double? EtaSeconds, GeneratedImage? Preview);
}
