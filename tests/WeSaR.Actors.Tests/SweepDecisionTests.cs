using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;
using WeSaR.Training.Spikes;

namespace WeSaR.Actors.Tests;

/// <summary>The coordinator's decisions as pure functions of the sweep state: no actor system.</summary>
public sealed class SweepDecisionTests
{
    static readonly SweepId S = new("s-1");
    static readonly RunId A = new("run-a"), B = new("run-b");
    static readonly DateTime Now = new(2026, 12, 2, 0, 0, 0, DateTimeKind.Utc);
    static readonly SweepDefinition Definition = new(S, "s", 2, [new RunSpec(A, "a", ""), new RunSpec(B, "b", "")]);

    static SweepState Started() => Fold(SweepState.Empty(S), SweepState.Empty(S).Start(Definition, Now));

    static SweepState Fold(SweepState s, IEnumerable<ISweepEvent> events) => events.Aggregate(s, (x, e) => x.Apply(e));

    static RunSummary Summary(long step, string? failure = null) => new("dir", step, 40, false, 2.5, 12.2, 1000, 0, 0, 1, 10, 2.4, "sha", failure);

    static readonly SpikeSignal Spike = new(30, "z-score", SpikeMetric.Loss, 9, 3, 0.5, 6);

    [Fact]
    public void A_new_sweep_starts_once_and_a_known_one_writes_nothing()
    {
        var start = Assert.Single(SweepState.Empty(S).Start(Definition, Now));
        Assert.Equal(new[] { A, B }, Assert.IsType<SweepStarted>(start).Runs.Select(r => r.Id));
        Assert.Empty(Started().Start(Definition, Now));
    }

    [Fact]
    public void Crashes_restart_while_the_budget_lasts_then_fail_the_run_at_its_resume_point()
    {
        var s = Fold(Started(), [new CheckpointCommitted(S, A, 20, "c20")]);
        for (var i = 1; i <= 2; i++)
        {
            var (events, giveUp, _) = s.Crash(new RunCrashed(A, "boom"), stopping: false);
            Assert.Null(giveUp);
            Assert.Equal(new RunRestarted(S, A, i, "boom"), Assert.Single(events));
            s = Fold(s, events);
        }
        var (last, why, _) = s.Crash(new RunCrashed(A, "boom"), stopping: false);
        Assert.Equal("gave up after 2 restart(s): boom", why);
        Assert.Equal(new RunFailed(S, A, 20, why!), Assert.Single(last));
    }

    [Fact]
    public void A_crash_while_the_sweep_stops_writes_nothing_so_a_resume_retries_the_run()
    {
        var (events, giveUp, _) = Started().Crash(new RunCrashed(A, "boom"), stopping: true);
        Assert.Empty(events);
        Assert.Equal("crashed while stopping: boom", giveUp);
    }

    [Fact]
    public void A_fault_of_the_machine_spends_no_restart_interrupts_every_unfinished_run_and_stops_the_sweep()
    {
        var s = Fold(Started(), [new CheckpointCommitted(S, A, 20, "c20"), new CheckpointCommitted(S, B, 10, "c10")]);
        var (events, giveUp, halt) = s.Crash(new RunCrashed(A, "IOException: No space left on device", "the disk is full"), stopping: false);
        Assert.Equal("not restarted: the disk is full", giveUp);
        Assert.Equal("the disk is full (run a: IOException: No space left on device)", halt);
        Assert.Equal([new RunInterrupted(S, A, 20, halt!), new RunInterrupted(S, B, 10, halt!)], events);
        Assert.Null(s.Crash(new RunCrashed(A, "IOException: No space left on device", "the disk is full"), stopping: true).Halt);

        // Interrupted is not an end: the sweep does not complete, and the next start makes the run running again.
        s = Fold(s, events);
        Assert.Equal((RunPhase.Interrupted, halt, 0), (s.Run(A)!.Phase, s.Run(A)!.Failure, s.Run(A)!.Restarts));
        Assert.Empty(s.Done(Now));
        s = Fold(s, [new RunAssigned(S, A, "n", "cpu-0", "cpu", 0)]);
        Assert.Equal((RunPhase.Running, null), (s.Run(A)!.Phase, s.Run(A)!.Failure));
    }

    [Fact]
    public void The_machine_s_faults_are_told_from_the_run_s_own()
    {
        Assert.Equal("the disk is full", WeSaR.Actors.Placement.EnvironmentFault.Of(new Exception("x", new IOException("No space left on device : '/x'", 28))));
        Assert.Equal("a folder is not writable", WeSaR.Actors.Placement.EnvironmentFault.Of(new UnauthorizedAccessException("denied")));
        Assert.Equal("a folder is not writable", WeSaR.Actors.Placement.EnvironmentFault.Of(new IOException("Read-only file system", 30)));
        Assert.Null(WeSaR.Actors.Placement.EnvironmentFault.Of(new InvalidOperationException("injected fault")));
        Assert.Null(WeSaR.Actors.Placement.EnvironmentFault.Of(new IOException("hash mismatch")));
    }

