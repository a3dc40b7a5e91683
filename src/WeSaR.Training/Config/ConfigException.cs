namespace WeSaR.Training.Config;

/// <summary>Bad configuration, with every problem found (so a user fixes them all in one go), one line each.</summary>
public sealed class ConfigException(IReadOnlyList<string> problems)
    : Exception("invalid configuration:" + (problems.Count == 1 ? " " : "\n  ") + string.Join("\n  ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
