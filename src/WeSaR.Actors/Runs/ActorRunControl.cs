using Akka.Actor;
using WeSaR.Actors.Sweeps;
using WeSaR.Model.Checkpoints;
using WeSaR.Training.Loop;
using WeSaR.Training.Spikes;

namespace WeSaR.Actors.Runs;

/// <summary>
/// The training loop's side of a run's actors: every step waits for the spike monitor's verdict and every
/// checkpoint for the coordinator's commit, so a spike is handled at the step it happens and a resume never
/// needs a checkpoint the journal does not know. Runs on the loop's own thread, never on an actor's.
/// </summary>
/// <param name="abort">Cancels any wait at once (the coordinator is gone): the loop ends with an exception.</param>
public sealed class ActorRunControl(IActorRef monitor, IActorRef coordinator, RunId run, TimeSpan timeout, CancellationToken abort) : IRunControl
{
    public void Reset(IReadOnlyList<StreamPoint> history) => Wait(monitor.Ask<Ack>(new ResetStream(history), timeout, abort));

    public SpikeSignal? Observe(StreamPoint point) => Wait(monitor.Ask<Verdict>(new ObservePoint(point), timeout, abort)).Spike;

    public SpikeDecision Decide(SpikeSignal spike, IReadOnlyList<CheckpointInfo> checkpoints) =>
        Wait(monitor.Ask<SpikeDecision>(new DecideSpike(spike, checkpoints), timeout, abort));

    public void Committed(CheckpointInfo info) => Wait(coordinator.Ask<Ack>(new CommitCheckpoint(run, info.Step, info.ManifestSha256), timeout, abort));

    public void RiskChanged(RiskSignal signal) => Wait(coordinator.Ask<Ack>(new RecordRisk(run, signal), timeout, abort));

    public void Classified(SpikeVerdict verdict) => Wait(coordinator.Ask<Ack>(new RecordVerdict(run, verdict), timeout, abort));

    public void Rejected(IReadOnlyList<RejectedCheckpoint> rejected, ResumePoint startsFrom) =>
        Wait(coordinator.Ask<Ack>(new RejectCheckpoints(run, rejected, startsFrom), timeout, abort));

    static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();
}
