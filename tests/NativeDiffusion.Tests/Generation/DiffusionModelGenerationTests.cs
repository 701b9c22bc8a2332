using NativeDiffusion.Images;

namespace NativeDiffusion.Tests.Generation;

/// <summary>Generation end to end through the C ABI on the tiny SD 1.x fixture.</summary>
public sealed class DiffusionModelGenerationTests
{
    [Fact]
    public async Task Euler_64x64_from_the_checkpoint_matches_the_diffusers_image_within_one_level()
    {
        await using var model = await TinySd1.LoadAsync();

        var images = await model.GenerateAsync(TinySd1.EulerRequest);

        var image = Assert.Single(images);
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.InRange(TinySd1.MaxDifference(image, TinySd1.ReferencePixels("sd1.pipe.euler.64x64.image")), 0, 1);
    }

    [Fact]
    public async Task Euler_64x64_from_the_diffusers_folder_matches_the_diffusers_image_within_one_level()
    {
        await using var model = await DiffusionModel.LoadAsync(TinySd1.DiffusersFolder);

        var images = await model.GenerateAsync(TinySd1.EulerRequest);

        Assert.Equal("diffusers folder", model.Info.Layout);
        Assert.InRange(TinySd1.MaxDifference(Assert.Single(images), TinySd1.ReferencePixels("sd1.pipe.euler.64x64.image")), 0, 1);
    }

    [Fact]
    public async Task Images_carry_web_ui_settings_with_their_own_seeds()
    {
        await using var model = await TinySd1.LoadAsync();

        var images = await model.GenerateAsync(TinySd1.EulerRequest with { BatchCount = 2, Sampler = Samplers.EulerAncestral, Schedule = Schedules.Karras });

        Assert.Equal(2, images.Count);
        var settings = images.Select(i => i.Settings!).ToList();
        Assert.Equal([7L, 8L], settings.Select(s => s.Seed));
        Assert.All(settings, s =>
        {
            Assert.Equal("Euler a", s.Sampler);
            Assert.Equal("Karras", s.ScheduleType);
            Assert.Equal("a photo of an astronaut riding a horse on mars", s.Prompt);
            Assert.Equal("blurry, low quality", s.NegativePrompt);
            Assert.Equal(6, s.Steps);
            Assert.Equal(7.5, s.CfgScale);
            Assert.Equal((64, 64), (s.Width, s.Height));
            Assert.Equal("model", s.ModelName);
            Assert.Equal($"NativeDiffusion {NativeDiffusionLibrary.Version}", s.Version);
            Assert.Null(s.DenoisingStrength);
        });
        Assert.False(images[0].Pixels.Span.SequenceEqual(images[1].Pixels.Span), "two seeds gave the same image");
    }
}

/// <summary>Progress, previews, cancellation, disposal and concurrency of <see cref="DiffusionModel"/>'s generation.</summary>
public sealed class DiffusionModelRunTests
{
    [Fact]
    public async Task Progress_reports_come_in_order_through_every_stage()
    {
        await using var model = await TinySd1.LoadAsync();
        var progress = new SynchronousProgress<GenerationProgress>(_ => { });

        await model.GenerateAsync(TinySd1.EulerRequest with { BatchCount = 2 }, progress);

        var reports = progress.Reports;
        Assert.Equal(GenerationStage.TextEncoding, reports[0].Stage);
        Assert.Equal(GenerationStage.Decoding, reports[^1].Stage);
        var sampling = reports.Where(r => r.Stage == GenerationStage.Sampling).ToList();
        Assert.Equal(
            [.. Enumerable.Range(0, 2).SelectMany(image => Enumerable.Range(1, 6).Select(step => (image, step)))],
            sampling.Where(r => r.Step > 0).Select(r => (r.Image, r.Step)).Distinct());
        Assert.All(sampling, r => Assert.Equal((6, 2), (r.Steps, r.Images)));
        for (var i = 1; i < reports.Count; i++)
        {
            Assert.True(reports[i].Elapsed >= reports[i - 1].Elapsed, $"elapsed went back at report {i}");
            Assert.True(reports[i].Fraction >= reports[i - 1].Fraction || reports[i].Stage != reports[i - 1].Stage, $"progress went back at report {i}");
        }

        Assert.All(sampling.Where(r => r.Step > 0), r => Assert.NotNull(r.EstimatedRemaining));
        Assert.Equal(TimeSpan.Zero, sampling[^1].EstimatedRemaining);
    }

