using System.Text.Json.Serialization;
using WeSaR.Actors.Persistence;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Queries;

/// <summary>
/// One <c>SpikeDetected</c> event (a spike at a step that recurs after a rollback is a row each time). <c>RiskRaisedAt</c>:
/// the step of the risk that warned of it (null: none did), <c>LeadSteps</c> how many steps before the spike that was.
/// <c>Verdict</c>: "reproducible" when its step was replayed (spike.replay) and spiked again; null when not replayed.
/// </summary>
public sealed record StabilitySpike(long Step, string Rule, string Metric, double Value, double Threshold, long? RiskRaisedAt, long? LeadSteps,
    string? Verdict = null)
{
    public bool Warned => RiskRaisedAt is not null;
}

/// <summary>A spike whose replay did not spike (<c>SpikeClassified</c> "transient"): a fault of the moment, redone without a rollback.</summary>
public sealed record StabilityTransient(long Step, string Rule, string Metric, double Loss, double ReplayLoss);

/// <summary>What became of a raised risk.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RiskOutcome>))]
public enum RiskOutcome
{
    /// <summary>Still raised, the run not ended.</summary>
    [JsonStringEnumMemberName("open")] Open,
    /// <summary>It warned of at least one spike.</summary>
    [JsonStringEnumMemberName("warned")] Warned,
    /// <summary>It cleared, or the run ended, with no spike after it.</summary>
    [JsonStringEnumMemberName("false-alarm")] FalseAlarm,
    /// <summary>A rollback or restart went back before it while it was raised, with no spike yet: the replay decides again.</summary>
    [JsonStringEnumMemberName("rewound")] Rewound,
}

/// <summary>One <c>SpikeRiskRaised</c> event and what followed it: its clearing (null: none in the live history), the spikes it warned of.</summary>
public sealed record StabilityRisk(long RaisedAt, string Rule, string Matrix, double Value, double Threshold, long? ClearedAt, int Spikes, RiskOutcome Outcome);

/// <summary>One <c>RolledBack</c> event; its cost is the steps it threw away.</summary>
public sealed record StabilityRollback(long FromStep, long ToStep, long SkipBatches, double LrScale)
{
    public long CostSteps => FromStep - ToStep;
}

/// <summary>
/// A run's (or the sweep's) stability in numbers. <c>StepsTrained</c>: the optimizer steps the journal saw the run take,
/// those done again after a rollback or a restart counted again; false alarms are per 1,000 of them. <c>Reproduced</c>:
/// spikes whose replay spiked again; <c>Transient</c>: spikes whose replay did not (not among <c>Spikes</c>).
/// </summary>
public sealed record StabilityFigures(long StepsTrained, int Spikes, int Warned, double? MeanLeadSteps, long? MaxLeadSteps, int Risks, int FalseAlarms,
    [property: JsonPropertyName("false_alarms_per_1000_steps")] double? FalseAlarmsPer1000Steps, int Rollbacks, long RollbackSteps, double? MeanRollbackSteps, long? MaxRollbackSteps,
    int Reproduced = 0, int Transient = 0)
{
    public static StabilityFigures Of(long trained, IReadOnlyList<StabilitySpike> spikes, IReadOnlyList<StabilityRisk> risks, IReadOnlyList<StabilityRollback> rollbacks,
        IReadOnlyList<StabilityTransient> transients)
    {
        var leads = spikes.Where(s => s.LeadSteps is not null).Select(s => s.LeadSteps!.Value).ToList();
        var costs = rollbacks.Select(b => b.CostSteps).ToList();
        var falseAlarms = risks.Count(r => r.Outcome == RiskOutcome.FalseAlarm);
        return new StabilityFigures(trained, spikes.Count, leads.Count, leads.Count > 0 ? leads.Average() : null, leads.Count > 0 ? leads.Max() : null,
            risks.Count, falseAlarms, trained > 0 ? 1000.0 * falseAlarms / trained : null,
            rollbacks.Count, costs.Sum(), costs.Count > 0 ? costs.Average() : null, costs.Count > 0 ? costs.Max() : null,
            spikes.Count(s => s.Verdict is not null), transients.Count);
    }
}

public sealed record RunStability(string Run, string Label, [property: JsonConverter(typeof(RunPhaseJson))] RunPhase State, StabilityFigures Figures,
    IReadOnlyList<StabilitySpike> Spikes, IReadOnlyList<StabilityRisk> Risks, IReadOnlyList<StabilityRollback> Rollbacks,
    IReadOnlyList<StabilityTransient> Transients);

/// <summary>A sweep's stability: each run's, and <c>AllRuns</c> over all their spikes, risks and rollbacks.</summary>
public sealed record SweepStability(string Sweep, string Name, long ClearWindowSteps, StabilityFigures AllRuns, IReadOnlyList<RunStability> Runs);

/// <summary>
/// `sweep stability`: did the early warning (spike.risk) come before the spikes, how far ahead, how often for nothing,
/// and what the rollbacks cost. A spike at step s was warned by a risk raised at step r &lt;= s that was still raised,
/// or had cleared fewer than <see cref="ClearWindow"/> steps before s (a divergence can build while the ratios
/// calm down for the two measurements that clear the risk). Rollbacks and restarts rewind the run to a checkpoint whose
/// risk state the trainer restores, and so does this fold: risks raised and cleared past that step are undone.
/// Pure: events in, figures out.
/// </summary>
public static class Stability
{
    public const long ClearWindow = 10;

