namespace NativeDiffusion.BindingsGenerator;

/// <summary>
/// The header holds something the generator cannot map faithfully, or clang could not read it.
/// <see cref="Errors"/> has one line per problem, each naming the declaration.
/// </summary>
public sealed class BindingsGenerationException(IReadOnlyList<string> errors)
    : Exception("The bindings could not be generated:" + Environment.NewLine
                + string.Join(Environment.NewLine, errors.Select(e => "  " + e)))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
