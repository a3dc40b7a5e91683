using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Cli;

/// <summary>Human tables (Spectre.Console) and the JSON forms of the history commands.</summary>
public static class Tables
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    static Tables()
    {
        // Redirected output has no width; don't wrap tables at 80 columns.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 240;
    }

    public static void PrintJson<T>(T value) => Console.WriteLine(JsonSerializer.Serialize(value, Json));

    /// <summary>One CSV field (RFC 4180 quoting; numbers in the invariant culture, doubles round-trip).</summary>
    public static string Csv(object? v)
    {
        var s = v switch { null => "", double d => d.ToString("R", CultureInfo.InvariantCulture), IFormattable f => f.ToString(null, CultureInfo.InvariantCulture), _ => v.ToString() ?? "" };
        return s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
    }

    public static string Num(double? x, string format = "F4") => x is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    public static void Runs(IReadOnlyList<RunRecord> runs)
    {
        var t = new Table().Border(TableBorder.Simple);
        foreach (var c in new[] { "sweep/run", "label", "state", "step", "val loss", "last loss", "spikes", "rollbacks", "restarts", "wall", "device" })
            t.AddColumn(new TableColumn(c));
        foreach (var r in runs)
            t.AddRow(Markup.Escape($"{r.Sweep}/{r.Run}"), Markup.Escape(r.Label), State(r.State), $"{r.Step}/{r.Steps}", Num(r.ValLoss), Num(r.LastLoss),
                r.Spikes.ToString(), r.Rollbacks.ToString(), r.Restarts.ToString(), Duration(r.WallSeconds), Markup.Escape(r.Device ?? "-"));
        AnsiConsole.Write(t);
    }

    public static void Sweeps(IReadOnlyList<(string Id, string State, int Runs, int Completed, int Failed)> sweeps)
    {
        var t = new Table().Border(TableBorder.Simple);
        foreach (var c in new[] { "id", "state", "runs", "completed", "failed" }) t.AddColumn(new TableColumn(c));
        foreach (var s in sweeps) t.AddRow(Markup.Escape(s.Id), State(s.State), s.Runs.ToString(), s.Completed.ToString(), s.Failed.ToString());
        AnsiConsole.Write(t);
    }

    public static string State(RunPhase s) => State(s.Name());

    // Runs and sweeps share the words: completed, failed, running, interrupted.
    static string State(string s) => s switch
    {
        "completed" => "[green]completed[/]",
        "failed" => "[red]failed[/]",
        "running" => "[yellow]running[/]",
        "interrupted" => "[magenta]interrupted[/]",
        _ => s,
    };

    /// <summary>
    /// A run's canonical config for reading: the canonical form quotes every value (it is hashed into the run id),
    /// which hides numbers and switches; here they stand bare, as one writes them.
    /// </summary>
    public static string Readable(string canonical) =>
        System.Text.RegularExpressions.Regex.Replace(canonical, @"^(\S+ = )""(-?[0-9][0-9.eE+-]*|on|off|true|false)""$", "$1$2",
            System.Text.RegularExpressions.RegexOptions.Multiline);

    public static string Duration(double? seconds) =>
        seconds is not { } s ? "-" : s >= 3600 ? $"{(int)(s / 3600)}h{(int)(s % 3600 / 60):D2}m" : $"{(int)(s / 60)}m{(int)(s % 60):D2}s";

    /// <summary>One line per event for the audit trail.</summary>
    public static string Describe(ISweepEvent e) => e switch
    {
        SweepStarted s => $"sweep {s.Name} started with {s.Runs.Count} run(s), max {s.MaxRestarts} restart(s)",
        RunScheduled => "scheduled",
        RunAssigned a => $"assigned to {a.Node}/{a.Slot} ({a.Device}), attempt {a.Attempt}",
        CheckpointCommitted c => $"checkpoint step {c.Step} committed ({c.ManifestSha256[..12]})",
        CheckpointRejected x => $"checkpoint step {x.Step} REJECTED ({x.Reason}); continuing from step {x.ResumeStep}",
        SpikeDetected d => Wording.Spike(d.Step, d.Metric, d.Value, d.Threshold, d.Rule, d.Mean, d.Std),
        SpikeRiskRaised k => Wording.RiskRaised(k.Step, k.Rule, k.Matrix, k.Value, k.Threshold),
        SpikeRiskCleared k => Wording.RiskCleared(k.Step, k.Matrix, k.Value),
        SpikeClassified v => Wording.Verdict(v.Step, v.Verdict, v.Loss, v.ReplayLoss, v.Identical),
        RolledBack b => Wording.Rollback(b.FromStep, b.ToStep, b.SkipBatches, b.LrScale),
        RunRestarted x => $"restarted (attempt {x.Attempt}): {x.Reason}",
        RunCompleted c => $"completed at step {c.Metrics.Step}: val loss {Num(c.Metrics.ValLoss)}, last loss {Num(c.Metrics.LastLoss)}, "
                          + $"{c.Metrics.Spikes} spike(s), {c.Metrics.Rollbacks} rollback(s)",
        RunFailed f => $"FAILED at step {f.Step}: {f.Reason}",
        RunInterrupted x => $"INTERRUPTED, resumes from step {x.Step}: {x.Reason}",
        RunRetried t => $"retried (it had stopped: {t.Failure})",
        SweepCompleted c => $"sweep completed: {c.Completed} completed, {c.Failed} failed",
        _ => e.GetType().Name,
    };

    /// <summary>`sweep goodput`: per run, then all runs summed, where the time went; the ratio is useful / total.</summary>
    public static void Goodput(SweepGoodput g)
    {
        var t = new Table().Border(TableBorder.Simple).AddColumn("run").AddColumn("label").AddColumn("state");
        foreach (var c in new[] { "total", "useful", "redone", "steps redone", "checkpoint", "recovery", "startup", "waiting", "ratio" })
            t.AddColumn(new TableColumn(c).RightAligned());
        string[] Cells(GoodputFigures f) =>
        [
            Seconds(f.TotalSeconds), Seconds(f.UsefulSeconds), Seconds(f.RedoneSeconds), f.RedoneSteps.ToString(CultureInfo.InvariantCulture),
            Seconds(f.CheckpointSeconds), Seconds(f.RecoverySeconds), Seconds(f.StartupSeconds), Seconds(f.WaitingSeconds), Percent(f.Ratio),
        ];
        foreach (var r in g.Runs) t.AddRow([Markup.Escape(r.Run), Markup.Escape(r.Label), State(r.State), .. Cells(r.Figures)]);
        t.AddRow(["[bold]all runs[/]", "", "", .. Cells(g.AllRuns)]);
        AnsiConsole.Write(t);
        Console.WriteLine($"sweep {g.Sweep}: wall {Seconds(g.WallSeconds)}; {g.Runs.Sum(r => r.Rollbacks)} rollback(s), {g.Runs.Sum(r => r.Restarts)} restart(s), "
                          + $"{g.Runs.Sum(r => r.Resumes)} resume(s); effective-training-time ratio {Percent(g.AllRuns.Ratio)} (useful / total over all runs)");
    }

    /// <summary>`sweep stability` and `report`: the columns of a run's (or all runs') figures, and its cells.</summary>
    public static readonly IReadOnlyList<string> StabilityColumns =
        ["steps trained", "spikes", "warned", "mean lead", "max lead", "risks", "false alarms", "per 1k steps", "rollbacks", "steps lost", "mean lost", "max lost",
            "reproduced", "transient"];

    public static string[] StabilityCells(StabilityFigures f) =>
    [
        f.StepsTrained.ToString(CultureInfo.InvariantCulture), f.Spikes.ToString(CultureInfo.InvariantCulture), f.Warned.ToString(CultureInfo.InvariantCulture),
        Num(f.MeanLeadSteps, "F1"), Int(f.MaxLeadSteps), f.Risks.ToString(CultureInfo.InvariantCulture), f.FalseAlarms.ToString(CultureInfo.InvariantCulture),
        Num(f.FalseAlarmsPer1000Steps, "F2"), f.Rollbacks.ToString(CultureInfo.InvariantCulture), f.RollbackSteps.ToString(CultureInfo.InvariantCulture),
        Num(f.MeanRollbackSteps, "F1"), Int(f.MaxRollbackSteps), f.Reproduced.ToString(CultureInfo.InvariantCulture), f.Transient.ToString(CultureInfo.InvariantCulture),
    ];

    /// <summary>The columns of one spike's row.</summary>
    public static readonly IReadOnlyList<string> SpikeColumns = ["step", "rule", "metric", "value", "threshold", "risk raised at", "lead (steps)", "verdict"];

    public static string[] SpikeCells(StabilitySpike s) =>
        [s.Step.ToString(CultureInfo.InvariantCulture), s.Rule, s.Metric, s.Value.ToString("G5", CultureInfo.InvariantCulture),
            s.Threshold.ToString("G5", CultureInfo.InvariantCulture), Int(s.RiskRaisedAt), Int(s.LeadSteps), s.Verdict ?? "not replayed"];

    static string Int(long? x) => x is { } v ? v.ToString(CultureInfo.InvariantCulture) : "-";

    public static string Outcome(RiskOutcome o) => o switch
    {
        RiskOutcome.Warned => "warned",
        RiskOutcome.FalseAlarm => "false alarm",
        RiskOutcome.Rewound => "rewound",
        _ => "open",
    };

    /// <summary>The one-sentence summary of <paramref name="f"/> under the table and in the report.</summary>
    public static string StabilitySummary(StabilityFigures f, long clearWindow) =>
        $"{f.Spikes} spike(s), {f.Warned} warned by a risk raised before them (still raised, or cleared under {clearWindow} steps before; "
        + $"mean lead {Num(f.MeanLeadSteps, "F1")} steps); {f.FalseAlarms} false alarm(s) of {f.Risks} risk(s) in {f.StepsTrained} trained steps "
        + $"({Num(f.FalseAlarmsPer1000Steps, "F2")} per 1,000); {f.Rollbacks} rollback(s) costing {f.RollbackSteps} steps "
        + $"(mean {Num(f.MeanRollbackSteps, "F1")}, max {Int(f.MaxRollbackSteps)}); replayed: {f.Reproduced} spike(s) reproduced, "
        + $"{f.Transient} transient fault(s) redone without a rollback";

    /// <summary>`sweep stability`: the figures per run and for all runs, then each run's spikes, risks and rollbacks.</summary>
    public static void Stability(SweepStability s)
    {
        var t = new Table().Border(TableBorder.Simple).AddColumn("run").AddColumn("label").AddColumn("state");
        foreach (var c in StabilityColumns) t.AddColumn(new TableColumn(c).RightAligned());
        foreach (var r in s.Runs) t.AddRow([Markup.Escape(r.Run), Markup.Escape(r.Label), State(r.State), .. StabilityCells(r.Figures)]);
        t.AddRow(["[bold]all runs[/]", "", "", .. StabilityCells(s.AllRuns)]);
        AnsiConsole.Write(t);
        foreach (var r in s.Runs.Where(r => r.Spikes.Count + r.Risks.Count + r.Rollbacks.Count + r.Transients.Count > 0))
        {
            Console.WriteLine($"{r.Run} ({r.Label}):");
            if (r.Spikes.Count > 0) AnsiConsole.Write(Titled("spikes", SpikeColumns, r.Spikes.Select(SpikeCells)));
            if (r.Transients.Count > 0)
                AnsiConsole.Write(Titled("transient faults", ["step", "rule", "metric", "loss", "loss replayed"], r.Transients.Select(x => new[]
                {
                    x.Step.ToString(CultureInfo.InvariantCulture), x.Rule, x.Metric, x.Loss.ToString("G5", CultureInfo.InvariantCulture),
                    x.ReplayLoss.ToString("G5", CultureInfo.InvariantCulture),
                })));
            if (r.Risks.Count > 0)
                AnsiConsole.Write(Titled("risks", ["raised at", "rule", "matrix", "value", "threshold", "cleared at", "spikes", "outcome"], r.Risks.Select(k => new[]
                {
                    k.RaisedAt.ToString(CultureInfo.InvariantCulture), k.Rule, k.Matrix, k.Value.ToString("G4", CultureInfo.InvariantCulture),
                    k.Threshold.ToString("G4", CultureInfo.InvariantCulture), Int(k.ClearedAt), k.Spikes.ToString(CultureInfo.InvariantCulture), Outcome(k.Outcome),
                })));
            if (r.Rollbacks.Count > 0)
                AnsiConsole.Write(Titled("rollbacks", ["from", "to", "cost (steps)", "batches skipped", "lr scale"], r.Rollbacks.Select(b => new[]
                {
                    b.FromStep.ToString(CultureInfo.InvariantCulture), b.ToStep.ToString(CultureInfo.InvariantCulture), b.CostSteps.ToString(CultureInfo.InvariantCulture),
                    b.SkipBatches.ToString(CultureInfo.InvariantCulture), b.LrScale.ToString("G3", CultureInfo.InvariantCulture),
                })));
        }
        Console.WriteLine($"sweep {s.Sweep}: {StabilitySummary(s.AllRuns, s.ClearWindowSteps)}");
    }

    // A titled table of plain text cells.
    static Table Titled(string title, IReadOnlyList<string> columns, IEnumerable<string[]> rows)
    {
        var t = new Table().Border(TableBorder.Simple).Title(title);
        foreach (var c in columns) t.AddColumn(new TableColumn(c));
        foreach (var row in rows) t.AddRow([.. row.Select(Markup.Escape)]);
        return t;
    }

    /// <summary>Seconds with a tenth below a minute (goodput's parts are often short), else as <see cref="Duration"/>.</summary>
    public static string Seconds(double s) => s < 60 ? s.ToString("F1", CultureInfo.InvariantCulture) + "s" : Duration(s);

    public static string Percent(double? x) => x is { } v ? (100 * v).ToString("F1", CultureInfo.InvariantCulture) + " %" : "-";

    /// <summary>The pivot of `sweep compare`: rows = first key(s), columns = the second key's values (else one "val loss" column).</summary>
    public sealed record Pivot(string RowHeader, IReadOnlyList<string> Columns, IReadOnlyList<PivotRow> Rows);

    /// <summary>One row of a <see cref="Pivot"/>: a cell per column, null where no run has those keys.</summary>
    public sealed record PivotRow(string Name, IReadOnlyList<ComparisonCell?> Cells);

    public static Pivot PivotOf(IReadOnlyList<string> by, IReadOnlyList<ComparisonCell> cells)
    {
        string RowOf(ComparisonCell c) => by.Count > 1 ? string.Join(" ", c.Keys.SkipLast(1)) : c.Keys[0];
        var rows = cells.Select(RowOf).Distinct().OrderBy(NaturalKey).ThenBy(k => k, StringComparer.Ordinal).ToList();
        var cols = by.Count > 1 ? cells.Select(c => c.Keys[^1]).Distinct().OrderBy(NaturalKey).ThenBy(k => k, StringComparer.Ordinal).ToList() : ["val loss"];
        return new Pivot(string.Join(" / ", by.Count > 1 ? by.SkipLast(1) : by), [.. cols.Select(c => by.Count > 1 ? $"{by[^1]}={c}" : c)],
            [.. rows.Select(row => new PivotRow(row, [.. cols.Select(col => cells.FirstOrDefault(c => RowOf(c) == row && (by.Count < 2 || c.Keys[^1] == col)))]))]);
    }

    /// <summary>Compare as a pivot (<see cref="PivotOf"/>); the best (lowest mean val loss) per column starred.</summary>
    public static void Comparison(IReadOnlyList<string> by, IReadOnlyList<ComparisonCell> cells)
    {
        var pivot = PivotOf(by, cells);
        var t = new Table().Border(TableBorder.Simple).AddColumn(pivot.RowHeader);
        foreach (var c in pivot.Columns) t.AddColumn(new TableColumn(Markup.Escape(c)).RightAligned());
        foreach (var row in pivot.Rows) t.AddRow([Markup.Escape(row.Name), .. row.Cells.Select(Cell)]);
        AnsiConsole.Write(t);
        AnsiConsole.MarkupLine(ComparisonLegend + "; * best in its column");
    }

    public const string ComparisonLegend = "cells: mean ± std of the final validation loss over completed runs (n), then mean spikes and rollbacks per run";

    static string Cell(ComparisonCell? c) => c is null ? "-"
        : $"{(c.BestInColumn ? "[bold green]* " : "")}{Num(c.LossMean)}{(c.LossStd is { } s ? $" ± {s.ToString("F4", CultureInfo.InvariantCulture)}" : "")}"
          + $"{(c.BestInColumn ? "[/]" : "")} (n={c.Completed}/{c.Runs}) spikes {c.SpikesMean:G3} rollbacks {c.RollbacksMean:G3}";

    static double NaturalKey(string k) => double.TryParse(k, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.MaxValue;
}
