using Akka.Actor;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Spikes;

namespace WeSaR.Actors.Runs;

/// <summary>
/// The actor shell over a run's <see cref="SpikePolicy"/> (the object `wesar train` uses in-process): it adds only
/// that a decision is persisted by the coordinator before the trainer acts on it, and the rollback count it starts
/// from comes from the journal.
/// </summary>
public sealed class SpikeMonitor : ReceiveActor
{
    public static Props Props(SpikeSettings settings, RunId run, int rollbacks, IActorRef coordinator, TimeSpan timeout) =>
        Akka.Actor.Props.Create(() => new SpikeMonitor(new SpikePolicy(settings, rollbacks), run, coordinator, timeout));

    public SpikeMonitor(SpikePolicy policy, RunId run, IActorRef coordinator, TimeSpan timeout)
    {
        Receive<ResetStream>(r =>
        {
            policy.Reset(r.History);
            Sender.Tell(Ack.Instance);
        });
        Receive<ObservePoint>(o => Sender.Tell(new Verdict(policy.Observe(o.Point))));
        // Waiting for the journal holds this run's stream, which is what a spike decision should do.
        ReceiveAsync<DecideSpike>(async d =>
        {
            var decision = policy.Decide(d.Spike, d.Checkpoints.Select(c => c.Step).ToList());
            var target = decision.Rollback is { ToStep: > 0 } order ? d.Checkpoints.Single(c => c.Step == order.ToStep).ManifestSha256 : null;
            var replyTo = Sender;
            await coordinator.Ask<Ack>(new RecordSpike(run, d.Spike, decision, target), timeout);
            policy.Taken(decision);
            replyTo.Tell(decision);
        });
    }
}
