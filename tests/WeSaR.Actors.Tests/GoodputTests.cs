using WeSaR.Actors.Persistence;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;

namespace WeSaR.Actors.Tests;

/// <summary>Goodput over hand-made journals whose figures are worked out by hand in the comments.</summary>
public sealed class GoodputTests
{
    static readonly SweepId S = new("s-1");
    static readonly RunId A = new("run-a"), B = new("run-b");
    static readonly DateTime T0 = new(2026, 12, 2, 0, 0, 0, DateTimeKind.Utc);
    const double Tolerance = 1e-9;

    static JournalEvent At(double seconds, ISweepEvent e) => new(0, 0, T0.AddSeconds(seconds), e);

    static JournalEvent Started(params RunId[] runs) => At(0, new SweepStarted(S, "s", [.. runs.Select(r => new RunSpec(r, r.Value, ""))], 3, T0));

    // Half a second per optimizer step: 100 tokens a step at 200 tokens/s.
    static IReadOnlyList<MetricsLine> HalfSecondSteps(int steps) =>
        [.. Enumerable.Range(1, steps).Select(s => new MetricsLine(s, 3.0, 1.0, 1e-3, 100L * s, 200, 100))];

    static void Equal(GoodputFigures expected, GoodputFigures actual)
    {
        Assert.Equal(expected.RedoneSteps, actual.RedoneSteps);
        foreach (var (e, a) in new[]
                 {
                     (expected.TotalSeconds, actual.TotalSeconds), (expected.UsefulSeconds, actual.UsefulSeconds), (expected.RedoneSeconds, actual.RedoneSeconds),
                     (expected.CheckpointSeconds, actual.CheckpointSeconds), (expected.RecoverySeconds, actual.RecoverySeconds),
                     (expected.StartupSeconds, actual.StartupSeconds), (expected.WaitingSeconds, actual.WaitingSeconds),
                 })
            Assert.Equal(e, a, Tolerance);
        var parts = actual.UsefulSeconds + actual.RedoneSeconds + actual.CheckpointSeconds + actual.RecoverySeconds + actual.StartupSeconds + actual.WaitingSeconds;
        Assert.Equal(actual.TotalSeconds, parts, Tolerance);
    }

    // Run A: a spike at 26 rolled back to 20, then a crash after the commit at 30 restarted from 30.
    static readonly JournalEvent[] RollbackAndCrash =
    [
        Started(A),
        At(2, new RunAssigned(S, A, "n", "cpu-0", "cpu", 0)),     // waiting 2
        At(10, new CheckpointCommitted(S, A, 10, "c10")),          // 8 s: 10 steps (5 s), startup 3
        At(17, new CheckpointCommitted(S, A, 20, "c20")),          // 7 s: 10 steps (5 s), checkpoint 2
        At(21, new SpikeDetected(S, A, 26, "z-score", "loss", 9, 3, 0.5, 6)),   // 4 s, all of it redone by the rollback
        At(21, new RolledBack(S, A, 26, 20, "c20", 6, 1)),          // 6 steps redone
        At(28, new CheckpointCommitted(S, A, 30, "c30")),          // 7 s: 10 steps (5 s), checkpoint 2
        At(30, new RunRestarted(S, A, 1, "boom")),                 // 2 s since the commit: redone
        At(36, new CheckpointCommitted(S, A, 40, "c40")),          // 6 s: 10 steps (5 s), recovery 1
        At(37, new RunCompleted(S, A, new FinalMetrics(40, 2.5, 12, 2.4, 200, "sha", 1, 1))),   // 1 s useful
        At(38, new SweepCompleted(S, 1, 0, T0.AddSeconds(38))),
    ];

    [Fact]
    public void A_rollback_and_a_crash_are_redone_time_and_the_restart_until_it_steps_again_is_recovery()
    {
        var g = Goodput.Of(S, RollbackAndCrash, new Dictionary<RunId, IReadOnlyList<MetricsLine>> { [A] = HalfSecondSteps(40) });
        var run = Assert.Single(g.Runs);
        Assert.Equal((1, 1, 0, RunPhase.Completed), (run.Rollbacks, run.Restarts, run.Resumes, run.State));
        // Useful: 5 + 5 + 5 + 5 + 1; redone: 4 (since the commit at 20) + 2 (since the commit at 30).
        Equal(new GoodputFigures(37, 21, 6, 6, 4, 1, 3, 2), run.Figures);
        Assert.Equal(21.0 / 37, run.Figures.Ratio!.Value, Tolerance);
        Assert.Equal(38, g.WallSeconds, Tolerance);
        Equal(run.Figures, g.AllRuns);
    }

    [Fact]
    public void Without_metrics_the_journal_alone_still_gives_the_lost_time_and_the_rest_counts_as_steps()
    {
        var run = Assert.Single(Goodput.Of(S, RollbackAndCrash, new Dictionary<RunId, IReadOnlyList<MetricsLine>>()).Runs);
        Equal(new GoodputFigures(37, 29, 6, 6, 0, 0, 0, 2), run.Figures);
    }

