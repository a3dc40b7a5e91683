using System.Text;
using Prometheus;
using WeSaR.Actors.Persistence;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Cli.Serve;

/// <summary>
/// `wesar serve`'s /metrics: what the journal says, read at every scrape, for every sweep in it. Named
/// wesar_journal_* so they never mix with the live series a node serves (docs/metrics.md).
/// </summary>
public static class JournalMetrics
{
    public static async Task<string> Scrape(SweepHistory history)
    {
        // A registry per scrape: a run or sweep gone from the journal leaves no stale series.
        var registry = Metrics.NewCustomRegistry();
        var f = Metrics.WithCustomRegistry(registry);
        string[] run = ["sweep", "run", "scheme"];
        var runs = f.CreateGauge("wesar_journal_runs", "Runs per sweep and state, as the journal records them", ["sweep", "state"]);
        var steps = f.CreateGauge("wesar_journal_run_step", "A run's last committed step (its final step once completed)", run);
        var spikes = f.CreateGauge("wesar_journal_run_spikes", "Spikes recorded for a run", run);
        var rollbacks = f.CreateGauge("wesar_journal_run_rollbacks", "Rollbacks recorded for a run", run);
        var restarts = f.CreateGauge("wesar_journal_run_restarts", "Restarts recorded for a run", run);
        var valLoss = f.CreateGauge("wesar_journal_run_val_loss", "A completed run's final validation loss", run);
        foreach (var sweep in await history.SweepIds())
        {
            var records = await history.Runs(sweep);
            foreach (var phase in Enum.GetValues<RunPhase>())
                runs.WithLabels(sweep.Value, phase.ToString().ToLowerInvariant()).Set(records.Count(r => r.State == phase));
            foreach (var r in records)
            {
                string[] labels = [r.Sweep, r.Run, r.Scheme];
                steps.WithLabels(labels).Set(r.Step);
                spikes.WithLabels(labels).Set(r.Spikes);
                rollbacks.WithLabels(labels).Set(r.Rollbacks);
                restarts.WithLabels(labels).Set(r.Restarts);
                if (r.ValLoss is { } v) valLoss.WithLabels(labels).Set(v);
            }
        }
        using var text = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(text);
        return Encoding.UTF8.GetString(text.ToArray());
    }
}