    [Fact]
    public async Task Streaming_yields_progress_previews_at_the_interval_then_the_images()
    {
        await using var model = await TinySd1.LoadAsync();
        var updates = new List<GenerationUpdate>();

        await foreach (var update in model.GenerateStreamingAsync(TinySd1.EulerRequest with { PreviewInterval = 2 }))
        {
            updates.Add(update);
        }

        var completed = Assert.IsType<GenerationCompletedUpdate>(updates[^1]);
        Assert.Single(updates.OfType<GenerationCompletedUpdate>());
        Assert.InRange(TinySd1.MaxDifference(Assert.Single(completed.Images), TinySd1.ReferencePixels("sd1.pipe.euler.64x64.image")), 0, 1);
        var previews = updates.OfType<GenerationPreviewUpdate>().ToList();
        Assert.Equal([2, 4, 6], previews.Select(p => p.Step));
        Assert.All(previews, p =>
        {
            Assert.True(p.Preview.Width > 0 && p.Preview.Height > 0);
            Assert.Null(p.Preview.Settings);
            Assert.Equal(0, p.Image);
        });
        Assert.Contains(updates, u => u is GenerationProgressUpdate { Progress.Stage: GenerationStage.Sampling, Progress.Step: 6 });
    }

    [Fact]
    public async Task Cancelling_mid_run_stops_within_one_step_and_the_model_then_gives_the_same_image()
    {
        await using var model = await TinySd1.LoadAsync();
        var before = Assert.Single(await model.GenerateAsync(TinySd1.EulerRequest));
        using var cancellation = new CancellationTokenSource();
        var progress = new SynchronousProgress<GenerationProgress>(p =>
        {
            if (p is { Stage: GenerationStage.Sampling, Step: 2 })
            {
                cancellation.Cancel();
            }
        });

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => model.GenerateAsync(TinySd1.EulerRequest, progress, cancellation.Token));

