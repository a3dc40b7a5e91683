using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;
using WeSaR.TestSupport;

namespace WeSaR.Actors.Tests;

/// <summary>Whole sweeps of real training in-process: slots, trainers, monitors and a real SQLite journal.</summary>
public sealed class OrchestrationTests : IDisposable
{
    readonly TempDir dir = TestEnv.NewTempDir();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        dir.Dispose();
    }

    string Work => Path.Combine(dir.Path, "work");

    [Fact]
    public async Task An_injected_spike_is_detected_rolled_back_skipped_and_the_run_completes()
    {
        // Batch 30 is poisoned: step 31 trains on it. margin = 5 sends the run back to the newest checkpoint at or before 25.
        var file = SweepHarness.Write(dir.Path, "spike", "faults { poison-batches = [30], poison-scale = 50 }");
        var (state, events) = await SweepHarness.Run(Work, file);

        var run = state.Runs.Single();
        Assert.Equal(RunPhase.Completed, run.Phase);
        var spike = Assert.Single(events.OfType<SpikeDetected>());
        Assert.Equal(31, spike.Step);
        Assert.Equal("z-score", spike.Rule);
        Assert.True(spike.Value > spike.Threshold && spike.Value > 20 * spike.Mean, $"{spike}");
        var rollback = Assert.Single(events.OfType<RolledBack>());
        Assert.Equal((31L, 20L, 11L, 1.0), (rollback.FromStep, rollback.ToStep, rollback.SkipBatches, rollback.LrScale));
        Assert.Equal(events.IndexOf(spike) + 1, events.IndexOf(rollback));
        Assert.NotNull(rollback.ToManifestSha256);
        Assert.Equal(rollback.ToManifestSha256, events.OfType<CheckpointCommitted>().Single(c => c.Step == 20).ManifestSha256);

        // The step-30 checkpoint was taken again on the new history, which skipped the poisoned batch.
        var thirty = events.OfType<CheckpointCommitted>().Where(c => c.Step == 30).ToList();
        Assert.Equal(2, thirty.Count);
        Assert.NotEqual(thirty[0].ManifestSha256, thirty[1].ManifestSha256);

        var metrics = MetricsLog.Read(Path.Combine(run.Spec.Dir(Work, state.Id), MetricsLog.FileName));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), metrics.Select(m => m.Step));
        Assert.All(metrics, m => Assert.True(m.Loss < 10, $"step {m.Step}: loss {m.Loss}"));
        Assert.Equal((1, 1), (run.Result!.Spikes, run.Result.Rollbacks));
        Assert.IsType<SweepCompleted>(events[^1]);
    }

    [Fact]
    public async Task A_crashing_trainer_restarts_from_its_checkpoint_and_ends_bit_for_bit_where_a_clean_run_ends()
    {
        var clean = await SweepHarness.Run(Work, SweepHarness.Write(dir.Path, "clean"));
        var flaky = await SweepHarness.Run(Work, SweepHarness.Write(dir.Path, "flaky", "faults { throw-at-step = 25, throw-attempts = 1 }"));

        var restart = Assert.Single(flaky.Events.OfType<RunRestarted>());
        Assert.Equal(1, restart.Attempt);
        Assert.Contains("InjectedFault: injected fault at step 25", restart.Reason);
        var (a, b) = (clean.State.Runs.Single(), flaky.State.Runs.Single());
        Assert.Equal(RunPhase.Completed, b.Phase);
        Assert.Equal(1, b.Restarts);
        Assert.NotNull(a.Result!.ModelSha256);
        Assert.Equal(a.Result.ModelSha256, b.Result!.ModelSha256);
        Assert.Equal(a.Result.ValLoss, b.Result.ValLoss);
        Assert.Equal(a.Result.LastLoss, b.Result.LastLoss);
    }

    [Fact]
    public async Task A_trainer_that_keeps_crashing_is_failed_with_its_reason_after_the_restart_budget()
    {
        var (state, events) = await SweepHarness.Run(Work, SweepHarness.Write(dir.Path, "broken", "faults { throw-at-step = 15, throw-attempts = 100 }"));

        Assert.Equal([1, 2], events.OfType<RunRestarted>().Select(r => r.Attempt));
        var failed = Assert.Single(events.OfType<RunFailed>());
        Assert.Contains("gave up after 2 restart(s)", failed.Reason);
        Assert.Contains("injected fault at step 15", failed.Reason);
        Assert.Equal(10, failed.Step);   // the last committed checkpoint
        Assert.Equal(RunPhase.Failed, state.Runs.Single().Phase);
        var done = Assert.IsType<SweepCompleted>(events[^1]);
        Assert.Equal((0, 1), (done.Completed, done.Failed));
    }
}
