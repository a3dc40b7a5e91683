using System.Globalization;
using System.Net;
using System.Text;
using ScottPlot;
using WeSaR.Actors.Persistence;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Config;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Reports;

/// <summary>
/// `wesar report`: PNG plots of a sweep (loss curves with spike and rollback markers, W_d vs W_u update ratios,
/// WeSaR gates, final loss against learning rate) and one self-contained HTML page with them and the tables.
/// Numbers come from the journal; curves from each run's metrics.jsonl.
/// </summary>
public static class SweepReport
{
    const int Width = 1100, Height = 700;

    public static IReadOnlyList<string> Write(SweepState sweep, IReadOnlyList<JournalEvent> events, IReadOnlyList<RunRecord> runs, string sharedDir, string outDir)
    {
        Directory.CreateDirectory(outDir);
        var metrics = sweep.Runs.ToDictionary(r => r.Id.Value, r =>
        {
            var f = Path.Combine(r.Spec.Dir(sharedDir, sweep.Id), MetricsLog.FileName);
            return File.Exists(f) ? MetricsLog.Read(f) : [];
        });
        var color = runs.ToDictionary(r => r.Run, r => SchemeColor(r.Scheme));
        var plots = new List<(string File, string Title)>
        {
            (Loss(runs, events, metrics, color, outDir), "Training loss per run (validation loss as dots); spikes marked ×, rolled-back spans shaded"),
            (UpdateRatios(runs, metrics, color, outDir), "Update ratio ‖ΔW‖/‖W‖ of the MLP matrices, mean over layers: W_d (down_proj, solid) vs W_u (up_proj, dashed)"),
            (FinalLossVsLr(runs, outDir), "Final validation loss against the learning rate, mean ± std over seeds, per scheme"),
        };
        foreach (var r in runs.Where(r => metrics[r.Run].Any(m => m.Gate is { Count: > 0 })))
            plots.Add((Gates(r, metrics[r.Run], outDir), $"WeSaR gates α of {r.Label} (mean over layers per matrix kind)"));
        var html = Path.Combine(outDir, "index.html");
        var goodput = Goodput.Of(sweep.Id, events, sweep.Runs.ToDictionary(r => r.Id, r => metrics[r.Id.Value]));
        File.WriteAllText(html, Html(sweep, runs, events, goodput, Stability.Of(sweep.Id, events), plots, outDir), new UTF8Encoding(false));
        return [.. plots.Select(p => Path.Combine(outDir, p.File)), html];
    }

    static string Loss(IReadOnlyList<RunRecord> runs, IReadOnlyList<JournalEvent> events, Dictionary<string, IReadOnlyList<MetricsLine>> metrics,
        Dictionary<string, Color> color, string outDir)
    {
        var plt = new Plot();
        var normal = new List<double>();
        foreach (var r in runs)
        {
            var m = metrics[r.Run];
            if (m.Count == 0) continue;
            var line = plt.Add.ScatterLine(m.Select(x => (double)x.Step).ToArray(), m.Select(x => x.Loss).ToArray(), color[r.Run]);
            line.LegendText = r.Label;
            line.LineWidth = 1.5f;
            var val = m.Where(x => x.ValLoss is not null).ToList();
            if (val.Count > 0)
            {
                var dots = plt.Add.ScatterPoints(val.Select(x => (double)x.Step).ToArray(), val.Select(x => x.ValLoss!.Value).ToArray(), color[r.Run]);
                dots.MarkerSize = 8;
                dots.LegendText = $"{r.Label} · validation loss";
            }
            normal.AddRange(m.Select(x => x.Loss).Where(double.IsFinite));
        }
        // Spikes can be 50x the loss: keep the axis on the curves and pin spike markers to its top with their value.
        var top = normal.Count > 0 ? Percentile(normal, 0.995) * 1.15 : 10;
        var bottom = normal.Count > 0 ? normal.Min() * 0.95 : 0;
        foreach (var (e, r) in events.Select(e => (e, r: e.Event is IRunEvent re ? runs.FirstOrDefault(x => x.Run == re.Run.Value) : null)).Where(x => x.r is not null))
        {
            if (e.Event is SpikeDetected s)
            {
                var y = Math.Min(s.Value, top * 0.97);
                var mk = plt.Add.Marker(s.Step, y, MarkerShape.Cross, 14, Colors.Red);
                mk.LineWidth = 3;
                var t = plt.Add.Text($"spike {s.Value:G4}", s.Step, y);
                t.LabelFontColor = Colors.Red;
                t.LabelFontSize = 12;
            }
            else if (e.Event is RolledBack b)
            {
                var span = plt.Add.HorizontalSpan(b.ToStep, b.FromStep, color[r!.Run].WithAlpha(0.15));
                span.LineStyle.Width = 0;
            }
        }
        plt.Axes.SetLimitsY(bottom, top);
        Style(plt, "Training loss", "step", "loss (nats/token)");
        return Save(plt, outDir, "loss.png");
    }