    // Run B: the process dies after a spike at 18 (no record of it) and `sweep resume` places the run again from its commit at 10.
    static readonly JournalEvent[] KilledAndResumed =
    [
        Started(B),
        At(1, new RunAssigned(S, B, "n", "cpu-0", "cpu", 0)),      // waiting 1
        At(8, new CheckpointCommitted(S, B, 10, "c10")),           // 7 s: 10 steps (5 s), startup 2
        At(13, new SpikeDetected(S, B, 18, "z-score", "loss", 9, 3, 0.5, 6)),  // 5 s, lost with the process: 8 steps redone
        At(50, new RunAssigned(S, B, "n", "cpu-0", "cpu", 0)),     // 37 s from the last record to the new placement: recovery
        At(58, new CheckpointCommitted(S, B, 20, "c20")),          // 8 s: 10 steps (5 s), recovery 3
        At(58.5, new RunCompleted(S, B, new FinalMetrics(20, 2.5, 12, 2.4, 200, "sha", 1, 0))),   // 0.5 s useful
    ];

    [Fact]
    public void A_process_that_died_loses_its_work_since_the_commit_and_the_time_until_it_is_placed_again()
    {
        var run = Assert.Single(Goodput.Of(S, KilledAndResumed, new Dictionary<RunId, IReadOnlyList<MetricsLine>> { [B] = HalfSecondSteps(20) }).Runs);
        Assert.Equal((0, 0, 1), (run.Rollbacks, run.Restarts, run.Resumes));
        Equal(new GoodputFigures(58.5, 10.5, 5, 8, 0, 40, 2, 1), run.Figures);
    }

    [Fact]
    public void A_failed_run_waits_until_its_retry_is_placed_and_redoes_what_it_did_past_its_commit()
    {
        JournalEvent[] events =
        [
            Started(A),
            At(0, new RunAssigned(S, A, "n", "cpu-0", "cpu", 0)),
            At(5, new CheckpointCommitted(S, A, 10, "c10")),       // 5 s: 10 steps (5 s), no startup
            At(7, new SpikeDetected(S, A, 14, "z-score", "loss", 9, 3, 0.5, 6)),   // 2 s, redone after the retry (4 steps)
            At(7, new RunFailed(S, A, 14, "diverged")),
            At(20, new RunRetried(S, A, "diverged", T0.AddSeconds(20))),
            At(30, new RunAssigned(S, A, "n", "cpu-0", "cpu", 1)),  // 23 s failed or queued: waiting
            At(34, new CheckpointCommitted(S, A, 20, "c20")),      // 4 s for 10 steps of 5 s: no recovery left, all useful
            At(35, new RunCompleted(S, A, new FinalMetrics(20, 2.5, 12, 2.4, 200, "sha", 1, 0))),
        ];
        var run = Assert.Single(Goodput.Of(S, events, new Dictionary<RunId, IReadOnlyList<MetricsLine>> { [A] = HalfSecondSteps(20) }).Runs);
        Equal(new GoodputFigures(35, 10, 2, 4, 0, 0, 0, 23), run.Figures);
    }

    [Fact]
    public void A_sweep_sums_its_runs_and_its_wall_time_runs_from_its_first_event_to_its_last()
    {
        // Both runs' journals in one sweep, in time order; each keeps its own figures.
        var events = RollbackAndCrash.Skip(1).SkipLast(1).Concat(KilledAndResumed.Skip(1)).OrderBy(e => e.AtUtc).Prepend(Started(A, B)).ToList();
        var g = Goodput.Of(S, events, new Dictionary<RunId, IReadOnlyList<MetricsLine>> { [A] = HalfSecondSteps(40), [B] = HalfSecondSteps(20) });
        Equal(new GoodputFigures(37, 21, 6, 6, 4, 1, 3, 2), g.Runs.Single(r => r.Run == A.Value).Figures);
        Equal(new GoodputFigures(58.5, 10.5, 5, 8, 0, 40, 2, 1), g.Runs.Single(r => r.Run == B.Value).Figures);
        Equal(new GoodputFigures(95.5, 31.5, 11, 14, 4, 41, 5, 3), g.AllRuns);
        Assert.Equal(31.5 / 95.5, g.AllRuns.Ratio!.Value, Tolerance);
        Assert.Equal(58.5, g.WallSeconds, Tolerance);
    }

    [Fact]
    public void An_unfinished_run_counts_up_to_the_sweeps_last_event()
    {
        JournalEvent[] events =
        [
            Started(A, B),
            At(1, new RunAssigned(S, A, "n", "cpu-0", "cpu", 0)),
            At(6, new CheckpointCommitted(S, A, 10, "c10")),       // startup 0, 5 s of steps
            At(9, new RunRestarted(S, A, 1, "boom")),              // 3 s redone
            At(12, new RunAssigned(S, B, "n", "cpu-0", "cpu", 0)),  // B: waiting 12, then starting until the last event
            At(15, new CheckpointCommitted(S, B, 2, "b2")),        // B: 3 s: 2 steps (1 s), startup 2
        ];
        var g = Goodput.Of(S, events, new Dictionary<RunId, IReadOnlyList<MetricsLine>> { [A] = HalfSecondSteps(10), [B] = HalfSecondSteps(2) });
        Equal(new GoodputFigures(15, 5, 3, 0, 0, 6, 0, 1), g.Runs.Single(r => r.Run == A.Value).Figures);   // restarting since 9: recovery 6
        Equal(new GoodputFigures(15, 1, 0, 0, 0, 0, 2, 12), g.Runs.Single(r => r.Run == B.Value).Figures);
    }
}
