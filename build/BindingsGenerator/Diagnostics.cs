namespace NativeDiffusion.BindingsGenerator;

/// <summary>Collects every problem found in the header, so that one run reports all of them.</summary>
internal sealed class Diagnostics(string headerFileName)
{
    private readonly List<string> _errors = [];

    public void Fail(int line, string declaration, string message) =>
        _errors.Add(line > 0 ? $"{headerFileName}:{line}: {declaration}: {message}" : $"{headerFileName}: {declaration}: {message}");

    /// <summary>Throws a <see cref="BindingsGenerationException"/> listing all problems, if there are any.</summary>
    public void ThrowIfAny()
    {
        if (_errors.Count > 0)
        {
            throw new BindingsGenerationException(_errors.ToList());
        }
    }
}
