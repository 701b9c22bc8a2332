using Microsoft.Extensions.Options;

namespace NativeDiffusion.Hosting;

/// <summary>
/// Checks <see cref="NativeDiffusionOptions"/> when the host starts (<c>ValidateOnStart</c>): every failure names the
/// model and the field as a configuration path (<c>NativeDiffusion:Models:sd15:Path</c>) and says what is wrong.
/// Files are checked to exist; whether they hold a model is known only when it loads.
/// </summary>
/// <param name="sectionPath">The configuration path of the options (<c>NativeDiffusion</c>); empty when bound from the root.</param>
internal sealed class NativeDiffusionOptionsValidator(string sectionPath) : IValidateOptions<NativeDiffusionOptions>
{
    private readonly string _prefix = sectionPath.Length == 0 ? string.Empty : sectionPath + ":";

    public ValidateOptionsResult Validate(string? name, NativeDiffusionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Models.Count == 0)
        {
            failures.Add($"{_prefix}Models lists no model: add at least one, e.g. {_prefix}Models:sd15:Path.");
        }

        foreach (var (modelName, model) in options.Models)
        {
            var at = $"{_prefix}Models:{modelName}";
            if (string.IsNullOrWhiteSpace(modelName))
            {
                failures.Add($"{_prefix}Models has a model with an empty name.");
            }

            if (model is null)
            {
                failures.Add($"{at} is empty: set at least its Path.");
                continue;
            }

            ValidateModel(at, model, failures);
        }

        if (options.DefaultModel is { } defaultModel && !options.Models.ContainsKey(defaultModel))
        {
            failures.Add($"{_prefix}DefaultModel is '{defaultModel}', which is not one of the models ({string.Join(", ", options.Models.Keys)}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateModel(string at, DiffusionModelOptions model, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(model.Path))
        {
            failures.Add($"{at}:Path is missing: give the model file (.safetensors, .gguf) or diffusers folder.");
        }
        else if (!File.Exists(model.Path) && !Directory.Exists(model.Path))
        {
            failures.Add($"{at}:Path '{model.Path}' does not exist (full path {System.IO.Path.GetFullPath(model.Path)}).");
        }

        if (model.VaePath is { } vae && !File.Exists(vae) && !Directory.Exists(vae))
        {
            failures.Add($"{at}:VaePath '{vae}' does not exist (full path {System.IO.Path.GetFullPath(vae)}).");
        }

        if (model.TokenizerPath is { } tokenizer && !Directory.Exists(tokenizer))
        {
            failures.Add($"{at}:TokenizerPath '{tokenizer}' is not a folder (it should hold vocab.json and merges.txt).");
        }

        try
        {
            model.ToLoadOptions(loggerFactory: null).Validate();
        }
        catch (ArgumentException e)
        {
            // ModelLoadOptions names its PredictionType property Prediction here.
            var field = e.ParamName == nameof(ModelLoadOptions.PredictionType) ? nameof(DiffusionModelOptions.Prediction) : e.ParamName;
            failures.Add($"{at}:{field}: {FirstSentence(e)}");
        }

        if (model.Defaults is null)
        {
            failures.Add($"{at}:Defaults is empty.");
            return;
        }

        try
        {
            model.Defaults.CreateRequest(prompt: string.Empty).Validate();
        }
        catch (ArgumentException e)
        {
            failures.Add($"{at}:Defaults:{e.ParamName}: {FirstSentence(e)}");
        }
    }

    // ArgumentException appends " (Parameter 'x')" and the actual value; the path already names the field.
    private static string FirstSentence(ArgumentException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        message = cut >= 0 ? message[..cut] : message;
        var newline = message.IndexOf('\n', StringComparison.Ordinal);
        return (newline >= 0 ? message[..newline] : message).Trim();
    }
}
