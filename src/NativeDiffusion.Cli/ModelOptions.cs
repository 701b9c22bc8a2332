using System.CommandLine;
using System.CommandLine.Parsing;
using Microsoft.Extensions.Logging;

namespace NativeDiffusion.Cli;

/// <summary>The options that say how a model is loaded, shared by <c>generate</c>, <c>convert</c> and <c>inspect</c>.</summary>
internal sealed class ModelOptions
{
    /// <summary>The weight types a model can be converted to, as <c>--weight-type</c> and <c>--type</c> spell them.</summary>
    public static readonly IReadOnlyList<string> WeightTypeNames =
    [
        .. Enum.GetValues<TensorDataType>().Where(t => t.IsWeightType()).Select(t => t.ToFileName().ToLowerInvariant()),
    ];

    public Option<string?> Tokenizer { get; } = new("--tokenizer")
    {
        Description = "A folder with the CLIP tokenizer's vocab.json and merges.txt (single-file checkpoints carry none; "
            + "without it the engine searches the model's folder and the cache of 'nd tokenizer fetch').",
        HelpName = "DIR",
    };

    public Option<string?> Vae { get; } = new("--vae")
    {
        Description = "A separate VAE (.safetensors) replacing the model's own.",
        HelpName = "FILE",
    };

    public Option<bool> Verbose { get; } = new("--verbose", "-v") { Description = "Write the engine's log messages to stderr." };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Tokenizer);
        command.Options.Add(Vae);
        command.Options.Add(Verbose);
    }

    /// <summary>The load options the command line asks for.</summary>
    public ModelLoadOptions Read(ParseResult parseResult, TextWriter error, TensorDataType? weightType = null, int threads = 0) => new()
    {
        TokenizerPath = parseResult.GetValue(Tokenizer),
        VaePath = parseResult.GetValue(Vae),
        WeightType = weightType,
        Threads = threads,
        Logger = parseResult.GetValue(Verbose) ? new TextWriterLogger(error, LogLevel.Debug) : null,
    };

    /// <summary>An option taking a weight type by name (<c>f16</c>, <c>q8_0</c>, <c>Q4_K</c>...).</summary>
    public static Option<TensorDataType?> WeightTypeOption(string name, string description, params string[] aliases)
    {
        var option = new Option<TensorDataType?>(name, aliases)
        {
            Description = $"{description} One of {string.Join(", ", WeightTypeNames)}.",
            HelpName = "TYPE",
            CustomParser = ParseWeightType,
        };
        option.CompletionSources.Add(WeightTypeNames.ToArray());
        return option;
    }

    /// <summary>
    /// Lets <paramref name="option"/> take only <paramref name="names"/> (exact), with an error that names the option and
    /// lists them, and the names as completions and in the help.
    /// </summary>
    public static void AcceptOnly(Option option, IReadOnlyList<string> names)
    {
        option.HelpName = string.Join("|", names);
        option.CompletionSources.Add([.. names]);
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (!names.Contains(token.Value, StringComparer.Ordinal))
                {
                    result.AddError($"{result.Option.Name}: unknown value '{token.Value}'; use one of {string.Join(", ", names)}.");
                }
            }
        });
    }

    private static TensorDataType? ParseWeightType(ArgumentResult result)
    {
        var text = result.Tokens.Single().Value;
        foreach (var type in Enum.GetValues<TensorDataType>())
        {
            if (type.IsWeightType() && string.Equals(type.ToFileName(), text, StringComparison.OrdinalIgnoreCase))
            {
                return type;
            }
        }

        var option = (result.Parent as OptionResult)?.Option.Name ?? "--weight-type";
        result.AddError($"{option}: unknown weight type '{text}'; use one of {string.Join(", ", WeightTypeNames)}.");
        return null;
    }
}
