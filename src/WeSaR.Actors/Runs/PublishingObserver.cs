using Akka.Event;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;
using WeSaR.Training.Spikes;

namespace WeSaR.Actors.Runs;

/// <summary>Turns a run's progress into <see cref="RunProgress"/> and <see cref="RunNote"/> on the event stream.</summary>
public sealed class PublishingObserver(EventStream stream, SweepId sweep, RunId run, long totalSteps) : IRunObserver
{
    public void Message(string text) => stream.Publish(new RunNote(sweep, run, text));

    public void Stepped(MetricsLine line, TimeSpan eta) => stream.Publish(new RunProgress(sweep, run, line, totalSteps, eta));

    public void Evaluated(EvalResult r) => Message($"eval at step {r.Step}: val loss {r.Loss:F4}");

    public void Spiked(SpikeSignal s) => Message($"spike at step {s.Step}: {s.Metric} {s.Value:G4} > {s.Threshold:G4} ({s.Rule})");

    public void RolledBack(RollbackOrder o) =>
        Message($"rolled back from step {o.FromStep} to {o.ToStep}, skipped {o.SkipBatches} batch(es), lr x{o.LrScale:G3}");
}
