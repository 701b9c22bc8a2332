using System.Diagnostics;
using System.Globalization;

namespace NativeDiffusion.Build;

/// <summary>A named step of the build, with what it depends on.</summary>
internal sealed class Target(string name, string description, IReadOnlyList<Target> dependencies, Action execute)
{
    public string Name { get; } = name;
    public string Description { get; } = description;
    public IReadOnlyList<Target> Dependencies { get; } = dependencies;
    public Action Execute { get; } = execute;

    /// <summary>The targets to run, dependencies first, each once.</summary>
    public static IReadOnlyList<Target> Plan(IEnumerable<Target> requested)
    {
        var plan = new List<Target>();
        var visiting = new HashSet<Target>();
        foreach (var target in requested)
        {
            Visit(target);
        }
        return plan;

        void Visit(Target target)
        {
            if (plan.Contains(target))
            {
                return;
            }
            if (!visiting.Add(target))
            {
                throw new InvalidOperationException($"the dependencies of {target.Name} form a cycle");
            }
            foreach (var dependency in target.Dependencies)
            {
                Visit(dependency);
            }
            visiting.Remove(target);
            plan.Add(target);
        }
    }

    /// <summary>Runs the plan in order; stops at the first failure. Returns the process exit code.</summary>
    public static int Run(IReadOnlyList<Target> plan)
    {
        var results = new List<(string Name, string Outcome, TimeSpan Duration)>();
        var exitCode = 0;
        foreach (var target in plan)
        {
            if (exitCode != 0)
            {
                results.Add((target.Name, "not run", TimeSpan.Zero));
                continue;
            }
            Console.WriteLine();
            Console.WriteLine($"==> {target.Name}: {target.Description}");
            var stopwatch = Stopwatch.StartNew();
            try
            {
                target.Execute();
                results.Add((target.Name, "succeeded", stopwatch.Elapsed));
                Console.WriteLine($"<== {target.Name} succeeded in {Format(stopwatch.Elapsed)}");
            }
            catch (BuildFailedException e)
            {
                exitCode = e.ExitCode;
                results.Add((target.Name, "FAILED", stopwatch.Elapsed));
                Console.Error.WriteLine($"<== {target.Name} FAILED after {Format(stopwatch.Elapsed)}: {e.Message}");
            }
        }

        Console.WriteLine();
        foreach (var (name, outcome, duration) in results)
        {
            Console.WriteLine($"  {name,-10} {outcome,-10} {(outcome == "not run" ? "" : Format(duration))}");
        }
        Console.WriteLine(exitCode == 0 ? "Build succeeded." : $"Build failed (exit code {exitCode}).");
        return exitCode;
    }

    private static string Format(TimeSpan duration) =>
        duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
