using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>
/// A real `wesar node --metrics-port` trains a sweep with a spike, a rollback and a crash per run; its Prometheus
/// endpoint, scraped over HTTP, must agree with the journal.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class NodeMetricsTests : IDisposable
{
    static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    readonly TempDir dir = TestEnv.NewTempDir();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        dir.Dispose();
    }

    [Fact]
    public async Task A_node_serves_metrics_that_agree_with_the_journal()
    {
        const int steps = 40, batchTokens = 4 * 32;
        // Batch 25 is poisoned (a spike at 26, a rollback to 20); the first attempt throws at step 33 (a restart from 30).
        var file = TestSweeps.Write(dir.Path, "metrics", "run.seed = [1, 2]", steps,
            "faults { poison-batches = [25], poison-scale = 50, throw-at-step = 33, throw-attempts = 1 }");
        var (port, metricsPort) = (FreePort.Next(), FreePort.Next());
        var work = Path.Combine(dir.Path, "node");
        // One node with both roles and a SQLite journal in its work folder: a whole cluster in one process.
        using var node = new RunningWesar("--workdir", work, "node", "--seed", $"127.0.0.1:{port}", "--port", port.ToString(),
            "--metrics-port", metricsPort.ToString(), "--set", "orchestrator.slots.cpu=2", "--set", "orchestrator.restarts.min-backoff=100ms");
        node.WaitFor(l => l.Contains($"metrics: http://127.0.0.1:{metricsPort}/metrics"), Patience);
        node.WaitFor(l => l.Contains("member up:"), Patience);

        var before = await Scrape(metricsPort);
        Assert.Equal(2, Value(before, "wesar_slots{node=\"127.0.0.1:" + port + "\",state=\"free\"}"));

        var client = Wesar.Run(Patience, "--workdir", Path.Combine(dir.Path, "client"), "sweep", "run", file, "--cluster", $"127.0.0.1:{port}");
        Assert.True(client.ExitCode == 0, client.Stdout + client.Stderr + node.Output);
        var id = Regex.Match(client.Stdout, @"^sweep (\S+) ", RegexOptions.Multiline).Groups[1].Value;

        var runs = Wesar.Run("--workdir", work, "runs", "list", "--sweep", id, "--json");
        Assert.True(runs.ExitCode == 0, runs.Stdout + runs.Stderr);
        var records = JsonDocument.Parse(runs.Stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(2, records.Count);
        var text = await Scrape(metricsPort);
        foreach (var r in records)
        {
            var run = $"{{sweep=\"{id}\",run=\"{r.GetProperty("run").GetString()}\"}}";
            Assert.Equal(1, r.GetProperty("spikes").GetInt32());
            Assert.Equal(r.GetProperty("spikes").GetInt32(), Value(text, "wesar_spikes_total" + run));
            Assert.Equal(r.GetProperty("rollbacks").GetInt32(), Value(text, "wesar_rollbacks_total" + run));
            Assert.Equal(1, r.GetProperty("restarts").GetInt32());
            Assert.Equal(r.GetProperty("restarts").GetInt32(), Value(text, "wesar_restarts_total" + run));
            // Every step once, plus at most the steps redone after the rollback (26 → 20) and the restart (33 → 30).
            var done = Value(text, "wesar_steps_total" + run);
            Assert.InRange(done, steps, steps + 6 + 3);
            Assert.Equal(done * batchTokens, Value(text, "wesar_tokens_total" + run));
            Assert.True(Value(text, "wesar_tokens_per_second" + run) > 0);
        }
        Assert.Equal(2, Value(text, $"wesar_runs{{sweep=\"{id}\",state=\"completed\"}}"));
        Assert.Equal(0, Value(text, $"wesar_runs{{sweep=\"{id}\",state=\"running\"}}"));
        Assert.Equal(0, Value(text, "wesar_slots{node=\"127.0.0.1:" + port + "\",state=\"busy\"}"));
        Assert.True(Value(text, "wesar_journal_write_seconds_count") > 0);
    }

    static async Task<string> Scrape(int port)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
    }

    static double Value(string text, string series)
    {
        var m = Regex.Match(text, "^" + Regex.Escape(series) + @" (\S+)$", RegexOptions.Multiline);
        Assert.True(m.Success, $"no series {series} in:\n{text}");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