        Assert.Equal(cancellation.Token, error.CancellationToken);
        Assert.InRange(progress.Reports.Where(r => r.Stage == GenerationStage.Sampling).Max(r => r.Step), 2, 3);
        Assert.DoesNotContain(progress.Reports, r => r.Stage == GenerationStage.Decoding);
        var after = Assert.Single(await model.GenerateAsync(TinySd1.EulerRequest));
        Assert.True(before.Pixels.Span.SequenceEqual(after.Pixels.Span), "the image after a cancelled run differs");
    }

    [Fact]
    public async Task An_already_cancelled_token_throws_without_running()
    {
        await using var model = await TinySd1.LoadAsync();
        var progress = new SynchronousProgress<GenerationProgress>(_ => { });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => model.GenerateAsync(TinySd1.EulerRequest, progress, new CancellationToken(canceled: true)));

        Assert.Empty(progress.Reports);
    }

    [Fact]
    public async Task Leaving_a_stream_early_cancels_the_run_and_frees_the_model_for_the_next_call()
    {
        await using var model = await TinySd1.LoadAsync();

        await foreach (var update in model.GenerateStreamingAsync(TinySd1.EulerRequest))
        {
            if (update is GenerationProgressUpdate { Progress.Stage: GenerationStage.Sampling })
            {
                break;
            }
        }

        Assert.Single(await model.GenerateAsync(TinySd1.EulerRequest));
    }

    [Fact]
    public async Task An_exception_thrown_by_a_progress_handler_stops_the_run_and_is_rethrown()
    {
        await using var model = await TinySd1.LoadAsync();
        var progress = new SynchronousProgress<GenerationProgress>(p =>
        {
            if (p.Stage == GenerationStage.Sampling)
            {
                throw new InvalidOperationException("handler failed");
            }
        });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => model.GenerateAsync(TinySd1.EulerRequest, progress));

        Assert.Equal("handler failed", error.Message);
        Assert.DoesNotContain(progress.Reports, r => r.Stage == GenerationStage.Decoding);
        Assert.Single(await model.GenerateAsync(TinySd1.EulerRequest));
    }

    [Fact]
    public async Task Disposing_during_a_run_lets_it_finish_and_later_calls_throw_ObjectDisposedException()
    {
        var model = await TinySd1.LoadAsync();
        var progress = new SynchronousProgress<GenerationProgress>(p =>
        {
            if (p is { Stage: GenerationStage.Sampling, Step: 1 })
            {
                model.Dispose();
            }
        });

        var images = await model.GenerateAsync(TinySd1.EulerRequest, progress);

        Assert.InRange(TinySd1.MaxDifference(Assert.Single(images), TinySd1.ReferencePixels("sd1.pipe.euler.64x64.image")), 0, 1);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => model.GenerateAsync(TinySd1.EulerRequest));
        await model.DisposeAsync(); // completes: the native model was freed when the run ended
        Assert.Equal("SD 1.x", model.Info.FamilyName);
    }

    [Fact]
    public async Task DisposeAsync_waits_for_the_run_in_flight()
    {
        var model = await TinySd1.LoadAsync();
        using var sampling = new SemaphoreSlim(0);
        var progress = new SynchronousProgress<GenerationProgress>(p =>
        {
            if (p is { Stage: GenerationStage.Sampling, Step: 1 })
            {
                sampling.Release();
            }
        });
        var run = model.GenerateAsync(TinySd1.EulerRequest, progress);
        await sampling.WaitAsync();

        await model.DisposeAsync();

        Assert.True(run.IsCompletedSuccessfully, "DisposeAsync returned before the run ended");
        Assert.Contains(progress.Reports, r => r.Stage == GenerationStage.Decoding);
    }

    [Fact]
    public async Task Two_concurrent_calls_on_one_model_both_succeed_with_the_images_of_sequential_calls()
    {
        await using var model = await TinySd1.LoadAsync();
        var first = TinySd1.EulerRequest;
        var second = TinySd1.EulerRequest with { Seed = 8 };

        var results = await Task.WhenAll(model.GenerateAsync(first), model.GenerateAsync(second));

        var expectedFirst = Assert.Single(await model.GenerateAsync(first));
        var expectedSecond = Assert.Single(await model.GenerateAsync(second));
        Assert.True(Assert.Single(results[0]).Pixels.Span.SequenceEqual(expectedFirst.Pixels.Span));
        Assert.True(Assert.Single(results[1]).Pixels.Span.SequenceEqual(expectedSecond.Pixels.Span));
        Assert.Equal(8, results[1][0].Settings!.Seed);
    }

    [Fact]
    public async Task A_random_seed_is_drawn_per_call_and_recorded_in_the_settings()
    {
        await using var model = await TinySd1.LoadAsync();
        var request = TinySd1.EulerRequest with { Seed = GenerationRequest.RandomSeed };

        var image = Assert.Single(await model.GenerateAsync(request));

        var seed = image.Settings!.Seed;
        Assert.InRange(seed, 0, uint.MaxValue);
        var again = Assert.Single(await model.GenerateAsync(request with { Seed = seed }));
        Assert.True(image.Pixels.Span.SequenceEqual(again.Pixels.Span), "the recorded seed does not reproduce the image");
    }
}