    public static SweepStability Of(SweepId sweep, IReadOnlyList<JournalEvent> events)
    {
        var state = events.Aggregate(SweepState.Empty(sweep), (s, e) => s.Apply(e.Event));
        var runs = state.Runs.Select(r =>
        {
            var fold = new RunFold();
            foreach (var e in events) if (e.Event is IRunEvent re && re.Run == r.Id) fold.Apply(re);
            var risks = fold.Risks();
            return new RunStability(r.Id.Value, r.Spec.Label, r.Phase, StabilityFigures.Of(fold.Trained, fold.Spikes, risks, fold.Rollbacks, fold.Transients),
                fold.Spikes, risks, fold.Rollbacks, fold.Transients);
        }).ToList();
        return new SweepStability(sweep.Value, state.Name, ClearWindow, StabilityFigures.Of(runs.Sum(r => r.Figures.StepsTrained),
            [.. runs.SelectMany(r => r.Spikes)], [.. runs.SelectMany(r => r.Risks)], [.. runs.SelectMany(r => r.Rollbacks)], [.. runs.SelectMany(r => r.Transients)]),
            runs);
    }

    sealed class Episode(SpikeRiskRaised raised)
    {
        public readonly SpikeRiskRaised Raised = raised;
        public long? ClearedAt;
        public int Spikes;
        public bool Rewound;
    }

    /// <summary>A change of the risk in the run's live history: <c>E</c> raised (<c>Up</c>) or cleared at <c>Step</c>.</summary>
    readonly record struct Change(long Step, Episode E, bool Up);

    sealed class RunFold
    {
        readonly List<Episode> episodes = [];
        readonly List<Change> live = [];
        long step, resume;
        bool ended;
        // A reproducible verdict comes just before the SpikeDetected of its step.
        SpikeClassified? reproduced;

        public long Trained { get; private set; }
        public List<StabilitySpike> Spikes { get; } = [];
        public List<StabilityRollback> Rollbacks { get; } = [];
        public List<StabilityTransient> Transients { get; } = [];

        public void Apply(IRunEvent e)
        {
            switch (e)
            {
                case SpikeRiskRaised k:
                    Progress(k.Step);
                    var episode = new Episode(k);
                    episodes.Add(episode);
                    live.Add(new Change(k.Step, episode, true));
                    break;
                case SpikeRiskCleared k:
                    Progress(k.Step);
                    if (live.Count > 0 && live[^1] is { Up: true, E: var open })
                    {
                        open.ClearedAt = k.Step;
                        live.Add(new Change(k.Step, open, false));
                    }
                    break;
                case SpikeDetected d:
                    Progress(d.Step);
                    var warning = live.Count == 0 ? null : live[^1] switch
                    {
                        { Up: true } c when c.Step <= d.Step => c.E,
                        { Up: false } c when d.Step - c.Step < ClearWindow => c.E,
                        _ => null,
                    };
                    if (warning is not null) warning.Spikes++;
                    var at = warning?.Raised.Step;
                    Spikes.Add(new StabilitySpike(d.Step, d.Rule, d.Metric, d.Value, d.Threshold, at, d.Step - at, reproduced?.Step == d.Step ? reproduced.Verdict : null));
                    reproduced = null;
                    break;
                case SpikeClassified { Verdict: "transient" } v:
                    Progress(v.Step);
                    Transients.Add(new StabilityTransient(v.Step, v.Rule, v.Metric, v.Loss, v.ReplayLoss));
                    break;
                case SpikeClassified v:
                    reproduced = v;
                    break;
                case RolledBack b:
                    Progress(b.FromStep);
                    Rollbacks.Add(new StabilityRollback(b.FromStep, b.ToStep, b.SkipBatches, b.LrScale));
                    resume = b.ToStep;
                    Rewind(resume);
                    break;
                case CheckpointCommitted c:
                    Progress(c.Step);
                    resume = c.Step;
                    break;
                case CheckpointRejected x:
                    resume = x.ResumeStep;
                    Rewind(resume);
                    break;
                // A trainer (re)started, in the process or in a new one, begins at the run's resume point.
                case RunAssigned or RunRestarted:
                    Rewind(resume);
                    break;
                case RunCompleted c:
                    Progress(c.Metrics.Step);
                    ended = true;
                    break;
                case RunFailed f:
                    Progress(f.Step);
                    ended = true;
                    break;
                case RunRetried:
                    ended = false;
                    break;
            }
        }

        public List<StabilityRisk> Risks() =>
        [
            .. episodes.Select(e => new StabilityRisk(e.Raised.Step, e.Raised.Rule, e.Raised.Matrix, e.Raised.Value, e.Raised.Threshold, e.ClearedAt, e.Spikes,
                e.Spikes > 0 ? RiskOutcome.Warned
                : e.Rewound ? RiskOutcome.Rewound
                : e.ClearedAt is not null || ended ? RiskOutcome.FalseAlarm
                : RiskOutcome.Open)),
        ];

        void Progress(long to)
        {
            if (to > step) (Trained, step) = (Trained + to - step, to);
        }

        // Back to the checkpoint at `to`: the risk is as it stood there. A clearing past it is undone (the risk is raised
        // again); a risk raised past it and still raised is rewound, one that had cleared keeps its outcome.
        void Rewind(long to)
        {
            step = Math.Min(step, to);
            while (live.Count > 0 && live[^1].Step > to)
            {
                var change = live[^1];
                live.RemoveAt(live.Count - 1);
                if (!change.Up && change.E.Raised.Step <= to) change.E.ClearedAt = null;
                else if (change.Up && change.E.ClearedAt is null) change.E.Rewound = true;
            }
        }
    }
}