    [Fact]
    public void A_spike_and_its_decision_are_one_write_and_an_ended_run_records_nothing()
    {
        var rollback = Started().Spike(new RecordSpike(A, Spike, new SpikeDecision(new RollbackOrder(30, 20, 11, 0.5), null), "c20"));
        Assert.Collection(rollback, e => Assert.IsType<SpikeDetected>(e), e => Assert.Equal(new RolledBack(S, A, 30, 20, "c20", 11, 0.5), e));
        // The resume point after it says a rollback came between (the moments are reset again on a resume), until the next commit.
        var rolledBack = Fold(Started(), rollback);
        Assert.Equal(new ResumePoint(20, "c20", 11, 0.5, AfterRollback: true), rolledBack.Run(A)!.Resume);
        Assert.False(rolledBack.Apply(new CheckpointCommitted(S, A, 30, "c30")).Run(A)!.Resume.AfterRollback);
        var failed = Started().Spike(new RecordSpike(A, Spike, new SpikeDecision(null, "too many rollbacks"), null));
        Assert.Collection(failed, e => Assert.IsType<SpikeDetected>(e), e => Assert.Equal(new RunFailed(S, A, 30, "too many rollbacks"), e));

        var ended = Fold(Started(), failed);
        Assert.Empty(ended.Spike(new RecordSpike(A, Spike, new SpikeDecision(null, null), null)));
        Assert.Empty(ended.Record(new CheckpointCommitted(S, A, 40, "c40")));
        Assert.Empty(ended.Ended(new RunEnded(A, Summary(40))));
        Assert.Equal("run already ended", ended.Crash(new RunCrashed(A, "boom"), stopping: false).GiveUp);
    }

    [Fact]
    public void A_finished_loop_completes_its_run_with_the_journals_counts_and_a_stopped_one_does_not()
    {
        var s = Fold(Started(), Started().Spike(new RecordSpike(A, Spike, new SpikeDecision(new RollbackOrder(30, 20, 11, 1), null), "c20")));
        var done = Assert.IsType<RunCompleted>(Assert.Single(s.Ended(new RunEnded(A, Summary(40)))));
        Assert.Equal((40L, 1, 1, "sha"), (done.Metrics.Step, done.Metrics.Spikes, done.Metrics.Rollbacks, done.Metrics.ModelSha256));
        Assert.Empty(s.Ended(new RunEnded(A, Summary(25))));                    // stopped before its last step
        Assert.Empty(s.Ended(new RunEnded(A, Summary(40, "diverged"))));        // its failure was written with the decision
    }

    [Fact]
    public void Rejected_checkpoints_move_the_resume_point_back_without_spending_a_restart()
    {
        var s = Fold(Started(), [new CheckpointCommitted(S, A, 10, "c10"), new CheckpointCommitted(S, A, 20, "c20")]);
        var events = s.Reject(new RejectCheckpoints(A, [new RejectedCheckpoint(20, "hash mismatch")], new ResumePoint(10, "c10")));
        Assert.Equal(new CheckpointRejected(S, A, 20, "hash mismatch", 10, "c10"), Assert.Single(events));
        var after = Fold(s, events).Run(A)!;
        Assert.Equal((10L, "c10", 0), (after.Resume.Step, after.Resume.ManifestSha256, after.Restarts));
    }

    [Fact]
    public void A_retry_gives_failed_runs_a_new_attempt_and_budget_and_refuses_the_rest()
    {
        var s = Fold(Started(), [new CheckpointCommitted(S, A, 10, "c10"), new RunRestarted(S, A, 1, "boom"), new RunRestarted(S, A, 2, "boom"),
            new RunFailed(S, A, 10, "gave up"), new RunCompleted(S, B, new FinalMetrics(40, 2, 7, 2, 1, "m", 0, 0))]);
        s = Fold(s, s.Done(Now));
        Assert.Equal("run run-b (b) is completed, not failed or interrupted: it counts once", s.Retry(["run-b"], Now).Problem);
        Assert.StartsWith("no run 'run-' in sweep", s.Retry(["run-"], Now).Problem);   // a prefix naming two runs
        var (events, problem) = s.Retry(null, Now);
        Assert.Null(problem);
        Assert.Equal(new RunRetried(S, A, "gave up", Now), Assert.Single(events));
        Assert.Equal(events, s.Retry(["run-a"], Now).Events);

        s = Fold(s, events);
        var a = s.Run(A)!;
        Assert.Equal((SweepPhase.Running, RunPhase.Pending, 10L, 3, 2, 0), (s.Phase, a.Phase, a.Resume.Step, a.Attempt, a.Restarts, a.RestartsSpent));
        Assert.Null(s.Crash(new RunCrashed(A, "again"), stopping: false).GiveUp);   // the budget is whole again
        Assert.Equal("no failed run in sweep s-1", s.Retry(null, Now).Problem);
        Assert.Equal("run run-a (a) is pending, not failed or interrupted: `sweep resume` continues it", s.Retry(["run-a"], Now).Problem);
    }

    [Fact]
    public void An_interrupted_run_can_be_retried_by_name_with_a_fresh_budget()
    {
        var s = Fold(Started(), [new RunRestarted(S, A, 1, "boom"), new RunInterrupted(S, A, 0, "the disk is full")]);
        Assert.Equal("no failed run in sweep s-1", s.Retry(null, Now).Problem);   // --failed picks failed runs only
        var events = s.Retry(["run-a"], Now).Events;
        Assert.Equal(new RunRetried(S, A, "the disk is full", Now), Assert.Single(events));
        Assert.Equal((RunPhase.Pending, 0), (Fold(s, events).Run(A)!.Phase, Fold(s, events).Run(A)!.RestartsSpent));
    }

    [Fact]
    public void The_sweep_completes_once_every_run_has_ended()
    {
        var s = Fold(Started(), Started().Ended(new RunEnded(A, Summary(40))));
        Assert.Empty(s.Done(Now));
        s = Fold(s, [new RunFailed(S, B, 0, "gave up")]);
        Assert.Equal(new SweepCompleted(S, 1, 1, Now), Assert.Single(s.Done(Now)));
        Assert.Empty(Fold(s, s.Done(Now)).Done(Now));
    }
}
