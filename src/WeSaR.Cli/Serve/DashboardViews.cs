using System.Text.Json;
using WeSaR.Actors.Persistence;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;
using WeSaR.Cli.Reports;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Serve;

/// <summary>
/// What the dashboard's JSON endpoints answer, as pure functions of what the journal and the metrics files hold
/// (the server only reads and serializes them).
/// </summary>
public static class DashboardViews
{
    public sealed record SweepSummary(string Id, string Name, string State, int Runs, int Completed, int Failed, int Running);

    /// <param name="Offset">The highest journal offset read: the page follows the live stream from there, missing nothing.</param>
    public sealed record Overview(long Offset, IReadOnlyList<SweepSummary> Sweeps);

    /// <param name="EtaSeconds">A running run's time left at its measured speed; null otherwise.</param>
    public sealed record RunRow(RunRecord Run, double? EtaSeconds);

    public sealed record SweepDetail(string Id, string Name, string State, double? EtaSeconds, IReadOnlyList<RunRow> Runs);

    /// <summary>One journal event as the audit trail prints it (`wesar runs events`).</summary>
    public sealed record AuditLine(long Offset, long Seq, DateTime At, string Sweep, string? Run, string Type, string Text);

    public sealed record Spike(long Step, double Value, string Text);

    /// <summary>Steps a rollback undid: training went back from <c>From</c> to <c>To</c>.</summary>
    public sealed record Span(long From, long To);

    /// <summary>
    /// A run's curves from its metrics.jsonl, one value per logged step (null where a step has none): loss,
    /// validation loss, update ratios and gates (mean over layers per matrix kind), with the spikes and rolled-back
    /// spans from the journal.
    /// </summary>
    public sealed record Curve(IReadOnlyList<long> Steps, IReadOnlyList<double?> Loss, IReadOnlyList<double?> ValLoss,
        IReadOnlyDictionary<string, IReadOnlyList<double?>> UpdateRatio, IReadOnlyDictionary<string, IReadOnlyList<double?>> Gate,
        IReadOnlyList<Spike> Spikes, IReadOnlyList<Span> RolledBack);

    public sealed record Compare(Tables.Pivot Pivot, string Legend);

    public static SweepSummary Summary(SweepState s) => new(s.Id.Value, s.Name, Phase(s.Phase), s.Runs.Count,
        s.Runs.Count(r => r.Phase == RunPhase.Completed), s.Runs.Count(r => r.Phase == RunPhase.Failed), s.Runs.Count(r => r.Phase == RunPhase.Running));

    public static string Phase(SweepPhase p) => p.ToString().ToLowerInvariant();

    /// <summary>
    /// Seconds per step at a run's last measured speed: the tokens of one step over its tokens per second; null
    /// before it has measured any.
    /// </summary>
    public static double? Pace(RunRecord r, long tokensPerStep) => r.TokensPerS is > 0 and { } t ? tokensPerStep / t : null;

    /// <param name="slots">Training slots the runs share, for the sweep's ETA.</param>
    public static SweepDetail Detail(SweepRead read, int slots)
    {
        var runs = read.Runs.Select(r =>
        {
            var status = read.State.Run(new RunId(r.Run))!;
            var settings = status.Spec.Settings([]);
            return (r, status.Ended, Pace(r, (long)settings.Train.BatchSize * settings.Model.BlockSize));
        }).ToList();
        var (etas, sweep) = Etas(runs, slots);
        return new SweepDetail(read.State.Id.Value, read.State.Name, Phase(read.State.Phase), sweep, [.. runs.Select((x, i) => new RunRow(x.r, etas[i]))]);
    }

    /// <summary>
    /// Each run's time left (a running run's steps left at its pace) and the sweep's (<see cref="SweepEta"/>: the
    /// runs not started at the mean pace, spread over the slots), in seconds.
    /// </summary>
    public static (IReadOnlyList<double?> Runs, double? Sweep) Etas(IReadOnlyList<(RunRecord Run, bool Ended, double? Pace)> runs, int slots)
    {
        var etas = runs.Select(x => x.Run.State == RunPhase.Running && x.Pace is { } p ? Math.Max(0, x.Run.Steps - x.Run.Step) * p : (double?)null).ToList();
        var left = runs.Select((x, i) => (x, eta: etas[i])).Where(y => !y.x.Ended)
            .Select(y => new SweepEta.RunLeft(y.x.Run.Steps - y.x.Run.Step, y.eta is { } e ? TimeSpan.FromSeconds(e) : null)).ToList();
        return (etas, SweepEta.Of(left, [.. runs.Where(x => x.Pace is not null).Select(x => x.Pace!.Value)], slots)?.TotalSeconds);
    }

    public static AuditLine Audit(JournalEvent e) => new(e.Offset, e.SequenceNr, e.AtUtc, e.Event.Sweep.Value, (e.Event as IRunEvent)?.Run.Value,
        e.Event.GetType().Name, Tables.Describe(e.Event));

    /// <summary>The events about one run, in journal order.</summary>
    public static IReadOnlyList<AuditLine> Trail(IEnumerable<JournalEvent> events, string run) =>
        [.. events.Where(e => e.Event is IRunEvent r && r.Run.Value == run).Select(Audit)];

    public static Curve CurveOf(IReadOnlyList<MetricsLine> metrics, IEnumerable<JournalEvent> events, string run)
    {
        var mine = events.Select(e => e.Event).OfType<IRunEvent>().Where(e => e.Run.Value == run).ToList();
        return new Curve([.. metrics.Select(m => m.Step)], [.. metrics.Select(m => Finite(m.Loss))], [.. metrics.Select(m => Finite(m.ValLoss))],
            ByKind(metrics, m => m.UpdateRatio), ByKind(metrics, m => m.Gate),
            [.. mine.OfType<SpikeDetected>().Select(s => new Spike(s.Step, s.Value, Tables.Describe(s)))],
            [.. mine.OfType<RolledBack>().Select(b => new Span(b.FromStep, b.ToStep))]);
    }

    // "h.0.mlp.down_proj" and "h.1.mlp.down_proj" → one "mlp.down_proj" series, the mean over layers, as the report plots them.
    static IReadOnlyDictionary<string, IReadOnlyList<double?>> ByKind(IReadOnlyList<MetricsLine> metrics, Func<MetricsLine, IReadOnlyDictionary<string, double>?> of)
    {
        var kinds = metrics.SelectMany(m => of(m)?.Keys ?? []).Select(SweepReport.Kind).Distinct().Order(StringComparer.Ordinal).ToList();
        return kinds.ToDictionary(k => k, k => (IReadOnlyList<double?>)[.. metrics.Select(m =>
            of(m)?.Where(kv => SweepReport.Kind(kv.Key) == k).Select(kv => kv.Value).ToList() is { Count: > 0 } xs ? Finite(xs.Average()) : null)]);
    }

    // JSON has no NaN or infinity (a diverged loss): the chart leaves a gap.
    static double? Finite(double? x) => x is { } v && double.IsFinite(v) ? v : null;

    /// <summary>
    /// The lines of a metrics file that parse: a run writing as we read may leave its last line half-written, which
    /// the next read picks up whole.
    /// </summary>
    public static IReadOnlyList<MetricsLine> ReadMetrics(string path)
    {
        if (!File.Exists(path)) return [];
        var lines = new List<MetricsLine>();
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0) continue;
            try { lines.Add(MetricsLog.Parse(line)); }
            catch (JsonException) { }
        }
        return lines;
    }
}
