using WeSaR.Model.Checkpoints;
using WeSaR.Training.Config;
using WeSaR.Training.Data;
using WeSaR.Training.Loop;
using WeSaR.Training.Spikes;
using WeSaR.TestSupport;

namespace WeSaR.Training.Tests;

public sealed class RollbackTests : IDisposable
{
    readonly TempDir dir = TestEnv.NewTempDir();

    public void Dispose() => dir.Dispose();

    static SpikeSignal Spike(long step) => new(step, "z-score", SpikeMetric.Loss, 9, 2, 0.1, 2.6);

    static RollbackSettings On(long margin = 0, bool skip = true, double scale = 1.0, int max = 3) => new(true, margin, skip, scale, max);

    [Fact]
    public void The_policy_goes_back_to_the_newest_checkpoint_before_the_margin_and_skips_the_batches_up_to_the_spike()
    {
        long[] kept = [10, 20, 30];
        Assert.Equal(new RollbackOrder(31, 30, 1, 1.0), RollbackPolicy.Decide(Spike(31), kept, 0, On()).Rollback);
        Assert.Equal(new RollbackOrder(31, 20, 11, 0.5), RollbackPolicy.Decide(Spike(31), kept, 0, On(margin: 5, scale: 0.5)).Rollback);
        Assert.Equal(new RollbackOrder(31, 30, 0, 1.0), RollbackPolicy.Decide(Spike(31), kept, 0, On(skip: false)).Rollback);
        // Nothing old enough is kept: back to the initialisation, skipping everything seen so far.
        Assert.Equal(new RollbackOrder(8, 0, 8, 1.0), RollbackPolicy.Decide(Spike(8), kept, 0, On()).Rollback);
        Assert.Equal(SpikeDecision.Continue, RollbackPolicy.Decide(Spike(31), kept, 0, On() with { Enabled = false }));
        var gaveUp = RollbackPolicy.Decide(Spike(31), kept, 3, On(max: 3));
        Assert.Null(gaveUp.Rollback);
        Assert.Contains("after 3 rollback(s)", gaveUp.Failure);
    }

    [Fact]
    public void A_divergence_rolls_back_with_a_lower_learning_rate_and_ends_as_diverged()
    {
        var divergence = new SpikeSignal(31, DivergenceDetector.Rule, SpikeMetric.Loss, 7.5, 5.0, double.NaN, 6.25);
        var settings = On(scale: 0.8) with { DivergenceLrScale = 0.5 };
        Assert.Equal(new RollbackOrder(31, 30, 1, 0.4), RollbackPolicy.Decide(divergence, [10, 20, 30], 0, settings).Rollback);
        Assert.Equal(0.8, RollbackPolicy.Decide(Spike(31), [10, 20, 30], 0, settings).Rollback!.LrScale);
        Assert.StartsWith("diverged:", RollbackPolicy.Decide(divergence, [10, 20, 30], 3, settings).Failure);
        // A divergence dated from step 12 goes back past the checkpoints written since, which hold it already.
        Assert.Equal(new RollbackOrder(31, 10, 21, 0.4), RollbackPolicy.Decide(divergence with { Since = 12 }, [10, 20, 30], 0, settings).Rollback);
    }

    TrainSettings Settings(string runDir, params string[] extra) => TrainSettings.Load(TestEnv.TinyPreset, [
        $"data.path={TestEnv.Corpus}", $"run.dir={runDir}", "model.n-layer=2", "model.d-model=64", "model.block-size=32",
        "train.batch-size=4", "train.steps=40", "train.eval-interval=0", "train.eval-batches=2", "train.measure-interval=0",
        "optim.warmup-steps=5", "run.threads=1", "checkpoint.interval=10", "spike.z-score.window=16", "spike.z-score.warmup=16", .. extra]);

