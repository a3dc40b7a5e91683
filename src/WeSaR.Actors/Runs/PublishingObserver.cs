using Akka.Event;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;
using WeSaR.Training.Spikes;

namespace WeSaR.Actors.Runs;

/// <summary>Turns a run's progress into <see cref="RunProgress"/> and <see cref="RunNote"/> on the event stream.</summary>
public sealed class PublishingObserver(EventStream stream, SweepId sweep, RunId run, long totalSteps) : IRunObserver
{
    public void Message(string text) => stream.Publish(new RunNote(sweep, run, text));

    public void Started(long fromStep, long total, long parameters) => stream.Publish(new RunStarted(sweep, run, fromStep, total));

    public void Stepped(MetricsLine line, TimeSpan eta) => stream.Publish(new RunProgress(sweep, run, line, totalSteps, eta));

    public void Evaluated(EvalResult r) => stream.Publish(new RunNote(sweep, run, r));

    public void Spiked(SpikeSignal s) => stream.Publish(new RunNote(sweep, run, s));

    public void RiskChanged(RiskSignal s) => stream.Publish(new RunNote(sweep, run, s));

    public void Classified(SpikeVerdict v) => stream.Publish(new RunNote(sweep, run, v));

    public void RolledBack(RollbackOrder o) => stream.Publish(new RunNote(sweep, run, o));
}
