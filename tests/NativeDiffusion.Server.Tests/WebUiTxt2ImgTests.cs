using System.Text.Json;
using System.Text.Json.Nodes;

namespace NativeDiffusion.Server.Tests;

public sealed class WebUiTxt2ImgTests(SharedServer server) : IClassFixture<SharedServer>
{
    private readonly HttpClient _client = server.Client;

    [Fact]
    public async Task Txt2img_answers_the_web_ui_shape_with_info_as_a_json_string()
    {
        var response = await (await _client.PostJsonAsync("/sdapi/v1/txt2img",
            new { prompt = "a red cube", negative_prompt = "blurry", steps = 3, width = 64, height = 64, seed = 1234, sampler_name = "Euler a" })).OkJsonAsync();

        WebUiShapes.AssertExactKeys(response, WebUiShapes.ImagesResponse, "txt2img response");
        var info = Http.ParseInfo(response);
        WebUiShapes.AssertHasKeys(info, WebUiShapes.Info, "info");
        Assert.Equal(1234, info["seed"]!.GetValue<long>());
        Assert.Equal("Euler a", info["sampler_name"]!.GetValue<string>());
        Assert.Equal("a red cube", info["prompt"]!.GetValue<string>());
        Assert.Equal(ServerFactory.Model, info["sd_model_name"]!.GetValue<string>());
        Assert.Equal(10, info["sd_model_hash"]!.GetValue<string>().Length);

        var images = response["images"]!.AsArray();
        var image = TestImages.FromBase64(images.Single()!.GetValue<string>());
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.NotNull(image.Settings);
        Assert.Equal(1234, image.Settings.Seed);
        Assert.Equal("Euler a", image.Settings.Sampler);
        Assert.Equal(3, image.Settings.Steps);
        Assert.Equal(ServerFactory.Model, image.Settings.ModelName);
        Assert.Equal(info["infotexts"]![0]!.GetValue<string>(), image.Settings.ToInfotext());
    }

