namespace WeSaR.Training.Spikes;

/// <summary>
/// What the replay of a spike's step showed. <c>Transient</c>: the replay did not spike, so the first run met a fault
/// of the moment (a flipped bit, a bad device) and the replayed step stands, with no rollback; otherwise the spike
/// comes from the data and the state. <c>Identical</c>: the replay's loss and gradient norm matched the first run's
/// bit for bit (on a deterministic device, what a spike of the data and the state does).
/// </summary>
public sealed record SpikeVerdict(SpikeSignal Spike, bool Transient, double Loss, double ReplayLoss, double ReplayGradNorm, bool Identical)
{
    public string Name => Transient ? "transient" : "reproducible";
}

public static class SpikeReplay
{
    /// <summary>
    /// Judged by whether the replay spikes again, not by bit equality alone: on devices whose kernels are not
    /// deterministic (CUDA atomics) a spike of the data and the state repeats without matching bit for bit.
    /// </summary>
    public static SpikeVerdict Classify(SpikeSignal spike, StreamPoint first, StreamPoint replay, SpikeSignal? again) =>
        new(spike, again is null, first.Loss, replay.Loss, replay.GradNorm,
            first.Loss.Equals(replay.Loss) && first.GradNorm.Equals(replay.GradNorm));
}
