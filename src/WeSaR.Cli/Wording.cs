using WeSaR.Training.Loop;
using WeSaR.Training.Spikes;

namespace WeSaR.Cli;

/// <summary>
/// The one wording of a run's notable moments, on every screen (`wesar train`, `sweep run`, `node`) and in the
/// audit trail (`runs events`): a spike as it happens reads as it does in the journal afterwards.
/// </summary>
public static class Wording
{
    public static string Spike(long step, string metric, double value, double threshold, string rule, double mean, double std) =>
        $"SPIKE at step {step}: {metric} {value:G5} > {threshold:G5} ({rule}; mean {mean:G4}, std {std:G4})";

    public static string Spike(SpikeSignal s) =>
        Spike(s.Step, s.Metric == SpikeMetric.Loss ? "loss" : "grad-norm", s.Value, s.Threshold, s.Rule, s.Mean, s.Std);

    public static string RiskRaised(long step, string rule, string matrix, double value, double threshold) =>
        $"RISK raised at step {step}: {matrix} update ratio {(rule == "spread" ? $"{value:G4} x the median" : $"{value:G4}")} > {threshold:G4} ({rule})";

    public static string RiskCleared(long step, string matrix, double value) => $"risk cleared at step {step}: largest update ratio {value:G4} ({matrix})";

    public static string Risk(RiskSignal s) => s.Raised ? RiskRaised(s.Step, s.Rule, s.Matrix, s.Value, s.Threshold) : RiskCleared(s.Step, s.Matrix, s.Value);

    public static string Verdict(long step, string verdict, double loss, double replayLoss, bool identical) => verdict == "transient"
        ? $"TRANSIENT fault at step {step}: loss {loss:G5}, {replayLoss:G5} when replayed; the replayed step stands, no rollback"
        : $"spike at step {step} reproduced when replayed (loss {loss:G5}, then {replayLoss:G5}{(identical ? ", bit for bit" : "")}): from the data and the state";

    public static string Verdict(SpikeVerdict v) => Verdict(v.Spike.Step, v.Name, v.Loss, v.ReplayLoss, v.Identical);

    public static string Rollback(long from, long to, long skipped, double lrScale) =>
        $"rolled back from step {from} to {to}, skipping {skipped} batch(es), lr x{lrScale:G3}";

    public static string Rollback(RollbackOrder o) => Rollback(o.FromStep, o.ToStep, o.SkipBatches, o.LrScale);

    public static string Eval(EvalResult r) => $"eval at step {r.Step}: val loss {r.Loss:F4}, perplexity {r.Perplexity:F2}";

    /// <summary>A note a run published (<see cref="WeSaR.Actors.Runs.RunNote"/>): its own text, or one of the moments above.</summary>
    public static string Of(object note) => note switch
    {
        SpikeSignal s => Spike(s),
        RiskSignal k => Risk(k),
        SpikeVerdict v => Verdict(v),
        RollbackOrder o => Rollback(o),
        EvalResult r => Eval(r),
        _ => note.ToString() ?? "",
    };
}
