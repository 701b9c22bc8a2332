using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using NativeDiffusion.Hosting;
using NativeDiffusion.Tests.Generation;

namespace NativeDiffusion.Tests.Hosting;

/// <summary>Many callers on one model, directly and through the registry.</summary>
public sealed class ConcurrencyTests
{
    internal static GenerationRequest Request(long seed) => new()
    {
        Prompt = "a lighthouse on a cliff",
        Width = 64,
        Height = 64,
        Steps = 2,
        Sampler = Samplers.Euler,
        Seed = seed,
    };

    [Fact]
    public async Task Parallel_calls_on_one_model_all_succeed_with_the_same_image_for_the_same_seed()
    {
        await using var model = await TinySd1.LoadAsync();
        var expected = Assert.Single(await model.GenerateAsync(Request(seed: 21))).Pixels.ToArray();

        // Started from many threads at once; the model runs them one at a time.
        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() => model.GenerateAsync(Request(seed: i % 2 == 0 ? 21 : 22)))));

        Assert.All(results.Where((_, i) => i % 2 == 0), r => Assert.True(Assert.Single(r).Pixels.Span.SequenceEqual(expected)));
        var other = results[1][0].Pixels.ToArray();
        Assert.False(other.AsSpan().SequenceEqual(expected), "seed 22 gave seed 21's image");
        Assert.All(results.Where((_, i) => i % 2 == 1), r => Assert.True(Assert.Single(r).Pixels.Span.SequenceEqual(other)));
    }

    [Fact]
    public async Task Parallel_callers_through_the_registry_share_one_model_and_get_the_same_image()
    {
        using var host = TestHosts.Create(TestHosts.TinyModel());
        var registry = host.Services.GetRequiredService<IDiffusionModelRegistry>();

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(async () =>
        {
            var model = await registry.GetAsync("tiny");
            var images = await model.GenerateAsync(registry.CreateRequest("tiny", "a lighthouse on a cliff") with { Seed = 5 });
            return (Model: model, Pixels: Assert.Single(images).Pixels.ToArray());
        })));

        Assert.All(results, r => Assert.Same(results[0].Model, r.Model));
        Assert.All(results, r => Assert.Equal(results[0].Pixels, r.Pixels));
    }

    [Fact]
    public async Task Cancelling_one_queued_caller_leaves_the_others_untouched()
    {
        await using var model = await TinySd1.LoadAsync();
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        var calls = Enumerable.Range(0, 6)
            .Select(i => model.GenerateAsync(Request(seed: 30), cancellationToken: i == 3 ? cancel.Token : CancellationToken.None))
            .ToList();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => calls[3]);
        var finished = await Task.WhenAll(calls.Where((_, i) => i != 3));
        Assert.All(finished, r => Assert.True(Assert.Single(r).Pixels.Span.SequenceEqual(finished[0][0].Pixels.Span)));
    }
}

/// <summary>Tests that measure the whole process's memory, run after the parallel tests, one at a time.</summary>
[CollectionDefinition(nameof(ProcessMemoryCollection), DisableParallelization = true)]
public sealed class ProcessMemoryCollection
{
}

/// <summary>The memory of repeated load/generate/dispose cycles.</summary>
[Collection(nameof(ProcessMemoryCollection))]
public sealed class ModelLifecycleMemoryTests
{
    /// <summary>
    /// 20 cycles of load, generate and dispose. Five warm-up cycles first let the runtime, the native allocator's arenas
    /// and the thread pool reach their steady size; after them, 20 more cycles may grow the managed heap by at most 4 MiB
    /// and the process's resident memory by at most 48 MiB. A model that stays alive (held by mistake, or whose native
    /// memory dispose does not free) adds about 27 MiB resident a cycle: its mapped 23 MB checkpoint, read by the
    /// generation, plus its threads and buffers (measured by keeping the models: 138 MiB to 653 MiB over 20 cycles), so
    /// 20 such cycles are over 500 MiB, ten times the bound; the bound leaves room for the native allocator's arenas,
    /// which settle within about 30 MiB of growth. A managed leak of the images or models would show in the heap bound.
    /// The test runs alone (its collection disables parallelization): other tests' memory would blur the process's RSS.
    /// </summary>
    [Fact]
    public async Task Load_generate_dispose_cycles_do_not_grow_memory()
    {
        for (var i = 0; i < 5; i++)
        {
            await CycleAsync();
        }

        var (heapBefore, rssBefore) = Measure();
        for (var i = 0; i < 20; i++)
        {
            await CycleAsync();
        }

        var (heapAfter, rssAfter) = Measure();
        const long MiB = 1024 * 1024;
        Assert.True(heapAfter - heapBefore < 4 * MiB, $"the managed heap grew from {heapBefore / MiB} MiB to {heapAfter / MiB} MiB over 20 cycles");
        Assert.True(rssAfter - rssBefore < 48 * MiB, $"the resident memory grew from {rssBefore / MiB} MiB to {rssAfter / MiB} MiB over 20 cycles");

        static async Task CycleAsync()
        {
            await using var model = await TinySd1.LoadAsync();
            Assert.Single(await model.GenerateAsync(ConcurrencyTests.Request(seed: 1) with { Steps = 1 }));
        }

        static (long Heap, long Rss) Measure()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            using var process = Process.GetCurrentProcess();
            return (GC.GetTotalMemory(forceFullCollection: true), process.WorkingSet64);
        }
    }
}