    static string UpdateRatios(IReadOnlyList<RunRecord> runs, Dictionary<string, IReadOnlyList<MetricsLine>> metrics, Dictionary<string, Color> color, string outDir)
    {
        var plt = new Plot();
        foreach (var r in runs)
        {
            var m = metrics[r.Run].Where(x => x.UpdateRatio is { Count: > 0 }).ToList();
            if (m.Count == 0) continue;
            // The legend does not draw dash patterns, so the roles also differ by marker shape, and are named.
            foreach (var (kind, dashed, shape) in new[] { ("down_proj", false, MarkerShape.FilledCircle), ("up_proj", true, MarkerShape.OpenSquare) })
            {
                var ys = m.Select(x => x.UpdateRatio!.Where(kv => kv.Key.EndsWith("mlp." + kind, StringComparison.Ordinal)).Select(kv => kv.Value).DefaultIfEmpty(double.NaN).Average()).ToArray();
                var line = plt.Add.ScatterLine(m.Select(x => (double)x.Step).ToArray(), ys, color[r.Run]);
                line.LegendText = $"{r.Label} · {(dashed ? "W_u (up_proj, dashed, □)" : "W_d (down_proj, solid, ●)")}";
                line.LinePattern = dashed ? LinePattern.Dashed : LinePattern.Solid;
                line.LineWidth = 2;
                line.MarkerSize = 7;
                line.MarkerShape = shape;
            }
        }
        Style(plt, "Update ratios of W_d vs W_u (cf. the WeSaR paper, Figure 1)", "step", "‖ΔW‖ / ‖W‖ per step");
        return Save(plt, outDir, "update-ratio.png");
    }

    static string Gates(RunRecord r, IReadOnlyList<MetricsLine> metrics, string outDir)
    {
        var plt = new Plot();
        var m = metrics.Where(x => x.Gate is { Count: > 0 }).ToList();
        var kinds = m[0].Gate!.Keys.Select(Kind).Distinct().Order(StringComparer.Ordinal).ToList();
        var palette = new ScottPlot.Palettes.Category10();
        var all = new List<double>();
        var ends = new List<(string Kind, double Y, Color Color)>();
        foreach (var (kind, i) in kinds.Select((k, i) => (k, i)))
        {
            // log10 on the axis: embedding gates are ~100x the others.
            var ys = m.Select(x => Math.Log10(x.Gate!.Where(kv => Kind(kv.Key) == kind).Average(kv => kv.Value))).ToArray();
            var line = plt.Add.ScatterLine(m.Select(x => (double)x.Step).ToArray(), ys, palette.GetColor(i));
            line.LegendText = kind;
            line.LineWidth = 2;
            line.MarkerSize = 5;
            all.AddRange(ys.Where(double.IsFinite));
            ends.Add((kind, ys[^1], palette.GetColor(i)));
        }
        // Kinds whose gates end within ~2% of the next overlap: one label at the lines' end names them all.
        var lastStep = m[^1].Step;
        var groups = new List<List<(string Kind, double Y, Color Color)>>();
        foreach (var e in ends.OrderBy(e => e.Y))
            if (groups.Count > 0 && e.Y - groups[^1][^1].Y < 0.01) groups[^1].Add(e);
            else groups.Add([e]);
        foreach (var g in groups)
        {
            var t = plt.Add.Text(string.Join(", ", g.Select(e => e.Kind)), lastStep, g.First().Y);
            t.LabelFontColor = g.First().Color;
            t.LabelFontSize = 12;
            t.LabelAlignment = Alignment.LowerRight;
        }
        var ticks = LogTicks(all.Min(), all.Max());
        plt.Axes.Left.SetTicks(ticks, ticks.Select(t => Math.Pow(10, t).ToString("G3", CultureInfo.InvariantCulture)).ToArray());
        Style(plt, $"WeSaR gates α: {r.Label}", "step", "α (log scale)");
        return Save(plt, outDir, $"gates-{r.Run}.png");
    }