    [Fact]
    public async Task Parameters_echo_the_request_with_the_web_ui_defaults_filled_in()
    {
        var response = await (await _client.PostJsonAsync("/sdapi/v1/txt2img", new { prompt = "x", steps = 2, width = 64, height = 64 })).OkJsonAsync();

        var parameters = response["parameters"]!.AsObject();
        Assert.Equal("Euler", parameters["sampler_name"]!.GetValue<string>()); // the API's sampler_index default
        Assert.Equal(-1, parameters["seed"]!.GetValue<long>());
        Assert.Equal(7, parameters["cfg_scale"]!.GetValue<double>());
        Assert.Equal(1, parameters["batch_size"]!.GetValue<int>());
        Assert.Equal(1, parameters["n_iter"]!.GetValue<int>());
        Assert.Equal("", parameters["negative_prompt"]!.GetValue<string>());
        var info = Http.ParseInfo(response);
        Assert.InRange(info["seed"]!.GetValue<long>(), 0, uint.MaxValue); // -1 drew a seed, and info says which
        Assert.Equal("Euler", info["sampler_name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Batch_size_and_n_iter_give_consecutive_seeds_each_reproducible_alone()
    {
        var batch = await (await _client.PostJsonAsync("/sdapi/v1/txt2img",
            new { prompt = "seeds", steps = 2, width = 64, height = 64, seed = 40, batch_size = 2, n_iter = 2 })).OkJsonAsync();
        var info = Http.ParseInfo(batch);
        Assert.Equal([40L, 41, 42, 43], info["all_seeds"]!.AsArray().Select(s => s!.GetValue<long>()));
        Assert.Equal(4, batch["images"]!.AsArray().Count);
        Assert.Equal(4, info["infotexts"]!.AsArray().Count);

        var single = await (await _client.PostJsonAsync("/sdapi/v1/txt2img",
            new { prompt = "seeds", steps = 2, width = 64, height = 64, seed = 42 })).OkJsonAsync();
        var third = TestImages.FromBase64(batch["images"]![2]!.GetValue<string>());
        var alone = TestImages.FromBase64(single["images"]![0]!.GetValue<string>());
        Assert.True(TestImages.SamePixels(third, alone), "image 3 of a batch from seed 40 should be the image of seed 42");
        Assert.False(TestImages.SamePixels(TestImages.FromBase64(batch["images"]![0]!.GetValue<string>()), alone));
    }

    [Theory]
    [InlineData("DPM++ 2M", null, "DPM++ 2M", null)]
    [InlineData("DPM++ 2M", "Karras", "DPM++ 2M", "Karras")]
    [InlineData("DPM++ 2M Karras", null, "DPM++ 2M", "Karras")]
    [InlineData("Euler", "sgm_uniform", "Euler", "SGM Uniform")]
    [InlineData("k_euler_a", "Automatic", "Euler a", null)]
    [InlineData("DDIM", null, "DDIM", null)]
    [InlineData("Euler a", "exponential", "Euler a", "Exponential")]
    [InlineData("Heun", null, "Heun", null)]
    [InlineData("DPM2", null, "DPM2", null)]
    [InlineData("DPM++ 2S a", null, "DPM++ 2S a", null)]
    [InlineData("DPM++ SDE", null, "DPM++ SDE", null)]
    [InlineData("LCM", null, "LCM", null)]
    public async Task Web_ui_sampler_and_scheduler_names_reach_the_engine(string sampler, string? scheduler, string recorded, string? schedule)
    {
        var response = await (await _client.PostJsonAsync("/sdapi/v1/txt2img",
            new { prompt = "names", steps = 2, width = 64, height = 64, seed = 3, sampler_name = sampler, scheduler })).OkJsonAsync();

        var image = TestImages.FromBase64(response["images"]![0]!.GetValue<string>());
        Assert.Equal(recorded, image.Settings!.Sampler);
        Assert.Equal(schedule, image.Settings.ScheduleType);
        var extras = Http.ParseInfo(response)["extra_generation_params"]!.AsObject();
        Assert.Equal(schedule, extras["Schedule type"]?.GetValue<string>());
    }

    [Fact]
    public async Task The_cpu_generator_is_chosen_by_override_settings_and_changes_the_image()
    {
        object Body(string? source) => new
        {
            prompt = "rng", steps = 2, width = 64, height = 64, seed = 9,
            override_settings = source is null ? new Dictionary<string, object>() : new Dictionary<string, object> { ["randn_source"] = source },
        };
        var gpu = await (await _client.PostJsonAsync("/sdapi/v1/txt2img", Body(null))).OkJsonAsync();
        var cpu = await (await _client.PostJsonAsync("/sdapi/v1/txt2img", Body("CPU"))).OkJsonAsync();

        var gpuImage = TestImages.FromBase64(gpu["images"]![0]!.GetValue<string>());
        var cpuImage = TestImages.FromBase64(cpu["images"]![0]!.GetValue<string>());
        Assert.False(TestImages.SamePixels(gpuImage, cpuImage));
        Assert.Contains(cpuImage.Settings!.ExtraParameters, p => p is { Key: "RNG", Value: "CPU" });
        Assert.DoesNotContain(gpuImage.Settings!.ExtraParameters, p => p.Key == "RNG");
    }

    [Fact]
    public async Task The_model_is_chosen_by_its_configured_name_or_web_ui_title()
    {
        var models = JsonNode.Parse(await _client.GetStringAsync(new Uri("/sdapi/v1/sd-models", UriKind.Relative)))!.AsArray();
        var title = models.Single()!["title"]!.GetValue<string>();
        foreach (var name in new[] { ServerFactory.Model, title })
        {
            var response = await (await _client.PostJsonAsync("/sdapi/v1/txt2img", new
            {
                prompt = "m", steps = 2, width = 64, height = 64,
                override_settings = new Dictionary<string, string> { ["sd_model_checkpoint"] = name },
            })).OkJsonAsync();
            Assert.Equal(ServerFactory.Model, Http.ParseInfo(response)["sd_model_name"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Send_images_false_answers_without_images()
    {
        var response = await (await _client.PostJsonAsync("/sdapi/v1/txt2img", new { prompt = "x", steps = 2, width = 64, height = 64, send_images = false })).OkJsonAsync();
        Assert.Empty(response["images"]!.AsArray());
        Assert.Equal(JsonValueKind.String, response["info"]!.GetValueKind());
    }
}
