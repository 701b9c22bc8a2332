using System.Net.Http;
using System.Text.Json;

namespace NativeDiffusion.Tokenizers;

/// <summary>
/// The folder where tokenizer vocabularies are kept for models whose files carry none (single-file checkpoints), and
/// the download that fills it from the public model hub.
/// </summary>
/// <remarks>
/// The engine looks for a vocabulary in the model file (GGUF metadata), then the diffusers folder's <c>tokenizer/</c>,
/// then an explicit tokenizer folder, then this cache: <c>$ND_CACHE_DIR/tokenizers/NAME</c>, else
/// <c>$XDG_CACHE_HOME/nativediffusion/tokenizers/NAME</c>, else <c>~/.cache/nativediffusion/tokenizers/NAME</c>, where
/// NAME is <see cref="ClipVitLargePatch14"/> for the CLIP BPE vocabulary that SD 1.x, 2.x and SDXL all use. Each folder
/// holds <c>vocab.json</c> and <c>merges.txt</c>, as model repositories ship them under <c>tokenizer/</c>.
/// </remarks>
public static class TokenizerCache
{
    /// <summary>The CLIP BPE vocabulary (49,408 tokens) of openai/clip-vit-large-patch14.</summary>
    public const string ClipVitLargePatch14 = "clip-vit-large-patch14";

    /// <summary>The model hub the vocabularies come from (overridden by <c>HF_ENDPOINT</c>, as the hub's own tools do).</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    private static readonly IReadOnlyDictionary<string, KnownTokenizer> s_known = new Dictionary<string, KnownTokenizer>(StringComparer.Ordinal)
    {
        [ClipVitLargePatch14] = new("openai/clip-vit-large-patch14", ExpectedTokens: 49408),
    };

    /// <summary>The names <see cref="FetchAsync"/> knows.</summary>
    public static IReadOnlyCollection<string> KnownNames => s_known.Keys.ToArray();

    /// <summary>The cache root (without the tokenizer's name), from the environment as described in the remarks.</summary>
    public static string DefaultRoot
    {
        get
        {
            var nd = Environment.GetEnvironmentVariable("ND_CACHE_DIR");
            if (!string.IsNullOrEmpty(nd))
            {
                return Path.Combine(nd, "tokenizers");
            }

            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var cache = !string.IsNullOrEmpty(xdg)
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(cache, "nativediffusion", "tokenizers");
        }
    }

    /// <summary>The folder that holds tokenizer <paramref name="name"/> under <paramref name="root"/> (default: <see cref="DefaultRoot"/>).</summary>
    public static string DirectoryFor(string name, string? root = null)
    {
        ValidateName(name);
        return Path.Combine(root ?? DefaultRoot, name);
    }

    /// <summary>Whether the cache holds a complete vocabulary for <paramref name="name"/>.</summary>
    public static bool Contains(string name, string? root = null)
    {
        var folder = DirectoryFor(name, root);
        return File.Exists(Path.Combine(folder, "vocab.json")) && File.Exists(Path.Combine(folder, "merges.txt"));
    }

    /// <summary>
    /// Downloads <c>vocab.json</c> and <c>merges.txt</c> of tokenizer <paramref name="name"/> from
    /// <paramref name="endpoint"/> (default: <c>HF_ENDPOINT</c> or <see cref="DefaultEndpoint"/>) into the cache, checks
    /// that they are a complete BPE vocabulary, and returns the folder. Files already there are replaced only once both
    /// new ones have downloaded and passed the check, so a failed download never damages a working cache.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown tokenizer name.</exception>
    /// <exception cref="IOException">A download failed or its content is not the expected vocabulary; the message says which file and why.</exception>
    public static async Task<string> FetchAsync(
        string name = ClipVitLargePatch14,
        string? root = null,
        Uri? endpoint = null,
        HttpClient? httpClient = null,
        IProgress<string>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ValidateName(name);
        if (!s_known.TryGetValue(name, out var known))
        {
            throw new ArgumentException($"Unknown tokenizer '{name}'. Known: {string.Join(", ", s_known.Keys)}.", nameof(name));
        }

        endpoint ??= new Uri(Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } env ? env : DefaultEndpoint);
        var folder = DirectoryFor(name, root);
        Directory.CreateDirectory(folder);

        var ownsClient = httpClient is null;
        httpClient ??= new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var staged = new List<(string Temp, string Final)>();
        try
        {
            foreach (var file in new[] { "vocab.json", "merges.txt" })
            {
                var url = new Uri(endpoint, $"{known.Repository}/resolve/main/{file}");
                progress?.Report($"downloading {url}");
                var temp = Path.Combine(folder, file + ".download");
                await DownloadAsync(httpClient, url, temp, cancellationToken).ConfigureAwait(false);
                staged.Add((temp, Path.Combine(folder, file)));
            }

            Validate(staged[0].Temp, staged[1].Temp, known);
            foreach (var (temp, final) in staged)
            {
                File.Move(temp, final, overwrite: true);
            }

            staged.Clear();
            return folder;
        }
        finally
        {
            foreach (var (temp, _) in staged)
            {
                TryDelete(temp);
            }

            if (ownsClient)
            {
                httpClient.Dispose();
            }
        }
    }

    private static async Task DownloadAsync(HttpClient client, Uri url, string destination, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new IOException($"Cannot download {url}: {e.Message}", e);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new IOException($"Cannot download {url}: the server answered {(int)response.StatusCode} {response.ReasonPhrase}.");
            }

            await using var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using var target = File.Create(destination);
            await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
        }
    }

    private static void Validate(string vocabPath, string mergesPath, KnownTokenizer known)
    {
        int tokens;
        try
        {
            using var stream = File.OpenRead(vocabPath);
            using var vocab = JsonDocument.Parse(stream);
            if (vocab.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new IOException("vocab.json is not a JSON object of token -> id.");
            }

            tokens = vocab.RootElement.EnumerateObject().Count();
            if (!vocab.RootElement.TryGetProperty("<|startoftext|>", out _) || !vocab.RootElement.TryGetProperty("<|endoftext|>", out _))
            {
                throw new IOException("vocab.json lacks the <|startoftext|> and <|endoftext|> tokens.");
            }
        }
        catch (JsonException e)
        {
            throw new IOException($"The downloaded vocab.json is not valid JSON: {e.Message}", e);
        }

        if (tokens != known.ExpectedTokens)
        {
            throw new IOException($"The downloaded vocab.json has {tokens} tokens; {known.Repository} has {known.ExpectedTokens}.");
        }

        using var merges = new StreamReader(mergesPath);
        var first = merges.ReadLine();
        if (first is null || !first.StartsWith("#version", StringComparison.Ordinal))
        {
            throw new IOException("The downloaded merges.txt does not start with a '#version' line.");
        }

        var second = merges.ReadLine();
        if (second is null || second.Split(' ').Length != 2)
        {
            throw new IOException("The downloaded merges.txt has no merge rules ('first second' per line).");
        }
    }

    private static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.IndexOfAny(['/', '\\']) >= 0 || name is "." or "..")
        {
            throw new ArgumentException($"'{name}' is not a tokenizer name (a name, not a path).", nameof(name));
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }

    private sealed record KnownTokenizer(string Repository, int ExpectedTokens);
}
