using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Sweeps;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>The history commands after a real sweep, each answer checked against the journal's events.</summary>
public sealed class HistoryCommandTests : IClassFixture<HistoryCommandTests.Sweep>
{
    /// <summary>One sweep for the whole class: 2 schemes × 2 seeds, 30 steps, batch 20 poisoned (a spike and a rollback per run).</summary>
    public sealed class Sweep : IDisposable
    {
        public readonly TempDir Dir = TestEnv.NewTempDir();
        public string Work => Path.Combine(Dir.Path, "work");
        public readonly string Id;
        public readonly List<ISweepEvent> Events;

        public Sweep()
        {
            var file = TestSweeps.Write(Dir.Path, "hist", "init.scheme = [he, \"wesar(he)\"], run.seed = [1, 2]", 30,
                "faults { poison-batches = [20], poison-scale = 50 }\ntrain.measure-interval = 10");
            var r = Wesar.Run("--workdir", Work, "sweep", "run", file);
            Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
            Id = Regex.Match(r.Stdout, @"^sweep (\S+):", RegexOptions.Multiline).Groups[1].Value;
            var (settings, config) = OrchestratorHost.LoadConfig(null, []);
            var host = OrchestratorHost.Start(settings, config, Work);
            try { Events = host.History.Events(new SweepId(Id)).GetAwaiter().GetResult().Select(e => e.Event).ToList(); }
            finally { host.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
        }

        public void Dispose()
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Dir.Dispose();
        }
    }

    readonly Sweep s;

    public HistoryCommandTests(Sweep s) => this.s = s;

    JsonElement Json(params string[] args)
    {
        var r = Wesar.Run(["--workdir", s.Work, .. args]);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        return JsonDocument.Parse(r.Stdout).RootElement;
    }

    FinalMetrics Final(string run) => s.Events.OfType<RunCompleted>().Single(e => e.Run.Value == run).Metrics;

    int Count<T>(string run) where T : IRunEvent => s.Events.OfType<T>().Count(e => e.Run.Value == run);

    [Fact]
    public void Runs_list_and_show_agree_with_the_journal()
    {
        var runs = Json("runs", "list", "--sweep", s.Id, "--json").EnumerateArray().ToList();
        Assert.Equal(4, runs.Count);
        foreach (var r in runs)
        {
            var id = r.GetProperty("run").GetString()!;
            Assert.Equal("completed", r.GetProperty("state").GetString());
            Assert.Equal(Final(id).ValLoss, r.GetProperty("val_loss").GetDouble());
            Assert.Equal(Final(id).LastLoss, r.GetProperty("last_loss").GetDouble());
            Assert.Equal(Count<SpikeDetected>(id), r.GetProperty("spikes").GetInt32());
            Assert.Equal(Count<RolledBack>(id), r.GetProperty("rollbacks").GetInt32());
            Assert.True(r.GetProperty("wall_seconds").GetDouble() > 0);
            Assert.Equal("cpu", r.GetProperty("device").GetString());
        }
        Assert.Equal(2, Json("runs", "list", "--scheme", "wesar(he)", "--json").GetArrayLength());

        var first = runs[0].GetProperty("run").GetString()!;
        var show = Json("runs", "show", first[..6], "--json");
        Assert.Equal(first, show.GetProperty("run").GetProperty("run").GetString());
        Assert.Contains("init.scheme = ", show.GetProperty("config").GetString());
        Assert.Equal(Final(first).ModelSha256, show.GetProperty("run").GetProperty("model_sha256").GetString());
    }

