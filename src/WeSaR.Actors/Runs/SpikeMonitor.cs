using Akka.Actor;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Spikes;

namespace WeSaR.Actors.Runs;

/// <summary>
/// Watches one run's loss stream with the configured detectors and decides what a spike does (the rollback
/// rule of <see cref="RollbackPolicy"/>); the decision is persisted by the coordinator before the trainer acts on it.
/// </summary>
public sealed class SpikeMonitor : ReceiveActor
{
    readonly SpikeSettings settings;
    SpikeWatch watch;
    int rollbacks;

    public static Props Props(SpikeSettings settings, RunId run, int rollbacks, IActorRef coordinator, TimeSpan timeout) =>
        Akka.Actor.Props.Create(() => new SpikeMonitor(settings, run, rollbacks, coordinator, timeout));

    public SpikeMonitor(SpikeSettings settings, RunId run, int rollbacksSoFar, IActorRef coordinator, TimeSpan timeout)
    {
        this.settings = settings;
        watch = SpikeWatch.From(settings);
        rollbacks = rollbacksSoFar;
        Receive<ResetStream>(r =>
        {
            watch = SpikeWatch.From(settings);
            foreach (var p in r.History) watch.Observe(p);
            Sender.Tell(Ack.Instance);
        });
        Receive<ObservePoint>(o => Sender.Tell(new Verdict(watch.Observe(o.Point))));
        // Waiting for the journal holds this run's stream, which is what a spike decision should do.
        ReceiveAsync<DecideSpike>(async d =>
        {
            var decision = RollbackPolicy.Decide(d.Spike, d.Checkpoints.Select(c => c.Step).ToList(), rollbacks, this.settings.Rollback);
            var target = decision.Rollback is { ToStep: > 0 } order ? d.Checkpoints.Single(c => c.Step == order.ToStep).ManifestSha256 : null;
            var replyTo = Sender;
            await coordinator.Ask<Ack>(new RecordSpike(run, d.Spike, decision, target), timeout);
            if (decision.Rollback is not null) rollbacks++;
            replyTo.Tell(decision);
        });
    }
}
