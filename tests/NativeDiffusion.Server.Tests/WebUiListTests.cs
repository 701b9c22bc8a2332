using System.Text.Json.Nodes;

namespace NativeDiffusion.Server.Tests;

public sealed class WebUiListTests(SharedServer server) : IClassFixture<SharedServer>
{
    private readonly HttpClient _client = server.Client;

    private async Task<JsonNode> GetAsync(string path) => JsonNode.Parse(await _client.GetStringAsync(new Uri(path, UriKind.Relative)))!;

    [Fact]
    public async Task Samplers_list_every_web_ui_name_with_aliases_and_options()
    {
        var samplers = (await GetAsync("/sdapi/v1/samplers")).AsArray();
        foreach (var sampler in samplers)
        {
            WebUiShapes.AssertExactKeys(sampler!.AsObject(), WebUiShapes.Sampler, "sampler");
        }

        Assert.Equal(
            ["DDIM", "DPM++ 2M", "DPM++ 2S a", "DPM++ SDE", "DPM2", "Euler", "Euler a", "Heun", "LCM"],
            samplers.Select(s => s!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Schedulers_list_names_and_labels()
    {
        var schedulers = (await GetAsync("/sdapi/v1/schedulers")).AsArray();
        foreach (var scheduler in schedulers)
        {
            WebUiShapes.AssertExactKeys(scheduler!.AsObject(), WebUiShapes.Scheduler, "scheduler");
        }

        Assert.Equal(["Automatic", "Karras", "Exponential", "SGM Uniform"], schedulers.Select(s => s!["label"]!.GetValue<string>()));
        Assert.Equal(["automatic", "karras", "exponential", "sgm_uniform"], schedulers.Select(s => s!["name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Sd_models_list_the_configured_model_with_its_hashes_and_no_server_path()
    {
        var model = (await GetAsync("/sdapi/v1/sd-models")).AsArray().Single()!.AsObject();
        WebUiShapes.AssertExactKeys(model, WebUiShapes.SdModel, "sd-model");
        var sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Fixtures.TinyModel)));
        Assert.Equal(sha256, model["sha256"]!.GetValue<string>());
        Assert.Equal(sha256[..10], model["hash"]!.GetValue<string>());
        Assert.Equal($"tiny [{sha256[..10]}]", model["title"]!.GetValue<string>());
        Assert.Equal("tiny", model["model_name"]!.GetValue<string>());
        Assert.Equal("model.safetensors", model["filename"]!.GetValue<string>());
    }

    [Fact]
    public async Task Options_name_the_default_checkpoint()
    {
        var options = (await GetAsync("/sdapi/v1/options")).AsObject();
        Assert.StartsWith("tiny [", options["sd_model_checkpoint"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("png", options["samples_format"]!.GetValue<string>());
    }

    [Fact]
    public async Task Progress_when_idle_has_the_web_ui_shape_and_zero_progress()
    {
        var progress = (await GetAsync("/sdapi/v1/progress")).AsObject();
        WebUiShapes.AssertHasKeys(progress, WebUiShapes.Progress, "progress");
        WebUiShapes.AssertHasKeys(progress["state"]!.AsObject(), WebUiShapes.ProgressState, "progress state");
        Assert.Equal(0, progress["progress"]!.GetValue<double>());
        Assert.Null(progress["current_image"]);
    }

    [Fact]
    public async Task Health_is_200_and_ready_lists_the_models()
    {
        Assert.Equal("ok", (await GetAsync("/healthz"))["status"]!.GetValue<string>());
        var ready = await GetAsync("/readyz");
        Assert.Equal("ready", ready["status"]!.GetValue<string>());
        Assert.Equal("tiny", ready["models"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task The_openapi_document_lists_every_endpoint()
    {
        var paths = (await GetAsync("/openapi/v1.json"))["paths"]!.AsObject().Select(p => p.Key).ToList();
        foreach (var path in new[]
        {
            "/healthz", "/readyz", "/sdapi/v1/txt2img", "/sdapi/v1/img2img", "/sdapi/v1/progress", "/sdapi/v1/interrupt",
            "/sdapi/v1/samplers", "/sdapi/v1/schedulers", "/sdapi/v1/sd-models", "/sdapi/v1/options", "/v1/images/generations",
        })
        {
            Assert.Contains(path, paths);
        }
    }

    [Fact]
    public async Task The_page_and_its_script_are_served()
    {
        var page = await _client.GetStringAsync(new Uri("/", UriKind.Relative));
        Assert.Contains("<script src=\"app.js\"></script>", page, StringComparison.Ordinal);
        var script = await _client.GetStringAsync(new Uri("/app.js", UriKind.Relative));
        Assert.Contains("sdapi/v1/progress", script, StringComparison.Ordinal);
        Assert.Contains("sdapi/v1/txt2img", script, StringComparison.Ordinal);
    }
}
