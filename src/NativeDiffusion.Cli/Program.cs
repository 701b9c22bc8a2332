using NativeDiffusion.Cli;

return await NdCommandLine.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
