using WeSaR.Actors.Persistence;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Tests;

/// <summary>Stability over hand-made journals whose figures are worked out by hand in the comments.</summary>
public sealed class StabilityTests
{
    static readonly SweepId S = new("s-1");
    static readonly RunId A = new("run-a"), B = new("run-b");
    static readonly DateTime T0 = new(2026, 12, 2, 0, 0, 0, DateTimeKind.Utc);

    static JournalEvent E(ISweepEvent e) => new(0, 0, T0, e);

    static JournalEvent Started(params RunId[] runs) => E(new SweepStarted(S, "s", [.. runs.Select(r => new RunSpec(r, r.Value, ""))], 3, T0));

    static JournalEvent Raised(RunId run, long step, string rule = "max-ratio") => E(new SpikeRiskRaised(S, run, step, rule, "h.0.attn.w_o", 0.38, 0.25));
    static JournalEvent Cleared(RunId run, long step) => E(new SpikeRiskCleared(S, run, step, "h.0.attn.w_o", 0.1));
    static JournalEvent Spike(RunId run, long step) => E(new SpikeDetected(S, run, step, "divergence", "loss", 9, 3, 0.5, 6));
    static JournalEvent Back(RunId run, long from, long to) => E(new RolledBack(S, run, from, to, $"c{to}", 2, 0.5));
    static JournalEvent Commit(RunId run, long step) => E(new CheckpointCommitted(S, run, step, $"c{step}"));
    static JournalEvent Assigned(RunId run) => E(new RunAssigned(S, run, "n", "cpu-0", "cpu", 0));
    static JournalEvent Completed(RunId run, long step) => E(new RunCompleted(S, run, new FinalMetrics(step, 2.5, 12, 2.4, 200, "sha", 2, 2)));

    // Run A: the risk at 3 warns of the divergence at 6, rolled back to the initialisation (which undoes the risk, but
    // it did warn); the replay raises at 4 and clears at 7, 8 steps before a spike at 15, rolled back to 10.
    static JournalEvent[] Warned(RunId run) =>
    [
        Assigned(run),
        Raised(run, 3),
        Commit(run, 5),
        Spike(run, 6),
        Back(run, 6, 0),        // 6 steps trained, 6 lost
        Raised(run, 4),
        Cleared(run, 7),
        Commit(run, 10),
        Spike(run, 15),
        Back(run, 15, 10),      // 15 more trained, 5 lost
        Completed(run, 20),     // 10 more: 31 in all
    ];

    // Run B: a risk at 2 cleared at 7 warns of a spike at 9 (2 steps after it cleared); the rollback to 5 restores the
    // risk as it stood at 5, raised, and the replay clears it at 8. A risk at 12 is rewound by a crash back to 10; the
    // replay raises at 13 and clears at 15 with no spike (a false alarm), and raises at 18, still raised as the run goes on.
    static JournalEvent[] Rewound(RunId run) =>
    [
        Assigned(run),
        Raised(run, 2),
        Commit(run, 5),
        Cleared(run, 7),
        Spike(run, 9),
        Back(run, 9, 5),        // 9 trained, 4 lost
        Cleared(run, 8),
        Commit(run, 10),        // 14
        Raised(run, 12),        // 16
        E(new RunRestarted(S, run, 1, "boom")),
        Raised(run, 13),        // 19
        Cleared(run, 15),       // 21
        Raised(run, 18),        // 24
        Commit(run, 20),        // 26
    ];

    [Fact]
    public void A_risk_warns_of_the_spikes_after_it_while_raised_and_a_rollback_that_rewinds_it_leaves_it_a_warning()
    {
        var run = Assert.Single(Stability.Of(S, [Started(A), .. Warned(A)]).Runs);
        Assert.Equal([new StabilitySpike(6, "divergence", "loss", 9, 6, 3, 3), new StabilitySpike(15, "divergence", "loss", 9, 6, 4, 11)], run.Spikes);
        Assert.Equal([new StabilityRisk(3, "max-ratio", "h.0.attn.w_o", 0.38, 0.25, null, 1, RiskOutcome.Warned),
            new StabilityRisk(4, "max-ratio", "h.0.attn.w_o", 0.38, 0.25, 7, 1, RiskOutcome.Warned)], run.Risks);
        Assert.Equal([new StabilityRollback(6, 0, 2, 0.5), new StabilityRollback(15, 10, 2, 0.5)], run.Rollbacks);
        Assert.Equal([6L, 5L], run.Rollbacks.Select(b => b.CostSteps));
        Assert.Equal(new StabilityFigures(31, 2, 2, 7, 11, 2, 0, 0, 2, 11, 5.5, 6), run.Figures);
        Assert.Equal(RunPhase.Completed, run.State);
    }

