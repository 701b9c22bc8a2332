using NativeDiffusion.Cli;
using NativeDiffusion.Tokenizers;

namespace NativeDiffusion.Tests.Tokenizers;

/// <summary>The tokenizer cache and its download, against a model-hub stand-in on loopback.</summary>
public sealed class TokenizerCacheTests
{
    private const string Repo = "/openai/clip-vit-large-patch14/resolve/main/";

    private static Dictionary<string, byte[]> RealVocabulary() => new()
    {
        [Repo + "vocab.json"] = File.ReadAllBytes(TestPaths.Fixture("tokenizer", "vocab.json")),
        [Repo + "merges.txt"] = File.ReadAllBytes(TestPaths.Fixture("tokenizer", "merges.txt")),
    };

    [Fact]
    public async Task Fetch_downloads_vocab_and_merges_into_the_named_cache_folder()
    {
        using var cache = new TempFolder();
        using var hub = new LocalHub(RealVocabulary());

        var folder = await TokenizerCache.FetchAsync(root: cache.Path, endpoint: hub.Endpoint);

        Assert.Equal(Path.Combine(cache.Path, TokenizerCache.ClipVitLargePatch14), folder);
        Assert.Equal(File.ReadAllBytes(TestPaths.Fixture("tokenizer", "vocab.json")), File.ReadAllBytes(Path.Combine(folder, "vocab.json")));
        Assert.Equal(File.ReadAllBytes(TestPaths.Fixture("tokenizer", "merges.txt")), File.ReadAllBytes(Path.Combine(folder, "merges.txt")));
        Assert.True(TokenizerCache.Contains(TokenizerCache.ClipVitLargePatch14, cache.Path));
        Assert.Equal([Repo + "vocab.json", Repo + "merges.txt"], hub.Requests);
        Assert.Empty(Directory.GetFiles(folder, "*.download"));
    }

    [Fact]
    public async Task Missing_file_on_the_server_is_an_io_error_and_keeps_the_existing_cache()
    {
        using var cache = new TempFolder();
        var folder = TokenizerCache.DirectoryFor(TokenizerCache.ClipVitLargePatch14, cache.Path);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "vocab.json"), "old vocab");
        File.WriteAllText(Path.Combine(folder, "merges.txt"), "old merges");
        var files = RealVocabulary();
        files.Remove(Repo + "merges.txt");
        using var hub = new LocalHub(files);

        var error = await Assert.ThrowsAsync<IOException>(() => TokenizerCache.FetchAsync(root: cache.Path, endpoint: hub.Endpoint));

        Assert.Contains("merges.txt", error.Message, StringComparison.Ordinal);
        Assert.Contains("404", error.Message, StringComparison.Ordinal);
        Assert.Equal("old vocab", File.ReadAllText(Path.Combine(folder, "vocab.json")));
        Assert.Equal("old merges", File.ReadAllText(Path.Combine(folder, "merges.txt")));
        Assert.Empty(Directory.GetFiles(folder, "*.download"));
    }

    [Fact]
    public async Task Wrong_content_is_refused_before_it_reaches_the_cache()
    {
        using var cache = new TempFolder();
        var files = RealVocabulary();
        files[Repo + "vocab.json"] = """{"<|startoftext|>": 0, "<|endoftext|>": 1}"""u8.ToArray();
        using var hub = new LocalHub(files);

        var error = await Assert.ThrowsAsync<IOException>(() => TokenizerCache.FetchAsync(root: cache.Path, endpoint: hub.Endpoint));

        Assert.Contains("2 tokens", error.Message, StringComparison.Ordinal);
        Assert.False(TokenizerCache.Contains(TokenizerCache.ClipVitLargePatch14, cache.Path));
    }

    [Fact]
    public void Names_are_names_not_paths()
    {
        Assert.Throws<ArgumentException>(() => TokenizerCache.DirectoryFor("../etc"));
        Assert.Throws<ArgumentException>(() => TokenizerCache.DirectoryFor(".."));
    }

    [Fact]
    public async Task Cli_fetch_then_path_reports_the_folder_and_success()
    {
        using var cache = new TempFolder();
        using var hub = new LocalHub(RealVocabulary());

        var (pathCodeBefore, _, _) = await RunAsync("tokenizer", "path", "--cache-dir", cache.Path);
        var (fetchCode, fetchOutput, fetchError) = await RunAsync("tokenizer", "fetch", "--cache-dir", cache.Path, "--endpoint", hub.Endpoint.ToString());
        var (pathCode, pathOutput, _) = await RunAsync("tokenizer", "path", "--cache-dir", cache.Path);

        Assert.Equal(ExitCodes.Failure, pathCodeBefore);
        Assert.True(fetchCode == ExitCodes.Success, fetchError);
        var expected = Path.Combine(cache.Path, TokenizerCache.ClipVitLargePatch14);
        Assert.Equal(expected, fetchOutput.Trim());
        Assert.Equal(ExitCodes.Success, pathCode);
        Assert.Equal(expected, pathOutput.Trim());
    }

    [Fact]
    public async Task Cli_fetch_of_an_unknown_tokenizer_is_a_usage_error()
    {
        var (code, _, error) = await RunAsync("tokenizer", "fetch", "no-such-tokenizer");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("unknown tokenizer", error, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await NdCommandLine.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
