using System.Text.Json.Serialization;
using WeSaR.Actors.Persistence;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Queries;

/// <summary>
/// One run as the history tells it. <c>Step</c> is the final step, or the last committed checkpoint of an
/// unfinished run; <c>WallSeconds</c> runs from its first assignment to its completion or failure.
/// </summary>
public sealed record RunRecord(string Sweep, string Run, string Label, string Scheme, double Lr, long Seed, string State, long Step,
    long Steps, int Spikes, int Rollbacks, int Restarts, double? ValLoss, double? ValPpl, double? LastLoss, double? TokensPerS,
    double? WallSeconds, string? Node, string? Slot, string? Device, string? Failure, DateTime? StartedUtc, DateTime? EndedUtc,
    string? ModelSha256)
{
    /// <summary>The run's whole config (canonical HOCON), for `runs show` and grouping by any key.</summary>
    [JsonIgnore] public string Config { get; init; } = "";

    /// <summary>Short names of the keys runs are most often compared by.</summary>
    public static readonly IReadOnlyList<string> ShortKeys = ["scheme", "lr", "seed"];

    /// <summary>The value of a config key, with <see cref="ShortKeys"/> as short names.</summary>
    public string Key(string name) => name switch
    {
        "scheme" => Scheme,
        "lr" => WeSaR.Training.Config.LrFormat.Of(Lr),
        "seed" => Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => Akka.Configuration.ConfigurationFactory.ParseString(Config).GetString(name, "?"),
    };
}

/// <summary>Journal events to run records: the coordinator's fold plus the write times of the events.</summary>
public static class RunProjection
{
    public static IReadOnlyList<RunRecord> Project(SweepId sweep, IEnumerable<JournalEvent> events)
    {
        var state = SweepState.Empty(sweep);
        var started = new Dictionary<RunId, DateTime>();
        var ended = new Dictionary<RunId, DateTime>();
        var device = new Dictionary<RunId, string>();
        foreach (var e in events)
        {
            state = state.Apply(e.Event);
            switch (e.Event)
            {
                case RunAssigned a:
                    started.TryAdd(a.Run, e.AtUtc);
                    device[a.Run] = a.Device;
                    break;
                case RunCompleted or RunFailed:
                    ended.TryAdd(((IRunEvent)e.Event).Run, e.AtUtc);
                    break;
            }
        }
        return state.Runs.Select(r =>
        {
            var settings = r.Spec.Settings([]);
            var (from, to) = (started.GetValueOrDefault(r.Id), ended.GetValueOrDefault(r.Id));
            return new RunRecord(sweep.Value, r.Id.Value, r.Spec.Label, settings.Init.Scheme.Name, settings.Optim.AdamW.Lr, settings.Run.Seed,
                r.Phase.ToString().ToLowerInvariant(), r.Result?.Step ?? r.Resume.Step, settings.Train.Steps, r.Spikes, r.Rollbacks, r.Restarts,
                r.Result?.ValLoss, r.Result?.ValPpl, r.Result?.LastLoss, r.Result?.TokensPerS,
                from != default && to != default ? (to - from).TotalSeconds : null, r.Node, r.Slot, device.GetValueOrDefault(r.Id), r.Failure,
                from == default ? null : from, to == default ? null : to, r.Result?.ModelSha256) { Config = r.Spec.Config };
        }).ToList();
    }
}
