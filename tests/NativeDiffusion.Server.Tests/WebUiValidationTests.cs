using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace NativeDiffusion.Server.Tests;

public sealed class WebUiValidationTests(SharedServer server) : IClassFixture<SharedServer>
{
    private readonly HttpClient _client = server.Client;

    public static TheoryData<string, string> BadTxt2ImgRequests => new()
    {
        { """{"prompt":"x","width":65,"height":64}""", "width" },
        { """{"prompt":"x","width":64,"height":100}""", "height" },
        { """{"prompt":"x","width":32,"height":64}""", "width" },
        { """{"prompt":"x","width":2048,"height":2048}""", "width" }, // over MaxPixels (1048576)
        { """{"prompt":"x","steps":0}""", "steps" },
        { """{"prompt":"x","steps":1001}""", "steps" },
        { """{"prompt":"x","cfg_scale":31}""", "cfg_scale" },
        { """{"prompt":"x","cfg_scale":-1}""", "cfg_scale" },
        { """{"prompt":"x","sampler_name":"Euler b"}""", "sampler_name" },
        { """{"prompt":"x","sampler_index":"nope"}""", "sampler_index" },
        { """{"prompt":"x","scheduler":"Polyexponential"}""", "scheduler" },
        { """{"prompt":"x","sampler_name":"DDIM","scheduler":"Karras"}""", "scheduler" },
        { """{"prompt":"x","sampler_name":"LCM Karras"}""", "scheduler" },
        { """{"prompt":"x","override_settings":{"sd_model_checkpoint":"sdxl"}}""", "override_settings.sd_model_checkpoint" },
        { """{"prompt":"x","override_settings":{"sd_model_checkpoint":"/etc/passwd"}}""", "override_settings.sd_model_checkpoint" },
        { """{"prompt":"x","batch_size":9}""", "batch_size" },
        { """{"prompt":"x","batch_size":4,"n_iter":3}""", "batch_size" },
        { """{"prompt":"x","n_iter":0}""", "n_iter" },
        { """{"prompt":"x","seed":-5}""", "seed" },
        { """{"prompt":"x","steps":"many"}""", "steps" },
        { """{"prompt":"x","enable_hr":true}""", "enable_hr" },
        { """{"prompt":"x","override_settings":{"CLIP_stop_at_last_layers":13}}""", "override_settings.CLIP_stop_at_last_layers" },
        { """{"prompt":"x",""", "body" },
        { """[1,2]""", "body" },
    };

    [Theory]
    [MemberData(nameof(BadTxt2ImgRequests))]
    public async Task Invalid_txt2img_requests_are_400_naming_the_field(string body, string field)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await _client.PostAsync(new Uri("/sdapi/v1/txt2img", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        WebUiShapes.AssertValidationError(await response.JsonAsync(), field);
    }

    public static TheoryData<string, string> BadImg2ImgRequests => new()
    {
        { """{"prompt":"x","width":64,"height":64}""", "init_images" },
        { """{"prompt":"x","width":64,"height":64,"init_images":[]}""", "init_images" },
        { """{"prompt":"x","width":64,"height":64,"init_images":["not base64!"]}""", "init_images[0]" },
        { """{"prompt":"x","width":64,"height":64,"init_images":["aGVsbG8gd29ybGQ="]}""", "init_images[0]" }, // "hello world"
        { """{"prompt":"x","width":64,"height":64,"init_images":["data:image/png;base64,iVBORw0KGgo="]}""", "init_images[0]" }, // truncated PNG
        { """{"prompt":"x","width":64,"height":64,"init_images":["IMAGE"],"denoising_strength":0}""", "denoising_strength" },
        { """{"prompt":"x","width":64,"height":64,"init_images":["IMAGE"],"denoising_strength":1.5}""", "denoising_strength" },
        { """{"prompt":"x","width":64,"height":64,"init_images":["IMAGE"],"steps":2,"denoising_strength":0.2}""", "denoising_strength" }, // no step left
        { """{"prompt":"x","width":64,"height":64,"init_images":["IMAGE"],"mask":"IMAGE"}""", "mask" },
    };

    [Theory]
    [MemberData(nameof(BadImg2ImgRequests))]
    public async Task Invalid_img2img_requests_are_400_naming_the_field(string body, string field)
    {
        body = body.Replace("IMAGE", Convert.ToBase64String(TestImages.GradientPng(64, 64)), StringComparison.Ordinal);
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await _client.PostAsync(new Uri("/sdapi/v1/img2img", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        WebUiShapes.AssertValidationError(await response.JsonAsync(), field);
    }

    [Fact]
    public async Task The_error_message_lists_the_samplers_to_choose_from()
    {
        var response = await _client.PostJsonAsync("/sdapi/v1/txt2img", new { prompt = "x", sampler_name = "Euler b" });
        var detail = (await response.JsonAsync())["detail"]!.GetValue<string>();
        Assert.Contains("'Euler a'", detail, StringComparison.Ordinal);
        Assert.Contains("'DPM++ 2M'", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rejected_request_queues_nothing()
    {
        await _client.PostJsonAsync("/sdapi/v1/txt2img", new { prompt = "x", steps = 0 });
        var progress = JsonNode.Parse(await _client.GetStringAsync(new Uri("/sdapi/v1/progress", UriKind.Relative)))!;
        Assert.Equal(0, progress["state"]!["queued"]!.GetValue<int>());
        Assert.Equal(0, server.Factory.Queue.Running);
    }
}
