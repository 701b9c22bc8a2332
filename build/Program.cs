using NativeDiffusion.Build;
using NativeDiffusion.BindingsGenerator;

// ./build.sh [targets...] [options]: runs the targets (default: Compile) and their dependencies, each once.
Options options;
try
{
    options = Options.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message} (see ./build.sh --help)");
    return 2;
}

var root = RepositoryPaths.FindRoot(AppContext.BaseDirectory) ?? RepositoryPaths.FindRoot(Environment.CurrentDirectory);
if (root is null)
{
    Console.Error.WriteLine("error: the repository root (the folder with CMakeLists.txt and native/) was not found");
    return 2;
}

var targets = new Targets(root, options);
if (options.Help)
{
    PrintHelp(targets);
    return 0;
}

var requested = new List<Target>();
foreach (var name in options.Targets.DefaultIfEmpty(targets.Default.Name))
{
    var target = targets.All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));
    if (target is null)
    {
        Console.Error.WriteLine($"error: unknown target '{name}' (known: {string.Join(", ", targets.All.Select(t => t.Name))})");
        return 2;
    }
    requested.Add(target);
}
return Target.Run(Target.Plan(requested));

static void PrintHelp(Targets targets)
{
    Console.WriteLine("Usage: ./build.sh [targets...] [options]");
    Console.WriteLine();
    Console.WriteLine($"Targets (default: {targets.Default.Name}); dependencies run first, each once:");
    foreach (var target in targets.All)
    {
        var dependencies = target.Dependencies.Count == 0
            ? ""
            : $" (depends on: {string.Join(", ", target.Dependencies.Select(d => d.Name))})";
        Console.WriteLine($"  {target.Name,-10} {target.Description}{dependencies}");
    }
    Console.WriteLine();
    Console.WriteLine("Options:");
    foreach (var (syntax, description) in Options.Descriptions)
    {
        Console.WriteLine($"  {syntax,-17} {description}");
    }
}
