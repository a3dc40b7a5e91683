using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Cluster;

// Messages of the SweepManager (the cluster singleton), as clients send them through the cluster client.

/// <summary>
/// Run a sweep on the cluster: with a definition, start it (or continue it, if the journal has it); without,
/// continue a sweep the journal already has (one started by `wesar sweep run` on a single machine, say).
/// Replied to with <see cref="SweepAdmitted"/> or <see cref="SweepRejected"/>.
/// </summary>
public sealed record SubmitSweep(SweepId Sweep, SweepDefinition? Definition) : IWireMessage;

/// <summary>Replied to with the sweep's current <see cref="SweepState"/>, or <see cref="SweepRejected"/> if the cluster does not run it.</summary>
public sealed record QuerySweep(SweepId Sweep) : IWireMessage;

/// <summary>Persisted by the manager for every sweep it runs, so a new singleton after a fail-over continues them all.</summary>
public interface IManagerEvent;

/// <summary>The cluster runs this sweep until it completes; also the reply to <see cref="SubmitSweep"/>.</summary>
public sealed record SweepAdmitted(SweepId Sweep) : IManagerEvent, IWireMessage;

/// <summary>
/// The singleton is handed to another node (its node leaves gracefully): stop every sweep, so each run
/// checkpoints and commits where it is, then stop; the next manager continues the runs from those checkpoints.
/// </summary>
public sealed record HandOver
{
    public static readonly HandOver Instance = new();
}
