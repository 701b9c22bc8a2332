namespace NativeDiffusion.Server.Tests;

public sealed class WebUiImg2ImgTests(SharedServer server) : IClassFixture<SharedServer>
{
    private readonly HttpClient _client = server.Client;

    [Fact]
    public async Task Img2img_starts_from_the_init_image_and_records_the_denoising_strength()
    {
        var init = Convert.ToBase64String(TestImages.GradientPng(64, 64));
        var response = await (await _client.PostJsonAsync("/sdapi/v1/img2img", new
        {
            prompt = "a gradient", init_images = new[] { init }, denoising_strength = 0.5, steps = 4, width = 64, height = 64, seed = 11,
        })).OkJsonAsync();

        WebUiShapes.AssertExactKeys(response, WebUiShapes.ImagesResponse, "img2img response");
        var info = Http.ParseInfo(response);
        WebUiShapes.AssertHasKeys(info, WebUiShapes.Info, "info");
        Assert.Equal(0.5, info["denoising_strength"]!.GetValue<double>());
        Assert.Null(response["parameters"]!["init_images"]);
        var image = TestImages.FromBase64(response["images"]![0]!.GetValue<string>());
        Assert.Equal(0.5, image.Settings!.DenoisingStrength);

        // The init image matters: another one gives another result for the same seed.
        var other = Convert.ToBase64String(TestImages.GradientPng(32, 96)); // resized to 64x64 as the web UI's default resize mode does
        var second = await (await _client.PostJsonAsync("/sdapi/v1/img2img", new
        {
            prompt = "a gradient", init_images = new[] { "data:image/png;base64," + other }, denoising_strength = 0.5, steps = 4, width = 64, height = 64, seed = 11,
        })).OkJsonAsync();
        var secondImage = TestImages.FromBase64(second["images"]![0]!.GetValue<string>());
        Assert.Equal((64, 64), (secondImage.Width, secondImage.Height));
        Assert.False(TestImages.SamePixels(image, secondImage));
    }
}