    /// <summary>Log10 positions of the 1-2-5 values spanning [lo, hi] (log10 units), so ticks read 0.1, 0.2, 0.5, 1, not 3.16.</summary>
    public static double[] LogTicks(double lo, double hi)
    {
        var ticks = new List<double>();
        for (var k = (int)Math.Floor(lo); k <= (int)Math.Ceiling(hi); k++)
            ticks.AddRange(new[] { 1.0, 2, 5 }.Select(m => Math.Log10(m) + k).Where(t => t >= lo - 1e-9 && t <= hi + 1e-9));
        // A narrow range may hold fewer than two: fall back to the enclosing powers of ten.
        return ticks.Count >= 2 ? [.. ticks] : [Math.Floor(lo), Math.Ceiling(hi) == Math.Floor(lo) ? Math.Floor(lo) + 1 : Math.Ceiling(hi)];
    }

    // The paper's nine schemes first, then the other WeSaR forms: the first ten take Category20's ten strong colours
    // (Category10's), the rest its light ones; any other scheme hashes onto the light colours left.
    static readonly string[] KnownSchemes =
        ["he", "wesar(he)", "small", "wesar(small)", "normal", "megatron", "scaled-embed", "embed-ln", "wesar-frozen(he)",
         "wesar(normal)", "wesar(megatron)"];

    /// <summary>
    /// The colour of a scheme in every plot: keyed by its name, not its position in the sweep, so runs of one
    /// scheme share it and it does not change from plot to plot or sweep to sweep.
    /// </summary>
    public static Color SchemeColor(string scheme)
    {
        var palette = new ScottPlot.Palettes.Category20();
        var strong = palette.Colors.Length / 2;
        var known = Array.IndexOf(KnownSchemes, scheme);
        if (known >= 0)
            return palette.GetColor(known < strong ? 2 * known : 2 * (known - strong) + 1);
        var firstFree = Math.Max(0, KnownSchemes.Length - strong);   // the light colours the known schemes leave
        var slot = firstFree + (int)(scheme.Aggregate(17u, (h, c) => unchecked(h * 31 + c)) % (uint)(strong - firstFree));
        return palette.GetColor(2 * slot + 1);
    }

    /// <summary>A matrix's kind, its name without the layer: "h.3.mlp.down_proj" → "mlp.down_proj"; "wte" stays.</summary>
    public static string Kind(string matrix) => matrix.StartsWith("h.", StringComparison.Ordinal) ? matrix[(matrix.IndexOf('.', 2) + 1)..] : matrix;

    static string FinalLossVsLr(IReadOnlyList<RunRecord> runs, string outDir)
    {
        var plt = new Plot();
        var cells = Comparison.Build(runs, ["scheme", "lr"]).Where(c => c.LossMean is not null).ToList();
        foreach (var scheme in cells.Select(c => c.Keys[0]).Distinct())
        {
            var pts = cells.Where(c => c.Keys[0] == scheme).Select(c => (lr: double.Parse(c.Keys[1], CultureInfo.InvariantCulture), c.LossMean!.Value, std: c.LossStd ?? 0))
                .OrderBy(p => p.lr).ToList();
            var xs = pts.Select(p => Math.Log10(p.lr)).ToArray();
            var line = plt.Add.ScatterLine(xs, pts.Select(p => p.Value).ToArray(), SchemeColor(scheme));
            line.LegendText = scheme;
            line.LineWidth = 2;
            line.MarkerSize = 9;
            var bars = plt.Add.ErrorBar(xs, pts.Select(p => p.Value).ToArray(), pts.Select(p => p.std).ToArray());
            bars.Color = SchemeColor(scheme);
        }
        // Ticks at the swept learning rates themselves.
        var lrs = cells.Select(c => double.Parse(c.Keys[1], CultureInfo.InvariantCulture)).Distinct().Order().ToArray();
        plt.Axes.Bottom.SetTicks(lrs.Select(Math.Log10).ToArray(), lrs.Select(LrFormat.Of).ToArray());
        plt.Axes.Margins(0.1, 0.15);
        Style(plt, "Final validation loss vs learning rate", "learning rate (log scale)", "validation loss");
        return Save(plt, outDir, "final-loss-vs-lr.png");
    }

    // The legend sits outside the data area so it never hides a curve or a spike marker.
    static void Style(Plot plt, string title, string x, string y)
    {
        plt.Title(title);
        plt.XLabel(x);
        plt.YLabel(y);
        plt.ShowLegend(Edge.Bottom);
    }

