using NativeDiffusion.Cli;

// Ctrl+C cancels the command's token; the command stops cleanly and says so. A second Ctrl+C ends the process.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (!cancellation.IsCancellationRequested)
    {
        e.Cancel = true;
        Console.Error.WriteLine("nd: cancelling (Ctrl+C again to stop at once)...");
        cancellation.Cancel();
    }
};

return await NdCommandLine.RunAsync(args, Console.Out, Console.Error, cancellation.Token).ConfigureAwait(false);