    [Fact]
    public void The_audit_trail_of_a_run_is_every_journal_event_about_it_in_order()
    {
        var run = s.Events.OfType<RunCompleted>().First().Run.Value;
        var r = Wesar.Run("--workdir", s.Work, "runs", "events", run, "--json");
        Assert.Equal(0, r.ExitCode);
        var types = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("type").GetString()).ToList();
        Assert.Equal(s.Events.OfType<IRunEvent>().Where(e => e.Run.Value == run).Select(e => e.GetType().Name), types);
        var human = Wesar.Run("--workdir", s.Work, "runs", "events", run).Stdout;
        Assert.Contains("SPIKE at step 21", human);
        Assert.Contains("rolled back from step 21 to 20", human);
    }

    [Fact]
    public void Compare_gives_mean_and_std_over_seeds_and_marks_the_best()
    {
        var cells = Json("sweep", "compare", s.Id, "--by", "scheme", "--json").EnumerateArray().ToList();
        Assert.Equal(2, cells.Count);
        var schemes = s.Events.OfType<SweepStarted>().Single().Runs.ToDictionary(r => r.Id.Value, r => r.Settings([]).Init.Scheme.Name);
        foreach (var c in cells)
        {
            var scheme = c.GetProperty("keys")[0].GetString()!;
            var losses = s.Events.OfType<RunCompleted>().Where(e => schemes[e.Run.Value] == scheme).Select(e => e.Metrics.ValLoss!.Value).ToList();
            var mean = losses.Average();
            var std = Math.Sqrt(losses.Sum(x => (x - mean) * (x - mean)) / (losses.Count - 1));
            Assert.Equal(mean, c.GetProperty("loss_mean").GetDouble(), 12);
            Assert.Equal(std, c.GetProperty("loss_std").GetDouble(), 12);
            Assert.Equal(2, c.GetProperty("completed").GetInt32());
            Assert.Equal(1.0, c.GetProperty("spikes_mean").GetDouble());
        }
        var best = cells.MinBy(c => c.GetProperty("loss_mean").GetDouble());
        Assert.All(cells, c => Assert.Equal(c.Equals(best) || c.GetProperty("loss_mean").GetDouble() == best.GetProperty("loss_mean").GetDouble(),
            c.GetProperty("best_in_column").GetBoolean()));
        var table = Wesar.Run("--workdir", s.Work, "sweep", "compare", s.Id, "--by", "scheme,seed").Stdout;
        Assert.Contains("seed=1", table);
        Assert.Contains("* ", table);
    }

    [Fact]
    public void The_report_has_valid_pngs_and_an_html_page_whose_numbers_are_the_journals()
    {
        var outDir = Path.Combine(s.Dir.Path, "report");
        var r = Wesar.Run("--workdir", s.Work, "report", s.Id, "--out", outDir);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var pngs = Directory.GetFiles(outDir, "*.png").Select(Path.GetFileName).ToList();
        foreach (var name in new[] { "loss.png", "update-ratio.png", "final-loss-vs-lr.png" }) Assert.Contains(name, pngs);
        Assert.Equal(2, pngs.Count(p => p!.StartsWith("gates-")));   // one per WeSaR run
        foreach (var png in Directory.GetFiles(outDir, "*.png"))
        {
            var head = File.ReadAllBytes(png);
            Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, head[..8]);
            Assert.True(head.Length > 10_000, $"{png} is only {head.Length} bytes");
        }
        var html = File.ReadAllText(Path.Combine(outDir, "index.html"));
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.EndsWith("</html>\n", html);
        Assert.Equal(pngs.Count, Regex.Matches(html, "src=\"data:image/png;base64,").Count);
        foreach (var e in s.Events.OfType<RunCompleted>())
            Assert.Contains($"<td>{e.Metrics.ValLoss!.Value.ToString("F4", CultureInfo.InvariantCulture)}</td>", html);
        Assert.Equal(s.Events.OfType<SpikeDetected>().Count(), Regex.Matches(html, "SPIKE at step").Count);
        // The comparison gives rollbacks per run of each cell (two seeds a cell): together they are the journal's.
        var comparison = html[html.IndexOf("id=\"comparison\"", StringComparison.Ordinal)..];
        comparison = comparison[..comparison.IndexOf("</table>", StringComparison.Ordinal)];
        var perRun = Regex.Matches(comparison, @"rollbacks ([0-9.]+)<").Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(2, perRun.Count);
        Assert.NotEmpty(s.Events.OfType<RolledBack>());
        Assert.Equal(s.Events.OfType<RolledBack>().Count(), perRun.Sum() * 2, 9);
    }

    [Fact]
    public void Export_writes_one_csv_row_per_run_with_the_journals_figures()
    {
        var file = Path.Combine(s.Dir.Path, "runs.csv");
        Assert.Equal(0, Wesar.Run("--workdir", s.Work, "runs", "export", "--format", "csv", "--sweep", s.Id, "--out", file).ExitCode);
        var lines = File.ReadAllLines(file);
        Assert.Equal(5, lines.Length);
        var header = lines[0].Split(',');
        var (run, val) = (Array.IndexOf(header, "run"), Array.IndexOf(header, "val_loss"));
        foreach (var row in lines.Skip(1).Select(l => l.Split(',')))
            Assert.Equal(Final(row[run]).ValLoss, double.Parse(row[val], CultureInfo.InvariantCulture));
    }
}
