using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace NativeDiffusion.Cli;

/// <summary>
/// <c>nd inspect MODEL</c>: what the engine recognises in a model (family, layout, prediction, components, tokenizer,
/// dtype totals) and its tensors. A <c>.safetensors</c> file is listed as stored (names, offsets, metadata); a GGUF file
/// or a diffusers folder by the canonical names the engine gives its weights.
/// </summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("model") { Description = "The model to inspect: a .safetensors or .gguf file, or a diffusers folder." };
        var json = new Option<bool>("--json")
        {
            Description = "Print JSON instead of text. File-wide counts cover every tensor; \"tensors\" and "
                + "\"totalsByDtype\" cover the tensors that match --filter (all without it), \"tensors\" at most --limit of them.",
        };
        var limit = new Option<int?>("--limit", "-n") { Description = "List at most N tensors (totals still count all that match).", HelpName = "N" };
        limit.Validators.Add(result =>
        {
            // Read the token rather than the value: a value that is not a number already has its own parse error.
            if (result.Tokens is [var token] && int.TryParse(token.Value, CultureInfo.InvariantCulture, out var n) && n < 0)
            {
                result.AddError("--limit must be 0 or more.");
            }
        });
        var filter = new Option<string?>("--filter", "-f")
        {
            Description = "Only tensors whose name contains this text (case-insensitive); totals cover the matching tensors.",
        };
        var modelOptions = new ModelOptions();

        var command = new Command("inspect", "Show what a model is (family, layout, prediction, components, tokenizer) and list its tensors (name, dtype, shape, bytes) and totals by dtype.")
        {
            file,
            json,
            limit,
            filter,
        };
        modelOptions.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            var listing = await OpenAsync(parseResult.GetRequiredValue(file), modelOptions.Read(parseResult, error), cancellationToken).ConfigureAwait(false);
            Write(
                parseResult.InvocationConfiguration.Output,
                listing,
                parseResult.GetValue(json),
                parseResult.GetValue(limit),
                parseResult.GetValue(filter));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>What is listed: a file's tensors as stored, or the model's canonical weights, and what the engine recognised.</summary>
    private sealed record Listing(
        string Path,
        IReadOnlyList<TensorInfo> Tensors,
        IReadOnlyDictionary<string, string> Metadata,
        bool AsStored,
        ModelInfo? Model,
        IReadOnlyList<DtypeTotal>? ModelTotals,
        string? ModelError);

    private static async Task<Listing> OpenAsync(string path, ModelLoadOptions options, CancellationToken cancellationToken)
    {
        if (File.Exists(path) && path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            using var file = SafeTensorsFile.Open(path, options.Logger);
            try
            {
                var model = await DiffusionModel.OpenForInspectionAsync(path, options, cancellationToken).ConfigureAwait(false);
                await using var modelScope = model.ConfigureAwait(false);
                return new Listing(file.Path, file.Tensors, file.Metadata, true, model.Info, model.TotalsByDtype, null);
            }
            catch (NativeDiffusionException e) when (e.ErrorCode is NativeErrorCode.Unsupported or NativeErrorCode.NotFound or NativeErrorCode.InvalidFormat)
            {
                // A valid safetensors file that is no model (a VAE alone, a LoRA, reference data): list it anyway.
                return new Listing(file.Path, file.Tensors, file.Metadata, true, null, null, e.NativeMessage);
            }
        }

        var inspected = await DiffusionModel.OpenForInspectionAsync(path, options, cancellationToken).ConfigureAwait(false);
        await using (inspected.ConfigureAwait(false))
        {
            var tensors = inspected.Tensors;
            return new Listing(inspected.Info.Path, tensors, new Dictionary<string, string>(), false, inspected.Info, DtypeTotal.Summarize(tensors), null);
        }
    }

    private static void Write(TextWriter output, Listing listing, bool json, int? limit, string? filter)
    {
        var matching = string.IsNullOrEmpty(filter)
            ? listing.Tensors
            : [.. listing.Tensors.Where(t => t.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))];
        var listed = limit is { } n && n < matching.Count ? matching.Take(n).ToList() : matching;
        var totals = DtypeTotal.Summarize(matching);

        if (json)
        {
            WriteJson(output, listing, filter, matching, listed, totals);
        }
        else
        {
            WriteText(output, listing, filter, matching, listed, totals);
        }
    }

    private static IReadOnlyList<string> ComponentNames(ModelComponents components)
    {
        var names = new List<string>();
        if (components.HasFlag(ModelComponents.Unet))
        {
            names.Add("UNet");
        }

        if (components.HasFlag(ModelComponents.Vae))
        {
            names.Add("VAE");
        }

        if (components.HasFlag(ModelComponents.TextEncoder))
        {
            names.Add("text encoder");
        }

        if (components.HasFlag(ModelComponents.TextEncoder2))
        {
            names.Add("text encoder 2");
        }

        if (components.HasFlag(ModelComponents.Tokenizer))
        {
            names.Add("tokenizer");
        }

        return names;
    }

    private static string PredictionName(PredictionType prediction) => prediction switch
    {
        PredictionType.Epsilon => "epsilon",
        PredictionType.V => "v",
        _ => "auto",
    };

    private static DtypeReport ToReport(DtypeTotal t) => new(t.Dtype.ToFileName(), t.TensorCount, t.ElementCount, t.ByteCount);

    private static void WriteJson(
        TextWriter output,
        Listing listing,
        string? filter,
        IReadOnlyList<TensorInfo> matching,
        IReadOnlyList<TensorInfo> listed,
        IReadOnlyList<DtypeTotal> totals)
    {
        var model = listing.Model is { } info
            ? new ModelReport(
                info.FamilyName,
                info.Layout,
                PredictionName(info.Prediction),
                info.PredictionSource,
                ComponentNames(info.Components),
                info.TokenizerSource,
                info.TensorCount,
                info.WeightBytes,
                [.. listing.ModelTotals!.Select(ToReport)])
            : null;
        var report = new InspectReport(
            listing.Path,
            listing.Tensors.Count,
            listing.Tensors.Where(t => t.Dtype.IsFloatingPoint()).Sum(t => t.ElementCount),
            listing.Tensors.Sum(t => t.ElementCount),
            listing.Tensors.Sum(t => t.DataSize),
            new Dictionary<string, string>(listing.Metadata, StringComparer.Ordinal),
            string.IsNullOrEmpty(filter) ? null : filter,
            matching.Count,
            [.. totals.Select(ToReport)],
            [.. listed.Select(t => new TensorReport(t.Name, t.Dtype.ToFileName(), t.Shape, t.ElementCount, t.DataOffset, t.DataSize))],
            model,
            listing.ModelError);
        output.WriteLine(JsonSerializer.Serialize(report, CliJsonContext.Output.InspectReport));
    }

    private static void WriteModel(TextWriter output, Listing listing)
    {
        if (listing.Model is not { } info)
        {
            output.WriteLine($"Model:       not recognised ({listing.ModelError})");
            output.WriteLine();
            return;
        }

        output.WriteLine($"Model:       {info.FamilyName}");
        output.WriteLine($"Layout:      {info.Layout}");
        output.WriteLine($"Prediction:  {PredictionName(info.Prediction)} ({info.PredictionSource})");
        output.WriteLine($"Components:  {string.Join(", ", ComponentNames(info.Components))}");
        output.WriteLine(string.IsNullOrEmpty(info.TokenizerSource)
            ? "Tokenizer:   none found (generation needs one: --tokenizer DIR, or 'nd tokenizer fetch')"
            : $"Tokenizer:   {info.TokenizerSource}");
        output.WriteLine($"Weights:     {Format.Count(info.TensorCount)} tensors, {Format.Bytes(info.WeightBytes)}");
        if (listing.AsStored)
        {
            // The file's own listing follows; these are the weights as the engine holds them.
            var totals = string.Join(", ", listing.ModelTotals!.Select(t => $"{t.Dtype.ToFileName()} {Format.Count(t.TensorCount)}"));
            output.WriteLine($"             by dtype: {totals}");
        }

        output.WriteLine();
    }

    private static void WriteText(
        TextWriter output,
        Listing listing,
        string? filter,
        IReadOnlyList<TensorInfo> matching,
        IReadOnlyList<TensorInfo> listed,
        IReadOnlyList<DtypeTotal> totals)
    {
        var filtered = !string.IsNullOrEmpty(filter);
        output.WriteLine(listing.Path);
        output.WriteLine();
        WriteModel(output, listing);

        var what = listing.AsStored ? "Tensors" : "Tensors (canonical names)";
        var heading = filtered
            ? $"{what} matching \"{filter}\": {Format.Count(matching.Count)} of {Format.Count(listing.Tensors.Count)}"
            : $"{what}: {Format.Count(listing.Tensors.Count)}";
        output.WriteLine(listed.Count < matching.Count ? $"{heading} (first {Format.Count(listed.Count)} listed)" : heading);
        if (listed.Count > 0)
        {
            Format.Table(
                output,
                "  ",
                ["NAME", "DTYPE", "SHAPE", "BYTES"],
                listed.Select(t => new[] { t.Name, t.Dtype.ToFileName(), t.ShapeText, Format.Count(t.DataSize) }),
                3);
        }

        if (listing.AsStored)
        {
            output.WriteLine();
            output.WriteLine($"Metadata: {Format.Count(listing.Metadata.Count)} {(listing.Metadata.Count == 1 ? "entry" : "entries")}");
            foreach (var (key, value) in listing.Metadata)
            {
                output.WriteLine($"  {key}: {value}");
            }
        }

        output.WriteLine();
        output.WriteLine(filtered ? "Totals by dtype (matching tensors):" : "Totals by dtype:");
        var rows = totals
            .Select(t => new[] { t.Dtype.ToFileName(), Format.Count(t.TensorCount), Format.Count(t.ElementCount), Format.Count(t.ByteCount) })
            .Append(new[] { "all", Format.Count(matching.Count), Format.Count(totals.Sum(t => t.ElementCount)), Format.Count(totals.Sum(t => t.ByteCount)) });
        Format.Table(output, "  ", ["DTYPE", "TENSORS", "ELEMENTS", "BYTES"], rows, 1, 2, 3);

        output.WriteLine();
        var parameterCount = listing.Tensors.Where(t => t.Dtype.IsFloatingPoint()).Sum(t => t.ElementCount);
        var elementCount = listing.Tensors.Sum(t => t.ElementCount);
        if (filtered)
        {
            var matchingParameters = matching.Where(t => t.Dtype.IsFloatingPoint()).Sum(t => t.ElementCount);
            output.WriteLine($"{Format.Count(matchingParameters)} parameters in the matching tensors "
                + $"({Format.Count(parameterCount)} in the {(listing.AsStored ? "file" : "model")})");
        }
        else
        {
            output.WriteLine($"{Format.Count(parameterCount)} parameters, {Format.Bytes(listing.Tensors.Sum(t => t.DataSize))} of tensor data");
        }

        var buffers = elementCount - parameterCount;
        if (buffers > 0)
        {
            output.WriteLine($"(parameters are floating-point elements; {Format.Count(buffers)} elements of integer or boolean buffers are not counted)");
        }
    }
}
