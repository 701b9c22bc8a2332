using System.CommandLine;
using NativeDiffusion.Tokenizers;

namespace NativeDiffusion.Cli;

/// <summary>
/// <c>nd tokenizer fetch|path</c>: the tokenizer vocabulary cache that single-file checkpoints (which carry no
/// vocabulary) are completed from.
/// </summary>
internal static class TokenizerCommand
{
    public static Command Create()
    {
        var command = new Command("tokenizer", "Manage the tokenizer vocabulary cache used by single-file checkpoints.");
        command.Subcommands.Add(CreateFetch());
        command.Subcommands.Add(CreatePath());
        return command;
    }

    private static Option<string?> CacheDirOption() => new("--cache-dir")
    {
        Description = "The cache root (default: $ND_CACHE_DIR/tokenizers, else $XDG_CACHE_HOME or ~/.cache, /nativediffusion/tokenizers).",
    };

    private static Argument<string> NameArgument() => new("name")
    {
        Description = $"The vocabulary: {string.Join(", ", TokenizerCache.KnownNames)}.",
        DefaultValueFactory = _ => TokenizerCache.ClipVitLargePatch14,
    };

    private static Command CreateFetch()
    {
        var name = NameArgument();
        var cacheDir = CacheDirOption();
        var endpoint = new Option<Uri?>("--endpoint")
        {
            Description = $"The model hub to download from (default: $HF_ENDPOINT or {TokenizerCache.DefaultEndpoint}).",
            CustomParser = result =>
            {
                var text = result.Tokens.Single().Value;
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
                {
                    return uri;
                }

                result.AddError($"--endpoint must be an http or https URL, not '{text}'.");
                return null;
            },
        };
        var command = new Command("fetch", "Download a tokenizer vocabulary (vocab.json, merges.txt) from the model hub into the cache.")
        {
            name,
            cacheDir,
            endpoint,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var tokenizer = parseResult.GetRequiredValue(name);
            if (!TokenizerCache.KnownNames.Contains(tokenizer))
            {
                error.WriteLine($"nd: error: unknown tokenizer '{tokenizer}'; known: {string.Join(", ", TokenizerCache.KnownNames)}");
                return ExitCodes.Usage;
            }

            var folder = await TokenizerCache.FetchAsync(
                tokenizer,
                parseResult.GetValue(cacheDir),
                parseResult.GetValue(endpoint),
                progress: new InlineProgress<string>(error.WriteLine),
                cancellationToken: cancellationToken).ConfigureAwait(false);
            output.WriteLine(folder);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreatePath()
    {
        var name = NameArgument();
        var cacheDir = CacheDirOption();
        var command = new Command("path", "Print the cache folder of a tokenizer vocabulary; exit code 1 when it is not there yet.")
        {
            name,
            cacheDir,
        };
        command.SetAction(parseResult =>
        {
            var tokenizer = parseResult.GetRequiredValue(name);
            var root = parseResult.GetValue(cacheDir);
            parseResult.InvocationConfiguration.Output.WriteLine(TokenizerCache.DirectoryFor(tokenizer, root));
            return TokenizerCache.Contains(tokenizer, root) ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }
}