    sealed class Recorder : IRunObserver
    {
        public readonly List<SpikeSignal> Spikes = [];
        public readonly List<RollbackOrder> Rollbacks = [];
        public readonly List<SpikeVerdict> Verdicts = [];
        public readonly List<string> Messages = [];
        public void Spiked(SpikeSignal s) => Spikes.Add(s);
        public void RolledBack(RollbackOrder o) => Rollbacks.Add(o);
        public void Classified(SpikeVerdict v) => Verdicts.Add(v);
        public void Message(string text) => Messages.Add(text);
    }

    RunSummary Train(TrainSettings s, Recorder observer)
    {
        using var data = DataSource.Open(s.Data, dir.Path);
        return new TrainingRun(s, s.Run.Dir).Execute(data, ResumePoint.Fresh, new LocalRunControl(s.Spike), observer, CancellationToken.None);
    }

    [Fact]
    public void The_plain_loop_undoes_a_poisoned_batch_and_goes_on_at_the_scaled_learning_rate()
    {
        var poisoned = new Recorder();
        var a = Train(Settings(Path.Combine(dir.Path, "poisoned"), "faults.poison-batches=[25]", "spike.rollback.lr-scale=0.5"), poisoned);
        Assert.True(a.Finished, a.Failure);
        Assert.Equal(26, Assert.Single(poisoned.Spikes).Step);
        Assert.Equal(new RollbackOrder(26, 20, 6, 0.5), Assert.Single(poisoned.Rollbacks));
        var metrics = MetricsLog.Read(Path.Combine(a.RunDir, MetricsLog.FileName));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), metrics.Select(m => m.Step));
        Assert.All(metrics, m => Assert.True(m.Loss < 10, $"step {m.Step}: {m.Loss}"));
        Assert.Equal(metrics.Single(m => m.Step == 21).Lr * 2, LrSchedule.At(20, 3e-3, 5, 40, 0.1), 12);   // halved after the rollback
    }

    [Fact]
    public void With_reset_moments_a_rollback_warms_the_rate_up_again_and_a_resume_after_it_does_the_same()
    {
        string[] spam = ["faults.poison-batches=[25]", "spike.rollback.reset-moments=on", "spike.rollback.rewarmup-steps=4"];
        var live = Train(Settings(Path.Combine(dir.Path, "live"), spam), new Recorder());
        Assert.True(live.Finished, live.Failure);
        Assert.Equal(1, live.Rollbacks);
        var metrics = MetricsLog.Read(Path.Combine(live.RunDir, MetricsLog.FileName)).ToDictionary(m => m.Step);
        // Back at step 20: the step to 21 runs at a quarter of the schedule, the step to 24 at all of it.
        for (var k = 21; k <= 25; k++)
            Assert.Equal(LrSchedule.At(k - 1, 3e-3, 5, 40, 0.1) * Math.Min(1.0, (k - 20) / 4.0), metrics[k].Lr, 12);

        // A run stopped at step 20 and resumed from the rollback's resume point (as the orchestrator resumes one that
        // crashed right after its rollback) ends with the live run's weights.
        var s = Settings(Path.Combine(dir.Path, "resumed"), [.. spam, "train.stop-at=20"]);
        using (var data = DataSource.Open(s.Data, dir.Path))
            Assert.Equal(20, new TrainingRun(s, s.Run.Dir).Execute(data, ResumePoint.Fresh, new LocalRunControl(s.Spike), new Recorder(), CancellationToken.None).Step);
        var rest = Settings(Path.Combine(dir.Path, "resumed"), spam);
        using var again = DataSource.Open(rest.Data, dir.Path);
        var resumed = new TrainingRun(rest, rest.Run.Dir).Execute(again, new ResumePoint(20, SkipBatches: 6, AfterRollback: true),
            new LocalRunControl(rest.Spike), new Recorder(), CancellationToken.None);
        Assert.Equal(0, resumed.Rollbacks);
        Assert.Equal(live.ModelSha256, resumed.ModelSha256);
    }

    [Fact]
    public void A_transient_fault_is_replayed_away_without_a_rollback_and_the_run_ends_with_a_clean_runs_weights()
    {
        var clean = Train(Settings(Path.Combine(dir.Path, "clean")), new Recorder());
        // The loss of step 26's first run only is multiplied by 50, as a flipped bit would do it.
        var replayed = new Recorder();
        var r = Train(Settings(Path.Combine(dir.Path, "replayed"), "faults.transient-steps=[26]", "spike.replay=on"), replayed);
        Assert.True(r.Finished, r.Failure);
        var v = Assert.Single(replayed.Verdicts);
        Assert.True(v.Transient);
        Assert.Equal((26L, false), (v.Spike.Step, v.Identical));
        Assert.True(v.Loss > 20 * v.ReplayLoss, $"{v.Loss} then {v.ReplayLoss}");
        Assert.Empty(replayed.Spikes);
        Assert.Equal(0, r.Rollbacks);
        Assert.Equal(clean.ModelSha256, r.ModelSha256);
        var metrics = MetricsLog.Read(Path.Combine(r.RunDir, MetricsLog.FileName));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), metrics.Select(m => m.Step));

        // Without the replay the same fault costs a rollback and the data it skips.
        var unjudged = new Recorder();
        var u = Train(Settings(Path.Combine(dir.Path, "unjudged"), "faults.transient-steps=[26]"), unjudged);
        Assert.Equal(new RollbackOrder(26, 20, 6, 1.0), Assert.Single(unjudged.Rollbacks));
        Assert.NotEqual(clean.ModelSha256, u.ModelSha256);
    }

    [Fact]
    public void A_poisoned_batch_repeats_bit_for_bit_when_replayed_and_is_rolled_back_from_memory_as_from_disk()
    {
        var fromDisk = new Recorder();
        var disk = Train(Settings(Path.Combine(dir.Path, "disk"), "faults.poison-batches=[25]", "checkpoint.memory=0"), fromDisk);
        Assert.Contains("step 20 restored from disk", string.Join("\n", fromDisk.Messages));

        var replayed = new Recorder();
        var r = Train(Settings(Path.Combine(dir.Path, "replayed"), "faults.poison-batches=[25]", "spike.replay=on", "checkpoint.memory=2"), replayed);
        var v = Assert.Single(replayed.Verdicts);
        Assert.False(v.Transient);
        Assert.True(v.Identical, $"{v.Loss} then {v.ReplayLoss}");
        Assert.Equal(new RollbackOrder(26, 20, 6, 1.0), Assert.Single(replayed.Rollbacks));
        Assert.Contains("step 20 restored from memory", string.Join("\n", replayed.Messages));
        Assert.Equal(disk.ModelSha256, r.ModelSha256);
    }

    [Fact]
    public void Spikes_beyond_the_rollback_budget_fail_the_run_with_the_reason()
    {
        // Without skipping, the same poisoned batch comes back after every rollback.
        var r = Train(Settings(Path.Combine(dir.Path, "stubborn"), "faults.poison-batches=[25]", "spike.rollback.skip-data=off", "spike.rollback.max=2"), new Recorder());
        Assert.False(r.Finished);
        Assert.Equal(2, r.Rollbacks);
        Assert.Contains("spike.rollback.max is 2", r.Failure);
    }

    [Fact]
    public void Fault_settings_are_parsed_and_bad_pause_points_reported()
    {
        var s = Settings(Path.Combine(dir.Path, "f"), "faults.pauses=[\"rollback@7\", \"checkpoint-write@20\"]", "faults.poison-batches=[3, 5]");
        Assert.True(s.Faults.PausesAt(PausePoint.Rollback, 7));
        Assert.True(s.Faults.PausesAt(PausePoint.CheckpointWrite, 20));
        Assert.False(s.Faults.PausesAt(PausePoint.Rollback, 20));
        Assert.Equal([3L, 5L], s.Faults.PoisonBatches.Order());
        var e = Assert.Throws<ConfigException>(() => Settings("x", "faults.pauses=[\"somewhere@3\"]"));
        Assert.Contains(e.Problems, p => p.Contains("faults.pauses"));
    }
}
