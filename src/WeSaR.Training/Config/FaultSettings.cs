using System.Text.RegularExpressions;

namespace WeSaR.Training.Config;

/// <summary>Where a run can be held for a crash test.</summary>
public enum PausePoint { CheckpointWrite, Rollback }

/// <summary>faults.*: injected spikes, exceptions and pauses (see hocon/train.conf).</summary>
public sealed partial record FaultSettings(IReadOnlySet<long> PoisonBatches, double PoisonScale, long ThrowAtStep, int ThrowAttempts,
    IReadOnlySet<(PausePoint Point, long Step)> Pauses, TimeSpan PauseTime, int LeakKibPerStep, IReadOnlySet<long> TransientSteps)
{
    public static FaultSettings From(ConfigReader r)
    {
        var pauses = new HashSet<(PausePoint, long)>();
        foreach (var p in r.StringList("faults.pauses"))
        {
            var m = PauseSpec().Match(p);
            if (!m.Success) { r.Problem($"faults.pauses: expected \"checkpoint-write@STEP\" or \"rollback@STEP\", got '{p}'"); continue; }
            pauses.Add((m.Groups[1].Value == "rollback" ? PausePoint.Rollback : PausePoint.CheckpointWrite, long.Parse(m.Groups[2].Value)));
        }
        return new(r.LongList("faults.poison-batches").ToHashSet(), r.Double("faults.poison-scale", positive: true),
            r.Long("faults.throw-at-step", 0), r.Int("faults.throw-attempts", 0), pauses,
            TimeSpan.FromSeconds(r.Double("faults.pause-seconds", 0)), r.Int("faults.leak-kib-per-step", 0),
            r.LongList("faults.transient-steps").ToHashSet());
    }

    public bool PausesAt(PausePoint point, long step) => Pauses.Contains((point, step));

    [GeneratedRegex(@"^(checkpoint-write|rollback)@(\d+)$")]
    private static partial Regex PauseSpec();
}

/// <summary>The exception <c>faults.throw-at-step</c> raises.</summary>
public sealed class InjectedFault(string message) : Exception(message);
