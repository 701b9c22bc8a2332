using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

namespace NativeDiffusion.Cli;

/// <summary><c>nd convert IN -o OUT.gguf --type q8_0</c>: a model as one self-contained GGUF file.</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("model") { Description = "The model to convert: a .safetensors or .gguf file, or a diffusers folder." };
        var output = new Option<string>("--output", "-o") { Description = "The .gguf file to write.", Required = true, HelpName = "FILE" };
        var type = ModelOptions.WeightTypeOption("--type", "The weight type (default f16; small tensors and norms keep their own, see docs/formats.md).");
        var portable = new Option<bool>("--portable") { Description = "Keep convolution kernels F16 and 4-D so that stable-diffusion.cpp reads the file too." };
        var modelOptions = new ModelOptions();
        var command = new Command("convert", "Convert a model (checkpoint, diffusers folder or GGUF) to one GGUF file with its tokenizer vocabulary.")
        {
            input,
            output,
            type,
            portable,
        };
        modelOptions.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            var options = new ConvertOptions
            {
                WeightType = parseResult.GetValue(type) ?? TensorDataType.F16,
                Portable = parseResult.GetValue(portable),
            };
            var outputPath = Path.GetFullPath(parseResult.GetRequiredValue(output));
            var clock = Stopwatch.StartNew();
            var model = await DiffusionModel.OpenForInspectionAsync(
                parseResult.GetRequiredValue(input), modelOptions.Read(parseResult, error), cancellationToken).ConfigureAwait(false);
            await using var modelScope = model.ConfigureAwait(false);
            try
            {
                await ProgressDisplay.RunAsync(error, "converting", async update =>
                {
                    await model.ConvertAsync(
                        outputPath,
                        options,
                        new InlineProgress<ConvertProgress>(p => update(p.Fraction, Describe(p))),
                        cancellationToken).ConfigureAwait(false);
                    return true;
                }).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                error.WriteLine("nd: conversion cancelled; no file was written");
                return ExitCodes.Cancelled;
            }

            var size = new FileInfo(outputPath).Length;
            parseResult.InvocationConfiguration.Output.WriteLine(
                $"{outputPath}  {model.Info.FamilyName}  {options.WeightType?.ToFileName()}  {Format.Bytes(size)}  "
                + $"({clock.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s)");
            return ExitCodes.Success;
        });
        return command;
    }

    private static string Describe(ConvertProgress progress) =>
        $"tensor {Format.Count(progress.TensorsDone)}/{Format.Count(progress.TensorCount)}";
}
