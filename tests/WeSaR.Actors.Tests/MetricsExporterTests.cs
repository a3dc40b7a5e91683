using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Actor;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Placement;
using WeSaR.Actors.Runs;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;
using WeSaR.Training.Spikes;
using WeSaR.TestSupport;

namespace WeSaR.Actors.Tests;

/// <summary>The Prometheus endpoint fed from the event stream, scraped over real HTTP.</summary>
public sealed class MetricsExporterTests : IAsyncLifetime
{
    static readonly SweepId S = new("s-1");
    static readonly RunId R = new("r-1");
    readonly int port = FreePort.Next();
    ActorSystem system = null!;
    MetricsExporter exporter = null!;

    public Task InitializeAsync()
    {
        system = ActorSystem.Create("metrics-test");
        exporter = MetricsExporter.Start(system, new MetricsSettings("127.0.0.1", port));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        exporter.Dispose();
        await system.Terminate();
    }

    static MetricsLine Line(long step) => new(step, 2.5, 1.0, 1e-3, step * 128, 4000, 100);

    static RunStatus Status(RunPhase phase, int restarts) =>
        new(new RunSpec(R, "scheme=he", ""), phase, new ResumePoint(0), 1, 0, 0, restarts, "node", "cpu-0", null, null);

    [Fact]
    public async Task Steps_count_from_where_a_run_started_and_again_after_a_rollback()
    {
        var stream = system.EventStream;
        stream.Publish(new RunStarted(S, R, 20, 100));             // resumed from a checkpoint at step 20
        stream.Publish(new RunProgress(S, R, Line(30), 100, TimeSpan.Zero));
        stream.Publish(new RunProgress(S, R, Line(40), 100, TimeSpan.Zero));
        stream.Publish(new RunNote(S, R, new SpikeSignal(40, "z-score", SpikeMetric.Loss, 9, 2, 1, 6)));
        stream.Publish(new RunNote(S, R, new RollbackOrder(40, 30, 1, 0.5)));
        stream.Publish(new RunProgress(S, R, Line(50), 100, TimeSpan.Zero));   // 30 → 50 redone and new
        stream.Publish(new RunChanged(S, Status(RunPhase.Running, 0)));
        stream.Publish(new RunChanged(S, Status(RunPhase.Running, 2)));
        stream.Publish(new RunChanged(S, Status(RunPhase.Completed, 2)));
        stream.Publish(new SlotUse("node-a", 1, 2));
        stream.Publish(new JournalWritten(S, 3, TimeSpan.FromMilliseconds(4)));

        var run = "{sweep=\"s-1\",run=\"r-1\"}";
        var text = await Scrape(t => Value(t, "wesar_steps_total" + run) == 40 && Value(t, "wesar_journal_write_seconds_count") == 1);
        Assert.Equal(40 * 128, Value(text, "wesar_tokens_total" + run));
        Assert.Equal(4000, Value(text, "wesar_tokens_per_second" + run));
        Assert.True(Value(text, "wesar_steps_per_second" + run) > 0);
        Assert.Equal(1, Value(text, "wesar_spikes_total" + run));
        Assert.Equal(1, Value(text, "wesar_rollbacks_total" + run));
        Assert.Equal(2, Value(text, "wesar_restarts_total" + run));
        Assert.Equal(1, Value(text, "wesar_runs{sweep=\"s-1\",state=\"completed\"}"));
        Assert.Equal(0, Value(text, "wesar_runs{sweep=\"s-1\",state=\"running\"}"));
        Assert.Equal(1, Value(text, "wesar_slots{node=\"node-a\",state=\"busy\"}"));
        Assert.Equal(1, Value(text, "wesar_slots{node=\"node-a\",state=\"free\"}"));
        Assert.Equal(0.004, Value(text, "wesar_journal_write_seconds_sum"), 6);
    }

    [Fact]
    public void A_port_in_use_is_a_clear_error()
    {
        var e = Assert.Throws<MetricsUnavailableException>(() => MetricsExporter.Start(system, new MetricsSettings("127.0.0.1", port)));
        Assert.Contains($"cannot serve http://127.0.0.1:{port}/metrics", e.Message);
    }

    /// <summary>Scrapes until <paramref name="ready"/> holds (the feed is an actor: it catches up within moments).</summary>
    async Task<string> Scrape(Func<string, bool> ready)
    {
        using var http = new HttpClient();
        var text = "";
        for (var i = 0; i < 100; i++)
        {
            text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            if (ready(text)) return text;
            await Task.Delay(100);
        }
        Assert.Fail("the metrics never showed the published events:\n" + text);
        return text;
    }

    static double Value(string text, string series)
    {
        var m = Regex.Match(text, "^" + Regex.Escape(series) + @" (\S+)$", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN;
    }
}