    [Fact]
    public void A_rollback_restores_the_risk_of_its_checkpoint_and_a_crash_rewinds_a_risk_raised_since_it()
    {
        var run = Assert.Single(Stability.Of(S, [Started(B), .. Rewound(B)]).Runs);
        Assert.Equal([new StabilitySpike(9, "divergence", "loss", 9, 6, 2, 7)], run.Spikes);
        Assert.Equal([(2L, (long?)8, 1, RiskOutcome.Warned), (12, null, 0, RiskOutcome.Rewound), (13, 15, 0, RiskOutcome.FalseAlarm), (18, null, 0, RiskOutcome.Open)],
            run.Risks.Select(r => (r.RaisedAt, r.ClearedAt, r.Spikes, r.Outcome)));
        Assert.Equal(new StabilityFigures(26, 1, 1, 7, 7, 4, 1, 1000.0 / 26, 1, 4, 4, 4), run.Figures);
    }

    [Fact]
    public void A_spike_within_the_window_after_a_clearing_was_warned_one_at_its_end_was_not_and_an_ended_run_leaves_no_risk_open()
    {
        JournalEvent[] events =
        [
            Started(A),
            Assigned(A),
            Raised(A, 2, "spread"),
            Cleared(A, 4),
            Spike(A, 4 + Stability.ClearWindow - 1),   // 13: warned, 11 steps ahead
            Spike(A, 4 + Stability.ClearWindow),       // 14: not
            Commit(A, 15),
            Raised(A, 16),
            Assigned(A),              // the process died: back to 15, the risk at 16 rewound (16 trained)
            Raised(A, 20),
            Cleared(A, 22),           // a false alarm
            Raised(A, 25),            // raised when the run ends: a false alarm too
            Completed(A, 30),         // 15 more: 31
        ];
        var run = Assert.Single(Stability.Of(S, events).Runs);
        Assert.Equal([(13L, (long?)2, (long?)11, true), (14, null, null, false)], run.Spikes.Select(s => (s.Step, s.RiskRaisedAt, s.LeadSteps, s.Warned)));
        Assert.Equal([RiskOutcome.Warned, RiskOutcome.Rewound, RiskOutcome.FalseAlarm, RiskOutcome.FalseAlarm], run.Risks.Select(r => r.Outcome));
        Assert.Equal("spread", run.Risks[0].Rule);
        Assert.Equal(new StabilityFigures(31, 2, 1, 11, 11, 4, 2, 2000.0 / 31, 0, 0, null, null), run.Figures);
    }

    [Fact]
    public void A_sweep_sums_its_runs_spikes_risks_and_rollbacks()
    {
        var events = Warned(A).Zip(Rewound(B).Take(Warned(A).Length), (a, b) => new[] { a, b }).SelectMany(p => p)
            .Concat(Rewound(B).Skip(Warned(A).Length)).Prepend(Started(A, B)).ToList();
        var s = Stability.Of(S, events);
        Assert.Equal(["run-a", "run-b"], s.Runs.Select(r => r.Run));
        Assert.Equal(new StabilityFigures(31, 2, 2, 7, 11, 2, 0, 0, 2, 11, 5.5, 6), s.Runs[0].Figures);
        Assert.Equal(new StabilityFigures(26, 1, 1, 7, 7, 4, 1, 1000.0 / 26, 1, 4, 4, 4), s.Runs[1].Figures);
        // Leads 3, 11 and 7; rollbacks of 6, 5 and 4 steps; one false alarm in 57 steps.
        Assert.Equal(new StabilityFigures(57, 3, 3, 7, 11, 6, 1, 1000.0 / 57, 3, 15, 5, 6), s.AllRuns);
        Assert.Equal((Stability.ClearWindow, "s"), (s.ClearWindowSteps, s.Name));
    }

    [Fact]
    public void A_sweep_without_risks_or_spikes_has_no_leads_and_no_false_alarms()
    {
        var run = Assert.Single(Stability.Of(S, [Started(A), Assigned(A), Commit(A, 10), Completed(A, 12)]).Runs);
        Assert.Equal(new StabilityFigures(12, 0, 0, null, null, 0, 0, 0, 0, 0, null, null), run.Figures);
        Assert.Equal(new StabilityFigures(0, 0, 0, null, null, 0, 0, null, 0, 0, null, null), Stability.Of(S, []).AllRuns);
    }

    [Fact]
    public void Replayed_spikes_count_by_verdict_and_a_transient_fault_is_no_spike_and_costs_no_rollback()
    {
        // A transient fault at 8 (its replay did not spike); at 15 a spike its replay repeated, then rolled back to 10.
        var run = Assert.Single(Stability.Of(S,
        [
            Started(A), Assigned(A), Commit(A, 5),
            E(new SpikeClassified(S, A, 8, "transient", "z-score", "loss", 140, 2.6, false)),
            Commit(A, 10),
            E(new SpikeClassified(S, A, 15, "reproducible", "z-score", "loss", 9, 9, true)),
            Spike(A, 15), Back(A, 15, 10), Spike(A, 17), Completed(A, 20),
        ]).Runs);
        Assert.Equal(["reproducible", null], run.Spikes.Select(x => x.Verdict));
        Assert.Equal([new StabilityTransient(8, "z-score", "loss", 140, 2.6)], run.Transients);
        // 15 trained, 5 lost, 10 more: 25; two spikes, one reproduced, one transient fault, one rollback of 5 steps.
        Assert.Equal(new StabilityFigures(25, 2, 0, null, null, 0, 0, 0, 1, 5, 5, 5, 1, 1), run.Figures);
    }
}
