using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace NativeDiffusion.Cli;

/// <summary><c>nd info</c>: the native library loaded, how it was built, and what this machine offers.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var command = new Command("info", "Show the native library's version, path and build, and this machine's CPU and memory.")
        {
            json,
        };
        command.SetAction(parseResult => Run(parseResult.InvocationConfiguration.Output, parseResult.GetValue(json)));
        return command;
    }

    private static int Run(TextWriter output, bool json)
    {
        var libraryPath = NativeDiffusionLibrary.EnsureLoaded();
        var version = NativeDiffusionLibrary.Version;
        var abiVersion = NativeDiffusionLibrary.AbiVersion;
        var build = NativeDiffusionLibrary.GetBuildInfo();
        var system = NativeDiffusionLibrary.GetSystemInfo();
        var runtime = new RuntimeReport(RuntimeInformation.FrameworkDescription, RuntimeInformation.RuntimeIdentifier);

        if (json)
        {
            var report = new InfoReport(
                version,
                abiVersion,
                libraryPath,
                new BuildReport(build.Compiler, build.BuildType, build.CxxFlags, Format.BackendNames(build.Backends)),
                new SystemReport(system.CpuName, Format.CpuFeatureNames(system.CpuFeatures), system.PhysicalCores,
                    system.LogicalCores, system.TotalMemoryBytes, system.AvailableMemoryBytes),
                runtime);
            output.WriteLine(JsonSerializer.Serialize(report, CliJsonContext.Output.InfoReport));
            return ExitCodes.Success;
        }

        var features = Format.CpuFeatureNames(system.CpuFeatures);
        var backends = Format.BackendNames(build.Backends);
        output.WriteLine($"NativeDiffusion {version} (ABI version {abiVersion})");
        output.WriteLine($"Library:       {libraryPath}");
        output.WriteLine($"Compiler:      {build.Compiler}");
        output.WriteLine($"Build type:    {build.BuildType}");
        output.WriteLine($"C++ flags:     {build.CxxFlags}");
        output.WriteLine($"Backends:      {(backends.Count == 0 ? "none" : string.Join(", ", backends))}");
        output.WriteLine($"CPU:           {system.CpuName}");
        output.WriteLine($"CPU features:  {(features.Count == 0 ? "none" : string.Join(" ", features))}");
        output.WriteLine($"Cores:         {system.PhysicalCores} physical, {system.LogicalCores} logical");
        output.WriteLine($"Memory:        {Format.Bytes(system.TotalMemoryBytes)} total, {Format.Bytes(system.AvailableMemoryBytes)} available");
        output.WriteLine($".NET:          {runtime.Framework} ({runtime.RuntimeIdentifier})");
        return ExitCodes.Success;
    }
}
