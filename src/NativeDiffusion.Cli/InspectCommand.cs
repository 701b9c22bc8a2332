using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace NativeDiffusion.Cli;

/// <summary><c>nd inspect FILE</c>: a model file's tensors, metadata and totals.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "The model file (.safetensors) to inspect." };
        var json = new Option<bool>("--json")
        {
            Description = "Print JSON instead of text. File-wide counts cover every tensor; \"tensors\" and "
                + "\"totalsByDtype\" cover the tensors that match --filter (all without it), \"tensors\" at most --limit of them.",
        };
        var limit = new Option<int?>("--limit", "-n") { Description = "List at most N tensors (totals still count all that match)." };
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
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Write the engine's log messages to stderr." };

        var command = new Command("inspect", "List a model file's tensors (name, dtype, shape, bytes), its metadata and its totals by dtype.")
        {
            file,
            json,
            limit,
            filter,
            verbose,
        };
        command.SetAction(parseResult => Run(
            parseResult.InvocationConfiguration.Output,
            parseResult.InvocationConfiguration.Error,
            parseResult.GetRequiredValue(file),
            parseResult.GetValue(json),
            parseResult.GetValue(limit),
            parseResult.GetValue(filter),
            parseResult.GetValue(verbose)));
        return command;
    }

    private static int Run(TextWriter output, TextWriter error, string path, bool json, int? limit, string? filter, bool verbose)
    {
        var logger = verbose ? new TextWriterLogger(error, LogLevel.Debug) : null;
        using var model = SafeTensorsFile.Open(path, logger);

        var matching = string.IsNullOrEmpty(filter)
            ? model.Tensors
            : [.. model.Tensors.Where(t => t.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))];
        var listed = limit is { } n && n < matching.Count ? matching.Take(n).ToList() : matching;
        var totals = DtypeTotal.Summarize(matching);

        if (json)
        {
            WriteJson(output, model, filter, matching, listed, totals);
        }
        else
        {
            WriteText(output, model, filter, matching, listed, totals);
        }

        return ExitCodes.Success;
    }

    private static void WriteJson(
        TextWriter output,
        SafeTensorsFile model,
        string? filter,
        IReadOnlyList<TensorInfo> matching,
        IReadOnlyList<TensorInfo> listed,
        IReadOnlyList<DtypeTotal> totals)
    {
        var report = new InspectReport(
            model.Path,
            model.Tensors.Count,
            model.ParameterCount,
            model.ElementCount,
            model.DataSize,
            new Dictionary<string, string>(model.Metadata, StringComparer.Ordinal),
            string.IsNullOrEmpty(filter) ? null : filter,
            matching.Count,
            [.. totals.Select(t => new DtypeReport(t.Dtype.ToFileName(), t.TensorCount, t.ElementCount, t.ByteCount))],
            [.. listed.Select(t => new TensorReport(t.Name, t.Dtype.ToFileName(), t.Shape, t.ElementCount, t.DataOffset, t.DataSize))]);
        output.WriteLine(JsonSerializer.Serialize(report, CliJsonContext.Output.InspectReport));
    }

    private static void WriteText(
        TextWriter output,
        SafeTensorsFile model,
        string? filter,
        IReadOnlyList<TensorInfo> matching,
        IReadOnlyList<TensorInfo> listed,
        IReadOnlyList<DtypeTotal> totals)
    {
        var filtered = !string.IsNullOrEmpty(filter);
        output.WriteLine(model.Path);
        output.WriteLine();

        var heading = filtered
            ? $"Tensors matching \"{filter}\": {Format.Count(matching.Count)} of {Format.Count(model.Tensors.Count)}"
            : $"Tensors: {Format.Count(model.Tensors.Count)}";
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

        output.WriteLine();
        output.WriteLine($"Metadata: {Format.Count(model.Metadata.Count)} {(model.Metadata.Count == 1 ? "entry" : "entries")}");
        foreach (var (key, value) in model.Metadata)
        {
            output.WriteLine($"  {key}: {value}");
        }

        output.WriteLine();
        output.WriteLine(filtered ? "Totals by dtype (matching tensors):" : "Totals by dtype:");
        var rows = totals
            .Select(t => new[] { t.Dtype.ToFileName(), Format.Count(t.TensorCount), Format.Count(t.ElementCount), Format.Count(t.ByteCount) })
            .Append(new[] { "all", Format.Count(matching.Count), Format.Count(totals.Sum(t => t.ElementCount)), Format.Count(totals.Sum(t => t.ByteCount)) });
        Format.Table(output, "  ", ["DTYPE", "TENSORS", "ELEMENTS", "BYTES"], rows, 1, 2, 3);

        output.WriteLine();
        if (filtered)
        {
            var matchingParameters = matching.Where(t => t.Dtype.IsFloatingPoint()).Sum(t => t.ElementCount);
            output.WriteLine($"{Format.Count(matchingParameters)} parameters in the matching tensors "
                + $"({Format.Count(model.ParameterCount)} in the file)");
        }
        else
        {
            output.WriteLine($"{Format.Count(model.ParameterCount)} parameters, {Format.Bytes(model.DataSize)} of tensor data");
        }

        var buffers = model.ElementCount - model.ParameterCount;
        if (buffers > 0)
        {
            output.WriteLine($"(parameters are floating-point elements; {Format.Count(buffers)} elements of integer or boolean buffers are not counted)");
        }
    }
}
