namespace NativeDiffusion.Cli;

/// <summary>The exit codes of <c>nd</c>.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>
    /// The command could not do it: a missing or malformed file, a native library that cannot be loaded. One line on
    /// stderr says why.
    /// </summary>
    public const int Failure = 1;

    /// <summary>The command line itself is wrong: an unknown command or option, a missing argument, a bad value.</summary>
    public const int Usage = 2;

    /// <summary>The command was cancelled (Ctrl+C) and stopped cleanly: 128 + SIGINT, as shells report it.</summary>
    public const int Cancelled = 130;
}
