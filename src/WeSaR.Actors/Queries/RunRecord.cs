using System.Text.Json;
using System.Text.Json.Serialization;
using WeSaR.Actors.Persistence;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;

namespace WeSaR.Actors.Queries;

/// <summary>
/// One run as the history tells it, the one view `sweep status`, `runs` and `report` share. A finished run shows
/// its result. An unfinished one shows its newest logged step, loss, speed and validation loss from its metrics
/// file where the run folder can be read, else its last committed checkpoint. <c>WallSeconds</c> runs from its
/// first assignment to its completion or failure.
/// </summary>
public sealed record RunRecord(string Sweep, string Run, string Label, string Scheme, double Lr, long Seed,
    [property: JsonConverter(typeof(RunPhaseJson))] RunPhase State, long Step,
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

/// <summary>
/// A run's phase as the lower-case word of <see cref="RunPhaseNames.Name"/>, which CLI JSON has always shown; the
/// journal's snapshot keeps its own form of <see cref="RunPhase"/>.
/// </summary>
public sealed class RunPhaseJson : JsonConverter<RunPhase>
{
    public override RunPhase Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Enum.Parse<RunPhase>(reader.GetString() ?? throw new JsonException("a run phase is a string"), ignoreCase: true);

    public override void Write(Utf8JsonWriter writer, RunPhase value, JsonSerializerOptions options) => writer.WriteStringValue(value.Name());
}

/// <summary>Journal events to run records: the coordinator's fold plus the write times of the events.</summary>
public static class RunProjection
{
    /// <param name="sharedDir">Where run folders are (their metrics files give unfinished runs' progress); null for the journal alone.</param>
    public static IReadOnlyList<RunRecord> Project(SweepId sweep, IEnumerable<JournalEvent> events, string? sharedDir = null)
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
                case RunRetried t:
                    ended.Remove(t.Run);   // its wall time runs on to its new end
                    break;
            }
        }
        return Records(state, sharedDir, started, ended, device);
    }

    /// <summary>Records from a sweep's state alone (a cluster client has no journal): no times, no devices.</summary>
    public static IReadOnlyList<RunRecord> Of(SweepState state, string? sharedDir) => Records(state, sharedDir, [], [], []);

    static IReadOnlyList<RunRecord> Records(SweepState state, string? sharedDir, Dictionary<RunId, DateTime> started, Dictionary<RunId, DateTime> ended,
        Dictionary<RunId, string> device)
    {
        var sweep = state.Id;
        return state.Runs.Select(r =>
        {
            var settings = r.Spec.Settings([]);
            var (from, to) = (started.GetValueOrDefault(r.Id), ended.GetValueOrDefault(r.Id));
            var live = r.Result is null && sharedDir is not null ? Live(Path.Combine(r.Spec.Dir(sharedDir, sweep), MetricsLog.FileName)) : null;
            return new RunRecord(sweep.Value, r.Id.Value, r.Spec.Label, settings.Init.Scheme.Name, settings.Optim.AdamW.Lr, settings.Run.Seed,
                r.Phase, r.Result?.Step ?? live?.Step ?? r.Resume.Step, settings.Train.Steps, r.Spikes, r.Rollbacks,
                r.Restarts, r.Result?.ValLoss ?? live?.ValLoss, r.Result?.ValPpl ?? live?.ValPpl, r.Result?.LastLoss ?? live?.Loss,
                r.Result?.TokensPerS ?? live?.TokensPerS,
                from != default && to != default ? (to - from).TotalSeconds : null, r.Node, r.Slot, device.GetValueOrDefault(r.Id), r.Failure,
                from == default ? null : from, to == default ? null : to, r.Result?.ModelSha256) { Config = r.Spec.Config };
        }).ToList();
    }

    sealed record Progress(long Step, double Loss, double TokensPerS, double? ValLoss, double? ValPpl);

    // The newest line of a metrics file, with the newest validation loss before it; null if there is none to read.
    static Progress? Live(string metrics)
    {
        try
        {
            if (!File.Exists(metrics)) return null;
            // A long run logs every step: parse only its last line and its evaluations.
            string? last = null, eval = null;
            foreach (var line in File.ReadLines(metrics).Where(l => l.Length > 0))
            {
                last = line;
                if (line.Contains("\"val_loss\"", StringComparison.Ordinal)) eval = line;
            }
            if (last is null) return null;
            var (now, evaluated) = (MetricsLog.Parse(last), eval is null ? null : MetricsLog.Parse(eval));
            return new Progress(now.Step, now.Loss, now.TokensPerS, evaluated?.ValLoss, evaluated?.ValPpl);
        }
        // A line half-written as we read, or a folder we may not read: the journal's view stands.
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException) { return null; }
    }
}