    static string Save(Plot plt, string outDir, string name)
    {
        plt.SavePng(Path.Combine(outDir, name), Width, Height);
        return name;
    }

    static double Percentile(List<double> xs, double p)
    {
        var sorted = xs.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Round(p * (sorted.Count - 1)))];
    }

    static string E(string s) => WebUtility.HtmlEncode(s);

    // The `sweep goodput` table: where each run's time went, and the effective-training-time ratio.
    static void GoodputTable(StringBuilder h, SweepGoodput g)
    {
        h.Append($"<h2>Goodput</h2><p>Effective-training-time ratio {Tables.Percent(g.AllRuns.Ratio)} (useful / total over all runs); sweep wall time ")
         .Append($"{Tables.Seconds(g.WallSeconds)}. Redone: training a rollback, crash or dead process threw away; recovery: a restart until it steps again; ")
         .Append("waiting: not on a slot.</p>\n<table id=\"goodput\"><tr><th class=\"l\">run</th><th class=\"l\">label</th><th>total</th><th>useful</th>")
         .Append("<th>redone</th><th>steps redone</th><th>checkpoint</th><th>recovery</th><th>startup</th><th>waiting</th><th>ratio</th></tr>\n");
        void Row(string run, string label, GoodputFigures f) =>
            h.Append($"<tr><td class=\"l\">{E(run)}</td><td class=\"l\">{E(label)}</td><td>{Tables.Seconds(f.TotalSeconds)}</td><td>{Tables.Seconds(f.UsefulSeconds)}</td>")
             .Append($"<td>{Tables.Seconds(f.RedoneSeconds)}</td><td>{f.RedoneSteps}</td><td>{Tables.Seconds(f.CheckpointSeconds)}</td><td>{Tables.Seconds(f.RecoverySeconds)}</td>")
             .Append($"<td>{Tables.Seconds(f.StartupSeconds)}</td><td>{Tables.Seconds(f.WaitingSeconds)}</td><td>{Tables.Percent(f.Ratio)}</td></tr>\n");
        foreach (var r in g.Runs) Row(r.Run, r.Label, r.Figures);
        Row("all runs", "", g.AllRuns);
        h.Append("</table>\n");
    }

    // The `sweep stability` figures per run, and every spike with the risk that warned of it.
    static void StabilityTables(StringBuilder h, SweepStability s)
    {
        static string Cells(IEnumerable<string> cells, string tag) => string.Concat(cells.Select(c => $"<{tag}>{E(c)}</{tag}>"));
        h.Append($"<h2>Stability</h2><p>{E(Tables.StabilitySummary(s.AllRuns, s.ClearWindowSteps))}.</p>\n<table id=\"stability\"><tr><th class=\"l\">run</th>")
         .Append($"<th class=\"l\">label</th>{Cells(Tables.StabilityColumns, "th")}</tr>\n");
        foreach (var r in s.Runs) h.Append($"<tr><td class=\"l\">{E(r.Run)}</td><td class=\"l\">{E(r.Label)}</td>{Cells(Tables.StabilityCells(r.Figures), "td")}</tr>\n");
        h.Append($"<tr><td class=\"l\">all runs</td><td class=\"l\"></td>{Cells(Tables.StabilityCells(s.AllRuns), "td")}</tr>\n</table>\n");
        if (s.Runs.All(r => r.Spikes.Count == 0)) return;
        h.Append($"<table id=\"stability-spikes\"><tr><th class=\"l\">run</th>{Cells(Tables.SpikeColumns, "th")}</tr>\n");
        foreach (var r in s.Runs)
            foreach (var spike in r.Spikes) h.Append($"<tr><td class=\"l\">{E(r.Run)}</td>{Cells(Tables.SpikeCells(spike), "td")}</tr>\n");
        h.Append("</table>\n");
    }

    static string Html(SweepState sweep, IReadOnlyList<RunRecord> runs, IReadOnlyList<JournalEvent> events, SweepGoodput goodput, SweepStability stability,
        List<(string File, string Title)> plots, string outDir)
    {
        var h = new StringBuilder();
        h.Append($"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sweep {E(sweep.Id.Value)}</title><style>")
         .Append("body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}")
         .Append("td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}")
         .Append(".best{font-weight:bold;color:#1a7f37}img{max-width:100%;border:1px solid #eee}figure{margin:2em 0}</style></head><body>\n")
         .Append($"<h1>Sweep {E(sweep.Id.Value)}</h1><p>{runs.Count} run(s): {runs.Count(r => r.State == RunPhase.Completed)} completed, ")
         .Append($"{runs.Count(r => r.State == RunPhase.Failed)} failed; {runs.Sum(r => r.Spikes)} spike(s), {runs.Sum(r => r.Rollbacks)} rollback(s), ")
         .Append($"{runs.Sum(r => r.Restarts)} restart(s). State: {sweep.Phase.ToString().ToLowerInvariant()}.</p>\n");

        var cells = Comparison.Build(runs, ["scheme", "lr"]);
        var lrs = cells.Select(c => c.Keys[1]).Distinct().OrderBy(k => double.Parse(k, CultureInfo.InvariantCulture)).ToList();
        h.Append("<h2>Comparison</h2><p>Final validation loss, mean ± std over completed runs (n); spikes and rollbacks per run. Best per learning rate in bold.</p>")
         .Append("<table id=\"comparison\"><tr><th class=\"l\">scheme</th>");
        foreach (var lr in lrs) h.Append($"<th>lr={E(lr)}</th>");
        h.Append("</tr>\n");
        foreach (var scheme in cells.Select(c => c.Keys[0]).Distinct())
        {
            h.Append($"<tr><td class=\"l\">{E(scheme)}</td>");
            foreach (var lr in lrs)
            {
                var c = cells.FirstOrDefault(x => x.Keys[0] == scheme && x.Keys[1] == lr);
                h.Append(c is null ? "<td>-</td>" : $"<td{(c.BestInColumn ? " class=\"best\"" : "")}>{Tables.Num(c.LossMean)}"
                    + $"{(c.LossStd is { } s ? " ± " + Tables.Num(s) : "")} (n={c.Completed}) · spikes {c.SpikesMean:G3} · rollbacks {c.RollbacksMean:G3}</td>");
            }
            h.Append("</tr>\n");
        }
        h.Append("</table>\n<h2>Runs</h2><table id=\"runs\"><tr><th class=\"l\">run</th><th class=\"l\">label</th><th class=\"l\">state</th><th>step</th>")
         .Append("<th>val loss</th><th>last loss</th><th>spikes</th><th>rollbacks</th><th>restarts</th><th>tokens/s</th><th>wall</th></tr>\n");
        foreach (var r in runs)
            h.Append($"<tr><td class=\"l\">{E(r.Run)}</td><td class=\"l\">{E(r.Label)}</td><td class=\"l\">{E(r.State.Name())}{(r.Failure is { } f ? ": " + E(f) : "")}</td>")
             .Append($"<td>{r.Step}/{r.Steps}</td><td>{Tables.Num(r.ValLoss)}</td><td>{Tables.Num(r.LastLoss)}</td><td>{r.Spikes}</td><td>{r.Rollbacks}</td>")
             .Append($"<td>{r.Restarts}</td><td>{Tables.Num(r.TokensPerS, "N0")}</td><td>{Tables.Duration(r.WallSeconds)}</td></tr>\n");
        h.Append("</table>\n");
        GoodputTable(h, goodput);
        StabilityTables(h, stability);

        var notable = events.Where(e => e.Event is CheckpointRejected or SpikeDetected or RolledBack or RunRestarted or RunFailed or RunRetried).ToList();
        if (notable.Count > 0)
        {
            h.Append("<h2>Spikes, rollbacks, restarts, rejected checkpoints</h2><table id=\"events\"><tr><th class=\"l\">time (UTC)</th><th class=\"l\">run</th><th class=\"l\">event</th></tr>\n");
            foreach (var e in notable)
                h.Append($"<tr><td class=\"l\">{e.AtUtc:yyyy-MM-dd HH:mm:ss}</td><td class=\"l\">{E(((IRunEvent)e.Event).Run.Value)}</td><td class=\"l\">{E(Tables.Describe(e.Event))}</td></tr>\n");
            h.Append("</table>\n");
        }
        h.Append("<h2>Plots</h2>\n");
        foreach (var (file, title) in plots)
            h.Append($"<figure><img alt=\"{E(title)}\" src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(Path.Combine(outDir, file)))}\">")
             .Append($"<figcaption>{E(title)} ({E(file)})</figcaption></figure>\n");
        h.Append("</body></html>\n");
        return h.ToString();
    }
}
