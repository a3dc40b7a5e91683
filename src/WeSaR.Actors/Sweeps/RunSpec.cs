using Akka.Configuration;
using WeSaR.Training.Config;

namespace WeSaR.Actors.Sweeps;

/// <summary>A sweep's id: its name and a hash of its runs, so the same sweep file always names the same sweep.</summary>
public readonly record struct SweepId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>A run's id: a hash of its resolved config, so one grid point is never scheduled twice.</summary>
public readonly record struct RunId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>One run of a sweep: its id, a short label from its grid values, and its whole config in canonical form.</summary>
public sealed record RunSpec(RunId Id, string Label, string Config)
{
    public TrainSettings Settings(IEnumerable<string> placement) =>
        TrainSettings.From(ConfigLoader.Layer(ConfigurationFactory.ParseString(Config).WithFallback(ConfigLoader.Defaults), placement, []));

    /// <summary>The run's folder under the work folder.</summary>
    public string Dir(string workdir, SweepId sweep) => Path.Combine(workdir, "sweeps", sweep.Value, Id.Value);
}
